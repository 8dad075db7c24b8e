// Linking the phone inside the pairing repair's dialog, in a real Home Assistant seen through a
// real headless Chromium: the demo worker waits to be linked (its simulated phone scans only after
// `--scan-after`, past the first QR's 60 s life), the repair's fix dialog shows the current QR
// (the screenshot becomes docs/setup-qr.png), follows it when WhatsApp rotates it, and says so when
// the phone is linked.

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { HaBrowser } from './support/browser.js';
import { openPairingRepair } from './support/pairing-repair.js';
import { DOCS_DIR } from './support/paths.js';
import { environmentSuite } from './support/suite.js';
import { waitFor } from './support/wait.js';

export const SETUP_QR_SCREENSHOT = join(DOCS_DIR, 'setup-qr.png');
// The simulation's first QR lives 60 s, the next 20 s (worker/src/sim/socket.ts); the phone scans
// after this many seconds from the start of linking, so the dialog sees one rotation first.
const SCAN_AFTER_SECONDS = 75;
const PAIRING_TIMEOUT_MS = 60_000;
const ROTATION_TIMEOUT_MS = 90_000;
const LINKED_TIMEOUT_MS = 90_000;
const QR_IN_DIALOG = 'img[src*="/api/image_proxy/"]';

const { e2e, environment } = environmentSuite('linking the phone inside the pairing repair dialog', 'setup', { chromium: true });

e2e('the repair dialog shows the QR, follows its rotation and finishes when the phone is linked', async () => {
  const world = environment();
  let browser: HaBrowser | undefined;
  try {
    const ws = await world.connect();
    const opened = await openPairingRepair(world, ws, SCAN_AFTER_SECONDS, PAIRING_TIMEOUT_MS);
    browser = opened.browser;
    const { qrEntity } = opened;
    const page = browser.page;
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
