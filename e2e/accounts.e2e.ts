// Two WhatsApp accounts on one real Home Assistant: two demo workers, each with its own data folder
// (so its own worker_id). The first claims the entry the set-up made; the second is offered as a
// discovered integration, confirmed through HA's own config flow API, and becomes a second entry.
// Each account's entities stay its own, and the services act on the account named in the call and
// refuse a call that names none. Chromium shows the offer's dialog (docs/discovered-worker.png) and
// then the integration's page with both accounts and their devices (docs/accounts.png).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { answerWorkerOffer, waitForWorkerOffer } from './support/accounts.js';
import { HaBrowser } from './support/browser.js';
import { entityIdOf, whatsappEntities } from './support/entities.js';
import type { HaWebSocket } from './support/ha-websocket.js';
import { DOCS_DIR } from './support/paths.js';
import { environmentSuite } from './support/suite.js';

const CONNECT_TIMEOUT_MS = 90_000;
// The second worker retries its refused handshake with a backoff (2 s doubling, worker/src/ha/bridge.ts).
const SECOND_ACCOUNT_TIMEOUT_MS = 120_000;
const PAGE_TIMEOUT_MS = 60_000;
const OFFER_SCREENSHOT = join(DOCS_DIR, 'discovered-worker.png');
const ACCOUNTS_SCREENSHOT = join(DOCS_DIR, 'accounts.png');
// The integration's page under Settings → Devices & services, with its entries and offers.
const INTEGRATION_PAGE = '/config/integrations/integration/whatsapp';

interface RegistryEntryWithEntry {
  entity_id: string;
  platform: string;
  config_entry_id: string | null;
}

async function entityIdsOf(ws: HaWebSocket, entryId: string): Promise<string[]> {
  const all = await ws.command<RegistryEntryWithEntry[]>({ type: 'config/entity_registry/list' });
  return all.filter((entry) => entry.platform === 'whatsapp' && entry.config_entry_id === entryId).map((entry) => entry.entity_id);
}

interface DeviceItem {
  readonly config_entries: string[];
  readonly name: string | null;
  readonly name_by_user: string | null;
}

/** The names of an entry's devices, as the integration's page lists them. */
async function deviceNamesOf(ws: HaWebSocket, entryId: string): Promise<string[]> {
  const devices = await ws.command<DeviceItem[]>({ type: 'config/device_registry/list' });
  return devices.filter((device) => device.config_entries.includes(entryId)).map((device) => device.name_by_user ?? device.name ?? '');
}

const { e2e, environment } = environmentSuite('two WhatsApp accounts on one Home Assistant', 'accounts', { chromium: true });

