// The linking dialog as a person reaches it: a demo worker waiting to be linked (its simulated
// phone scans only after `scanAfterSeconds`), its QR shown by HA, and the "Link WhatsApp to the
// worker" repair opened in Chromium, on the dialog's first choice (scan the QR, or a phone number).

import { mkdirSync } from 'node:fs';
import { HaBrowser } from './browser.js';
import { entityIdOf } from './entities.js';
import type { E2eEnvironment } from './environment.js';
import type { HaWebSocket } from './ha-websocket.js';

export interface OpenedPairingRepair {
  readonly browser: HaBrowser;
  /** The pairing QR image entity the dialog shows. */
  readonly qrEntity: string;
}

export async function openPairingRepair(world: E2eEnvironment, ws: HaWebSocket, scanAfterSeconds: number, timeoutMs: number): Promise<OpenedPairingRepair> {
  const dataDir = world.path('worker-data');
  mkdirSync(dataDir);
  world.startWorker('worker', dataDir, { scanAfterSeconds });
  const qrEntity = await entityIdOf(ws, `${world.entryId}_pairing_qr`);
  await world.waitForState(qrEntity, 'to show a QR', (state) => state !== undefined && state.state !== 'unavailable', timeoutMs);
  const browser = await HaBrowser.launch(world.path('chromium-profile'));
  try {
    await browser.logIn(world.haUrl, world.owner);
    await browser.page.goto(`${world.haUrl}/config/repairs`);
    // Playwright's locators reach into the frontend's shadow roots.
    await browser.page.getByText('Link WhatsApp to the worker').first().click();
    return { browser, qrEntity };
  } catch (error) {
    await browser.close();
    throw error;
  }
}
