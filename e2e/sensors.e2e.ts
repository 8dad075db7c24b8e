// The worker's sensors on a real Home Assistant with its recorder and logbook (issue 13): a demo
// worker with WhatsApp's rate-overlimit bursts runs a backfill; "Paused by WhatsApp" turns on in
// a pause and off after it, "Backfill time left" is a duration in minutes, the old "Rate limited
// until" is gone, and the logbook has the pauses (on/off) but nothing from the sensors with a
// unit (tests/test_logbook.py has the picture-change line). The device page in Chromium, with
// "Paused by WhatsApp" open during a pause (on, and its `until`), becomes docs/sensors.png.

import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { HaBrowser } from './support/browser.js';
import { entityIdOf, whatsappEntities } from './support/entities.js';
import { REPO_ROOT, WORKER_BIN } from './support/paths.js';
import { ManagedProcess } from './support/processes.js';
import { waitFor } from './support/wait.js';
import { DEMO_INTERVAL_SECONDS } from './support/worker.js';
import { environmentSuite } from './support/suite.js';

// Enough queries for a few of the simulation's rate-overlimit bursts (one every ~150 queries).
const CONTACTS = 600;
const BACKFILL_TIMEOUT_MS = 240_000;
const SCREENSHOT = join(REPO_ROOT, 'docs', 'sensors.png');

interface LogbookEntry {
  entity_id?: string;
  state?: string;
  name?: string;
  message?: string;
  domain?: string;
}

const { e2e, environment } = environmentSuite('the sensors and the logbook on a real Home Assistant', 'sensors', { chromium: true, configuration: 'recorder:\n  commit_interval: 0\nhistory:\nlogbook:\n' });

