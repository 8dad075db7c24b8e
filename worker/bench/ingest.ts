// Benchmark 1: a history sync of 10,000 contacts and 2,000 groups arriving in batches of a few
// hundred, handled by the real AvatarWorker on a real SQLite file: each batch is upserted
// (SubjectStore) and every new subject queued durably (DurableQueue.enqueueAll) in the worker's
// own event handlers. The end-of-sync sweep, which re-offers every subject, is timed separately.

import { join } from 'node:path';
import type { Logger } from 'pino';
import { AvatarFiles } from '../src/files/avatar-files.js';
import { cdnDownloader, DEFAULT_DOWNLOAD_SETTINGS } from '../src/cdn/download.js';
import { DEFAULT_RATE_SETTINGS } from '../src/avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS } from '../src/avatars/transitions.js';
import { seededRandom } from '../src/clock.js';
import { FakeClock } from '../test/support/fake-clock.js';
import { createPopulation } from '../src/sim/population.js';
import { openDatabase } from '../src/store/database.js';
import { JobTable } from '../src/store/job-table.js';
import { HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES } from '../src/store/wal-checkpoints.js';
import type { AccountEvent } from '../src/avatars/ports.js';
import { AvatarWorker } from '../src/worker/avatar-worker.js';
import { HistoryDeliveringAccount } from './history-account.js';
import type { BenchmarkResult } from './report.js';
import { elapsedMs, perSecond } from './stats.js';
import { measureIngestFloor } from './ingest-floor.js';
import { countStatements } from './statement-counter.js';
import { withTempDir } from './temp-dir.js';

// Baileys delivers a history sync in chunks of a few hundred records.
export const HISTORY_BATCH_SIZE = 300;
const INGEST_CONTACTS = 10_000;
const INGEST_GROUPS = 2_000;
const SEED = 20_261;
const TARGET_SYNC_MS = 150;
const TARGET_STATEMENTS_PER_RECORD = 2;

export interface IngestOptions {
  readonly dataDir: string;
  /** The history sync to deliver, from `historyEvents` with the same clock's time. */
  readonly events: readonly AccountEvent[];
  readonly clock: FakeClock;
  readonly seed: number;
  readonly logger: Logger;
  /** Called after every delivered batch (the memory benchmark samples RSS here). */
  readonly afterBatch?: () => void;
}

export interface IngestMeasurement {
  /** Contact and chat records delivered (one-to-one chats included). */
  readonly records: number;
  readonly batches: number;
  readonly subjects: number;
  readonly syncMs: number;
  /** SQLite statements the sync ran (transactions' BEGIN and COMMIT included). */
  readonly syncStatements: number;
  readonly sweepMs: number;
  readonly queued: number;
  readonly storedJobs: number;
}

/** The history sync's events: contacts first, then chats (groups and one-to-one), in batches. */
export function historyEvents(contacts: number, groups: number, seed: number, now: number): AccountEvent[] {
  const subjects = contacts + groups;
  const population = createPopulation({ seed, subjects, groupShare: groups / subjects });
  const events: AccountEvent[] = [];
  const contactInfos = population.contacts();
  const chatInfos = population.chats(now);
  for (let index = 0; index < contactInfos.length; index += HISTORY_BATCH_SIZE) {
    events.push({ type: 'contacts', contacts: contactInfos.slice(index, index + HISTORY_BATCH_SIZE) });
  }
  for (let index = 0; index < chatInfos.length; index += HISTORY_BATCH_SIZE) {
    events.push({ type: 'chats', chats: chatInfos.slice(index, index + HISTORY_BATCH_SIZE) });
  }
  return events;
}

/** Distinct contacts and groups in a history sync (a one-to-one chat adds no subject). */
export function countSubjects(events: readonly AccountEvent[]): number {
  const jids = new Set<string>();
  for (const event of events) {
    if (event.type === 'contacts') for (const contact of event.contacts) jids.add(contact.jid);
    if (event.type === 'chats') for (const chat of event.chats) jids.add(chat.jid);
  }
  return jids.size;
}

/**
 * Runs a history sync through a fresh AvatarWorker in `dataDir` and returns the timings. The
 * worker stays disconnected on a fake clock, so nothing but ingest and queueing runs.
 */
export async function ingestHistory(options: IngestOptions): Promise<IngestMeasurement & { release: () => Promise<void> }> {
  const { clock, events } = options;
  const db = openDatabase(options.dataDir);
  const statements = countStatements(db);
  const account = new HistoryDeliveringAccount();
  const worker = new AvatarWorker({
    db,
    account,
    files: new AvatarFiles(join(options.dataDir, 'avatars'), options.logger),
    downloadPicture: cdnDownloader(DEFAULT_DOWNLOAD_SETTINGS, options.logger),
    rate: DEFAULT_RATE_SETTINGS,
    ttl: DEFAULT_TTL_SETTINGS,
    clock,
    random: seededRandom(options.seed),
    logger: options.logger,
  });
  await worker.start();
  const records = events.reduce((sum, event) => sum + (event.type === 'contacts' ? event.contacts.length : event.type === 'chats' ? event.chats.length : 0), 0);

  statements.reset();
  const syncStarted = performance.now();
  for (const event of events) {
    account.deliver(event);
    options.afterBatch?.();
  }
  const syncMs = elapsedMs(syncStarted);
  const syncStatements = statements.count;
  const sweepStarted = performance.now();
  // The sweep re-offers every subject, and the worker then checkpoints the sync's WAL: both timed here.
  account.deliver({ type: 'history-synced' });
  const sweepMs = elapsedMs(sweepStarted);
  options.afterBatch?.();

  const measurement: IngestMeasurement = {
    records,
    batches: events.length,
    subjects: countSubjects(events),
    syncMs,
    syncStatements,
    sweepMs,
    queued: worker.queue.memory.size,
    storedJobs: new JobTable(db).count(),
  };
  return {
    ...measurement,
    release: async () => {
      await worker.stop();
      db.close();
    },
  };
}

