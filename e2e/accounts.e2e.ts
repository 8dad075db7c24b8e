// Two WhatsApp accounts on one real Home Assistant: two demo workers, each with its own data folder
// (so its own worker_id). The first claims the entry the set-up made; the second is offered as a
// discovered integration, confirmed through HA's own config flow API, and becomes a second entry.
// Each account's entities stay its own, and the services act on the account named in the call and
// refuse a call that names none.

import { mkdirSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { answerWorkerOffer, waitForWorkerOffer } from './support/accounts.js';
import { entityIdOf, whatsappEntities } from './support/entities.js';
import type { HaWebSocket } from './support/ha-websocket.js';
import { environmentSuite } from './support/suite.js';

const CONNECT_TIMEOUT_MS = 90_000;
// The second worker retries its refused handshake with a backoff (2 s doubling, worker/src/ha/bridge.ts).
const SECOND_ACCOUNT_TIMEOUT_MS = 120_000;

interface RegistryEntryWithEntry {
  entity_id: string;
  platform: string;
  config_entry_id: string | null;
}

async function entityIdsOf(ws: HaWebSocket, entryId: string): Promise<string[]> {
  const all = await ws.command<RegistryEntryWithEntry[]>({ type: 'config/entity_registry/list' });
  return all.filter((entry) => entry.platform === 'whatsapp' && entry.config_entry_id === entryId).map((entry) => entry.entity_id);
}

const { e2e, environment } = environmentSuite('two WhatsApp accounts on one Home Assistant', 'accounts');

e2e('a second worker becomes a second account; entities and services stay apart', async () => {
  const world = environment();
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
  } catch (error) {
    world.reportLogs();
    throw error;
  }
});

e2e.run();
