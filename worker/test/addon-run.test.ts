// The add-on's start script (addon/run.mjs), run as the Supervisor would run it, against temp
// options files: good options become the worker's command line, bad ones stop it before anything
// starts with a message naming the option. The full start runs a stub worker and a fake
// Supervisor on loopback.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const RUN_SCRIPT = path.join(REPO_ROOT, 'addon/run.mjs');
const IMAGE_WORKER_BIN = '/opt/whatsapp-worker/worker/bin/whatsapp-worker.js';
const TEST_HA = { WHATSAPP_HA_URL: 'ws://127.0.0.1:8123/api/websocket', WHATSAPP_HA_TOKEN: 'long-lived-test-token' };

interface DryRun {
  command: string[];
  env: Record<string, string>;
}

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'addon-run-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withTempDirAsync<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'addon-run-'));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The environment of the script: only what a test gives it, so the machine's own env cannot leak in. */
function scriptEnv(dir: string, env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', WHATSAPP_OPTIONS_PATH: path.join(dir, 'options.json'), ...env };
}

/** Runs the script on an options file (an object, or raw text to test broken files). */
function runWith(options: unknown, env: Record<string, string> = TEST_HA, args: string[] = ['--dry-run']) {
  return withTempDir((dir) => {
    if (options !== undefined) writeFileSync(path.join(dir, 'options.json'), typeof options === 'string' ? options : JSON.stringify(options));
    const result = spawnSync(process.execPath, [RUN_SCRIPT, ...args], { env: scriptEnv(dir, env), encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  });
}

function dryRun(options: unknown, env: Record<string, string> = TEST_HA): DryRun {
  const result = runWith(options, env);
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as DryRun;
}

/** The defaults the Supervisor writes for a fresh install: config.yaml's `options`. */
function configDefaults(): Record<string, unknown> {
  return (parse(readFileSync(path.join(REPO_ROOT, 'addon/config.yaml'), 'utf8')) as { options: Record<string, unknown> }).options;
}

test('the default options become the worker command line', () => {
  const { command, env } = dryRun(configDefaults());
  assert.equal(command, [
    process.execPath,
    IMAGE_WORKER_BIN,
    'run',
    '--data', '/data',
    '--avatars', '/data/media/avatars',
    '--interval', '3',
    '--hourly-cap', '900',
    '--picture-type', 'image',
    '--log-level', 'info',
  ]);
  assert.equal(env, { WHATSAPP_HA_URL: TEST_HA.WHATSAPP_HA_URL, WHATSAPP_HA_TOKEN: '<redacted>', WHATSAPP_IN_APP: '1' }, 'the worker learns it runs as the app');
});

test('every option maps onto its flag: phone digits, pino log level, /share folder', () => {
  const { command } = dryRun({
    interval: 2.5,
    hourly_cap: 120,
    picture_size: 'preview',
    phone_number: '+491701234567',
    log_level: 'warning',
    avatars_folder: '/share/whatsapp/avatars/',
  });
  assert.equal(command.slice(2), [
    'run',
    '--data', '/data',
    '--avatars', '/share/whatsapp/avatars',
    '--interval', '2.5',
    '--hourly-cap', '120',
    '--picture-type', 'preview',
    '--phone', '491701234567',
    '--log-level', 'warn',
  ]);
});

test('missing options take their defaults; a cleared phone number means QR linking', () => {
  const fromEmpty = dryRun({});
  assert.equal(fromEmpty.command, dryRun(configDefaults()).command);
  for (const cleared of [null, '']) {
    const { command } = dryRun({ ...configDefaults(), phone_number: cleared });
    assert.not.ok(command.includes('--phone'), `phone_number ${JSON.stringify(cleared)} still passes --phone`);
  }
});

test('under the Supervisor the worker goes through the proxy with the Supervisor token', () => {
  const { env } = dryRun(configDefaults(), { SUPERVISOR_TOKEN: 'supervisor-token' });
  assert.equal(env, { WHATSAPP_HA_URL: 'ws://supervisor/core/websocket', WHATSAPP_HA_TOKEN: '<redacted>', WHATSAPP_IN_APP: '1' });
});

test('WHATSAPP_HA_URL and its token win over the Supervisor proxy', () => {
  const { env } = dryRun(configDefaults(), { SUPERVISOR_TOKEN: 'supervisor-token', ...TEST_HA });
  assert.is(env.WHATSAPP_HA_URL, TEST_HA.WHATSAPP_HA_URL);
});

test('WHATSAPP_DATA_DIR moves the data folder, and the pictures may live inside it', () => {
  const env = { ...TEST_HA, WHATSAPP_DATA_DIR: '/srv/whatsapp/' };
  const { command } = dryRun({ ...configDefaults(), avatars_folder: '/srv/whatsapp/avatars' }, env);
  assert.equal(command.slice(3, 7), ['--data', '/srv/whatsapp', '--avatars', '/srv/whatsapp/avatars']);
  const outside = runWith({ ...configDefaults(), avatars_folder: '/data/media/avatars' }, env);
  assert.is(outside.status, 1);
  assert.match(outside.stderr, "option 'avatars_folder'");
});

const BAD_OPTIONS: [string, Record<string, unknown>, string][] = [
  ['interval', { interval: 1.5 }, 'below the minimum of 2 s'],
  ['interval', { interval: '3' }, 'expected a number'],
  ['hourly_cap', { hourly_cap: 0 }, 'at least 1'],
  ['hourly_cap', { hourly_cap: 10.5 }, 'whole number'],
  ['picture_size', { picture_size: 'large' }, 'image, preview'],
  ['phone_number', { phone_number: '0170 1234567' }, 'country code'],
  ['phone_number', { phone_number: '+49-170-1234567' }, 'country code'],
  ['phone_number', { phone_number: 491701234567 }, 'country code'],
  ['log_level', { log_level: 'verbose' }, 'trace, debug, info, warning, error'],
  ['avatars_folder', { avatars_folder: 'media/avatars' }, 'not an absolute path'],
  ['avatars_folder', { avatars_folder: '/config/avatars' }, 'outside the folders'],
  ['avatars_folder', { avatars_folder: '/data/../etc' }, "'..'"],
  ['avatars_folder', { avatars_folder: '/share/my avatars' }, 'characters other than'],
  ['intervall', { intervall: 3 }, 'unknown option'],
];

for (const [option, change, problem] of BAD_OPTIONS) {
  test(`refuses ${option} = ${JSON.stringify(Object.values(change)[0])} naming the option, starting nothing`, () => {
    const result = runWith({ ...configDefaults(), ...change });
    assert.is(result.status, 1);
    assert.is(result.stdout, '', 'a refused start printed a command line');
    assert.match(result.stderr, `option '${option}'`);
    assert.match(result.stderr, problem);
    assert.match(result.stderr, 'Nothing was started');
  });
}

test('a missing, broken or non-object options file is refused with its path', () => {
  const missing = runWith(undefined);
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /cannot read the options file .*options\.json/);
  const broken = runWith('{"interval": 3');
  assert.is(broken.status, 1);
  assert.match(broken.stderr, /options\.json is not valid JSON/);
  const list = runWith('[1, 2]');
  assert.is(list.status, 1);
  assert.match(list.stderr, 'expected a JSON object');
});

test('without a way to reach Home Assistant nothing starts', () => {
  const none = runWith(configDefaults(), {});
  assert.is(none.status, 1);
  assert.match(none.stderr, 'SUPERVISOR_TOKEN is not set');
  const noToken = runWith(configDefaults(), { WHATSAPP_HA_URL: TEST_HA.WHATSAPP_HA_URL });
  assert.is(noToken.status, 1);
  assert.match(noToken.stderr, 'WHATSAPP_HA_TOKEN');
  const badUrl = runWith(configDefaults(), { WHATSAPP_HA_URL: 'localhost:8123', WHATSAPP_HA_TOKEN: 'token' });
  assert.is(badUrl.status, 1);
  assert.match(badUrl.stderr, "WHATSAPP_HA_URL 'localhost:8123'");
});

test('an unknown argument is refused', () => {
  const result = runWith(configDefaults(), TEST_HA, ['--dryrun']);
  assert.is(result.status, 2);
  assert.match(result.stderr, 'unknown argument --dryrun');
});

// A stand-in for the worker: records its arguments and Home Assistant settings, then either exits
// with a distinctive code or, with STUB_WAIT_FOR_SIGNAL, waits to be stopped.
const STUB_WORKER = `
import { writeFileSync } from 'node:fs';
const record = (extra) => writeFileSync(process.env.STUB_OUTPUT, JSON.stringify({
  argv: process.argv.slice(2), haUrl: process.env.WHATSAPP_HA_URL, haToken: process.env.WHATSAPP_HA_TOKEN, ...extra,
}));
if (process.env.STUB_WAIT_FOR_SIGNAL) {
  process.on('SIGTERM', () => { record({ signal: 'SIGTERM' }); process.exit(0); });
  setInterval(() => {}, 1000);
  process.stdout.write('ready\\n');
} else {
  record({});
  process.exit(7);
}
`;

interface DiscoveryRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A fake Supervisor on loopback that records discovery messages and answers with `status`. */
async function fakeSupervisor(status: number) {
  const requests: DiscoveryRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method, url: request.url, headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(status === 200 ? { result: 'ok', data: { uuid: 'abc' } } : { result: 'error' }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

interface StartResult {
  code: number | null;
  stderr: string;
  recorded: { argv: string[]; haUrl: string; haToken: string; signal?: string };
}

/** Starts the script for real (no --dry-run) with the stub worker and waits for it to end. */
async function startForReal(dir: string, env: Record<string, string>, stopWhenReady = false): Promise<StartResult> {
  const stub = path.join(dir, 'stub-worker.mjs');
  const output = path.join(dir, 'stub-output.json');
  writeFileSync(stub, STUB_WORKER);
  writeFileSync(path.join(dir, 'options.json'), JSON.stringify({ ...configDefaults(), phone_number: '+491701234567' }));
  const child = spawn(process.execPath, [RUN_SCRIPT], {
    env: scriptEnv(dir, { WHATSAPP_WORKER_BIN: stub, STUB_OUTPUT: output, ...(stopWhenReady ? { STUB_WAIT_FOR_SIGNAL: '1' } : {}), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => {
    if (stopWhenReady && chunk.toString('utf8').includes('ready')) child.kill('SIGTERM');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr, recorded: JSON.parse(readFileSync(output, 'utf8')) as StartResult['recorded'] };
}

test('a real start offers the integration, then runs the worker with the proxy settings', async () => {
  const supervisor = await fakeSupervisor(200);
  try {
    await withTempDirAsync(async (dir) => {
      const result = await startForReal(dir, { SUPERVISOR_TOKEN: 'supervisor-secret', WHATSAPP_SUPERVISOR_URL: supervisor.url });
      assert.is(result.code, 7, `the worker's exit code is not passed on: ${result.stderr}`);
      assert.equal(result.recorded.argv, [
        'run',
        '--data', '/data',
        '--avatars', '/data/media/avatars',
        '--interval', '3',
        '--hourly-cap', '900',
        '--picture-type', 'image',
        '--phone', '491701234567',
        '--log-level', 'info',
      ]);
      assert.is(result.recorded.haUrl, 'ws://supervisor/core/websocket');
      assert.is(result.recorded.haToken, 'supervisor-secret');

      assert.is(supervisor.requests.length, 1);
      const [discovery] = supervisor.requests;
      assert.is(discovery?.method, 'POST');
      assert.is(discovery?.url, '/discovery');
      assert.is(discovery?.headers.authorization, 'Bearer supervisor-secret');
      assert.equal(discovery?.body, { service: 'whatsapp', config: {} });

      // The log says what happens, without the token and with the phone number masked.
      assert.match(result.stderr, 'offered the WhatsApp integration');
      assert.match(result.stderr, 'pairing code for +49********67');
      assert.not.match(result.stderr, '491701234567');
      assert.not.match(result.stderr, 'supervisor-secret');
    });
  } finally {
    await supervisor.close();
  }
});

test('a refused discovery is logged and the worker starts anyway', async () => {
  const supervisor = await fakeSupervisor(403);
  try {
    await withTempDirAsync(async (dir) => {
      const result = await startForReal(dir, { SUPERVISOR_TOKEN: 'supervisor-secret', WHATSAPP_SUPERVISOR_URL: supervisor.url });
      assert.is(result.code, 7);
      assert.match(result.stderr, 'refused the discovery message (HTTP 403)');
      assert.is(result.recorded.argv[0], 'run');
    });
  } finally {
    await supervisor.close();
  }
});

test('outside the Supervisor no discovery is sent and the stop signal reaches the worker', async () => {
  const supervisor = await fakeSupervisor(200);
  try {
    await withTempDirAsync(async (dir) => {
      const result = await startForReal(dir, { ...TEST_HA, WHATSAPP_SUPERVISOR_URL: supervisor.url }, true);
      assert.is(result.recorded.signal, 'SIGTERM', 'the worker did not receive SIGTERM');
      assert.is(result.code, 0);
      assert.is(result.recorded.haUrl, TEST_HA.WHATSAPP_HA_URL);
      assert.is(result.recorded.haToken, TEST_HA.WHATSAPP_HA_TOKEN);
      assert.is(supervisor.requests.length, 0);
    });
  } finally {
    await supervisor.close();
  }
});

test.run();
