// The integration and the worker together in a real Home Assistant Core: the services as
// Developer Tools and automations call them, favourites as image entities serving the worker's
// exact bytes, a worker that crashes and comes back, and an HA restart under a running worker.
// One HA for the whole file; only the last test restarts it.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { demoPopulationOptions } from '../worker/src/cli/demo.js';
import type { RefreshAvatarResponse, RefreshAvatarsResponse } from '../worker/src/ha/protocol.js';
import { answerWorkerOffer, waitForWorkerOffer } from './support/accounts.js';
import { HaBrowser } from './support/browser.js';
import { entityIdOf, pictureUniqueId, sha256, waitForServedFile, whatsappEntities } from './support/entities.js';
import { E2eEnvironment } from './support/environment.js';
import type { HaWebSocket } from './support/ha-websocket.js';
import { favouriteChoices, setFavourites, type Choice } from './support/integration.js';
import { REPO_ROOT } from './support/paths.js';
import type { ManagedProcess } from './support/processes.js';
import { exceptionMessage, integrationTranslations } from './support/translations.js';
import { waitFor } from './support/wait.js';
import { DEMO_CONTACTS, storedPicturePath } from './support/worker.js';

// The demo's first pass over ~50 subjects at 0.05 s takes a few seconds; a busy machine more.
const FIRST_PASS_TIMEOUT_MS = 90_000;
// Liveness changes are pushed at once; this covers HA noticing a dead socket.
const LIVENESS_TIMEOUT_MS = 30_000;
// A worker told it is not set up yet retries with a backoff (2 s doubling, worker/src/ha/bridge.ts).
const REPLACED_WORKER_TIMEOUT_MS = 90_000;
// HA restarts in seconds here; the worker retries with backoff that starts small.
const RECONNECT_TIMEOUT_MS = 120_000;
// Long enough for one job at the demo's interval, short enough to fail fast.
const REFRESH_WAIT_SECONDS = 20;
const FAVOURITE_COUNT = 3;
// Developer Tools → Actions with refresh_avatar's contact list open, for the README.
const ACTION_CONTACT_SCREENSHOT = join(REPO_ROOT, 'docs', 'action-contact.png');
// What issue 12 promises after a reload or a re-picked favourite.
const STATE_BACK_SECONDS = 10;

interface World {
  readonly env: E2eEnvironment;
  ws: HaWebSocket;
  readonly dataDir: string;
  worker: ManagedProcess;
  readonly workerConnected: string;
  readonly queueLength: string;
  readonly subjects: Choice[];
  favourites: { jid: string; entityId: string }[];
}

const e2e = suite('Home Assistant + integration + worker (demo)');
let world: World | undefined;
let setupError: unknown;

function ready(): World {
  if (world === undefined) throw setupError instanceof Error ? setupError : new Error(`the environment did not start: ${String(setupError)}`);
  return world;
}

async function waitForQueueEmpty(w: World): Promise<void> {
  await w.env.waitForState(w.queueLength, 'to show an empty queue', (state) => state?.state === '0', FIRST_PASS_TIMEOUT_MS);
}

/** The subjects with a name, in the picker's order (unnamed ones are labelled by their number). */
function namedSubjects(w: World): Choice[] {
  return w.subjects.filter((choice) => choice.label.endsWith(')'));
}

/** Subjects with a stored picture, contacts first, so favourites have something to show. */
function withStoredPicture(w: World): Choice[] {
  const stored = w.subjects.filter((choice) => existsSync(storedPicturePath(w.dataDir, choice.value)));
  const contacts = stored.filter((choice) => choice.value.endsWith('@s.whatsapp.net'));
  const groups = stored.filter((choice) => choice.value.endsWith('@g.us'));
  return [...contacts.slice(0, FAVOURITE_COUNT - 1), ...groups.slice(0, 1), ...contacts.slice(FAVOURITE_COUNT - 1)];
}

