// Benchmark 2: the avatar queue under a realistic mix of 50,000 enqueues (about a fifth of them
// repeats that raise a queued job), drained in run order. AvatarQueue (two heaps) against the
// seed plan's array-and-sort queue on the same input in the same run, both checked to drain the
// same jobs in the same order; DurableQueue (SQLite write-through) for information.

import { join } from 'node:path';
import { DurableQueue } from '../src/avatars/durable-queue.js';
import { AvatarQueue } from '../src/avatars/queue.js';
import { seededRandom } from '../src/clock.js';
import { FakeClock } from '../test/support/fake-clock.js';
import { openDatabase } from '../src/store/database.js';
import { JobTable } from '../src/store/job-table.js';
import { buildJobMix, type JobMix } from './job-mix.js';
import { NaiveArrayQueue } from './naive-queue.js';
import type { BenchmarkResult, Figure } from './report.js';
import { elapsedMs, perSecond } from './stats.js';
import { withTempDir } from './temp-dir.js';

const QUEUE_REQUESTS = 50_000;
const REPEAT_SHARE = 0.2;
const SEED = 50_000;
// The worker queues a sync batch, or a sweep's due subjects, in one call and one transaction.
const DURABLE_BATCH_SIZE = 500;

/** What a drained job must agree on between two queues: identity and everything that orders it. */
interface DrainedJob {
  readonly jid: string;
  readonly priority: number;
  readonly rank: number;
  readonly force: boolean;
}

interface QueueRun {
  readonly enqueueMs: number;
  readonly drainMs: number;
  readonly order: DrainedJob[];
}

interface DurableRun extends QueueRun {
  /** Rebuilding the queue from its rows, as a restart does. */
  readonly restoreMs: number;
}

function drained(job: DrainedJob): DrainedJob {
  return { jid: job.jid, priority: job.priority, rank: job.rank, force: job.force };
}

function runAvatarQueue(mix: JobMix, now: number): QueueRun {
  const queue = new AvatarQueue();
  const enqueueStarted = performance.now();
  for (const request of mix.requests) queue.enqueue(request, now);
  const enqueueMs = elapsedMs(enqueueStarted);
  const order: DrainedJob[] = [];
  const drainStarted = performance.now();
  for (let job = queue.peekReady(now); job !== undefined; job = queue.peekReady(now)) {
    order.push(drained(job));
    queue.complete(job.jid);
  }
  return { enqueueMs, drainMs: elapsedMs(drainStarted), order };
}

function runNaiveQueue(mix: JobMix): QueueRun {
  const queue = new NaiveArrayQueue();
  const enqueueStarted = performance.now();
  for (const request of mix.requests) queue.enqueue(request);
  const enqueueMs = elapsedMs(enqueueStarted);
  const order: DrainedJob[] = [];
  const drainStarted = performance.now();
  for (let job = queue.shift(); job !== undefined; job = queue.shift()) order.push(drained(job));
  return { enqueueMs, drainMs: elapsedMs(drainStarted), order };
}

async function runDurableQueue(mix: JobMix, now: number): Promise<DurableRun> {
  return withTempDir('queue', (dir) => {
    const db = openDatabase(join(dir, 'data'));
    try {
      const filled = new DurableQueue(new JobTable(db));
      filled.load();
      const enqueueStarted = performance.now();
      for (let index = 0; index < mix.requests.length; index += DURABLE_BATCH_SIZE) {
        filled.enqueueAll(mix.requests.slice(index, index + DURABLE_BATCH_SIZE), now);
      }
      const enqueueMs = elapsedMs(enqueueStarted);
      // Drain a queue rebuilt from the rows alone: it must run in the same order as the original.
      const restoreStarted = performance.now();
      const queue = new DurableQueue(new JobTable(db));
      queue.load();
      const restoreMs = elapsedMs(restoreStarted);
      const order: DrainedJob[] = [];
      // One transaction per finished job, as the worker stores each outcome.
      const complete = db.transaction((jid: string) => queue.complete(jid));
      const drainStarted = performance.now();
      for (let job = queue.memory.peekReady(now); job !== undefined; job = queue.memory.peekReady(now)) {
        order.push(drained(job));
        complete(job.jid);
      }
      return { enqueueMs, restoreMs, drainMs: elapsedMs(drainStarted), order };
    } finally {
      db.close();
    }
  });
}

