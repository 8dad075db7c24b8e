// The loop that runs one picture query at a time, no sooner than the rate policy allows and only
// while there is a ready job. Everything it waits on is a timer of the injected clock, so the
// same loop runs on a fake clock in tests and benchmarks.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { DAY_MS } from '../time.js';
import type { AvatarJob } from './model.js';
import type { AvatarQueue } from './queue.js';
import type { RatePolicy } from './rate-policy.js';

export interface SchedulerOptions {
  readonly queue: AvatarQueue;
  readonly policy: RatePolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Runs one job to its stored outcome and tells the rate policy how WhatsApp answered (a
   * rate-overlimit pauses everything). Calls `querySent` at the moment the picture query goes
   * out, so the policy spaces queries by when they were really sent. Should not throw at all:
   * it stores every failure as a failed try with its backoff.
   */
  readonly runJob: (job: AvatarJob, querySent: () => void) => Promise<void>;
  /** Called before choosing the next job (picks up jobs other processes queued). */
  readonly beforeChoosing?: () => void;
  /** Called whenever the scheduler has nothing to do: no ready job, no job in flight. */
  readonly onIdle?: () => void;
  /** How long to wait before looking again when another process may queue jobs. */
  readonly pollIntervalMs: number;
  /**
   * The wait before a job whose run threw may run again, by its failed tries so far: the last
   * guard against a job that fails at once, over and over, and starves the rest of the queue.
   */
  readonly failureDelayMs?: (attempts: number) => number;
}

// Without a failureDelayMs: 30 s doubling per failed try, to a day (the state machine's retry base
// and its longest give-up backoff).
const FALLBACK_FAILURE_DELAY_BASE_MS = 30_000;
const FALLBACK_FAILURE_DELAY_MAX_MS = DAY_MS;

function fallbackFailureDelayMs(attempts: number): number {
  return Math.min(FALLBACK_FAILURE_DELAY_BASE_MS * 2 ** Math.min(attempts, 30), FALLBACK_FAILURE_DELAY_MAX_MS);
}

export class AvatarScheduler {
  private cancelTimer: (() => void) | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    this.running = true;
    this.wake();
  }

  /** Stops choosing jobs and waits for the one in flight, whose outcome is then stored. */
  async stop(): Promise<void> {
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.inFlight;
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Re-evaluates now: call after queueing, a connection change, or a pause. */
  wake(): void {
    if (!this.running || this.inFlight !== undefined) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const { queue, policy, clock } = this.options;
    this.options.beforeChoosing?.();
    const now = clock.now();
    const allowedAt = policy.nextQueryAt(now);
    const readyAt = queue.nextReadyAt(now);
    if (readyAt === undefined || allowedAt === undefined) {
      // Nothing to do, or not connected: look again later for jobs from other processes.
      this.options.onIdle?.();
      this.arm(this.options.pollIntervalMs);
      return;
    }
    const startAt = Math.max(allowedAt, readyAt);
    if (startAt > now) {
      this.arm(Math.min(startAt - now, this.options.pollIntervalMs));
      return;
    }
    const job = queue.peekReady(now);
    if (job === undefined) {
      this.arm(this.options.pollIntervalMs);
      return;
    }
    this.inFlight = this.run(job);
  }

  private arm(delayMs: number): void {
    this.cancelTimer = this.options.clock.setTimer(() => {
      this.cancelTimer = undefined;
      this.wake();
    }, delayMs);
  }

  private async run(job: AvatarJob): Promise<void> {
    const { logger, policy, clock } = this.options;
    let sent = false;
    const querySent = (): void => {
      if (sent) return;
      sent = true;
      policy.queryStarted(clock.now());
    };
    try {
      await this.options.runJob(job, querySent);
    } catch (error) {
      this.holdBack(job, error);
    } finally {
      // A job that failed before its query still counts as one, so a failure cannot speed the pace up.
      querySent();
      this.inFlight = undefined;
    }
    this.wake();
  }

  /**
   * The job stays queued (its row goes only with a stored outcome), but if it is ready again it
   * waits in memory first: running it again at once would ask WhatsApp about it in a tight loop.
   */
  private holdBack(job: AvatarJob, error: unknown): void {
    const { logger, queue, clock } = this.options;
    const now = clock.now();
    const current = queue.get(job.jid);
    if (current === undefined || current.notBefore > now) {
      logger.error({ err: error, jid: job.jid }, 'picture check failed unexpectedly after storing its outcome');
      return;
    }
    const notBefore = now + (this.options.failureDelayMs ?? fallbackFailureDelayMs)(current.attempts);
    queue.retryLater(job.jid, notBefore);
    logger.error({ err: error, jid: job.jid, retryAt: new Date(notBefore).toISOString() }, 'picture check failed unexpectedly; holding the job back');
  }
}