e2e.before(async () => {
  try {
    const env = await E2eEnvironment.start('ha');
    try {
      const dataDir = env.path('worker-data');
      mkdirSync(dataDir);
      const ws = await env.connect();
      const worker = env.startWorker('worker', dataDir);
      const workerConnected = await entityIdOf(ws, `${env.entryId}_worker_connected`);
      const queueLength = await entityIdOf(ws, `${env.entryId}_queue_length`);
      await env.waitForState(workerConnected, 'to turn on', (state) => state?.state === 'on', LIVENESS_TIMEOUT_MS);
      const expectedSubjects = demoPopulationOptions(DEMO_CONTACTS, 1).subjects;
      const subjects = await waitFor(
        `the directory to list all ${expectedSubjects} simulated subjects`,
        async () => {
          const choices = await favouriteChoices(env.rest, env.entryId);
          if (choices.length !== expectedSubjects) throw new Error(`${choices.length} listed`);
          return choices;
        },
        { timeoutMs: FIRST_PASS_TIMEOUT_MS },
      );
      // The first test reloads the entry right after this first directory, before the queue empties.
      world = { env, ws, dataDir, worker, workerConnected, queueLength, subjects, favourites: [] };
    } catch (error) {
      env.reportLogs();
      await env.dispose();
      throw error;
    }
  } catch (error) {
    setupError = error;
  }
});

e2e.after(async () => {
  await world?.env.dispose();
});

/** A test that prints the processes' logs when it fails: they say why. */
function check(name: string, body: () => Promise<void>): void {
  e2e(name, async () => {
    try {
      await body();
    } catch (error) {
      world?.env.reportLogs();
      throw error;
    }
  });
}

/** Reloads the entry as the integrations page does (⋮ → Reload). */
async function reloadEntry(w: World): Promise<void> {
  const answer = await w.env.rest.postJson<{ require_restart: boolean }>(`/api/config/config_entries/entry/${w.env.entryId}/reload`, {});
  assert.is(answer.require_restart, false, 'the entry reloads without a restart');
}

check('a reload seconds after the first directory keeps it, even with the worker gone meanwhile', async () => {
  const w = ready();
  // The directory just arrived (HA writes it to disk only 30 s after the last push) and the
  // worker is gone, so nothing can send it again: only what HA wrote on unload can fill the picker.
  const exit = await w.worker.kill();
  assert.is(exit.signal, 'SIGKILL');
  await reloadEntry(w);
  const listed = await favouriteChoices(w.env.rest, w.env.entryId);
  assert.equal(listed.map((choice) => choice.value).sort(), w.subjects.map((choice) => choice.value).sort(), 'the picker lists every contact and group after the reload');
  w.worker = w.env.startWorker('worker', w.dataDir);
  await w.env.waitForState(w.workerConnected, 'to turn on again', (state) => state?.state === 'on', LIVENESS_TIMEOUT_MS);
  await waitForQueueEmpty(w);
});

