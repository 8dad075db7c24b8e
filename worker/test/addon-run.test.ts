// The add-on's start script (addon/run.mjs), run as the Supervisor would run it, against temp
// options files: good options become the worker's command line, bad ones stop it before anything
// starts with a message naming the option. The full start runs a stub worker and a fake
// Supervisor on loopback. The frames are in support/addon-run-harness.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configDefaults, dryRun, refusal, runWith, startForReal, TEST_HA } from './support/addon-run-harness.js';

const IMAGE_WORKER_BIN = '/opt/whatsapp-worker/worker/bin/whatsapp-worker.js';
const SUPERVISED = (supervisorUrl: string) => ({ SUPERVISOR_TOKEN: 'supervisor-secret', WHATSAPP_SUPERVISOR_URL: supervisorUrl });

test('the default options become the worker command line', () => {
  const { command, env } = dryRun(configDefaults());
  assert.equal(command, [
    process.execPath,
    '--optimize-for-size',
    IMAGE_WORKER_BIN,
    'run',
    '--data', '/data',
    '--avatars', '/data/media/avatars',
    '--interval', '3',
    '--hourly-cap', '900',
    '--picture-type', 'image',
    '--log-level', 'info',
    '--log-format', 'pretty',
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
    log_format: 'json',
    avatars_folder: '/share/whatsapp/avatars/',
  });
  assert.equal(command.slice(3), [
    'run',
    '--data', '/data',
    '--avatars', '/share/whatsapp/avatars',
    '--interval', '2.5',
    '--hourly-cap', '120',
    '--picture-type', 'preview',
    '--phone', '491701234567',
    '--log-level', 'warn',
    '--log-format', 'json',
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
  assert.equal(command.slice(4, 8), ['--data', '/srv/whatsapp', '--avatars', '/srv/whatsapp/avatars']);
  assert.match(refusal({ ...configDefaults(), avatars_folder: '/data/media/avatars' }, env), "option 'avatars_folder'");
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
  ['log_format', { log_format: 'text' }, 'pretty, json'],
  ['avatars_folder', { avatars_folder: 'media/avatars' }, 'not an absolute path'],
  ['avatars_folder', { avatars_folder: '/config/avatars' }, 'outside the folders'],
  ['avatars_folder', { avatars_folder: '/data/../etc' }, "'..'"],
  ['avatars_folder', { avatars_folder: '/share/my avatars' }, 'characters other than'],
  ['intervall', { intervall: 3 }, 'unknown option'],
];

for (const [option, change, problem] of BAD_OPTIONS) {
  test(`refuses ${option} = ${JSON.stringify(Object.values(change)[0])} naming the option, starting nothing`, () => {
    const stderr = refusal({ ...configDefaults(), ...change });
    assert.match(stderr, `option '${option}'`);
    assert.match(stderr, problem);
  });
}

test('a missing, broken or non-object options file is refused with its path', () => {
  assert.match(refusal(undefined), /cannot read the options file .*options\.json/);
  assert.match(refusal('{"interval": 3'), /options\.json is not valid JSON/);
  assert.match(refusal('[1, 2]'), 'expected a JSON object');
});

test('without a way to reach Home Assistant nothing starts', () => {
  assert.match(refusal(configDefaults(), {}), 'SUPERVISOR_TOKEN is not set');
  assert.match(refusal(configDefaults(), { WHATSAPP_HA_URL: TEST_HA.WHATSAPP_HA_URL }), 'WHATSAPP_HA_TOKEN');
  assert.match(refusal(configDefaults(), { WHATSAPP_HA_URL: 'localhost:8123', WHATSAPP_HA_TOKEN: 'token' }), "WHATSAPP_HA_URL 'localhost:8123'");
});

test('an unknown argument is refused', () => {
  const result = runWith(configDefaults(), TEST_HA, ['--dryrun']);
  assert.is(result.status, 2);
  assert.match(result.stderr, 'unknown argument --dryrun');
});

test('a real start offers the integration, then runs the worker with the proxy settings', async () => {
  const result = await startForReal({ supervisorStatus: 200, env: SUPERVISED });
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
    '--log-format', 'pretty',
  ]);
  assert.is(result.recorded.haUrl, 'ws://supervisor/core/websocket');
  assert.is(result.recorded.haToken, 'supervisor-secret');

  assert.is(result.discovery.length, 1);
  const [discovery] = result.discovery;
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

test('a refused discovery is logged and the worker starts anyway', async () => {
  const result = await startForReal({ supervisorStatus: 403, env: SUPERVISED });
  assert.is(result.code, 7);
  assert.match(result.stderr, 'refused the discovery message (HTTP 403)');
  assert.is(result.recorded.argv[0], 'run');
});

test('outside the Supervisor no discovery is sent and the stop signal reaches the worker', async () => {
  const result = await startForReal({ supervisorStatus: 200, env: (supervisorUrl) => ({ ...TEST_HA, WHATSAPP_SUPERVISOR_URL: supervisorUrl }), stopWhenReady: true });
  assert.is(result.recorded.signal, 'SIGTERM', 'the worker did not receive SIGTERM');
  assert.is(result.code, 0);
  assert.is(result.recorded.haUrl, TEST_HA.WHATSAPP_HA_URL);
  assert.is(result.recorded.haToken, TEST_HA.WHATSAPP_HA_TOKEN);
  assert.is(result.discovery.length, 0);
});

test.run();
