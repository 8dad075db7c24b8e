// Benchmark 5's measured process (run by memory.ts, not by hand): the `run` command's own
// composition (compose.ts WorkerApp, the real BaileysAccount, the CDN downloader, the picture
// files) on a data folder memory.ts filled with N contacts, every one stored and queued. Baileys
// is loaded and its socket points at a loopback port nobody listens on, so it never connects and
// the worker runs no job: what is measured is what the worker holds for the account. Samples its
// own memory every SAMPLE_MS for HOLD_MS after the start and prints one JSON line on stdout.
// Run with --expose-gc so the retained heap can be read after a collection.
//
//   node --expose-gc dist/worker/bench/memory-child.js DATA_DIR [LOG_LEVEL]

import { join } from 'node:path';
import { seededRandom, systemClock } from '../src/clock.js';
import { DEFAULT_DOWNLOAD_SETTINGS } from '../src/cdn/download.js';
import { DEFAULT_RATE_SETTINGS } from '../src/avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS } from '../src/avatars/transitions.js';
import { createLogger } from '../src/logger.js';
import { BaileysAccount } from '../src/wa/baileys/account.js';
import { PINNED_WA_WEB_VERSION } from '../src/wa/baileys/version.js';
import { WorkerApp } from '../src/cli/compose.js';
import type { AvatarWorker } from '../src/worker/avatar-worker.js';

export interface MemoryChildReport {
  readonly queued: number;
  readonly startMs: number;
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
  readonly finalRssBytes: number;
  /** After a full collection, with the worker, its queue and the database still open. */
  readonly retainedHeapUsedBytes?: number;
  /** process.memoryUsage() after that collection: heapTotal, external and arrayBuffers too. */
  readonly final: NodeJS.MemoryUsage;
  readonly samples: number;
}

const SAMPLE_MS = 20;
// Long enough for the start-up's garbage to be made and collected (the queue is read at start).
const HOLD_MS = 3_000;
// A loopback port with no listener: the socket's connect is refused at once, every retry.
const NOBODY_LISTENS = 'ws://127.0.0.1:9/ws/chat';

async function main(): Promise<void> {
  const [dataDir, logLevel = 'silent'] = process.argv.slice(2);
  if (dataDir === undefined) throw new Error(`usage: memory-child.js DATA_DIR [LOG_LEVEL]; got ${JSON.stringify(process.argv.slice(2))}`);
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  const baselineRssBytes = process.memoryUsage().rss;
  let peakRssBytes = baselineRssBytes;
  let peakHeapUsedBytes = 0;
  let samples = 0;
  const sample = (): void => {
    const usage = process.memoryUsage();
    peakRssBytes = Math.max(peakRssBytes, usage.rss);
    peakHeapUsedBytes = Math.max(peakHeapUsedBytes, usage.heapUsed);
    samples++;
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const logger = createLogger(logLevel, 'memory-bench');
  const random = seededRandom(5);
  const app = new WorkerApp({
    dataDir,
    avatarsDir: join(dataDir, 'media', 'avatars'),
    makeAccount: (db) =>
      new BaileysAccount({
        db,
        logger,
        clock: systemClock,
        random,
        pictureType: 'image',
        printQrInTerminal: false,
        fetchVersion: async () => PINNED_WA_WEB_VERSION,
        webSocketUrl: NOBODY_LISTENS,
      }),
    download: DEFAULT_DOWNLOAD_SETTINGS,
    rate: DEFAULT_RATE_SETTINGS,
    ttl: DEFAULT_TTL_SETTINGS,
    random,
    logger,
    exitWhenIdle: false,
  });
  let worker: AvatarWorker | undefined;
  const started = performance.now();
  await app.start((watched) => {
    worker = watched;
  });
  const startMs = performance.now() - started;
  sample();
  await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
  clearInterval(sampler);
  sample();
  collect?.();
  const afterCollection = process.memoryUsage();
  const report: MemoryChildReport = {
    queued: worker?.queue.memory.size ?? 0,
    startMs,
    baselineRssBytes,
    peakRssBytes,
    peakHeapUsedBytes,
    finalRssBytes: afterCollection.rss,
    ...(collect === undefined ? {} : { retainedHeapUsedBytes: afterCollection.heapUsed }),
    final: afterCollection,
    samples,
  };
  await app.stop();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
