// Linking the phone with a pairing code inside the pairing repair's dialog, in a real Home
// Assistant seen through a real headless Chromium: the demo worker shows a QR (its simulated phone
// would scan it only much later), the dialog's choice "Link with a phone number instead" takes a
// number, the worker asks its (simulated) WhatsApp for a code, the dialog shows it as XXXX-XXXX
// (the screenshot becomes docs/setup-code.png), and the simulated phone enters it
// (`--enter-code-after`, 5 s in the demo): the dialog says the phone is linked.

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { HaBrowser } from './support/browser.js';
import { openPairingRepair } from './support/pairing-repair.js';
import { DOCS_DIR } from './support/paths.js';
import { environmentSuite } from './support/suite.js';

export const SETUP_CODE_SCREENSHOT = join(DOCS_DIR, 'setup-code.png');
// Far past the test: only the entered code can link the phone here.
const SCAN_AFTER_SECONDS = 600;
const PAIRING_TIMEOUT_MS = 60_000;
const CODE_TIMEOUT_MS = 60_000;
const LINKED_TIMEOUT_MS = 60_000;
// Crockford's alphabet as Baileys draws the code from it, grouped as the phone shows it.
const SHOWN_CODE = /\b[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}\b/;

const { e2e, environment } = environmentSuite('linking the phone with a pairing code inside the pairing repair dialog', 'setup-code', { chromium: true });

e2e('the dialog takes a phone number, shows the pairing code as XXXX-XXXX and finishes when the phone enters it', async () => {
  const world = environment();
  let browser: HaBrowser | undefined;
  try {
    const ws = await world.connect();
    browser = (await openPairingRepair(world, ws, SCAN_AFTER_SECONDS, PAIRING_TIMEOUT_MS)).browser;
    const page = browser.page;
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
