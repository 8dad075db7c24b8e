// Running one job to a stored outcome: the query (and download), the state machine, one
// transaction for the row, the progress and the rate state, then `job-finished` on the bus with
// the stored record and the downloaded bytes, so no listener reads them back.

import type { RateStateTable } from '../store/rate-state.js';
import type { Logger } from 'pino';
import type { Clock, Random } from '../clock.js';
import type { Jid } from '../jid.js';
import type { DurableQueue } from '../avatars/durable-queue.js';
import type { AvatarJob, AvatarRecord } from '../avatars/model.js';
import { formatProgress, type ProgressTracker, type StoredProgress } from '../avatars/progress.js';
import type { RatePolicy } from '../avatars/rate-policy.js';
import { transition, unstoredFailureDelayMs, type TtlSettings } from '../avatars/transitions.js';
import type { PictureFiles } from '../avatars/ports.js';
import type { SqliteDatabase } from '../store/database.js';
import type { SubjectStore } from '../store/subjects.js';
import { STATE_KEYS, type WorkerState } from '../store/worker-state.js';
import type { WorkerBus } from './events.js';
import { queryDownloadAndStorePicture, type PictureFetchDependencies } from './query-download-store.js';

// Progress goes to the log at most this often, so a long run shows life without flooding.
const PROGRESS_LOG_INTERVAL_MS = 10_000;

export interface JobRunnerDependencies {
  readonly db: SqliteDatabase;
  readonly subjects: SubjectStore;
  readonly state: WorkerState;
  /** The rate policy's pause and query starts, stored with each outcome. */
  readonly rateState: RateStateTable;
  readonly queue: DurableQueue;
  readonly policy: RatePolicy;
  readonly progress: ProgressTracker;
  /** Progress of the current batch; `finishing` jobs still queued but about to complete are not pending. */
  readonly progressSnapshot: (finishing?: number) => StoredProgress;
  readonly isFavourite: (jid: string) => boolean;
  /** What a picture check needs, with the account's answers already checked. */
  readonly pictureFetch: PictureFetchDependencies;
  readonly files: PictureFiles;
  readonly ttl: TtlSettings;
  readonly bus: WorkerBus;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

export class JobRunner {
  private lastProgressLogAt = 0;
  /** Aborted by `stop()`, so a download in flight (a slow drip, say) does not hold the stop. */
  private downloadsStopping = new AbortController();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: JobRunnerDependencies) {}

  start(): void {
    this.downloadsStopping = new AbortController();
    this.unsubscribe ??= this.deps.bus.on('duplicate-merged', (event) => void this.forgetDuplicate(event.jid));
  }

  /** Ends downloads in flight; the jobs take the transient path and stay queued. */
  stopDownloads(): void {
    this.downloadsStopping.abort();
  }

  /**
   * Runs one job to a stored outcome. Never throws: a failure outside WhatsApp's answers (the
   * adapter threw, the store failed, a bug) is a failed try of the job like any other.
   */
  async run(job: AvatarJob, querySent: () => void): Promise<void> {
    try {
      await this.checkAndStore(job, querySent);
    } catch (error) {
      this.recordUnexpectedFailure(job, error);
    }
  }

  /** A LID row merged into its phone-number row: its job and file go, the person keeps one picture. */
  private async forgetDuplicate(jid: Jid): Promise<void> {
    const { queue, db, files, logger } = this.deps;
    if (queue.memory.has(jid)) db.transaction(() => queue.complete(jid))();
    try {
      await files.remove(jid);
      logger.debug({ jid }, 'merged a LID into its phone-number contact');
    } catch (error) {
      logger.warn({ err: error, jid }, 'could not remove the picture of a merged duplicate contact');
    }
  }