e2e('a backfill with pauses: the pause sensor, the time left, and a logbook without the flood', async () => {
  const world = environment();
  const ws = await world.connect();
  const startedAt = new Date();
  const dataDir = world.path('worker-data');
  mkdirSync(dataDir);
  const paused = await entityIdOf(ws, `${world.entryId}_paused`);
  const timeLeft = await entityIdOf(ws, `${world.entryId}_time_left`);
  const queueLength = await entityIdOf(ws, `${world.entryId}_queue_length`);
  const startWorker = (): void => {
    world.track(
      ManagedProcess.start('worker', {
        command: process.execPath,
        args: [WORKER_BIN, 'demo', '--data', dataDir, '--contacts', String(CONTACTS), '--interval', String(DEMO_INTERVAL_SECONDS), '--ha-url', world.haUrl],
        env: { ...process.env, WHATSAPP_HA_TOKEN: world.token, WHATSAPP_HA_URL: undefined, SUPERVISOR_TOKEN: undefined },
        logPath: join(world.root, 'worker.log'),
      }),
    );
  };
  // The browser is logged in before the worker starts and on the device page with the pause
  // sensor open before the first pause: the demo's pauses last seconds, too short to log in and
  // open it once one begins.
  const browser = await HaBrowser.launch(world.path('chromium-profile'));
  let inPause: { state: string; attributes: Record<string, unknown> };
  try {
    const { device_id: device } = (await ws.command({ type: 'config/entity_registry/get', entity_id: paused })) as { device_id: string };
    await browser.logIn(world.haUrl, world.owner);
    startWorker();
    // Its attributes exist once the worker's first status made it available.
    await world.waitForState(paused, 'to be available', (state) => state?.state === 'off' || state?.state === 'on', BACKFILL_TIMEOUT_MS);
    // The device page with the sensor's dialog open on its details (state and attributes), as the
    // frontend opens it from its own URL parameters.
    await browser.page.goto(`${world.haUrl}/config/devices/device/${device}?more-info-entity-id=${paused}&more-info-view=details`);
    await browser.page.locator('ha-more-info-dialog').getByText('Until').first().waitFor();
    // A pause: on, with its end ahead, as the open dialog shows it (read from the page's own state).
    const handle = await browser.page.waitForFunction(
      (entityId) => {
        // The frontend's root element and its `hass`; this package compiles without the DOM types.
        const root = (globalThis as unknown as { document: { querySelector(selector: string): { hass?: { states: Record<string, { state: string; attributes: Record<string, unknown> }> } } | null } }).document.querySelector('home-assistant');
        const state = root?.hass?.states[entityId];
        return state?.state === 'on' && typeof state.attributes.until === 'string' ? state : undefined;
      },
      paused,
      { timeout: BACKFILL_TIMEOUT_MS, polling: 'raf' },
    );
    inPause = (await handle.jsonValue()) as typeof inPause;
    await browser.settle();
    await browser.page.screenshot({ path: SCREENSHOT });
    copyFileSync(SCREENSHOT, world.path('sensors.png'));
  } finally {
    await browser.close();
  }
  assert.ok(Date.parse(String(inPause.attributes.until)) > Date.now() - 60_000, `until ${String(inPause.attributes.until)}`);
  // The time left while the backfill runs (the first pause comes early in it): a duration in minutes.
  const running = await world.waitForState(timeLeft, 'to show the time left', (state) => state !== undefined && /^\d+$/.test(state.state), BACKFILL_TIMEOUT_MS);
  assert.is(running!.attributes.unit_of_measurement, 'min');
  assert.is(running!.attributes.device_class, 'duration');
  await world.waitForState(queueLength, 'to show an empty queue', (state) => state?.state === '0', BACKFILL_TIMEOUT_MS);
  const after = await world.waitForState(paused, 'to be off after the backfill', (state) => state?.state === 'off', BACKFILL_TIMEOUT_MS);
  assert.is(after!.attributes.until, null);
  const entities = await whatsappEntities(ws);
  assert.not.ok(entities.some((entry) => entry.unique_id === `${world.entryId}_rate_limited_until`), 'the old sensor is not registered');

  // The logbook of the run, as the logbook panel reads it.
  const entries = await waitFor(
    'the logbook to have the pauses',
    async () => {
      const response = await world.rest.request('GET', `/api/logbook/${startedAt.toISOString()}?end_time=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
      if (!response.ok) throw new Error(`GET /api/logbook answered HTTP ${response.status}: ${await response.text()}`);
      const found = (await response.json()) as LogbookEntry[];
      const pauses = found.filter((entry) => entry.entity_id === paused);
      if (pauses.length < 2 || pauses.at(-1)!.state !== 'off') throw new Error(`${pauses.length} pause entries: ${JSON.stringify(pauses)}`);
      return found;
    },
    { timeoutMs: 30_000 },
  );
  const ours = entries.filter((entry) => /^(binary_)?sensor\.whatsapp/.test(entry.entity_id ?? ''));
  const pauseEntries = ours.filter((entry) => entry.entity_id === paused);
  const fromSensorsWithAUnit = ours.filter((entry) => entry.entity_id === timeLeft || entry.entity_id === queueLength || entry.entity_id?.endsWith('_progress'));
  assert.equal(fromSensorsWithAUnit, [], 'the time left, the queue and the progress write no logbook entries');
  // On and off by turns (the first "off" is the sensor becoming available as the worker
  // connects), ending off: two entries per pause, however many statuses each pause saw.
  const states = pauseEntries.map((entry) => entry.state);
  assert.ok(states.every((state, index) => index === 0 || state !== states[index - 1]), `alternating: ${states.join(' ')}`);
  assert.is(states.at(-1), 'off');
  const pauses = states.filter((state) => state === 'on').length;
  assert.ok(pauses >= 1, 'at least one pause in the run');
  assert.ok(pauseEntries.length <= 2 * pauses + 1, `${pauseEntries.length} entries for ${pauses} pauses`);
  console.log(`sensors e2e: ${pauses} pauses, ${ours.length} logbook entries of the worker's sensors in the run`);

});

e2e.run();
