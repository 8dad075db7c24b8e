// The frames the add-on start script's tests (addon-run.test.ts) run in: the script run as the
// Supervisor would run it, on a temp options file and an environment the test gives (so the
// machine's own cannot leak in); a dry run that prints the worker's command line; a refusal; and
// a real start with a stub worker and a fake Supervisor on loopback. A test says what differs.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const RUN_SCRIPT = path.join(REPO_ROOT, 'addon/run.mjs');
export const TEST_HA = { WHATSAPP_HA_URL: 'ws://127.0.0.1:8123/api/websocket', WHATSAPP_HA_TOKEN: 'long-lived-test-token' };

export interface DryRun {
  command: string[];
  env: Record<string, string>;
}

/** Runs `body` in a fresh temp folder and removes it afterwards, whether `body` returns at once or later. */
function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'addon-run-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  let result: T;
  try {
    result = body(dir);
  } catch (error) {
    remove();
    throw error;
  }
  if (result instanceof Promise) return result.finally(remove) as T;
  remove();
  return result;
}

/** The environment of the script: only what a test gives it, so the machine's own env cannot leak in. */
function scriptEnv(dir: string, env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', WHATSAPP_OPTIONS_PATH: path.join(dir, 'options.json'), ...env };
}

/** The defaults the Supervisor writes for a fresh install: config.yaml's `options`. */
export function configDefaults(): Record<string, unknown> {
  return (parse(readFileSync(path.join(REPO_ROOT, 'addon/config.yaml'), 'utf8')) as { options: Record<string, unknown> }).options;
}

/** Runs the script on an options file (an object, raw text to test broken files, or none). */
export function runWith(options: unknown, env: Record<string, string> = TEST_HA, args: string[] = ['--dry-run']) {
  return withTempDir((dir) => {
    if (options !== undefined) writeFileSync(path.join(dir, 'options.json'), typeof options === 'string' ? options : JSON.stringify(options));
    const result = spawnSync(process.execPath, [RUN_SCRIPT, ...args], { env: scriptEnv(dir, env), encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  });
}

/** A start that succeeds: the command line and environment the worker would get. */
export function dryRun(options: unknown, env: Record<string, string> = TEST_HA): DryRun {
  const result = runWith(options, env);
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as DryRun;
}

/** A start the configuration stops: exit 1, no command line, "Nothing was started"; returns the message. */
export function refusal(options: unknown, env: Record<string, string> = TEST_HA): string {
  const result = runWith(options, env);
  assert.is(result.status, 1, `expected a refusal: ${result.stdout}`);
  assert.is(result.stdout, '', 'a refused start printed a command line');
  assert.match(result.stderr, 'Nothing was started');
  return result.stderr;
}

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

export interface DiscoveryRequest {
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

export interface StartResult {
  code: number | null;
  stderr: string;
  recorded: { argv: string[]; haUrl: string; haToken: string; signal?: string };
  /** What the fake Supervisor received. */
  discovery: DiscoveryRequest[];
}

export interface RealStart {
  /** What the fake Supervisor answers a discovery message with. */
  readonly supervisorStatus: number;
  /** The script's environment besides the stub's; gets the fake Supervisor's URL. */
  readonly env: (supervisorUrl: string) => Record<string, string>;
  /** Stop the stub worker with SIGTERM once it runs (else it exits with 7 by itself). */
  readonly stopWhenReady?: boolean;
}

/** Starts the script for real (no --dry-run) with the stub worker and a fake Supervisor, and waits for it to end. */
export async function startForReal(start: RealStart): Promise<StartResult> {
  const supervisor = await fakeSupervisor(start.supervisorStatus);
  try {
    return await withTempDir(async (dir) => {
      const stub = path.join(dir, 'stub-worker.mjs');
      const output = path.join(dir, 'stub-output.json');
      writeFileSync(stub, STUB_WORKER);
      writeFileSync(path.join(dir, 'options.json'), JSON.stringify({ ...configDefaults(), phone_number: '+491701234567' }));
      const stubEnv = { WHATSAPP_WORKER_BIN: stub, STUB_OUTPUT: output, ...(start.stopWhenReady ? { STUB_WAIT_FOR_SIGNAL: '1' } : {}) };
      const child = spawn(process.execPath, [RUN_SCRIPT], { env: scriptEnv(dir, { ...stubEnv, ...start.env(supervisor.url) }), stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.stdout.on('data', (chunk: Buffer) => {
        if (start.stopWhenReady && chunk.toString('utf8').includes('ready')) child.kill('SIGTERM');
      });
      const [code] = (await once(child, 'exit')) as [number | null];
      return { code, stderr, recorded: JSON.parse(readFileSync(output, 'utf8')) as StartResult['recorded'], discovery: supervisor.requests };
    });
  } finally {
    await supervisor.close();
  }
}
