// The composition root shared by `run` and `demo`: database, picture folder, worker, and the
// optional Home Assistant bridge around one WhatsApp account; signals stop it cleanly.

import type { Logger } from 'pino';
import { systemClock, type Random } from '../clock.js';
import { AvatarFiles } from '../avatars/avatar-files.js';
import type { DownloadSettings } from '../avatars/download.js';
import type { RateSettings } from '../avatars/rate-policy.js';
import type { TtlSettings } from '../avatars/transitions.js';
import { HomeAssistantBridge } from '../ha/bridge.js';
import { homeAssistantTarget } from '../ha/target.js';
import { packageVersion } from '../package-version.js';
import type { SqliteDatabase } from '../store/database.js';
import type { WhatsAppAccount } from '../wa/account.js';
import { AvatarWorker } from '../worker/avatar-worker.js';
import { WorkerService } from '../worker/service-port.js';
import { UsageError } from './options.js';

export const WORKER_VERSION = packageVersion();

export interface RuntimeOptions {
  readonly db: SqliteDatabase;
  readonly account: WhatsAppAccount;
  readonly avatarsDir: string;
  readonly download: DownloadSettings;
  readonly rate: RateSettings;
  readonly ttl: TtlSettings;
  readonly random: Random;
  readonly logger: Logger;
  /** Home Assistant's URL; without it (and without WHATSAPP_HA_URL or SUPERVISOR_TOKEN) the worker runs alone. */
  readonly haUrl?: string;
  /** Stop by itself once the queue is empty after the initial sync. */
  readonly exitWhenIdle: boolean;
}

/** Runs until SIGINT/SIGTERM (or idle, when asked); resolves with the exit code. */
export async function runWorker(options: RuntimeOptions): Promise<number> {
  const { logger } = options;
  const files = new AvatarFiles(options.avatarsDir);
  const worker = new AvatarWorker({ ...options, files, clock: systemClock });
  const bridge = createBridge(options, new WorkerService(worker, files, systemClock));

  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopping');
    finish(0);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stopWatchingIdle = options.exitWhenIdle
    ? worker.onEvent((event) => {
        if (event.type === 'idle' && worker.idle) {
          logger.info('all subjects processed and the queue is empty: exiting as asked (--exit-when-idle)');
          finish(0);
        }
      })
    : () => undefined;

  await worker.start();
  await bridge?.start();
  const code = await finished;
  stopWatchingIdle();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await bridge?.stop();
  await worker.stop();
  options.db.close();
  return code;
}

function createBridge(options: RuntimeOptions, port: WorkerService): HomeAssistantBridge | undefined {
  const env = process.env;
  if (options.haUrl === undefined && env.WHATSAPP_HA_URL === undefined && env.SUPERVISOR_TOKEN === undefined) {
    options.logger.info('no Home Assistant configured (--ha-url, WHATSAPP_HA_URL or SUPERVISOR_TOKEN): running without it');
    return undefined;
  }
  const target = homeAssistantTarget(env, { url: options.haUrl ?? env.WHATSAPP_HA_URL });
  if ('error' in target) throw new UsageError(target.error);
  return new HomeAssistantBridge({
    url: target.url,
    token: target.token,
    port,
    logger: options.logger.child({ component: 'home-assistant' }),
    clock: systemClock,
    random: options.random,
    workerVersion: WORKER_VERSION,
  });
}
