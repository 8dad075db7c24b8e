// Linking the phone with a pairing code inside the pairing repair's dialog, in a real Home
// Assistant seen through a real headless Chromium: the demo worker shows a QR (its simulated phone
// would scan it only much later), the dialog's choice "Link with a phone number instead" takes a
// number, the worker asks its (simulated) WhatsApp for a code, the dialog shows it as XXXX-XXXX
// (the screenshot becomes docs/setup-code.png), and the simulated phone enters it
// (`--enter-code-after`, 5 s in the demo): the dialog says the phone is linked.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHROMIUM_PATH, HaBrowser } from './support/browser.js';
import { entityIdOf } from './support/entities.js';
import { E2eEnvironment } from './support/environment.js';
import { DOCS_DIR } from './support/paths.js';

export const SETUP_CODE_SCREENSHOT = join(DOCS_DIR, 'setup-code.png');
// Far past the test: only the entered code can link the phone here.
const SCAN_AFTER_SECONDS = 600;
const PAIRING_TIMEOUT_MS = 60_000;
const CODE_TIMEOUT_MS = 60_000;
const LINKED_TIMEOUT_MS = 60_000;
// Crockford's alphabet as Baileys draws the code from it, grouped as the phone shows it.
const SHOWN_CODE = /\b[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}\b/;

const e2e = suite('linking the phone with a pairing code inside the pairing repair dialog');
let env: E2eEnvironment | undefined;
let setupError: unknown;

e2e.before(async () => {
  try {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}; scripts/test-e2e.sh installs Debian's chromium package`);
    env = await E2eEnvironment.start('setup-code');
  } catch (error) {
    setupError = error;
  }
});

e2e.after(async () => {
  await env?.dispose();
});

e2e('the dialog takes a phone number, shows the pairing code as XXXX-XXXX and finishes when the phone enters it', async () => {
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
    await page.getByText('Link WhatsApp to the worker').first().click();
    await page.getByText('Link with a phone number instead').first().click();
    // The form's one field (the frontend's ha-form; Playwright's CSS reaches into its shadow roots).
    const number = page.locator('ha-form input').first();
    await number.waitFor();

    // A number without the country code is refused in the dialog, saying why.
    await number.fill('0170 1234567');
    await page.keyboard.press('Enter');
    await page.getByText('This is not a phone number with the country code').first().waitFor({ timeout: CODE_TIMEOUT_MS });

    await number.fill('+49 170 1234567');
    await page.keyboard.press('Enter');
    const code = page.getByText(SHOWN_CODE).first();
    await code.waitFor({ timeout: CODE_TIMEOUT_MS });
    const shown = (await code.textContent()) ?? '';
    assert.match(shown, SHOWN_CODE);
    assert.ok((await page.getByText('Link with phone number instead').count()) > 0, 'the steps on the phone are shown');
    await browser.settle();
    await page.screenshot({ path: SETUP_CODE_SCREENSHOT });
    copyFileSync(SETUP_CODE_SCREENSHOT, world.path('setup-code.png'));

    // The simulated phone enters the code: the dialog says the phone is linked, and the repair is gone.
    await page.getByText('WhatsApp is linked').first().waitFor({ timeout: LINKED_TIMEOUT_MS });
    const issues = await ws.command<{ issues: { domain: string; issue_id: string }[] }>({ type: 'repairs/list_issues' });
    assert.is(issues.issues.filter((issue) => issue.domain === 'whatsapp' && issue.issue_id === 'pairing').length, 0);
  } catch (error) {
    await browser?.page.screenshot({ path: world.path('failure.png') }).catch(() => undefined);
    world.reportLogs();
    throw error;
  } finally {
    await browser?.close();
  }
});

e2e.run();
