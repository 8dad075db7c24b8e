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
// SQLite's own threshold stays in place as the bound: writes that are not jobs (a history sync's
// batches, another process) still checkpoint themselves there, and if our checkpoint cannot copy
// everything (a reader such as `status` holds an older snapshot) the WAL still cannot grow
// without limit.

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
    try {
      // PASSIVE: never waits for a reader or a writer, and never invokes the busy handler.
      const [row] = this.db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
      if (row === undefined) throw new Error('wal_checkpoint returned no row');
      // -1: the database is not in WAL mode (nothing to copy).
      const result = { walFrames: Math.max(0, row.log), copiedFrames: Math.max(0, row.checkpointed) };
      // Frames other writers added (a history sync) or a reader kept make a job look bigger: the
      // next checkpoint then only comes sooner.
      if (result.walFrames > 0) {
        const framesPerJob = result.walFrames / jobs;
        this.jobsPerCheckpoint = Math.max(1, Math.min(MAX_JOBS_PER_CHECKPOINT, Math.floor(TARGET_WAL_FRAMES / framesPerJob)));
      }
      this.logger.debug({ jobs, ...result, nextAfterJobs: this.jobsPerCheckpoint }, 'checkpointed the write-ahead log between jobs');
      return result;
    } catch (error) {
      this.logger.warn({ err: error, jobs }, 'could not checkpoint the write-ahead log between jobs; SQLite will at its own threshold');
      return undefined;
    }
  }
}
