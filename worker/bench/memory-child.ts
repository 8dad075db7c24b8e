// Benchmark 5's measured process (run by memory.ts, not by hand): ingests a history sync of N
// contacts through the real AvatarWorker into a SQLite file in the given folder, queueing every
// one of them in the DurableQueue, and samples its own memory after every batch. Prints one JSON
// line on stdout. Run with --expose-gc so the retained heap can be read after a collection.
//
//   node --expose-gc dist/worker/bench/memory-child.js DATA_DIR CONTACTS [LOG_LEVEL]

import { FakeClock } from '../test/support/fake-clock.js';
import { createLogger } from '../src/logger.js';
import { historyEvents, ingestHistory } from './ingest.js';

export interface MemoryChildReport {
  readonly contacts: number;
  readonly records: number;
  readonly queued: number;
  readonly storedJobs: number;
  readonly syncMs: number;
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
  readonly finalRssBytes: number;
  /** After a full collection, with the worker, its queue and the database still open. */
  readonly retainedHeapUsedBytes?: number;
  readonly samples: number;
}

const SEED = 50_505;

async function main(): Promise<void> {
  const [dataDir, contactsText, logLevel = 'silent'] = process.argv.slice(2);
  const contacts = Number(contactsText);
  if (dataDir === undefined || !Number.isInteger(contacts) || contacts < 1) {
    throw new Error(`usage: memory-child.js DATA_DIR CONTACTS [LOG_LEVEL]; got ${JSON.stringify(process.argv.slice(2))}`);
  }
  const collect = (globalThis as { gc?: () => void }).gc;
  // The sync's records exist before the worker sees them (Baileys holds them too): they belong
  // in the baseline, and the seeded generator that made them is left to the collector.
  const clock = new FakeClock();
  const events = historyEvents(contacts, 0, SEED, clock.now());
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
  const result = await ingestHistory({ dataDir, events, clock, seed: SEED, logger: createLogger(logLevel, 'memory-bench'), afterBatch: sample });
  sample();
  collect?.();
  const afterCollection = process.memoryUsage();
  const report: MemoryChildReport = {
    contacts,
    records: result.records,
    queued: result.queued,
    storedJobs: result.storedJobs,
    syncMs: result.syncMs + result.sweepMs,
    baselineRssBytes,
    peakRssBytes,
    peakHeapUsedBytes,
    finalRssBytes: afterCollection.rss,
    ...(collect === undefined ? {} : { retainedHeapUsedBytes: afterCollection.heapUsed }),
    samples,
  };
  await result.release();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main();
