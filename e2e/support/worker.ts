// The worker in demo mode (the real worker against the simulated WhatsApp account), connected to
// the suite's Home Assistant with a long-lived token, as a user would run it beside HA.

import { join } from 'node:path';
import { ManagedProcess } from './processes.js';
import { WORKER_BIN } from './paths.js';

// Enough subjects for a directory and a few favourites, few enough that the first pass takes
// seconds at the interval below.
export const DEMO_CONTACTS = 40;
// The demo may go below the real 2 s minimum; pauses scale with it (quiet period 1 s here).
export const DEMO_INTERVAL_SECONDS = 0.05;

export interface DemoWorkerOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly haUrl: string;
  readonly token: string;
  readonly logDir: string;
  /** Seconds until the simulated phone scans the QR (the demo's `--scan-after`; default 1.5). */
  readonly scanAfterSeconds?: number;
  /** Simulated contacts; DEMO_CONTACTS unless a test needs a large account. */
  readonly contacts?: number;
  /** Seconds between picture queries; DEMO_INTERVAL_SECONDS unless a large account must go faster. */
  readonly intervalSeconds?: number;
}

/** Starts `whatsapp-worker demo`; several starts on the same data folder append to one log. */
export function startDemoWorker(options: DemoWorkerOptions): ManagedProcess {
  return ManagedProcess.start(options.name, {
    command: process.execPath,
    args: [
      WORKER_BIN,
      'demo',
      '--data', options.dataDir,
      '--contacts', String(options.contacts ?? DEMO_CONTACTS),
      '--interval', String(options.intervalSeconds ?? DEMO_INTERVAL_SECONDS),
      '--ha-url', options.haUrl,
      ...(options.scanAfterSeconds === undefined ? [] : ['--scan-after', String(options.scanAfterSeconds)]),
    ],
    env: { ...process.env, WHATSAPP_HA_TOKEN: options.token, WHATSAPP_HA_URL: undefined, SUPERVISOR_TOKEN: undefined },
    logPath: join(options.logDir, `${options.name}.log`),
  });
}

/**
 * Starts the real `whatsapp-worker run` (Baileys, no simulation) with WhatsApp's websocket at
 * `webSocketUrl`: an address that refuses connections shows what Home Assistant sees when WhatsApp
 * is out of reach, whatever the machine's network.
 */
export function startUnreachableRunWorker(options: DemoWorkerOptions & { readonly webSocketUrl: string }): ManagedProcess {
  return ManagedProcess.start(options.name, {
    command: process.execPath,
    args: [WORKER_BIN, 'run', '--data', options.dataDir, '--ha-url', options.haUrl],
    env: {
      ...process.env,
      WHATSAPP_HA_TOKEN: options.token,
      WHATSAPP_WEB_SOCKET_URL: options.webSocketUrl,
      WHATSAPP_HA_URL: undefined,
      SUPERVISOR_TOKEN: undefined,
      WHATSAPP_IN_APP: undefined,
    },
    logPath: join(options.logDir, `${options.name}.log`),
  });
}

/** `<data>/media/avatars/<jid>.jpg`, where the worker stores a picture. */
export function storedPicturePath(dataDir: string, jid: string): string {
  return join(dataDir, 'media', 'avatars', `${jid}.jpg`);
}