check('the services are listed for Developer Tools with their fields, names and descriptions', async () => {
  const { ws } = ready();
  const services = await ws.command<Record<string, Record<string, { fields: Record<string, Record<string, unknown>>; response?: { optional: boolean } }>>>({
    type: 'get_services',
  });
  const whatsapp = services.whatsapp;
  assert.ok(whatsapp, 'get_services lists the whatsapp domain');
  assert.equal(Object.keys(whatsapp).sort(), ['link_person', 'purge_avatars', 'refresh_avatar', 'refresh_avatars', 'unlink_person']);
  const refreshAvatar = whatsapp.refresh_avatar! as (typeof whatsapp)[string] & { target?: unknown };
  // Typed, or a favourite's device or picture as the target instead.
  assert.equal(refreshAvatar.fields.jid?.required, false);
  assert.equal(refreshAvatar.target, { device: [{ integration: 'whatsapp' }], entity: [{ integration: 'whatsapp', domain: ['image'] }] });
  // The directory is known: the contact field lists the subjects as the favourites picker does
  // (by name first, then by number), and still takes a typed number or JID.
  const jidSelect = (refreshAvatar.fields.jid?.selector as { select?: { options: Choice[]; custom_value: boolean } } | undefined)?.select;
  assert.ok(jidSelect, `jid has a select once the directory is known: ${JSON.stringify(refreshAvatar.fields.jid)}`);
  assert.equal(jidSelect.options, ready().subjects, 'the contacts and groups, by name, then by number');
  assert.is(jidSelect.custom_value, true, 'a typed number or JID is still accepted');
  assert.equal((refreshAvatar.fields.wait?.selector as { number: { min: number; max: number } }).number.min, 0);
  assert.equal(refreshAvatar.response, { optional: true });
  const scope = whatsapp.refresh_avatars!.fields.scope?.selector as { select: { options: string[] } };
  assert.equal(scope.select.options, ['all', 'missing', 'stale', 'favourites']);
  assert.equal(whatsapp.refresh_avatars!.response, { optional: true });
  // Files and bytes removed, for a call that asks for them.
  assert.equal(whatsapp.purge_avatars!.response, { optional: true });
  // Every action can name its account (several accounts side by side).
  for (const [service, description] of Object.entries(whatsapp)) {
    assert.ok(description.fields.config_entry_id && 'config_entry' in (description.fields.config_entry_id.selector as object), `${service} takes the account`);
  }

  // Names and descriptions reach the frontend as translations, not through get_services.
  const { resources } = await ws.command<{ resources: Record<string, string> }>({
    type: 'frontend/get_translations',
    language: 'en',
    category: 'services',
    integration: ['whatsapp'],
  });
  const expected = integrationTranslations().services;
  for (const [service, description] of Object.entries(whatsapp)) {
    const text = expected[service];
    assert.ok(text, `translations/integration/en.json describes ${service}`);
    const prefix = `component.whatsapp.services.${service}`;
    assert.is(resources[`${prefix}.name`], text.name);
    assert.is(resources[`${prefix}.description`], text.description);
    for (const field of Object.keys(description.fields)) {
      assert.ok(text.fields[field], `translations/integration/en.json describes ${service}.${field}`);
      assert.is(resources[`${prefix}.fields.${field}.name`], text.fields[field]!.name);
      assert.is(resources[`${prefix}.fields.${field}.description`], text.fields[field]!.description);
    }
  }
});

check('Developer Tools → Actions → refresh_avatar: the contact field lists people by name; one picked is refreshed', async () => {
  const w = ready();
  const named = namedSubjects(w);
  assert.ok(named.length >= 5 && named.length < w.subjects.length, `some named, some only numbers: ${named.length} of ${w.subjects.length}`);
  const browser = await HaBrowser.launch(w.env.path('chromium-profile'));
  try {
    const { page } = browser;
    await browser.logIn(w.env.haUrl, w.env.owner);
    await page.goto(`${w.env.haUrl}/config/tools/action?service=whatsapp.refresh_avatar`);
    const fieldName = integrationTranslations().services.refresh_avatar!.fields.jid!.name;
    // An optional field: its name ticks it, then its picker opens on a click.
    await page.locator('ha-service-control ha-settings-row span[slot="heading"]', { hasText: fieldName }).click();
    const row = page.locator('ha-service-control ha-settings-row', { has: page.locator('span[slot="heading"]', { hasText: fieldName }) });
    await row.locator('ha-picker-field').click();
    const items = page.locator('ha-picker-combo-box ha-combo-box-item');
    await items.first().waitFor();
    const shown = await waitFor(
      'the list to show the first names',
      async () => {
        const texts = (await items.allInnerTexts()).map((text) => text.trim()).filter((text) => text !== '');
        if (texts.length < 5) throw new Error(`${texts.length} items: ${JSON.stringify(texts)}`);
        return texts;
      },
      { timeoutMs: 10_000 },
    );
    // The list is virtual: the first items rendered are the first names, by name.
    assert.equal(shown.slice(0, 5), named.slice(0, 5).map((choice) => choice.label), 'people by name first');
    await browser.settle();
    await page.screenshot({ path: ACTION_CONTACT_SCREENSHOT });
    // A name typed narrows it; the picked person's JID is what the action sends.
    const person = named.find((choice) => choice.value.endsWith('@s.whatsapp.net'))!;
    const name = person.label.slice(0, person.label.lastIndexOf(' ('));
    await page.locator('ha-picker-combo-box input').fill(name);
    await items.filter({ hasText: person.label }).first().click();
    await page.locator('ha-progress-button', { hasText: 'Perform action' }).click();
    // The response (`jid`, `queued`), shown under the form in a code editor (inside its shadow root).
    const response = page.locator('.response ha-yaml-editor .cm-content');
    await waitFor(
      'the response of the action',
      async () => {
        const text = await response.innerText();
        if (!text.includes(`jid: ${person.value}`) || !text.includes('queued: true')) throw new Error(JSON.stringify(text));
        return text;
      },
      { timeoutMs: 30_000 },
    );
  } finally {
    await browser.close();
  }
  await waitForQueueEmpty(w);
});

