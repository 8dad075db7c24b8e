// The worker assembled from its use cases: ingest of account events (ingest.ts), the sweep
// (sweep.ts), running one job (run-job.ts), favourites and pairing, talking through one event bus.
// This class owns the queue front (`enqueue`), the shared state and the start/stop order; the HA
// presenter and the CLI talk to it and hear the bus; it knows neither.

import type { Logger } from 'pino';
import type { Clock, Random } from '../clock.js';
import { withCheckedAnswers } from '../avatars/answer-check.js';
import { DurableQueue } from '../avatars/durable-queue.js';
import type { EnqueueRequest } from '../avatars/model.js';
import { Favourites } from './favourites.js';
import type { ConnectionTrouble } from './connection-trouble.js';
import { Pairing, type PairingInfo } from './pairing.js';
import { parseStoredProgress, ProgressTracker, type StoredProgress } from '../avatars/progress.js';
import { parseRatePolicySnapshot, RatePolicy, type RatePolicySnapshot, type RateSettings } from '../avatars/rate-policy.js';
import { AvatarScheduler } from '../avatars/scheduler.js';
import { sweepReason, unstoredFailureDelayMs, type TtlSettings } from '../avatars/transitions.js';
import type { SqliteDatabase } from '../store/database.js';
import { JobTable } from '../store/job-table.js';
import { SubjectStore } from '../store/subjects.js';
import { FavouriteTable } from '../store/favourites.js';
import { RateStateTable } from '../store/rate-state.js';
import { STATE_KEYS, WorkerState } from '../store/worker-state.js';
import { WalCheckpoints } from '../store/wal-checkpoints.js';
import type { ConnectionState, PictureDownloader, PictureFiles, WhatsAppAccount } from '../avatars/ports.js';
import { PairingCodeRefused } from '../avatars/ports.js';
import { EventBus } from './event-bus.js';
import type { WorkerBus, WorkerEvent } from './events.js';
import { AccountIngest } from './ingest.js';
import { JobRunner } from './run-job.js';
import { Sweep } from './sweep.js';

// How often an idle scheduler looks for jobs another process (`refresh`) queued: every second
// when nothing tells it; with a change notification that wakes it at once, only every two
// minutes as a safety net, so with the 5-minute sweep an idle worker wakes < once a minute (issue 11).
const EXTERNAL_JOB_POLL_MS = 1_000;
const NOTIFIED_POLL_MS = 2 * 60_000;

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
  /** Calls back when another process may have written the database (a file watch); returns the stop. */
  readonly watchExternalChanges?: (changed: () => void) => () => void;
}

