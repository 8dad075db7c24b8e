// Linking the phone inside the pairing repair's dialog, in a real Home Assistant seen through a
// real headless Chromium: the demo worker waits to be linked (its simulated phone scans only after
// `--scan-after`, past the first QR's 60 s life), the repair's fix dialog shows the current QR
// (the screenshot becomes docs/setup-qr.png), follows it when WhatsApp rotates it, and says so when
// the phone is linked.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHROMIUM_PATH, HaBrowser } from './support/browser.js';
import { entityIdOf } from './support/entities.js';
import { E2eEnvironment } from './support/environment.js';
import { DOCS_DIR } from './support/paths.js';
import { waitFor } from './support/wait.js';

export const SETUP_QR_SCREENSHOT = join(DOCS_DIR, 'setup-qr.png');
// The simulation's first QR lives 60 s, the next 20 s (worker/src/sim/socket.ts); the phone scans
// after this many seconds from the start of linking, so the dialog sees one rotation first.
const SCAN_AFTER_SECONDS = 75;
const PAIRING_TIMEOUT_MS = 60_000;
const ROTATION_TIMEOUT_MS = 90_000;
const LINKED_TIMEOUT_MS = 90_000;
const QR_IN_DIALOG = 'img[src*="/api/image_proxy/"]';

const e2e = suite('linking the phone inside the pairing repair dialog');
let env: E2eEnvironment | undefined;
let setupError: unknown;

e2e.before(async () => {
  try {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}; scripts/test-e2e.sh installs Debian's chromium package`);
    env = await E2eEnvironment.start('setup');
  } catch (error) {
    setupError = error;
  }
});

e2e.after(async () => {
  await env?.dispose();
});

e2e('the repair dialog shows the QR, follows its rotation and finishes when the phone is linked', async () => {
  if (env === undefined) throw setupError instanceof Error ? setupError : new Error(String(setupError));
  const world = env;
  let browser: HaBrowser | undefined;
  try {
    const ws = await world.connect();
    const dataDir = world.path('worker-data');
    mkdirSync(dataDir);
    world.startWorker('worker', dataDir, { scanAfterSeconds: SCAN_AFTER_SECONDS });
    const qrEntity = await entityIdOf(ws, `${world.entryId}_pairing_qr`);
    await world.waitForState(qrEntity, 'to show a QR', (state) => state !== undefined && state.state !== 'unavailable', PAIRING_TIMEOUT_MS);

    browser = await HaBrowser.launch(world.path('chromium-profile'));
    await browser.logIn(world.haUrl, world.owner);
    const page = browser.page;
    await page.goto(`${world.haUrl}/config/repairs`);
    // Playwright's locators reach into the frontend's shadow roots.
    await page.getByText('Link WhatsApp to the worker').first().click();
    // The dialog opens on a choice: the QR, or a phone number instead (e2e/setup-code.e2e.ts).
    await page.getByText('Scan the QR code').first().click();
    const qr = page.locator(QR_IN_DIALOG).first();
    await qr.waitFor();
    const first = await waitFor(
      'the QR in the dialog to load',
      async () => {
        const shown = await qr.evaluate((img) => ({ src: (img as unknown as { src: string }).src, width: (img as unknown as { naturalWidth: number }).naturalWidth }));
        if (shown.width === 0) throw new Error(`not loaded: ${shown.src}`);
        return shown;
      },
      { timeoutMs: PAIRING_TIMEOUT_MS, intervalMs: 250 },
    );
    assert.ok(first.src.includes(`/api/image_proxy/${qrEntity}?token=`), first.src);
    await browser.settle();
    await page.screenshot({ path: SETUP_QR_SCREENSHOT });
    copyFileSync(SETUP_QR_SCREENSHOT, world.path('setup-qr.png'));

    // WhatsApp rotates the QR: the dialog shows the new one without being reopened.
    await waitFor(
      'the dialog to show the next QR',
      async () => {
        const src = await page.locator(QR_IN_DIALOG).first().getAttribute('src');
        if (src === null || new URL(src, world.haUrl).href === first.src) throw new Error(`still ${src}`);
        return src;
      },
      { timeoutMs: ROTATION_TIMEOUT_MS, intervalMs: 500 },
    );

    // The simulated phone scans: the dialog says the phone is linked, and the repair is gone.
    await page.getByText('WhatsApp is linked').first().waitFor({ timeout: LINKED_TIMEOUT_MS });
    const issues = await ws.command<{ issues: { domain: string; issue_id: string }[] }>({ type: 'repairs/list_issues' });
    // Each account's pairing issue is `pairing_<entry id>` (custom_components/whatsapp/account_issues.py).
    assert.is(issues.issues.filter((issue) => issue.domain === 'whatsapp' && issue.issue_id.startsWith('pairing_')).length, 0);
  } catch (error) {
    world.reportLogs();
    throw error;
  } finally {
    await browser?.close();
  }
});

e2e.run();
