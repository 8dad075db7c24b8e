// Linking the phone inside the "Add integration" dialog, in a real Home Assistant seen through a
// real headless Chromium, as people know it from WhatsApp Web: with no whatsapp entry yet and the
// demo worker running (its simulated phone scans only after `--scan-after`), Settings → Devices &
// services → Add integration → WhatsApp Avatars, and the same dialog waits for the worker, shows
// its QR (the screenshot becomes docs/setup-dialog.png) and says so when the phone is linked.

import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { HaBrowser } from './support/browser.js';
import { entityIdOf } from './support/entities.js';
import { DOCS_DIR } from './support/paths.js';
import { environmentSuite } from './support/suite.js';
import { waitFor } from './support/wait.js';

export const SETUP_DIALOG_SCREENSHOT = join(DOCS_DIR, 'setup-dialog.png');
// From the worker's start: the browser logs in and adds the integration first (seconds), the
// worker's next hello after the entry exists comes within its backoff (2, 4, 8 … s), and the
// dialog shows a QR before the simulated phone scans it.
const SCAN_AFTER_SECONDS = 75;
const QR_TIMEOUT_MS = 75_000;
const LINKED_TIMEOUT_MS = 90_000;
const QR_IN_DIALOG = 'img[src*="/api/image_proxy/"]';

const { e2e, environment } = environmentSuite('linking the phone inside the "Add integration" dialog', 'setup-dialog', {
  chromium: true,
  addEntry: false,
});

interface ConfigEntryJson {
  entry_id: string;
  domain: string;
  state: string;
}

e2e('Add integration shows the QR in its dialog and finishes when the phone is linked', async () => {
  const world = environment();
  const dataDir = world.path('worker-data');
  mkdirSync(dataDir);
  world.startWorker('worker', dataDir, { scanAfterSeconds: SCAN_AFTER_SECONDS });
  const browser = await HaBrowser.launch(world.path('chromium-profile'));
  const page = browser.page;
  try {
    await browser.logIn(world.haUrl, world.owner);
    await page.goto(`${world.haUrl}/config/integrations/dashboard`);
    // Playwright's locators reach into the frontend's shadow roots.
    await page.getByText('Add integration').first().click();
    // The dialog's own search field and list: the integrations page has a search field of its own
    // that a page-wide locator may find first while the dialog is still opening.
    const addIntegration = page.locator('dialog-add-integration');
    await addIntegration.getByPlaceholder(/search/i).first().fill('WhatsApp');
    await addIntegration.getByText('WhatsApp Avatars').first().click();
    // The first step only confirms (the worker connects to HA by itself).
    await page.getByText('Shows the profile pictures kept by the WhatsApp worker').first().waitFor();
    await page.getByRole('button', { name: 'Submit' }).click();

    // The same dialog goes on: it waits for the worker, then offers the QR or a phone number.
    await page.getByText('Scan the QR code').first().click({ timeout: QR_TIMEOUT_MS });
    const qr = page.locator(QR_IN_DIALOG).first();
    const shown = await waitFor(
      'the QR in the dialog to load',
      async () => {
        const image = await qr.evaluate((img) => ({ src: (img as unknown as { src: string }).src, width: (img as unknown as { naturalWidth: number }).naturalWidth }));
        if (image.width === 0) throw new Error(`not loaded: ${image.src}`);
        return image;
      },
      { timeoutMs: QR_TIMEOUT_MS, intervalMs: 250 },
    );
    const entries = await world.rest.getJson<ConfigEntryJson[]>('/api/config/config_entries/entry?domain=whatsapp');
    assert.is(entries.length, 1, 'the dialog added one entry');
    const entry = entries[0]!;
    assert.is(entry.state, 'loaded');
    const ws = await world.connect();
    const qrEntity = await entityIdOf(ws, `${entry.entry_id}_pairing_qr`);
    assert.ok(shown.src.includes(`/api/image_proxy/${qrEntity}?token=`), shown.src);
    await browser.settle();
    await page.screenshot({ path: SETUP_DIALOG_SCREENSHOT });
    copyFileSync(SETUP_DIALOG_SCREENSHOT, world.path('setup-dialog.png'));

    // The simulated phone scans: the dialog says the phone is linked, and closing it finishes.
    await page.getByText('WhatsApp is linked').first().waitFor({ timeout: LINKED_TIMEOUT_MS });
    await page.getByRole('button', { name: 'Submit' }).click();
    await waitFor(
      'the linking dialog to finish',
      async () => {
        const flows = await ws.command<{ handler: string }[]>({ type: 'config_entries/flow/progress' });
        if (flows.some((flow) => flow.handler === 'whatsapp')) throw new Error(`config flows still open: ${JSON.stringify(flows)}`);
        if (await page.getByText('WhatsApp is linked').count()) throw new Error('the dialog is still open');
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const connection = await world.waitForState('sensor.whatsapp_connection', 'to be open', (state) => state?.state === 'open', 15_000);
    assert.is(connection?.state, 'open');
  } catch (error) {
    await page.screenshot({ path: world.path('failure.png') }).catch(() => undefined);
    process.stderr.write(`e2e: the browser's last view is ${world.path('failure.png')}\n`);
    world.reportLogs();
    throw error;
  } finally {
    await browser.close();
  }
});

e2e.run();