check('refresh_avatar answers with the queue position, or with the outcome when it waits', async () => {
  const w = ready();
  const [subject] = withStoredPicture(w);
  assert.ok(subject, 'the first pass stored at least one picture');
  const jid = subject.value;

  const queued = await w.ws.callService<RefreshAvatarResponse>('whatsapp', 'refresh_avatar', { jid, wait: 0 });
  assert.ok(queued.success, `refresh_avatar wait 0: ${JSON.stringify(queued)}`);
  if (!queued.success) return;
  assert.is(queued.result.jid, jid);
  assert.is(queued.result.queued, true);
  assert.is(queued.result.outcome, null);
  assert.is(queued.result.timed_out, false);
  assert.ok(Number.isInteger(queued.result.position) && (queued.result.position ?? 0) >= 1, `a queue position: ${queued.result.position}`);
  assert.type(queued.result.eta_seconds, 'number');
  await waitForQueueEmpty(w);

  // A phone number as a user types it, forced so the picture is downloaded again.
  const digits = jid.split('@')[0]!;
  const waited = await w.ws.callService<RefreshAvatarResponse>(
    'whatsapp',
    'refresh_avatar',
    { jid: `+${digits}`, force: true, wait: REFRESH_WAIT_SECONDS },
    (REFRESH_WAIT_SECONDS + 30) * 1000,
  );
  assert.ok(waited.success, `refresh_avatar wait ${REFRESH_WAIT_SECONDS}: ${JSON.stringify(waited)}`);
  if (!waited.success) return;
  assert.is(waited.result.jid, jid, 'the phone number is normalised to the JID');
  assert.is(waited.result.queued, true);
  assert.is(waited.result.timed_out, false);
  assert.is(waited.result.position, null, 'done, so no longer queued');
  assert.is(waited.result.eta_seconds, null);
  assert.ok(waited.result.outcome, 'the outcome is reported');
  assert.is(waited.result.outcome?.state, 'fetched');
  assert.is(waited.result.outcome?.sha256, sha256(readFileSync(storedPicturePath(w.dataDir, jid))), 'the sha256 of the stored file');
  assert.type(waited.result.outcome?.checked_at, 'string');
});

check('refresh_avatars answers with how many subjects matched and were queued', async () => {
  const w = ready();
  await waitForQueueEmpty(w);
  const all = await w.ws.callService<RefreshAvatarsResponse>('whatsapp', 'refresh_avatars', { scope: 'all' });
  assert.ok(all.success, JSON.stringify(all));
  if (!all.success) return;
  assert.is(all.result.scope, 'all');
  assert.is(all.result.matched, w.subjects.length, 'every known subject matches scope all');
  assert.is(all.result.queued, w.subjects.length, 'the queue was empty, so every match is a new job');
  assert.ok(all.result.queue_length >= w.subjects.length - 1 && all.result.queue_length <= w.subjects.length, `queue_length ${all.result.queue_length}`);
  assert.type(all.result.eta_seconds, 'number');

  const favourites = await w.ws.callService<RefreshAvatarsResponse>('whatsapp', 'refresh_avatars', { scope: 'favourites' });
  assert.ok(favourites.success, JSON.stringify(favourites));
  if (!favourites.success) return;
  assert.equal({ matched: favourites.result.matched, queued: favourites.result.queued }, { matched: 0, queued: 0 }, 'no favourites yet');
  await waitForQueueEmpty(w);
});