e2e('a second worker becomes a second account; entities and services stay apart', async () => {
  const world = environment();
  let browser: HaBrowser | undefined;
  try {
    const ws = await world.connect();
    const dataA = world.path('worker-a-data');
    const dataB = world.path('worker-b-data');
    mkdirSync(dataA);
    mkdirSync(dataB);
    world.startWorker('worker-a', dataA);
    const connectedA = await entityIdOf(ws, `${world.entryId}_worker_connected`);
    await world.waitForState(connectedA, 'to be on', (state) => state?.state === 'on', CONNECT_TIMEOUT_MS);

    world.startWorker('worker-b', dataB);
    const offer = await waitForWorkerOffer(ws, CONNECT_TIMEOUT_MS);
    assert.is(offer.step_id, 'worker_confirm');
    const workerB = offer.context.unique_id;
    if (workerB === undefined) throw new Error(`the offer names no worker: ${JSON.stringify(offer)}`);

    // What a person sees: the offer on the integration's page, and the dialog its Add opens (the
    // frontend continues the discovery flow, and closing the dialog leaves that flow as it was).
    browser = await HaBrowser.launch(world.path('chromium-profile'));
    await browser.logIn(world.haUrl, world.owner);
    await browser.page.goto(`${world.haUrl}${INTEGRATION_PAGE}`);
    // Frontend 20260930.5 (HA 2026.10's) lists each offer as an ha-list-item-base.discovered; the
    // only one here is worker B's, which its dialog names.
    const offered = browser.page.locator('ha-list-item-base.discovered');
    await offered.first().waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.is(await offered.count(), 1, 'one worker is offered');
    await offered.getByRole('button', { name: 'Add' }).click();
    const dialog = browser.page.locator('dialog-data-entry-flow');
    await dialog.getByText('New WhatsApp worker').waitFor({ timeout: PAGE_TIMEOUT_MS });
    await dialog.getByText(`The worker ${workerB.slice(0, 8)} connected to Home Assistant`).waitFor({ timeout: PAGE_TIMEOUT_MS });
    await browser.settle();
    await browser.page.screenshot({ path: OFFER_SCREENSHOT });
    // Its close button (the dialog keeps Escape and the scrim from closing it).
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.getByText('New WhatsApp worker').waitFor({ state: 'hidden', timeout: PAGE_TIMEOUT_MS });

    const created = await answerWorkerOffer(world.rest, offer);
    assert.is(created.type, 'create_entry', JSON.stringify(created));
    const entryB = created.result?.entry_id;
    if (entryB === undefined) throw new Error(`no entry in ${JSON.stringify(created)}`);
    assert.is(created.result?.state, 'loaded');
    assert.ok(created.result?.title.startsWith('WhatsApp '), created.result?.title);

    const connectedB = await entityIdOf(ws, `${entryB}_worker_connected`);
    await world.waitForState(connectedB, 'to be on (the second worker retried and is now its account\'s)', (state) => state?.state === 'on', SECOND_ACCOUNT_TIMEOUT_MS);
    assert.is((await world.state(connectedA))?.state, 'on', 'the first account keeps its worker');

    // Each account has its own entities: none shared, each with its worker's status entities.
    const entitiesA = await entityIdsOf(ws, world.entryId);
    const entitiesB = await entityIdsOf(ws, entryB);
    assert.ok(entitiesA.includes(connectedA));
    assert.ok(entitiesB.includes(connectedB));
    assert.is(entitiesA.filter((id) => entitiesB.includes(id)).length, 0, 'no entity belongs to both accounts');
    assert.is((await whatsappEntities(ws)).length, entitiesA.length + entitiesB.length);

    // A call that names no account is refused, naming both; a call that names one goes to its worker.
    const ambiguous = await ws.callService('whatsapp', 'refresh_avatars', {}, 30_000);
    assert.is(ambiguous.success, false);
    if (!ambiguous.success) assert.match(ambiguous.error.message, /Several WhatsApp accounts are set up/);
    for (const entryId of [world.entryId, entryB]) {
      const done = await ws.callService<{ scope: string }>('whatsapp', 'refresh_avatars', { config_entry_id: entryId, scope: 'favourites' }, 60_000);
      assert.ok(done.success, JSON.stringify(done));
      if (done.success) assert.is(done.result.scope, 'favourites');
    }

    // The integration's page: both accounts by their titles, each with its own devices.
    const titleB = created.result!.title;
    const accounts = [
      { entryId: world.entryId, title: 'WhatsApp', devices: await deviceNamesOf(ws, world.entryId) },
      { entryId: entryB, title: titleB, devices: await deviceNamesOf(ws, entryB) },
    ];
    for (const account of accounts) assert.ok(account.devices.length > 0, `${account.title} has devices`);
    await browser.page.goto(`${world.haUrl}${INTEGRATION_PAGE}`);
    // Each entry's row (the frontend's ha-config-entry-row, by its data-entry-id) has the
    // account's title and lists that account's devices.
    for (const account of accounts) {
      const row = browser.page.locator(`ha-config-entry-row[data-entry-id="${account.entryId}"]`);
      await row.getByText(account.title, { exact: true }).first().waitFor({ timeout: PAGE_TIMEOUT_MS });
      for (const device of account.devices) {
        await row.locator('ha-config-entry-device-row').filter({ hasText: device }).first().waitFor({ timeout: PAGE_TIMEOUT_MS });
      }
      const shown = await row.locator('ha-config-entry-device-row').count();
      assert.is(shown, account.devices.length, `${account.title} lists its own ${account.devices.length} devices`);
    }
    await browser.settle();
    await browser.page.screenshot({ path: ACCOUNTS_SCREENSHOT });
  } catch (error) {
    world.reportLogs();
    await browser?.page.screenshot({ path: world.path('failure.png') }).catch(() => undefined);
    throw error;
  } finally {
    await browser?.close();
  }
});

e2e.run();
