// A real headless Chromium (Debian's, at /usr/bin/chromium) through playwright-core: log in with
// HA's own login form, open a dashboard, check the pictures, take a screenshot. Requests to any
// host but loopback are blocked and recorded, so the suite never reaches the internet and can
// show what the frontend tried.

import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Owner } from './onboarding.js';
import { withTimeout } from './wait.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
// What a browser in a locked-down CI needs: no sandbox (root, no user namespaces), no GPU, no
// background traffic to Google.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// The size of the screenshot in docs/: big enough for three cards side by side, small on disk.
export const VIEWPORT = { width: 1100, height: 720 };
// Page loads on loopback take a second; the frontend's first load parses a few MB of JavaScript.
const NAVIGATION_TIMEOUT_MS = 60_000;
const LAUNCH_TIMEOUT_MS = 60_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export class HaBrowser {
  readonly blockedRequests: string[] = [];

  private constructor(
    private readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** Launches Chromium with a fresh profile in `userDataDir`. */
  static async launch(userDataDir: string): Promise<HaBrowser> {
    const context = await withTimeout(
      'Chromium to start',
      chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: VIEWPORT,
        deviceScaleFactor: 1,
        locale: 'en-GB',
        timezoneId: 'UTC',
      }),
      LAUNCH_TIMEOUT_MS,
    );
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(NAVIGATION_TIMEOUT_MS);
    const ha = new HaBrowser(context, page);
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === 'data:' || url.protocol === 'blob:' || LOOPBACK_HOSTS.has(url.hostname)) return route.continue();
      ha.blockedRequests.push(url.href);
      return route.abort('blockedbyclient');
    });
    return ha;
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  /** Opens HA, fills in the login form and waits until the frontend has loaded. */
  async logIn(baseUrl: string, owner: Owner): Promise<void> {
    await this.page.goto(`${baseUrl}/`);
    await this.page.waitForURL(/\/auth\/authorize/);
    await this.page.locator('input[name="username"]').fill(owner.username);
    await this.page.locator('input[name="password"]').fill(owner.password);
    await this.page.locator('input[name="password"]').press('Enter');
    await this.page.waitForURL((url) => !url.pathname.startsWith('/auth/'));
    // The app shell renders once it has a connection with the new tokens.
    await this.page.locator('home-assistant-main').waitFor();
  }

  /** Waits two animation frames, so the layout after the last change is painted. */
  async settle(): Promise<void> {
    await this.page.evaluate(
      // Runs in the page, where requestAnimationFrame exists; this package compiles without the DOM types.
      () =>
        new Promise<void>((resolve) => {
          const frame = (globalThis as unknown as { requestAnimationFrame(callback: () => void): void }).requestAnimationFrame;
          frame(() => frame(() => resolve()));
        }),
    );
  }

  /** The `<img>` elements under `selector` (shadow roots included) whose src matches `srcPart`. */
  async images(selector: string, srcPart: string): Promise<{ src: string; complete: boolean; naturalWidth: number }[]> {
    return this.page.locator(`${selector} img`).evaluateAll(
      (elements, part) =>
        // The browser's HTMLImageElement; this package compiles without the DOM types.
        (elements as unknown as { src: string; complete: boolean; naturalWidth: number }[])
          .filter((img) => img.src.includes(part))
          .map((img) => ({ src: img.src, complete: img.complete, naturalWidth: img.naturalWidth })),
      srcPart,
    );
  }
}