check('an invalid JID gets the translated validation error', async () => {
  const w = ready();
  const input = 'not-a-jid@example.com';
  const refused = await w.ws.callService('whatsapp', 'refresh_avatar', { jid: input, wait: 0 });
  assert.ok(!refused.success, 'the call is refused');
  if (refused.success) return;
  assert.is(refused.error.code, 'service_validation_error');
  assert.is(refused.error.translation_domain, 'whatsapp');
  assert.is(refused.error.translation_key, 'invalid_jid');
  assert.equal(refused.error.translation_placeholders, { jid: input });
  // HA prefixes validation errors and drops a final full stop.
  const message = exceptionMessage('invalid_jid', { jid: input }).replace(/\.$/, '');
  assert.ok(refused.error.message.includes(message), `message ${JSON.stringify(refused.error.message)} contains ${JSON.stringify(message)}`);
});

check('favourites get image entities that serve exactly the stored bytes; removing one removes its entity', async () => {
  const w = ready();
  const chosen = withStoredPicture(w).slice(0, FAVOURITE_COUNT);
  assert.is(chosen.length, FAVOURITE_COUNT, 'enough subjects with a stored picture');
  await setFavourites(w.env.rest, w.env.entryId, chosen.map((choice) => choice.value));
  w.favourites = [];
  for (const choice of chosen) {
    const entityId = await entityIdOf(w.ws, pictureUniqueId(choice.value));
    w.favourites.push({ jid: choice.value, entityId });
    const { served, stored, contentType } = await waitForServedFile(w.env, entityId, storedPicturePath(w.dataDir, choice.value));
    assert.ok(served.equals(stored), `${entityId} serves the stored bytes`);
    assert.is(contentType, 'image/jpeg');
    const state = await w.env.state(entityId);
    assert.is(state?.attributes.jid, choice.value);
    assert.is(state?.attributes.picture_state, 'fetched');
  }

  const scoped = await w.ws.callService<RefreshAvatarsResponse>('whatsapp', 'refresh_avatars', { scope: 'favourites' });
  assert.ok(scoped.success && scoped.result.matched === FAVOURITE_COUNT, `scope favourites matches the favourites: ${JSON.stringify(scoped)}`);

  const dropped = w.favourites.pop()!;
  await setFavourites(w.env.rest, w.env.entryId, w.favourites.map((favourite) => favourite.jid));
  await w.env.waitForState(dropped.entityId, 'to be removed', (state) => state === undefined, LIVENESS_TIMEOUT_MS);
  const registered = await whatsappEntities(w.ws);
  assert.not.ok(registered.some((entry) => entry.entity_id === dropped.entityId), `${dropped.entityId} left the entity registry`);
  for (const favourite of w.favourites) {
    assert.ok(registered.some((entry) => entry.entity_id === favourite.entityId), `${favourite.entityId} stays`);
  }
  await waitForQueueEmpty(w);
});

check('a favourite dropped and picked again serves its picture again within seconds', async () => {
  const w = ready();
  const favourite = w.favourites[0]!;
  await setFavourites(w.env.rest, w.env.entryId, w.favourites.slice(1).map((f) => f.jid));
  await w.env.waitForState(favourite.entityId, 'to be removed', (state) => state === undefined, LIVENESS_TIMEOUT_MS);
  const pickedAt = Date.now();
  await setFavourites(w.env.rest, w.env.entryId, w.favourites.map((f) => f.jid));
  const entityId = await entityIdOf(w.ws, pictureUniqueId(favourite.jid));
  w.favourites[0] = { jid: favourite.jid, entityId };
  const { served, stored, contentType } = await waitForServedFile(w.env, entityId, storedPicturePath(w.dataDir, favourite.jid));
  const seconds = (Date.now() - pickedAt) / 1000;
  assert.ok(served.equals(stored), `${entityId} serves the stored bytes again`);
  assert.is(contentType, 'image/jpeg', 'the picture, not the placeholder');
  assert.ok(seconds <= STATE_BACK_SECONDS, `served ${seconds.toFixed(1)} s after it was picked again (at most ${STATE_BACK_SECONDS} s)`);
});

