// The worker's core wiring: account events feed the store and the queue, the scheduler runs
// picture checks, outcomes go through the state machine into the store in one transaction per
// job. The HA bridge and the CLI talk to it; it knows neither.

import type { Logger } from 'pino';
import type { Clock, Random } from '../clock.js';
import type { Jid } from '../jid.js';
import { Listeners } from '../listeners.js';
import { withCheckedAnswers } from '../avatars/answer-check.js';
import { DurableQueue } from '../avatars/durable-queue.js';
import type { AvatarJob, AvatarRecord, EnqueueRequest, JobReason } from '../avatars/model.js';
import { queryDownloadAndStorePicture, type PictureFetchDependencies } from './query-download-store.js';
import { Favourites } from './favourites.js';
import { Pairing, type PairingInfo } from './pairing.js';
import { formatProgress, ProgressTracker } from '../avatars/progress.js';
import { parseRatePolicySnapshot, RatePolicy, type RatePolicySnapshot, type RateSettings } from '../avatars/rate-policy.js';
import { AvatarScheduler } from '../avatars/scheduler.js';
import { sweepReason, transition, unstoredFailureDelayMs, type TtlSettings } from '../avatars/transitions.js';
import type { SqliteDatabase } from '../store/database.js';
import { JobTable } from '../store/job-table.js';
import { SubjectStore, type StoredSubject } from '../store/subjects.js';
import { FavouriteTable } from '../store/favourites.js';
import { RateStateTable } from '../store/rate-state.js';
import { STATE_KEYS, WorkerState } from '../store/worker-state.js';
import type { AccountEvent, ConnectionState, PictureDownloader, PictureFiles, WhatsAppAccount } from '../avatars/ports.js';

// The sweep finds subjects whose TTL ran out; every few minutes is plenty for TTLs of days.
const SWEEP_INTERVAL_MS = 5 * 60_000;
// A sweep queues at most this many per kind at once, so one sweep never holds the database long.
const SWEEP_BATCH_LIMIT = 20_000;
// How often the scheduler looks for jobs another process (`refresh`) queued while it is idle.
const EXTERNAL_JOB_POLL_MS = 1_000;
// Progress goes to the log at most this often, so a long run shows life without flooding.
const PROGRESS_LOG_INTERVAL_MS = 10_000;

export interface AvatarWorkerOptions {
  readonly db: SqliteDatabase;
  readonly account: WhatsAppAccount;
  readonly files: PictureFiles;
  readonly downloadPicture: PictureDownloader;
  readonly rate: RateSettings;
  readonly ttl: TtlSettings;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** How often an idle worker looks for jobs another process queued; tests on a fake clock raise it. */
  readonly externalJobPollMs?: number;
}

export type { PairingInfo } from './pairing.js';

export type WorkerEvent =
  | { readonly type: 'job-finished'; readonly jid: string; readonly record: AvatarRecord; readonly changed: boolean }
  | { readonly type: 'status' }
  | { readonly type: 'directory' }
  | { readonly type: 'idle' };

export class AvatarWorker {
  readonly subjects: SubjectStore;
  /** The `meta` rows: rate-limit pause, progress, connection, history sync. */
  readonly state: WorkerState;
  readonly queue: DurableQueue;
  readonly policy: RatePolicy;
  private readonly rateState: RateStateTable;
  private readonly scheduler: AvatarScheduler;
  private readonly progress = new ProgressTracker();
  // A listener's bug (the HA bridge, say) must not turn into a failed picture check.
  private readonly listeners = new Listeners<WorkerEvent>((error, event) => this.options.logger.error({ err: error, event: event.type }, 'a worker event listener failed'));
  private readonly favourites: Favourites;
  private connection: ConnectionState = 'closed';
  private readonly pairing: Pairing;
  /** This run's account delivered its history (the stored flag is only for `status`). */
  private historySynced = false;
  private unsubscribeAccount: (() => void) | undefined;
  private cancelSweep: (() => void) | undefined;
  private lastProgressLogAt = 0;
  private loaded = false;
  /** What a picture check needs, with the account's answers checked before anything trusts them. */
  private readonly pictureFetch: PictureFetchDependencies;
  /** Aborted by `stop()`, so a download in flight (a slow drip, say) does not hold the stop. */
  private downloadsStopping = new AbortController();