  private async checkAndStore(job: AvatarJob, querySent: () => void): Promise<void> {
    const { clock, random, ttl, logger, db, subjects, state, policy, queue } = this.deps;
    const record = subjects.get(job.jid) ?? subjects.ensure(job.jid, clock.now());
    const { resolution, picture } = await queryDownloadAndStorePicture(record, job, this.deps.pictureFetch, querySent, this.downloadsStopping.signal);
    const now = clock.now();
    if (subjects.get(job.jid) === undefined) {
      // Merged into its phone-number contact while the query ran: one person keeps one picture.
      await this.forgetDuplicate(job.jid);
      return;
    }
    const favourite = this.deps.isFavourite(job.jid);
    let pausedUntil: number | undefined;
    if (resolution.kind === 'rate-limited') {
      pausedUntil = policy.rateLimited(now);
      logger.warn({ until: new Date(pausedUntil).toISOString() }, 'WhatsApp answered rate-overlimit: pausing every picture query');
    } else {
      policy.answered(now);
    }
    const outcome = transition(record, job, resolution, { now, favourite, random, settings: ttl, pausedUntil });
    // A `none` deletes the file before the row says so: a crash in between re-runs the job.
    if (outcome.file === 'delete') await this.deps.files.remove(job.jid);
    const completed = outcome.job.action === 'complete';
    // Counted first, so the stored progress includes this job (it is still queued until the commit).
    if (completed) this.deps.progress.jobCompleted(now);
    const stored = db.transaction(() => {
      subjects.applyPatch(record, outcome.patch, now);
      state.set(STATE_KEYS.progress, this.deps.progressSnapshot(completed ? 1 : 0));
      // Persisted so a restart keeps a rate-limit pause (and its doubling) instead of hammering again.
      this.deps.rateState.save(policy.snapshot(this.deps.rateState.startsSavedThrough), now);
      // Last, so the in-memory queue changes only once every write above has succeeded.
      if (completed) queue.complete(job.jid);
      else if (outcome.job.action === 'retry') queue.retryLater(job.jid, outcome.job.notBefore);
      // The row as stored, read in the same transaction: what the event carries.
      return subjects.get(job.jid);
    })();
    logger.debug({ jid: job.jid, reason: job.reason, resolution: resolution.kind, changed: outcome.changed }, 'picture checked');
    if (resolution.kind === 'refused' || resolution.kind === 'transient') {
      logger.info({ jid: job.jid, resolution: resolution.kind, detail: resolution.detail, givenUp: completed }, 'picture check failed');
    }
    // The bytes go with the event only while the row still points at a file (not after a `none`).
    this.jobStored(job.jid, now, stored, outcome.changed, stored?.path === undefined ? undefined : picture);
  }

  /**
   * A job that failed outside WhatsApp's answers backs off like any failed try, in its stored row,
   * so it can never run again at once and starve the queue. If even that cannot be stored (a
   * broken database), the in-memory queue holds it back with a delay that grows to a day.
   */
  private recordUnexpectedFailure(job: AvatarJob, error: unknown): void {
    const { clock, random, ttl, logger, db, subjects, state, queue } = this.deps;
    const now = clock.now();
    const queued = queue.memory.get(job.jid);
    if (queued === undefined) {
      logger.error({ err: error, jid: job.jid }, 'a picture check failed after its job had ended');
      return;
    }
    logger.error({ err: error, jid: job.jid, attempts: queued.attempts }, 'picture check failed unexpectedly; backing off');
    let stored: AvatarRecord | undefined;
    try {
      const record = subjects.get(job.jid);
      if (record === undefined) {
        // Not a subject we can store (a bad JID in a job row, say): the job can never succeed.
        db.transaction(() => queue.complete(job.jid))();
        logger.warn({ jid: job.jid }, 'dropped a job for a subject that cannot be stored');
        return;
      }
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const favourite = this.deps.isFavourite(job.jid);
      const outcome = transition(record, queued, { kind: 'failed', detail }, { now, favourite, random, settings: ttl });
      const completed = outcome.job.action === 'complete';
      if (completed) this.deps.progress.jobCompleted(now);
      stored = db.transaction(() => {
        subjects.applyPatch(record, outcome.patch, now);
        if (completed) state.set(STATE_KEYS.progress, this.deps.progressSnapshot(1));
        if (completed) queue.complete(job.jid);
        else if (outcome.job.action === 'retry') queue.retryLater(job.jid, outcome.job.notBefore);
        return subjects.get(job.jid);
      })();
    } catch (storeError) {
      logger.error({ err: storeError, jid: job.jid }, 'could not store the failure either; holding the job back in memory');
      const current = queue.memory.get(job.jid);
      if (current !== undefined) queue.memory.retryLater(job.jid, now + unstoredFailureDelayMs(current.attempts, ttl));
      return;
    }
    this.jobStored(job.jid, now, stored, false, undefined);
  }

  /** After a job's outcome is stored: progress, the log, and the news on the bus. */
  private jobStored(jid: Jid, now: number, record: AvatarRecord | undefined, changed: boolean, picture: Buffer | undefined): void {
    if (this.deps.queue.memory.size === 0) this.deps.progress.queueDrained(now);
    this.logProgress(now);
    if (record !== undefined) this.deps.bus.emit({ type: 'job-finished', jid, record, changed, ...(picture === undefined ? {} : { picture }) });
    this.deps.bus.emit({ type: 'status' });
  }

  private logProgress(now: number): void {
    const finished = this.deps.queue.memory.size === 0;
    if (!finished && now - this.lastProgressLogAt < PROGRESS_LOG_INTERVAL_MS) return;
    this.lastProgressLogAt = now;
    this.deps.logger.info(finished ? 'queue drained' : `progress: ${formatProgress(this.deps.progressSnapshot())}`);
  }
}