check('reloading the entry with the worker connected: still connected, status and pictures back within seconds, calls answered', async () => {
  const w = ready();
  const connection = await entityIdOf(w.ws, `${w.env.entryId}_connection`);
  await waitForQueueEmpty(w);
  const reloadedAt = Date.now();
  await reloadEntry(w);
  // The status (and so the Connection sensor) comes only from the worker: it is there again only
  // if the worker was asked to send everything again.
  await w.env.waitForState(w.workerConnected, 'to be on after the reload', (state) => state?.state === 'on', STATE_BACK_SECONDS * 1000);
  await w.env.waitForState(connection, 'to show the worker connected to WhatsApp after the reload', (state) => state?.state === 'open', STATE_BACK_SECONDS * 1000);
  for (const { jid, entityId } of w.favourites) {
    const { served, stored } = await waitForServedFile(w.env, entityId, storedPicturePath(w.dataDir, jid));
    assert.ok(served.equals(stored), `${entityId} serves the stored bytes after the reload`);
  }
  const seconds = (Date.now() - reloadedAt) / 1000;
  assert.ok(seconds <= STATE_BACK_SECONDS, `connected, status and pictures ${seconds.toFixed(1)} s after the reload (at most ${STATE_BACK_SECONDS} s)`);
  const answered = await w.ws.callService<RefreshAvatarResponse>('whatsapp', 'refresh_avatar', { jid: w.favourites[0]!.jid, wait: 0 });
  assert.ok(answered.success, `refresh_avatar is answered right after the reload: ${JSON.stringify(answered)}`);
  await waitForQueueEmpty(w);
});

check('a killed worker turns its liveness off, the pictures stay available and calls fail translated; started again, everything comes back', async () => {
  const w = ready();
  assert.ok(w.favourites.length > 0, 'the favourites test ran first');
  const exit = await w.worker.kill();
  assert.is(exit.signal, 'SIGKILL');
  await w.env.waitForState(w.workerConnected, 'to turn off', (state) => state?.state === 'off', LIVENESS_TIMEOUT_MS);
  // The pictures are HA's: they stay available and on show while the worker is away.
  for (const favourite of w.favourites) {
    const state = await w.env.state(favourite.entityId);
    assert.ok(state !== undefined && state.state !== 'unavailable', `${favourite.entityId} stays available`);
    const { served, stored } = await waitForServedFile(w.env, favourite.entityId, storedPicturePath(w.dataDir, favourite.jid));
    assert.ok(served.equals(stored), `${favourite.entityId} still serves the last picture while the worker is away`);
  }
  const refused = await w.ws.callService('whatsapp', 'refresh_avatar', { jid: w.favourites[0]!.jid, wait: 0 });
  assert.ok(!refused.success, 'no worker, no call');
  if (!refused.success) {
    assert.is(refused.error.code, 'home_assistant_error');
    assert.is(refused.error.translation_key, 'worker_not_connected');
    assert.is(refused.error.message, exceptionMessage('worker_not_connected').replace(/\.$/, ''));
  }

  w.worker = w.env.startWorker('worker', w.dataDir);
  await w.env.waitForState(w.workerConnected, 'to turn on again', (state) => state?.state === 'on', LIVENESS_TIMEOUT_MS);
  for (const favourite of w.favourites) {
    await w.env.waitForState(favourite.entityId, 'to be available again', (state) => state !== undefined && state.state !== 'unavailable', LIVENESS_TIMEOUT_MS);
    const { served, stored } = await waitForServedFile(w.env, favourite.entityId, storedPicturePath(w.dataDir, favourite.jid));
    assert.ok(served.equals(stored), `${favourite.entityId} serves the stored bytes after the worker came back`);
  }
  const answered = await w.ws.callService<RefreshAvatarResponse>(
    'whatsapp',
    'refresh_avatar',
    { jid: w.favourites[0]!.jid, wait: REFRESH_WAIT_SECONDS },
    (REFRESH_WAIT_SECONDS + 30) * 1000,
  );
  assert.ok(answered.success && answered.result.outcome?.state === 'fetched', `the restarted worker serves calls: ${JSON.stringify(answered)}`);
});

