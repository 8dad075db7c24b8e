// Progress of the current batch, for the status sensor and the log: a batch runs from the moment
// work arrives in an empty queue until the queue is empty again, and goes on (not from 0) when more
// work arrives soon after it drained (a history sync comes in parts) or the worker restarts with
// work left (issue 13: progress restarted at every part and every restart). What a restart needs
// is in the stored snapshot (`StoredProgress`). The ETA is the one that holds (holding-eta.ts).
// Pure: time comes in as `now`.

import { formatCount } from '../count-format.js';
import { HOUR_MS } from '../time.js';
import { holdingEtaSeconds } from './holding-eta.js';

export interface ProgressSnapshot {
  /** Jobs completed in this batch. */
  done: number;
  /** done + still pending. */
  total: number;
  /** Completions per hour over the recent window (or since the batch began, if later). */
  ratePerHour: number;
  etaSeconds: number | null;
}

/** The snapshot as the worker stores it after every job: enough to go on with the batch after a restart. */
export interface StoredProgress extends ProgressSnapshot {
  /** When the batch began (ms). */
  batchStartedAt: number | null;
  /** Time spent working on the batch, pauses included, restarts and idle gaps not (ms). */
  observedMs: number;
  /** When this was stored (ms): a drained batch goes on only if work comes back soon after. */
  savedAt: number;
}

// Long enough to smooth over the jitter and a short pause, short enough to follow a 429 slowdown.
export const DEFAULT_PROGRESS_WINDOW_MS = 10 * 60 * 1000;
/** Work that arrives this soon after the queue drained belongs to the same batch (the next part of a sync). */
export const BATCH_CONTINUES_WITHIN_MS = 10 * 60 * 1000;

/** Reads a stored progress snapshot, or throws an error naming the bad field. */
export function parseStoredProgress(value: unknown): StoredProgress {
  if (typeof value !== 'object' || value === null) throw new TypeError(`stored progress must be an object, got ${JSON.stringify(value)}`);
  const record = value as Record<string, unknown>;
  const count = (name: string): number => {
    const field = record[name];
    if (typeof field !== 'number' || !Number.isInteger(field) || field < 0) {
      throw new TypeError(`stored progress: ${name} must be a non-negative integer, got ${JSON.stringify(field)}`);
    }
    return field;
  };
  const done = count('done');
  const total = count('total');
  if (total < done) throw new TypeError(`stored progress: total (${total}) is below done (${done})`);
  const { batchStartedAt, observedMs, savedAt, ratePerHour, etaSeconds } = record;
  if (batchStartedAt !== null && (typeof batchStartedAt !== 'number' || !Number.isFinite(batchStartedAt))) {
    throw new TypeError(`stored progress: batchStartedAt must be a time in ms or null, got ${JSON.stringify(batchStartedAt)}`);
  }
  if (typeof observedMs !== 'number' || !Number.isFinite(observedMs) || observedMs < 0) {
    throw new TypeError(`stored progress: observedMs must be a non-negative number, got ${JSON.stringify(observedMs)}`);
  }
  if (typeof savedAt !== 'number' || !Number.isFinite(savedAt)) throw new TypeError(`stored progress: savedAt must be a time in ms, got ${JSON.stringify(savedAt)}`);
  return {
    done,
    total,
    ratePerHour: typeof ratePerHour === 'number' ? ratePerHour : 0,
    etaSeconds: typeof etaSeconds === 'number' ? etaSeconds : null,
    batchStartedAt,
    observedMs,
    savedAt,
  };
}

export class ProgressTracker {
  private done = 0;
  /** Completion times within the window, oldest first; `head` skips the expired ones. */
  private completions: number[] = [];
  private head = 0;
  private batchStartedAt: number | undefined;
  /** Working time of the batch before the current stretch began. */
  private observedBeforeMs = 0;
  /** Start of the current stretch of work; undefined while drained. */
  private stretchStartedAt: number | undefined;
  /** When the queue emptied; undefined while a batch runs. */
  private drainedAt: number | undefined = Number.NEGATIVE_INFINITY;