export async function runIngestBenchmark(logger: Logger): Promise<BenchmarkResult> {
  const started = performance.now();
  const { measured, floors } = await withTempDir('ingest', async (dir) => {
    const clock = new FakeClock();
    const events = historyEvents(INGEST_CONTACTS, INGEST_GROUPS, SEED, clock.now());
    // The bare-rows floor right before and right after the sync, so the machine's drift weighs on both.
    const before = measureIngestFloor(join(dir, 'floor-before'), events, clock.now(), logger);
    const result = await ingestHistory({ dataDir: join(dir, 'worker'), events, clock, seed: SEED, logger });
    await result.release();
    const after = measureIngestFloor(join(dir, 'floor-after'), events, clock.now(), logger);
    return { measured: result, floors: [before, after] as const };
  });
  const floorMs = (floors[0].ms + floors[1].ms) / 2;
  const notes = [
    `${measured.subjects.toLocaleString('en-US')} subjects (${INGEST_CONTACTS.toLocaleString('en-US')} contacts, ${INGEST_GROUPS.toLocaleString('en-US')} groups) delivered as ${measured.records.toLocaleString('en-US')} records (contacts, then group and one-to-one chats) in ${measured.batches} batches of ≤ ${HISTORY_BATCH_SIZE}`,
    `real AvatarWorker event handlers on a real SQLite file (WAL, synchronous=NORMAL, SQLite's own checkpoint held to ${HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES.toLocaleString('en-US')} pages until the sync is in, then one checkpoint, timed in the sweep): per batch one transaction that reads the batch's stored identities (one statement), upserts its merged rows (one statement per table over a JSON array, RETURNING each row) and queues every new subject (one INSERT over a JSON array)`,
    `${measured.syncStatements.toLocaleString('en-US')} SQLite statements for the sync, counted on the connection (BEGIN/COMMIT and SAVEPOINT/RELEASE included)`,
    `SQLite floor: the same batches as ${floors[0].rows.toLocaleString('en-US')} bare rows (each record a row of contacts or chats, each new subject a job row; per batch one transaction, one INSERT per table over a JSON array) into a fresh database with the worker's schema and indexes; mean of one run right before the sync (${floors[0].ms.toFixed(0)} ms) and one right after (${floors[1].ms.toFixed(0)} ms)`,
  ];
  if (measured.queued !== measured.subjects || measured.storedJobs !== measured.subjects) {
    notes.push(`WARNING: expected ${measured.subjects} queued jobs, found ${measured.queued} in memory and ${measured.storedJobs} in SQLite`);
  }
  return {
    id: 'ingest',
    title: '1. History-sync ingest (store + durable enqueue)',
    figures: [
      { label: 'history sync, total', value: measured.syncMs, unit: 'ms', target: `< ${TARGET_SYNC_MS} ms`, met: measured.syncMs < TARGET_SYNC_MS },
      {
        label: 'SQLite statements per record',
        value: measured.syncStatements / measured.records,
        unit: 'stmts',
        target: `≤ ${TARGET_STATEMENTS_PER_RECORD}`,
        met: measured.syncStatements / measured.records <= TARGET_STATEMENTS_PER_RECORD,
      },
      { label: 'SQLite floor (bare rows, same batches)', value: floorMs, unit: 'ms' },
      { label: 'sync above the SQLite floor', value: measured.syncMs - floorMs, unit: 'ms' },
      { label: 'records ingested', value: perSecond(measured.records, measured.syncMs), unit: 'rows/s' },
      { label: 'subjects stored and queued', value: perSecond(measured.subjects, measured.syncMs), unit: 'subjects/s' },
      { label: 'mean per batch', value: measured.syncMs / measured.batches, unit: 'ms' },
      { label: 'end-of-sync sweep (re-offers all) + checkpoint', value: measured.sweepMs, unit: 'ms' },
      { label: 'jobs queued (memory = SQLite)', value: measured.storedJobs, unit: 'jobs' },
    ],
    notes,
    wallMs: elapsedMs(started),
    keys: {
      ingest_ms: measured.syncMs,
      ingest_statements_per_record: measured.syncStatements / measured.records,
      ingest_sweep_ms: measured.sweepMs,
      ingest_sqlite_floor_ms: floorMs,
      ingest_above_floor_ms: measured.syncMs - floorMs,
    },
  };
}