check('after a Home Assistant restart the running worker reconnects by itself and serves calls again', async () => {
  const w = ready();
  await w.ws.close();
  await w.env.ha.stop();
  assert.ok(w.worker.running, 'the worker survives Home Assistant going away');
  await w.env.ha.start();
  await w.env.ha.waitUntilRunning(w.env.token);
  w.ws = await w.env.connect();
  await w.env.waitForState(w.workerConnected, 'to turn on after the restart', (state) => state?.state === 'on', RECONNECT_TIMEOUT_MS);
  assert.ok(w.worker.running, 'the same worker process reconnected');

  const favourite = w.favourites[0]!;
  const answered = await waitFor(
    'refresh_avatar to be answered after the restart',
    async () => {
      const outcome = await w.ws.callService<RefreshAvatarResponse>(
        'whatsapp',
        'refresh_avatar',
        { jid: favourite.jid, wait: REFRESH_WAIT_SECONDS },
        (REFRESH_WAIT_SECONDS + 30) * 1000,
      );
      if (!outcome.success) throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
      return outcome.result;
    },
    { timeoutMs: RECONNECT_TIMEOUT_MS, intervalMs: 500 },
  );
  assert.is(answered.jid, favourite.jid);
  assert.is(answered.outcome?.state, 'fetched');
  for (const { jid, entityId } of w.favourites) {
    const { served, stored } = await waitForServedFile(w.env, entityId, storedPicturePath(w.dataDir, jid));
    assert.ok(served.equals(stored), `${entityId} still serves the stored bytes after the restart`);
  }
});

check('a worker that cannot reach WhatsApp: HA shows Disconnected with the reason and the next attempt', async () => {
  const w = ready();
  await w.worker.kill();
  await w.env.waitForState(w.workerConnected, 'to turn off', (state) => state?.state === 'off', LIVENESS_TIMEOUT_MS);
  const dataDir = w.env.path('unreachable-data');
  mkdirSync(dataDir);
  // Port 1 on loopback: nothing listens, so the connection is refused at once.
  w.worker = w.env.startUnreachableWorker('unreachable-worker', dataDir, 'ws://127.0.0.1:1/ws/chat');
  // A new data folder is a new worker id: HA asks whether it is a new account or this account's new worker.
  const replaced = await answerWorkerOffer(w.env.rest, await waitForWorkerOffer(w.ws, LIVENESS_TIMEOUT_MS), w.env.entryId);
  assert.is(replaced.reason, 'worker_replaced', JSON.stringify(replaced));
  await w.env.waitForState(w.workerConnected, 'to turn on for the real worker', (state) => state?.state === 'on', REPLACED_WORKER_TIMEOUT_MS);
  const connection = await entityIdOf(w.ws, `${w.env.entryId}_connection`);
  const shown = await w.env.waitForState(
    connection,
    'to say why WhatsApp is not connected',
    (state) => state?.state === 'closed' && typeof state.attributes.reason === 'string',
    RECONNECT_TIMEOUT_MS,
  );
  assert.match(String(shown?.attributes.reason), /^cannot reach WhatsApp \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/);
  const next = Date.parse(String(shown?.attributes.reconnect_at));
  assert.ok(Number.isFinite(next), `reconnect_at is a time: ${JSON.stringify(shown?.attributes.reconnect_at)}`);
  assert.ok(next > Date.now() - 60_000 && next < Date.now() + 10 * 60_000, `the next attempt is minutes away at most: ${shown?.attributes.reconnect_at}`);
  // The worker itself is there: a call is answered, its job waits for WhatsApp.
  const queued = await w.ws.callService<RefreshAvatarResponse>('whatsapp', 'refresh_avatar', { jid: w.favourites[0]!.jid, wait: 0 });
  assert.ok(queued.success && queued.result.queued && queued.result.position === 1, `refresh_avatar without WhatsApp is queued: ${JSON.stringify(queued)}`);
});

e2e.run();