  constructor(private readonly options: AvatarWorkerOptions) {
    const { db, clock, logger } = options;
    this.pictureFetch = { ...options, account: withCheckedAnswers(options.account) };
    this.subjects = new SubjectStore(db);
    this.state = new WorkerState(db);
    this.rateState = new RateStateTable(db);
    this.favourites = new Favourites(new FavouriteTable(db));
    this.pairing = new Pairing(() => this.listeners.emit({ type: 'status' }), logger);
    this.queue = new DurableQueue(new JobTable(db));
    this.policy = new RatePolicy(options.rate, options.random);
    this.scheduler = new AvatarScheduler({
      queue: this.queue.memory,
      policy: this.policy,
      clock,
      logger,
      runJob: (job, querySent) => this.runJob(job, querySent),
      beforeChoosing: () => this.pickUpExternalJobs(),
      onIdle: () => this.listeners.emit({ type: 'idle' }),
      pollIntervalMs: options.externalJobPollMs ?? EXTERNAL_JOB_POLL_MS,
      failureDelayMs: (attempts) => unstoredFailureDelayMs(attempts, options.ttl),
    });
  }

  /** The persisted pause and recent query times; a damaged value starts fresh rather than failing. */
  private restoredRateState(): RatePolicySnapshot | undefined {
    const stored = this.rateState.load(this.options.clock.now());
    if (stored === undefined) return undefined;
    try {
      return parseRatePolicySnapshot(stored);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'ignoring a damaged stored rate-limit state');
      return undefined;
    }
  }

  /** Reads the stored queue, rate state and favourites; `start()` does it, tests that look before starting call it. */
  load(): void {
    if (this.loaded) return;
    this.loaded = true;
    this.queue.load();
    const restored = this.restoredRateState();
    if (restored !== undefined) this.policy.restore(restored);
    this.favourites.load();
  }

  async start(): Promise<void> {
    this.load();
    this.downloadsStopping = new AbortController();
    const removed = await this.options.files.sweepTemporaryFiles();
    if (removed > 0) this.options.logger.info({ removed }, 'removed temporary files left by an interrupted write');
    this.unsubscribeAccount = this.options.account.onEvent((event) => this.onAccountEvent(event));
    this.scheduler.start();
    this.scheduleSweep(0);
    this.options.logger.info({ queued: this.queue.memory.size }, 'avatar worker started');
    await this.options.account.start();
  }

  async stop(): Promise<void> {
    this.cancelSweep?.();
    this.downloadsStopping.abort();
    await this.scheduler.stop();
    this.unsubscribeAccount?.();
    await this.options.account.stop();
    this.state.set(STATE_KEYS.connection, { state: 'closed', at: this.options.clock.now(), detail: 'worker stopped' });
  }

  onEvent(listener: (event: WorkerEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  /** True when nothing is queued or running and this run's initial sync is done. */
  get idle(): boolean {
    return this.historySynced && this.queue.memory.size === 0 && !this.scheduler.busy;
  }

  get connectionState(): ConnectionState {
    return this.connection;
  }

  get pairingInfo(): PairingInfo | undefined {
    return this.pairing.info;
  }

  isFavourite(jid: string): boolean {
    return this.favourites.has(jid);
  }

  favouriteList(): string[] {
    return this.favourites.list();
  }

  setFavourites(jids: readonly string[]): void {
    const added = this.favourites.replace(jids);
    const now = this.options.clock.now();
    const requests: EnqueueRequest[] = [];
    for (const jid of added) {
      const record = this.subjects.get(jid);
      if (record !== undefined && (record.state === 'unknown' || sweepReason(record, true, now) !== undefined)) {
        requests.push({ jid: record.jid, kind: record.kind, reason: 'favourite' });
      }
    }
    this.enqueue(requests);
  }

  /** Queues jobs durably and wakes the scheduler. */
  enqueue(requests: readonly EnqueueRequest[]): ReturnType<DurableQueue['enqueueAll']> {
    const now = this.options.clock.now();
    const summary = this.queue.enqueueAll(requests, now);
    if (summary.added > 0) this.progress.batchStarted(now);
    if (summary.added + summary.raised > 0) {
      this.scheduler.wake();
      this.listeners.emit({ type: 'status' });
    }
    return summary;
  }

  /** The reason to queue a subject now, if any: favourites first, active chats before the rest. */
  reasonFor(record: StoredSubject, now: number): EnqueueRequest | undefined {
    const reason = sweepReason(record, this.favourites.has(record.jid), now);
    if (reason === undefined) return undefined;
    const activeChat = (reason === 'never-fetched' || reason === 'stale') && record.lastActivityAt !== undefined;
    const finalReason: JobReason = activeChat ? 'active-chat' : reason;
    return { jid: record.jid, kind: record.kind, reason: finalReason, rank: activeChat ? record.lastActivityAt : 0 };
  }

  /** Progress of the current batch; `finishing` jobs still queued but about to complete are not pending. */
  progressSnapshot(finishing = 0): ReturnType<ProgressTracker['snapshot']> {
    const now = this.options.clock.now();
    const pending = Math.max(0, this.queue.memory.size - finishing);
    return this.progress.snapshot(now, pending, pending === 0 ? 0 : this.policy.estimateSeconds(pending, now));
  }

  private pickUpExternalJobs(): void {
    const merged = this.queue.pickUpExternalJobs();
    if (merged > 0) {
      this.options.logger.info({ merged }, 'picked up jobs queued by another process');
      this.listeners.emit({ type: 'status' });
    }
  }

  private onAccountEvent(event: AccountEvent): void {
    const now = this.options.clock.now();
    switch (event.type) {
      case 'connection':
        this.connection = event.state;
        this.policy.connectionChanged(event.state === 'open', now);
        this.state.set(STATE_KEYS.connection, { state: event.state, at: now, detail: event.detail ?? null });
        if (event.state === 'open') this.pairing.linked();
        this.scheduler.wake();
        this.listeners.emit({ type: 'status' });
        return;
      case 'pairing':
        this.pairing.show(event.qr, event.code);
        return;
      // A batch is stored and its subjects queued in one transaction: one commit per batch.
      case 'contacts': {
        const { mergedAway } = this.options.db.transaction(() => {
          const stored = this.subjects.upsertContacts(event.contacts, now);
          this.queueArrivals(stored.records, now);
          return stored;
        })();
        for (const jid of mergedAway) void this.forgetDuplicate(jid);
        this.listeners.emit({ type: 'directory' });
        return;
      }
      case 'identities': {
        const { mergedAway } = this.options.db.transaction(() => {
          const stored = this.subjects.linkIdentities(event.pairs, now);
          this.queueArrivals(stored.records, now);
          return stored;
        })();
        for (const jid of mergedAway) void this.forgetDuplicate(jid);
        this.listeners.emit({ type: 'directory' });
        return;
      }
      case 'chats': {
        this.options.db.transaction(() => {
          const askedWrongly = this.subjects.communitiesAskedWrongly(event.chats);
          this.queueArrivals(this.subjects.storeChats(event.chats, now).records, now);
          this.enqueue(askedWrongly.map((jid) => ({ jid, kind: 'group', reason: this.favourites.has(jid) ? 'favourite' : 'changed' })));
        })();
        this.listeners.emit({ type: 'directory' });
        return;
      }
      case 'picture-changed': {
        const jid = this.subjects.resolve(event.jid);
        if (jid === undefined) {
          this.subjects.keepHint(event.jid, event.removed, now);
          this.options.logger.debug({ jid: event.jid }, 'picture change for an unknown JID kept as a hint');
          return;
        }
        const record = this.subjects.get(jid)!;
        this.enqueue([{ jid, kind: record.kind, reason: this.favourites.has(jid) ? 'favourite' : 'changed' }]);
        return;
      }
      case 'history-synced':
        this.historySynced = true;
        this.state.set(STATE_KEYS.historySynced, true);
        this.sweep();
        return;
    }
  }

  /** A LID row merged into its phone-number row: its job and file go, the person keeps one picture. */
  private async forgetDuplicate(jid: string): Promise<void> {
    if (this.queue.memory.has(jid)) this.options.db.transaction(() => this.queue.complete(jid))();
    try {
      await this.options.files.remove(jid);
      this.options.logger.debug({ jid }, 'merged a LID into its phone-number contact');
    } catch (error) {
      this.options.logger.warn({ err: error, jid }, 'could not remove the picture of a merged duplicate contact');
    }
  }

  /** Queues what a stored batch needs: a kept picture hint, and each subject's own reason. */
  private queueArrivals(records: readonly StoredSubject[], now: number): void {
    const hinted = this.subjects.takeHints(records.map((record) => record.jid));
    const requests: EnqueueRequest[] = [];
    for (const record of records) {
      if (hinted.has(record.jid)) requests.push({ jid: record.jid, kind: record.kind, reason: 'changed' });
      const request = this.reasonFor(record, now);
      if (request !== undefined) requests.push(request);
    }
    this.enqueue(requests);
  }

  private scheduleSweep(delayMs: number): void {
    this.cancelSweep = this.options.clock.setTimer(() => {
      this.sweep();
      this.scheduleSweep(SWEEP_INTERVAL_MS);
    }, delayMs);
  }

  /** Queues every subject whose TTL ran out (and, after the history sync, every new one). */
  private sweep(): void {
    const now = this.options.clock.now();
    const requests = this.subjects
      .due(now, SWEEP_BATCH_LIMIT)
      .map((record) => this.reasonFor(record, now))
      .filter((request): request is EnqueueRequest => request !== undefined);
    const summary = this.enqueue(requests);
    if (summary.added > 0) this.options.logger.info({ queued: summary.added }, 'queued subjects due for a picture check');
  }

  /**
   * Runs one job to a stored outcome. Never throws: a failure outside WhatsApp's answers (the
   * adapter threw, the store failed, a bug) is a failed try of the job like any other.
   */
  private async runJob(job: AvatarJob, querySent: () => void): Promise<void> {
    try {
      await this.checkAndStore(job, querySent);
    } catch (error) {
      this.recordUnexpectedFailure(job, error);
    }
  }

  private async checkAndStore(job: AvatarJob, querySent: () => void): Promise<void> {
    const { clock, random, ttl, logger, db } = this.options;
    const record = this.subjects.get(job.jid) ?? this.subjects.ensure(job.jid, clock.now());
    const resolution = await queryDownloadAndStorePicture(record, job, this.pictureFetch, querySent, this.downloadsStopping.signal);
    const now = clock.now();
    if (this.subjects.get(job.jid) === undefined) {
      // Merged into its phone-number contact while the query ran: one person keeps one picture.
      await this.forgetDuplicate(job.jid);
      return;
    }
    const favourite = this.favourites.has(job.jid);
    let pausedUntil: number | undefined;
    if (resolution.kind === 'rate-limited') {
      pausedUntil = this.policy.rateLimited(now);
      logger.warn({ until: new Date(pausedUntil).toISOString() }, 'WhatsApp answered rate-overlimit: pausing every picture query');
    } else {
      this.policy.answered(now);
    }
    const outcome = transition(record, job, resolution, { now, favourite, random, settings: ttl, pausedUntil });
    // A `none` deletes the file before the row says so: a crash in between re-runs the job.
    if (outcome.file === 'delete') await this.options.files.remove(job.jid);
    const completed = outcome.job.action === 'complete';
    // Counted first, so the stored progress includes this job (it is still queued until the commit).
    if (completed) this.progress.jobCompleted(now);
    db.transaction(() => {
      this.subjects.applyPatch(record, outcome.patch, now);
      this.state.set(STATE_KEYS.progress, this.progressSnapshot(completed ? 1 : 0));
      // Persisted so a restart keeps a rate-limit pause (and its doubling) instead of hammering again.
      this.rateState.save(this.policy.snapshot(), now);
      // Last, so the in-memory queue changes only once every write above has succeeded.
      if (completed) this.queue.complete(job.jid);
      else if (outcome.job.action === 'retry') this.queue.retryLater(job.jid, outcome.job.notBefore);
    })();
    logger.debug({ jid: job.jid, reason: job.reason, resolution: resolution.kind, changed: outcome.changed }, 'picture checked');
    if (resolution.kind === 'refused' || resolution.kind === 'transient') {
      logger.info({ jid: job.jid, resolution: resolution.kind, detail: resolution.detail, givenUp: completed }, 'picture check failed');
    }
    this.jobStored(job.jid, now, outcome.changed);
  }

  /**
   * A job that failed outside WhatsApp's answers backs off like any failed try, in its stored row,
   * so it can never run again at once and starve the queue. If even that cannot be stored (a
   * broken database), the in-memory queue holds it back with a delay that grows to a day.
   */
  private recordUnexpectedFailure(job: AvatarJob, error: unknown): void {
    const { clock, random, ttl, logger, db } = this.options;
    const now = clock.now();
    const queued = this.queue.memory.get(job.jid);
    if (queued === undefined) {
      logger.error({ err: error, jid: job.jid }, 'a picture check failed after its job had ended');
      return;
    }
    logger.error({ err: error, jid: job.jid, attempts: queued.attempts }, 'picture check failed unexpectedly; backing off');
    try {
      const record = this.subjects.get(job.jid);
      if (record === undefined) {
        // Not a subject we can store (a bad JID in a job row, say): the job can never succeed.
        db.transaction(() => this.queue.complete(job.jid))();
        logger.warn({ jid: job.jid }, 'dropped a job for a subject that cannot be stored');
        return;
      }
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const favourite = this.favourites.has(job.jid);
      const outcome = transition(record, queued, { kind: 'failed', detail }, { now, favourite, random, settings: ttl });
      const completed = outcome.job.action === 'complete';
      if (completed) this.progress.jobCompleted(now);
      db.transaction(() => {
        this.subjects.applyPatch(record, outcome.patch, now);
        if (completed) this.state.set(STATE_KEYS.progress, this.progressSnapshot(1));
        if (completed) this.queue.complete(job.jid);
        else if (outcome.job.action === 'retry') this.queue.retryLater(job.jid, outcome.job.notBefore);
      })();
    } catch (storeError) {
      logger.error({ err: storeError, jid: job.jid }, 'could not store the failure either; holding the job back in memory');
      const current = this.queue.memory.get(job.jid);
      if (current !== undefined) this.queue.memory.retryLater(job.jid, now + unstoredFailureDelayMs(current.attempts, ttl));
      return;
    }
    this.jobStored(job.jid, now, false);
  }

  /** After a job's outcome is stored: progress, the log, and the news for listeners. */
  private jobStored(jid: string, now: number, changed: boolean): void {
    if (this.queue.memory.size === 0) this.progress.queueDrained();
    this.logProgress(now);
    const updated = this.subjects.get(jid);
    if (updated !== undefined) this.listeners.emit({ type: 'job-finished', jid, record: updated, changed });
    this.listeners.emit({ type: 'status' });
  }

  private logProgress(now: number): void {
    const finished = this.queue.memory.size === 0;
    if (!finished && now - this.lastProgressLogAt < PROGRESS_LOG_INTERVAL_MS) return;
    this.lastProgressLogAt = now;
    this.options.logger.info(finished ? 'queue drained' : `progress: ${formatProgress(this.progressSnapshot())}`);
  }
}