  constructor(private readonly windowMs = DEFAULT_PROGRESS_WINDOW_MS) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`progress window must be a positive number of ms, got ${windowMs}`);
  }

  /**
   * Goes on with the batch a stored snapshot describes: with work still queued (`pending` > 0) it
   * runs on from its count, the downtime not counted as working time; a finished one stays on show
   * and goes on if work comes back within BATCH_CONTINUES_WITHIN_MS of when it was stored.
   */
  restore(stored: StoredProgress, pending: number, now: number): void {
    if (stored.batchStartedAt === null) return;
    this.done = stored.done;
    this.completions = [];
    this.head = 0;
    this.batchStartedAt = stored.batchStartedAt;
    this.observedBeforeMs = stored.observedMs;
    const unfinished = pending > 0;
    this.drainedAt = unfinished ? undefined : stored.savedAt;
    this.stretchStartedAt = unfinished ? now : undefined;
  }

  /** Work arrived; if the queue had drained a while ago, a new batch begins and `done` starts from 0. */
  batchStarted(now: number): void {
    if (this.drainedAt === undefined) return;
    if (now - this.drainedAt > BATCH_CONTINUES_WITHIN_MS || this.batchStartedAt === undefined) {
      this.done = 0;
      this.completions = [];
      this.head = 0;
      this.batchStartedAt = now;
      this.observedBeforeMs = 0;
    }
    this.drainedAt = undefined;
    this.stretchStartedAt = now;
  }

  jobCompleted(now: number): void {
    this.batchStarted(now);
    this.done++;
    this.completions.push(now);
  }

  /** The queue is empty: the time until more work comes is not working time. */
  queueDrained(now: number): void {
    if (this.drainedAt !== undefined) return;
    this.observedBeforeMs = this.observedMs(now);
    this.stretchStartedAt = undefined;
    this.drainedAt = now;
  }

  /** `budgetEtaSeconds`: the rate policy's estimate for `pending`, which the ETA never undercuts. */
  snapshot(now: number, pending: number, budgetEtaSeconds: number | null): StoredProgress {
    this.expire(now);
    const recent = this.completions.length - this.head;
    const since = Math.max(now - this.windowMs, this.batchStartedAt ?? now);
    const spanMs = now - since;
    const ratePerHour = recent > 0 && spanMs > 0 ? Math.round((recent * HOUR_MS) / spanMs) : 0;
    const left = Math.max(0, pending);
    const observedMs = this.observedMs(now);
    const etaSeconds =
      budgetEtaSeconds === null ? null : holdingEtaSeconds({ pending: left, done: this.done, observedMs, budgetSeconds: budgetEtaSeconds });
    return {
      done: this.done,
      total: this.done + left,
      ratePerHour,
      etaSeconds,
      batchStartedAt: this.batchStartedAt ?? null,
      observedMs,
      savedAt: now,
    };
  }

  private observedMs(now: number): number {
    return this.observedBeforeMs + (this.stretchStartedAt === undefined ? 0 : Math.max(0, now - this.stretchStartedAt));
  }

  private expire(now: number): void {
    while (this.head < this.completions.length && this.completions[this.head]! <= now - this.windowMs) this.head++;
    if (this.head > 64 && this.head * 2 > this.completions.length) {
      this.completions = this.completions.slice(this.head);
      this.head = 0;
    }
  }
}

/** A duration for people: "35 s", "2 min 35 s", "1 h 5 min", "2 d 3 h". */
export function formatDuration(totalSeconds: number): string {
  const secondsTotal = Math.max(0, Math.round(totalSeconds));
  const days = Math.floor(secondsTotal / 86_400);
  const hours = Math.floor((secondsTotal % 86_400) / 3600);
  const minutes = Math.floor((secondsTotal % 3600) / 60);
  const seconds = secondsTotal % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return seconds > 0 ? `${minutes} min ${seconds} s` : `${minutes} min`;
  return `${seconds} s`;
}

/** One log line: "120/300 done (40 %), 1,150/h, ETA 2 min 35 s". */
export function formatProgress(snapshot: ProgressSnapshot): string {
  // Rounded down so "100 %" means every job is really done.
  const percent = snapshot.total > 0 ? Math.floor((snapshot.done * 100) / snapshot.total) : 100;
  const eta = snapshot.etaSeconds === null ? 'ETA unknown' : `ETA ${formatDuration(snapshot.etaSeconds)}`;
  return `${formatCount(snapshot.done)}/${formatCount(snapshot.total)} done (${percent} %), ${formatCount(snapshot.ratePerHour)}/h, ${eta}`;
}
