// The add-on's start script (addon/run.mjs) live: it reads an options file as the Supervisor
// writes it, starts the worker with those settings, and the worker reaches a real Home Assistant.
// The worker CLI is swapped (WHATSAPP_WORKER_BIN) for e2e/support/demo-as-run.ts, which records
// the arguments and runs the same worker in demo mode, because `run` needs a real WhatsApp account.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RefreshAvatarResponse } from '../worker/src/ha/protocol.js';
import { entityIdOf } from './support/entities.js';
import { E2eEnvironment } from './support/environment.js';
import { favouriteChoices } from './support/integration.js';
import { ADDON_RUN_SCRIPT } from './support/paths.js';
import { ManagedProcess } from './support/processes.js';
import { waitFor } from './support/wait.js';

const LIVENESS_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 60_000;
const DEMO_AS_RUN = fileURLToPath(new URL('./support/demo-as-run.js', import.meta.url));
// Level numbers in the worker's pino log.
const PINO_DEBUG = 20;

const e2e = suite('the add-on start script against a real Home Assistant');
let env: E2eEnvironment | undefined;
let setupError: unknown;

e2e.before(async () => {
  try {
    env = await E2eEnvironment.start('addon');
  } catch (error) {
    setupError = error;
  }
});

e2e.after(async () => {
  await env?.dispose();
});

interface PinoLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function pinoLines(log: string): PinoLine[] {
  return log.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as PinoLine];
    } catch (error) {
      // A line cut off mid-write while the worker runs; the next read sees it whole.
      if (error instanceof SyntaxError) return [];
      throw error;
    }
  });
}

e2e('the options reach the worker and the worker reaches Home Assistant', async () => {
  if (env === undefined) throw setupError instanceof Error ? setupError : new Error(String(setupError));
  const world = env;
  try {
    const ws = await world.connect();
    const dataDir = world.path('addon-data');
    mkdirSync(dataDir);
    const avatarsFolder = `${dataDir}/media/avatars`;
    const options = { interval: 2.5, hourly_cap: 500, picture_size: 'preview', log_level: 'debug', log_format: 'json', avatars_folder: avatarsFolder, phone_number: null };
    const optionsPath = world.path('options.json');
    writeFileSync(optionsPath, JSON.stringify(options));
    const argvPath = world.path('worker-argv.json');

    const addon = world.track(
      ManagedProcess.start('add-on', {
        command: process.execPath,
        args: [ADDON_RUN_SCRIPT],
        env: {
          ...process.env,
          WHATSAPP_OPTIONS_PATH: optionsPath,
          WHATSAPP_DATA_DIR: dataDir,
          WHATSAPP_HA_URL: world.haUrl,
          WHATSAPP_HA_TOKEN: world.token,
          WHATSAPP_WORKER_BIN: DEMO_AS_RUN,
          WHATSAPP_E2E_ARGV_PATH: argvPath,
          SUPERVISOR_TOKEN: undefined,
        },
        logPath: world.path('add-on.log'),
      }),
    );

    const workerConnected = await entityIdOf(ws, `${world.entryId}_worker_connected`);
    const connection = await entityIdOf(ws, `${world.entryId}_connection`);
    await world.waitForState(workerConnected, 'to turn on', (state) => state?.state === 'on', START_TIMEOUT_MS);
    await world.waitForState(connection, 'to report the (simulated) WhatsApp connection open', (state) => state?.state === 'open', LIVENESS_TIMEOUT_MS);
    assert.ok(addon.running, 'the start script keeps running with the worker');

    // The options, translated into the worker's command line.
    const argv = JSON.parse(readFileSync(argvPath, 'utf8')) as string[];
    assert.equal(argv, [
      'run',
      '--data', dataDir,
      '--avatars', avatarsFolder,
      '--interval', String(options.interval),
      '--hourly-cap', String(options.hourly_cap),
      '--picture-type', options.picture_size,
      '--log-level', options.log_level,
      '--log-format', options.log_format,
    ]);
    // ...and taken up by the worker: its own log reports the interval.
    const lines = await waitFor(
      'the worker to log its settings',
      () => {
        const parsed = pinoLines(addon.log());
        return parsed.some((line) => line.intervalSeconds !== undefined) ? parsed : undefined;
      },
      { timeoutMs: LIVENESS_TIMEOUT_MS },
    );
    assert.is(lines.find((line) => line.intervalSeconds !== undefined)?.intervalSeconds, options.interval);
    assert.ok(
      addon.log().includes(`at least ${options.interval} s apart, at most ${options.hourly_cap} an hour; pictures in ${avatarsFolder}`),
      'the start script reports the rate settings',
    );

    // The worker behind the add-on answers service calls through HA.
    const [subject] = await waitFor(
      'the worker to report its directory',
      async () => {
        const choices = await favouriteChoices(world.rest, world.entryId);
        return choices.length > 0 ? choices : undefined;
      },
      { timeoutMs: LIVENESS_TIMEOUT_MS },
    );
    const answer = await ws.callService<RefreshAvatarResponse>('whatsapp', 'refresh_avatar', { jid: subject!.value, wait: 0 });
    assert.ok(answer.success, JSON.stringify(answer));
    if (answer.success) {
      assert.is(answer.result.jid, subject!.value);
      assert.is(answer.result.queued, true);
    }
    // log_level debug reached the worker: it logs each service call at debug level.
    await waitFor(
      'the worker to log the service call at debug level',
      () => (pinoLines(addon.log()).some((line) => line.level === PINO_DEBUG && line.service === 'refresh_avatar') ? true : undefined),
      { timeoutMs: LIVENESS_TIMEOUT_MS },
    );
    assert.ok(existsSync(`${dataDir}/whatsapp.db`), 'the worker keeps its database in WHATSAPP_DATA_DIR');

    // The container's stop signal goes to the start script, which passes it on.
    const exit = await addon.stop();
    assert.is(exit.code, 0, `the add-on stops cleanly: ${JSON.stringify(exit)}`);
    await world.waitForState(workerConnected, 'to turn off once the add-on stopped', (state) => state?.state === 'off', LIVENESS_TIMEOUT_MS);
  } catch (error) {
    world.reportLogs();
    throw error;
  }
});

e2e.run();
