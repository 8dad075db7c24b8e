// The one composition root, for `run` and for `demo`: it builds the database, the picture files,
// the downloader, the worker and the optional Home Assistant bridge around one WhatsApp account.
// Building only assigns; `start()` opens the database and starts the timers and sockets. The
// commands load this module with `import()`, so `status` and `refresh` never load Baileys, got,
// the simulation or the HA socket.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock, type Random } from '../clock.js';
import type { RateSettings } from '../avatars/rate-policy.js';
import { BackfillForecast } from '../avatars/backfill-forecast.js';
import type { TtlSettings } from '../avatars/transitions.js';
import type { WhatsAppAccount } from '../avatars/ports.js';
import { cdnDownloader, type DownloadSettings } from '../cdn/download.js';
import { PicturePurge } from '../avatars/purge.js';
import { AvatarFiles } from '../files/avatar-files.js';
import { purgeFiles } from '../files/purge-files.js';
import { HomeAssistantBridge } from '../ha/bridge.js';
import { WorkerService } from '../ha/presenter.js';
import { MAX_UNUSED_PICTURE_DAYS } from '../ha/protocol.js';
import { homeAssistantTarget } from '../ha/target.js';
import { openDatabase, type SqliteDatabase } from '../store/database.js';
import { PictureStorageTable } from '../store/picture-storage.js';
import { WorkerState } from '../store/worker-state.js';
import { watchDatabaseChanges } from '../store/change-watch.js';
import { AvatarWorker } from '../worker/avatar-worker.js';
import { runsInApp, UsageError } from './options.js';
import { packageVersion } from '../package-version.js';

export const WORKER_VERSION = packageVersion();

export interface WorkerConfig {
  readonly dataDir: string;
  readonly avatarsDir: string;
  /** Builds the account once the database is open (Baileys keeps its creds in it). */
  readonly makeAccount: (db: SqliteDatabase) => WhatsAppAccount;
  readonly download: DownloadSettings;
  readonly rate: RateSettings;
  readonly ttl: TtlSettings;
  readonly random: Random;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Home Assistant's URL; without it (and without WHATSAPP_HA_URL or SUPERVISOR_TOKEN) the worker runs alone. */
  readonly haUrl?: string;
  /** Stop by itself once the queue is empty after the initial sync. */
  readonly exitWhenIdle: boolean;
}

interface Running {
  readonly db: SqliteDatabase;
  readonly worker: AvatarWorker;
  readonly bridge: HomeAssistantBridge | undefined;
  readonly stopForecast: () => void;
  readonly purge: PicturePurge;
}

export class WorkerApp {
  private running: Running | undefined;

  constructor(private readonly config: WorkerConfig) {}

  /** Opens the database, builds the parts around it and starts them; `watch` sees the worker before it starts. */
  async start(watch?: (worker: AvatarWorker) => void): Promise<void> {
    const { config } = this;
    const clock = config.clock ?? systemClock;
    const db = openDatabase(config.dataDir);
    try {
      const files = new AvatarFiles(config.avatarsDir);
      const worker = new AvatarWorker({
        db,
        account: config.makeAccount(db),
        files,
        downloadPicture: cdnDownloader(config.download, config.logger),
        rate: config.rate,
        ttl: config.ttl,
        clock,
        random: config.random,
        logger: config.logger,
        watchExternalChanges: (changed) => watchDatabaseChanges(config.dataDir, changed, config.logger),
      });
      const pictureStorage = new PictureStorageTable(db);
      const purge = new PicturePurge({
        files: purgeFiles(files),
        inUse: (jid) => worker.subjects.get(jid)?.path !== undefined,
        isProtected: (jid) => worker.isFavourite(jid) || worker.queue.memory.has(jid),
        sightings: pictureStorage.sightings(),
        clock,
        graceDays: MAX_UNUSED_PICTURE_DAYS,
        logger: config.logger,
      });
      const service = new WorkerService(worker, files, clock, runsInApp(), { storage: () => pictureStorage.storage(), purgeNow: () => purge.purgeNow() });
      const bridge = createBridge(config, service, clock, new WorkerState(db).workerId(randomUUID));
      this.running = { db, worker, bridge, stopForecast: forecastLongWork(worker, config), purge };
      watch?.(worker);
      await worker.start();
      // After the start-up sweep of temporary files; then daily.
      purge.start();
      await bridge?.start();
    } catch (error) {
      if (this.running === undefined) db.close();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (running === undefined) return;
    running.stopForecast();
    running.purge.stop();
    await running.bridge?.stop();
    await running.worker.stop();
    running.db.close();
  }
}

/** Runs until SIGINT/SIGTERM (or idle, when asked); resolves with the exit code. */
export async function runWorker(config: WorkerConfig): Promise<number> {
  const { logger } = config;
  const app = new WorkerApp(config);
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
  let stopWatchingIdle: () => void = () => undefined;
  try {
    await app.start((worker) => {
      if (!config.exitWhenIdle) return;
      stopWatchingIdle = worker.onEvent((event) => {
        if (event.type === 'idle' && worker.idle) {
          logger.info('all subjects processed and the queue is empty: exiting as asked (--exit-when-idle)');
          finish(0);
        }
      });
    });
    return await finished;
  } finally {
    stopWatchingIdle();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await app.stop();
  }
}

/** Logs, up front and in words, how long a long queue will take (avatars/backfill-forecast.ts). */
function forecastLongWork(worker: AvatarWorker, config: WorkerConfig): () => void {
  const forecast = new BackfillForecast(config.rate);
  return worker.onEvent((event) => {
    if (event.type !== 'status') return;
    const snapshot = worker.progressSnapshot();
    const line = forecast.observe(snapshot);
    if (line !== undefined) config.logger.info({ pending: snapshot.total - snapshot.done, etaSeconds: snapshot.etaSeconds }, line);
  });
}

function createBridge(config: WorkerConfig, port: WorkerService, clock: Clock, workerId: string): HomeAssistantBridge | undefined {
  const env = process.env;
  if (config.haUrl === undefined && env.WHATSAPP_HA_URL === undefined && env.SUPERVISOR_TOKEN === undefined) {
    config.logger.info('no Home Assistant configured (--ha-url, WHATSAPP_HA_URL or SUPERVISOR_TOKEN): running without it');
    return undefined;
  }
  const target = homeAssistantTarget(env, { url: config.haUrl ?? env.WHATSAPP_HA_URL });
  if ('error' in target) throw new UsageError(target.error);
  return new HomeAssistantBridge({
    url: target.url,
    token: target.token,
    port,
    logger: config.logger.child({ component: 'home-assistant' }),
    clock,
    random: config.random,
    workerVersion: WORKER_VERSION,
    workerId,
  });
}