export type { PairingInfo } from './pairing.js';
export type { WorkerEvent } from './events.js';

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
  private readonly bus: WorkerBus;
  private readonly favourites: Favourites;
  private readonly pairing: Pairing;
  private readonly ingest: AccountIngest;
  private readonly sweep: Sweep;
  private readonly jobs: JobRunner;
  private readonly checkpoints: WalCheckpoints;
  private unsubscribeAccount: (() => void) | undefined;
  /** Listeners `start` subscribed, other than the account's: `stop` ends them. */
  private readonly unsubscribers: (() => void)[] = [];
  private loaded = false;

  constructor(private readonly options: AvatarWorkerOptions) {
    const { db, clock, logger } = options;
    this.bus = new EventBus<WorkerEvent>((error, event) => logger.error({ err: error, event: event.type }, 'a worker event listener failed'));
    this.subjects = new SubjectStore(db);
    this.state = new WorkerState(db);
    this.rateState = new RateStateTable(db);
    this.favourites = new Favourites(new FavouriteTable(db));
    this.pairing = new Pairing(() => this.bus.emit({ type: 'status' }), logger);
    this.queue = new DurableQueue(new JobTable(db));
    this.policy = new RatePolicy(options.rate, options.random);
    const isFavourite = (jid: string): boolean => this.favourites.has(jid);
    const enqueue = (requests: readonly EnqueueRequest[]): ReturnType<DurableQueue['enqueueAll']> => this.enqueue(requests);
    const shared = { subjects: this.subjects, isFavourite, enqueue, bus: this.bus, clock, logger };
    this.ingest = new AccountIngest({ ...shared, state: this.state, policy: this.policy, pairing: this.pairing, inTransaction: (work) => db.transaction(work)() });
    this.sweep = new Sweep(shared);
    this.jobs = new JobRunner({
      ...shared,
      db,
      state: this.state,
      rateState: this.rateState,
      queue: this.queue,
      policy: this.policy,
      progress: this.progress,
      progressSnapshot: (finishing) => this.progressSnapshot(finishing),
      // The account's answers are checked before anything trusts them.
      pictureFetch: { ...options, account: withCheckedAnswers(options.account) },
      files: options.files,
      ttl: options.ttl,
      random: options.random,
    });
    this.checkpoints = new WalCheckpoints(db, logger);
    this.scheduler = new AvatarScheduler({
      queue: this.queue.memory,
      policy: this.policy,
      clock,
      logger,
      runJob: async (job, querySent) => {
        await this.jobs.run(job, querySent);
        this.checkpoints.jobStored();
      },
      // Between two jobs: the write-ahead log's checkpoint goes here, not into a job's commit.
      beforeChoosing: () => {
        this.checkpoints.runIfDue(false);
        this.pickUpExternalJobs();
      },
      onIdle: () => {
        this.checkpoints.runIfDue(true);
        this.bus.emit({ type: 'idle' });
      },
      pollIntervalMs: options.externalJobPollMs ?? (options.watchExternalChanges === undefined ? EXTERNAL_JOB_POLL_MS : NOTIFIED_POLL_MS),
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
    this.restoreProgress();
    this.favourites.load();
  }

  async start(): Promise<void> {
    this.load();
    this.jobs.start();
    const removed = await this.options.files.sweepTemporaryFiles();
    if (removed > 0) this.options.logger.info({ removed }, 'removed temporary files left by an interrupted write');
    // A new connection may let a paused scheduler run again.
    this.unsubscribers.push(this.bus.on('connection', () => this.scheduler.wake()));
    const stopWatching = this.options.watchExternalChanges?.(() => this.scheduler.wake());
    if (stopWatching !== undefined) this.unsubscribers.push(stopWatching);
    this.unsubscribeAccount = this.options.account.onEvent((event) => this.ingest.handle(event));
    this.scheduler.start();
    this.sweep.start();
    // Subscribed after the sweep, so the checkpoint also copies what the sweep queued at the sync's end.
    this.checkpoints.holdForHistorySync();
    this.unsubscribers.push(this.bus.on('history-synced', () => void this.checkpoints.historySynced()));
    this.options.logger.info({ queued: this.queue.memory.size }, 'avatar worker started');
    await this.options.account.start();
  }

  async stop(): Promise<void> {
    this.sweep.stop();
    this.jobs.stopDownloads();
    await this.scheduler.stop();
    this.unsubscribeAccount?.();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await this.options.account.stop();
    this.state.set(STATE_KEYS.connection, { state: 'closed', at: this.options.clock.now(), detail: 'worker stopped' });
  }

  onEvent(listener: (event: WorkerEvent) => void): () => void {
    return this.bus.onAny(listener);
  }

  /** True when nothing is queued or running and this run's initial sync is done. */
  get idle(): boolean {
    return this.ingest.historySynced && this.queue.memory.size === 0 && !this.scheduler.busy;
  }

  get connectionState(): ConnectionState {
    return this.ingest.connection;
  }

  get connectionProblem(): ConnectionTrouble | undefined {
    return this.ingest.connectionProblem;
  }

  /** Home Assistant's linking dialog asks for a pairing code instead of the QR (WhatsAppAccount.requestPairingCode). */
  async requestPairingCode(phoneNumber: string): Promise<string> {
    const account = this.options.account;
    if (account.requestPairingCode === undefined) throw new PairingCodeRefused('not-pairing', 'this account cannot link by pairing code');
    return account.requestPairingCode(phoneNumber);
  }

  get pairingInfo(): PairingInfo | undefined {
    return this.pairing.info;
  }

  isFavourite(jid: string): boolean {
    return this.favourites.has(jid);
  }

  /** The batch a restart interrupted goes on from its count; a damaged value starts afresh rather than failing. */
  private restoreProgress(): void {
    const stored = this.state.get<unknown>(STATE_KEYS.progress);
    if (stored === undefined) return;
    try {
      this.progress.restore(parseStoredProgress(stored), this.queue.memory.size, this.options.clock.now());
    } catch (error) {
      this.options.logger.warn({ err: error }, 'ignoring a damaged stored progress');
    }
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
      this.bus.emit({ type: 'status' });
    }
    return summary;
  }

  /** Progress of the current batch; `finishing` jobs still queued but about to complete are not pending. */
  progressSnapshot(finishing = 0): StoredProgress {
    const now = this.options.clock.now();
    const pending = Math.max(0, this.queue.memory.size - finishing);
    return this.progress.snapshot(now, pending, pending === 0 ? 0 : this.policy.estimateSeconds(pending, now));
  }

  private pickUpExternalJobs(): void {
    const merged = this.queue.pickUpExternalJobs();
    if (merged > 0) {
      this.options.logger.info({ merged }, 'picked up jobs queued by another process');
      this.bus.emit({ type: 'status' });
    }
  }
}
