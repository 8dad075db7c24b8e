// Copies the write-ahead log back into the database between jobs, not inside them. SQLite's
// automatic checkpoint runs inside the commit that takes the WAL past `wal_autocheckpoint` pages
// (1,000 by default): that commit then also copies every page and fsyncs the WAL and the database,
// and the job whose outcome it stores pays for both (issue 11: the slowest 1 % of picture checks).
// With `synchronous = NORMAL` a WAL commit itself never fsyncs, so the checkpoint is the only
// fsync SQLite adds to a job. Run here, shortly before that threshold, it happens after one
// job's outcome is stored and before the next query goes out — in the rate policy's gap between
// queries, seconds long at any real setting.
//
// Nothing about durability changes: a checkpoint only moves committed pages from the WAL into the
// database file, and a crash at any point of it leaves both readable (SQLite replays the WAL).
// SQLite's own threshold stays in place as the bound: writes that are not jobs (another process,
// contacts arriving) still checkpoint themselves there, and if our checkpoint cannot copy
// everything (a reader such as `status` holds an older snapshot) the WAL still cannot grow
// without limit. A run's history sync, thousands of records in a burst, gets a higher threshold
// and one checkpoint at its end (see HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES).

import type { Logger } from 'pino';
import type { SqliteDatabase } from './database.js';

// A job's transaction writes about a dozen pages (the subject row and its indexes, the job row and
// its index, the progress and rate-state rows: ~480 frames for 40 jobs in the pipeline benchmark).
// The first checkpoint comes after this many jobs; each checkpoint then measures the frames a job
// wrote and sets the next count so the WAL reaches about TARGET_WAL_FRAMES: below SQLite's 1,000,
// whose checkpoint would fire inside a job, and not far below it, so there are no more checkpoints
// (each an fsync of the WAL and of the database) than SQLite itself would run.
export const FIRST_JOBS_PER_CHECKPOINT = 40;
export const TARGET_WAL_FRAMES = 800;
// However little a job writes, a quiet WAL is copied back at least this often.
export const MAX_JOBS_PER_CHECKPOINT = 200;

// SQLite's own `wal_autocheckpoint` default, which the worker's connection has outside a history sync.
export const SQLITE_WAL_AUTOCHECKPOINT_PAGES = 1_000;
// While a run's history sync arrives, SQLite checkpoints only past this many pages (~40 MB of WAL
// at 4 KiB pages). A sync's batches insert subjects at random places of every key's B-tree, so
// each commit rewrites pages an earlier commit wrote: checkpointing every 1,000 frames copies those
// pages again and again, each time with two fsyncs. The history bench (10,000 contacts and 2,000
// groups, 54 batches) left 6,216 frames: at SQLite's threshold about six checkpoints ran inside
// the sync's commits, 366–582 ms of sync, then 7–8 ms to copy the rest; at this one none ran,
// 334–404 ms, then 31–37 ms for the single checkpoint at its end (six interleaved runs each,
// 2026-12-03). Still a bound if the sync never ends: SQLite checkpoints there as before.
export const HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES = 10_000;
// After the sync's checkpoint the WAL file is cut back to this size when SQLite next starts it over,
// so the sync does not leave a 40 MB file behind: about what SQLite's own threshold lets it grow to.
export const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;

/** What one checkpoint did, as SQLite's `wal_checkpoint(PASSIVE)` reports it. */
export interface CheckpointResult {
  /** Frames in the WAL when it began. */
  readonly walFrames: number;
  /** Frames it copied into the database; fewer than `walFrames` while a reader holds an older snapshot. */
  readonly copiedFrames: number;
}

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

export class WalCheckpoints {
  private jobsSinceCheckpoint = 0;
  private jobsPerCheckpoint = FIRST_JOBS_PER_CHECKPOINT;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly logger: Logger,
  ) {}

  /** How many stored jobs the next checkpoint waits for while the queue is busy. */
  get jobsBeforeNextCheckpoint(): number {
    return this.jobsPerCheckpoint;
  }

  /**
   * A run's history sync is about to arrive: SQLite's own checkpoint waits for a longer WAL until
   * `historySynced`. Never throws: if SQLite refuses the setting, its own threshold stays.
   */
  holdForHistorySync(): void {
    this.setAutocheckpoint(HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES);
  }

  /** The history sync is in (and its sweep queued what it found): one checkpoint copies it all, and SQLite's threshold is back. */
  historySynced(): CheckpointResult | undefined {
    this.jobsSinceCheckpoint = 0;
    const result = this.checkpoint({ after: 'history sync' });
    this.setAutocheckpoint(SQLITE_WAL_AUTOCHECKPOINT_PAGES);
    return result;
  }

  private setAutocheckpoint(pages: number): void {
    try {
      this.db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
      this.db.pragma(`wal_autocheckpoint = ${pages}`);
    } catch (error) {
      this.logger.warn({ err: error, pages }, "could not set the write-ahead log's checkpoint threshold; SQLite keeps its own");
    }
  }

  /** A job's outcome was committed. */
  jobStored(): void {
    this.jobsSinceCheckpoint++;
  }

  /**
   * Call between jobs. Checkpoints once enough jobs were stored since the last one, or, when the
   * queue has nothing ready (`idle`), after any job at all, so a quiet worker leaves a short WAL.
   * Never throws: after a failed checkpoint the count starts again, and SQLite's own stays the bound.
   */
  runIfDue(idle: boolean): CheckpointResult | undefined {
    if (this.jobsSinceCheckpoint === 0) return undefined;
    if (!idle && this.jobsSinceCheckpoint < this.jobsPerCheckpoint) return undefined;
    const jobs = this.jobsSinceCheckpoint;
    this.jobsSinceCheckpoint = 0;
    const result = this.checkpoint({ jobs });
    // Frames other writers added (a history sync) or a reader kept make a job look bigger: the
    // next checkpoint then only comes sooner.
    if (result !== undefined && result.walFrames > 0) {
      const framesPerJob = result.walFrames / jobs;
      this.jobsPerCheckpoint = Math.max(1, Math.min(MAX_JOBS_PER_CHECKPOINT, Math.floor(TARGET_WAL_FRAMES / framesPerJob)));
    }
    return result;
  }

  /** A PASSIVE checkpoint, logged with `context`; a failure is logged, not thrown. */
  private checkpoint(context: Record<string, unknown>): CheckpointResult | undefined {
    try {
      // PASSIVE: never waits for a reader or a writer, and never invokes the busy handler.
      const [row] = this.db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
      if (row === undefined) throw new Error('wal_checkpoint returned no row');
      // -1: the database is not in WAL mode (nothing to copy).
      const result = { walFrames: Math.max(0, row.log), copiedFrames: Math.max(0, row.checkpointed) };
      this.logger.debug({ ...context, ...result, nextAfterJobs: this.jobsPerCheckpoint }, 'checkpointed the write-ahead log');
      return result;
    } catch (error) {
      this.logger.warn({ err: error, ...context }, 'could not checkpoint the write-ahead log; SQLite will at its own threshold');
      return undefined;
    }
  }
}
