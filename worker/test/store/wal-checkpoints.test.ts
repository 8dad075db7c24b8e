// Checkpoints between jobs: after enough stored jobs or when the queue goes idle, on a real
// SQLite file in WAL mode; a history sync's batches checkpoint once at its end; a reader's
// snapshot or a closed connection never makes one throw.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/logger.js';
import { databasePath, openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import {
  FIRST_JOBS_PER_CHECKPOINT,
  HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES,
  MAX_JOBS_PER_CHECKPOINT,
  SQLITE_WAL_AUTOCHECKPOINT_PAGES,
  TARGET_WAL_FRAMES,
  WAL_SIZE_LIMIT_BYTES,
  WalCheckpoints,
} from '../../src/store/wal-checkpoints.js';

const logger = createLogger('silent', 'test');

async function withDatabase(work: (db: SqliteDatabase, dir: string) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wal-checkpoints-'));
  const db = openDatabase(dir);
  try {
    await work(db, dir);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One committed transaction, as a job's outcome is: a row of its own. */
function storeJob(db: SqliteDatabase, checkpoints: WalCheckpoints, index: number): void {
  db.prepare('INSERT INTO favourites (jid) VALUES (?)').run(`49170${String(index).padStart(7, '0')}@s.whatsapp.net`);
  checkpoints.jobStored();
}

test(`a busy queue checkpoints after ${FIRST_JOBS_PER_CHECKPOINT} stored jobs, copying the whole WAL, and not before`, () =>
  withDatabase((db) => {
    const checkpoints = new WalCheckpoints(db, logger);
    for (let index = 0; index < FIRST_JOBS_PER_CHECKPOINT - 1; index++) {
      storeJob(db, checkpoints, index);
      assert.is(checkpoints.runIfDue(false), undefined, `no checkpoint after ${index + 1} jobs`);
    }
    storeJob(db, checkpoints, FIRST_JOBS_PER_CHECKPOINT);
    const result = checkpoints.runIfDue(false);
    assert.ok(result !== undefined, 'a checkpoint once enough jobs were stored');
    assert.ok(result.walFrames >= FIRST_JOBS_PER_CHECKPOINT, `every commit left at least one frame (${result.walFrames})`);
    assert.is(result.copiedFrames, result.walFrames, 'with no reader, everything is copied');
    assert.is(checkpoints.runIfDue(false), undefined, 'the count starts again');
  }));

/** A job that writes about as many pages as a real one: a 40 kB value spills into overflow pages. */
function storeLargeJob(db: SqliteDatabase, checkpoints: WalCheckpoints, index: number): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(`job-${index}`, 'x'.repeat(40_000));
  checkpoints.jobStored();
}

test('each checkpoint sets the next one where the WAL reaches its target, from the frames a job wrote', () =>
  withDatabase((db) => {
    const checkpoints = new WalCheckpoints(db, logger);
    assert.is(checkpoints.jobsBeforeNextCheckpoint, FIRST_JOBS_PER_CHECKPOINT);
    for (let index = 0; index < FIRST_JOBS_PER_CHECKPOINT; index++) storeLargeJob(db, checkpoints, index);
    const first = checkpoints.runIfDue(false);
    assert.ok(first !== undefined);
    const framesPerJob = first.walFrames / FIRST_JOBS_PER_CHECKPOINT;
    assert.ok(framesPerJob >= 8, `a 40 kB row is several pages (${framesPerJob} frames a job)`);
    const next = Math.floor(TARGET_WAL_FRAMES / framesPerJob);
    assert.is(checkpoints.jobsBeforeNextCheckpoint, next);
    for (let index = 0; index < next - 1; index++) {
      storeLargeJob(db, checkpoints, 100 + index);
      assert.is(checkpoints.runIfDue(false), undefined);
    }
    storeLargeJob(db, checkpoints, 1_000);
    const second = checkpoints.runIfDue(false);
    assert.ok(second !== undefined);
    assert.ok(second.walFrames <= TARGET_WAL_FRAMES * 1.2 && second.walFrames >= TARGET_WAL_FRAMES * 0.8, `the WAL near its target (${second.walFrames} frames)`);
  }));

test('jobs that write little: the next checkpoint is still no more than a fixed number of jobs away', () =>
  withDatabase((db) => {
    const checkpoints = new WalCheckpoints(db, logger);
    for (let index = 0; index < FIRST_JOBS_PER_CHECKPOINT; index++) storeJob(db, checkpoints, index);
    assert.ok(checkpoints.runIfDue(false) !== undefined);
    assert.is(checkpoints.jobsBeforeNextCheckpoint, MAX_JOBS_PER_CHECKPOINT);
  }));

test('an idle queue checkpoints after any stored job, and not when none was stored', () =>
  withDatabase((db) => {
    const checkpoints = new WalCheckpoints(db, logger);
    assert.is(checkpoints.runIfDue(true), undefined, 'nothing stored, nothing to do');
    storeJob(db, checkpoints, 1);
    const result = checkpoints.runIfDue(true);
    assert.ok(result !== undefined && result.walFrames > 0 && result.copiedFrames === result.walFrames);
    assert.is(checkpoints.runIfDue(true), undefined, 'a second idle look finds nothing new');
  }));

test("after a checkpoint the next commit starts the WAL over, so jobs never reach SQLite's own threshold", () =>
  withDatabase((db) => {
    const checkpoints = new WalCheckpoints(db, logger);
    for (let index = 0; index < FIRST_JOBS_PER_CHECKPOINT; index++) storeJob(db, checkpoints, index);
    const full = checkpoints.runIfDue(false);
    assert.ok(full !== undefined);
    storeJob(db, checkpoints, 1_000);
    const next = checkpoints.runIfDue(true);
    assert.ok(next !== undefined);
    assert.ok(next.walFrames < full.walFrames && next.walFrames <= 4, `one commit's frames from the WAL's start (${next.walFrames} after ${full.walFrames})`);
  }));

test("a reader's older snapshot: the checkpoint copies what it can and does not wait or throw", () =>
  withDatabase((db, dir) => {
    const reader = openDatabase(dir);
    try {
      const checkpoints = new WalCheckpoints(db, logger);
      storeJob(db, checkpoints, 1);
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT COUNT(*) FROM favourites').get();
      storeJob(db, checkpoints, 2);
      const result = checkpoints.runIfDue(true);
      assert.ok(result !== undefined);
      assert.ok(result.copiedFrames < result.walFrames, `the reader's snapshot holds frames back (${result.copiedFrames} of ${result.walFrames})`);
      reader.prepare('COMMIT').run();
    } finally {
      reader.close();
    }
  }));

/** Commits `count` history batches of about ten pages each, as a sync's batches of subjects are. */
function storeHistoryBatches(db: SqliteDatabase, count: number, first = 0): void {
  const insert = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  for (let index = first; index < first + count; index++) insert.run(`batch-${index}`, 'x'.repeat(40_000));
}

const walBytes = (dir: string): number => statSync(`${databasePath(dir)}-wal`).size;
const autocheckpointPages = (db: SqliteDatabase): number => db.pragma('wal_autocheckpoint', { simple: true }) as number;

test("a history sync's batches pass SQLite's 1,000 pages without a checkpoint; at its end one copies the whole WAL, SQLite's threshold is back and the file is cut back", () =>
  withDatabase((db, dir) => {
    const checkpoints = new WalCheckpoints(db, logger);
    assert.is(autocheckpointPages(db), SQLITE_WAL_AUTOCHECKPOINT_PAGES, "a new connection has SQLite's own threshold");
    checkpoints.holdForHistorySync();
    assert.is(autocheckpointPages(db), HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES, 'the bound while the sync arrives');
    storeHistoryBatches(db, 150);
    // A job stored while the history arrives: the sync's one checkpoint copies its frames too.
    storeJob(db, checkpoints, 1);
    const pageBytes = db.pragma('page_size', { simple: true }) as number;
    assert.ok(walBytes(dir) > SQLITE_WAL_AUTOCHECKPOINT_PAGES * pageBytes, `the WAL grew past SQLite's threshold (${walBytes(dir)} bytes)`);
    const result = checkpoints.historySynced();
    assert.ok(result !== undefined);
    assert.ok(result.walFrames > SQLITE_WAL_AUTOCHECKPOINT_PAGES, `no checkpoint ran inside the sync (${result.walFrames} frames)`);
    assert.is(result.copiedFrames, result.walFrames, 'the one checkpoint copies it all');
    assert.is(autocheckpointPages(db), SQLITE_WAL_AUTOCHECKPOINT_PAGES, "SQLite's threshold is back after the sync");
    storeHistoryBatches(db, 1, 150);
    assert.ok(walBytes(dir) <= WAL_SIZE_LIMIT_BYTES, `the next commit starts a WAL cut back to the limit (${walBytes(dir)} bytes)`);
    assert.is(checkpoints.runIfDue(true), undefined, "the job stored during the sync needs no checkpoint of its own after the sync's");
  }));

test("without the hold, the same batches checkpoint inside their own commits at SQLite's threshold", () =>
  withDatabase((db) => {
    const checkpoints = new WalCheckpoints(db, logger);
    storeHistoryBatches(db, 150);
    const result = checkpoints.historySynced();
    assert.ok(result !== undefined);
    assert.ok(result.walFrames <= SQLITE_WAL_AUTOCHECKPOINT_PAGES + 20, `SQLite restarted the WAL on its own (${result.walFrames} frames left)`);
  }));

test('a checkpoint or a threshold that fails (the connection is closed) is logged, not thrown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wal-checkpoints-'));
  const db = openDatabase(dir);
  const warnings: string[] = [];
  const recording = createLogger('silent', 'test');
  recording.warn = ((_: unknown, message: string) => void warnings.push(message)) as typeof recording.warn;
  try {
    const checkpoints = new WalCheckpoints(db, recording);
    storeJob(db, checkpoints, 1);
    db.close();
    assert.is(checkpoints.runIfDue(true), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /could not checkpoint/);
    checkpoints.holdForHistorySync();
    assert.is(checkpoints.historySynced(), undefined);
    assert.equal(warnings.slice(1), [
      "could not set the write-ahead log's checkpoint threshold; SQLite keeps its own",
      'could not checkpoint the write-ahead log; SQLite will at its own threshold',
      "could not set the write-ahead log's checkpoint threshold; SQLite keeps its own",
    ]);
  } finally {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