/** Where two drain orders first differ, in words; undefined when they agree job for job. */
export function firstDifference(expected: readonly DrainedJob[], actual: readonly DrainedJob[]): string | undefined {
  const length = Math.max(expected.length, actual.length);
  for (let index = 0; index < length; index++) {
    const a = expected[index];
    const b = actual[index];
    if (a === undefined || b === undefined) return `lengths differ: ${expected.length} vs ${actual.length} jobs`;
    if (a.jid !== b.jid || a.priority !== b.priority || a.rank !== b.rank || a.force !== b.force) {
      return `job ${index + 1} differs: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
    }
  }
  return undefined;
}

export async function runQueueBenchmark(): Promise<BenchmarkResult> {
  const started = performance.now();
  const now = new FakeClock().now();
  const mix = buildJobMix(QUEUE_REQUESTS, REPEAT_SHARE, seededRandom(SEED), now);
  const heap = runAvatarQueue(mix, now);
  const naive = runNaiveQueue(mix);
  const durable = await runDurableQueue(mix, now);
  const total = (run: QueueRun): number => run.enqueueMs + run.drainMs;
  const naiveMismatch = firstDifference(heap.order, naive.order);
  const durableMismatch = firstDifference(heap.order, durable.order);
  const figures: Figure[] = [
    { label: 'AvatarQueue enqueue', value: heap.enqueueMs, unit: 'ms' },
    { label: 'AvatarQueue drain', value: heap.drainMs, unit: 'ms' },
    { label: 'AvatarQueue total', value: total(heap), unit: 'ms' },
    { label: 'AvatarQueue throughput', value: perSecond(mix.requests.length + heap.order.length, total(heap)), unit: 'ops/s' },
    { label: 'naive array enqueue', value: naive.enqueueMs, unit: 'ms' },
    { label: 'naive array drain', value: naive.drainMs, unit: 'ms' },
    { label: 'naive array total', value: total(naive), unit: 'ms' },
    { label: 'naive ÷ AvatarQueue (total)', value: total(naive) / total(heap), unit: '×' },
    { label: 'same drain order (naive vs heap)', value: naiveMismatch === undefined ? 1 : 0, unit: 'bool', target: '1', met: naiveMismatch === undefined },
    { label: 'DurableQueue enqueue (SQLite)', value: durable.enqueueMs, unit: 'ms' },
    { label: 'DurableQueue restore (restart)', value: durable.restoreMs, unit: 'ms' },
    { label: 'DurableQueue drain, 1 txn/job', value: durable.drainMs, unit: 'ms' },
    { label: 'DurableQueue total', value: total(durable), unit: 'ms' },
    { label: 'same drain order (durable vs heap)', value: durableMismatch === undefined ? 1 : 0, unit: 'bool', target: '1', met: durableMismatch === undefined },
  ];
  const notes = [
    `${mix.requests.length.toLocaleString('en-US')} enqueues: ${mix.distinctJids.toLocaleString('en-US')} distinct JIDs + ${mix.repeats.toLocaleString('en-US')} repeats (${((100 * mix.repeats) / mix.requests.length).toFixed(1)} %) with a higher-priority reason; drained ${heap.order.length.toLocaleString('en-US')} jobs with peekReady + complete`,
    'naive = the seed plan: array, dedupe by findIndex, push, sort once before the drain, drain by shift(); same rules and order as AvatarQueue',
    `DurableQueue: enqueueAll in batches of ${DURABLE_BATCH_SIZE} (one transaction each) on a temp SQLite file, then a fresh DurableQueue restored from the rows (as after a restart) drained with one transaction per completed job; its total excludes the restore`,
  ];
  if (naiveMismatch !== undefined) notes.push(`MISMATCH naive vs AvatarQueue: ${naiveMismatch}`);
  if (durableMismatch !== undefined) notes.push(`MISMATCH DurableQueue vs AvatarQueue: ${durableMismatch}`);
  const keys = { queue_ms: total(heap), naive_queue_ms: total(naive), queue_speedup_vs_naive: total(naive) / total(heap), durable_queue_ms: total(durable) };
  return { id: 'queue', title: '2. Queue: 50,000 enqueues with dedupe and priority, then drain', figures, notes, wallMs: elapsedMs(started), keys };
}
