// Progress of the current batch, for the status sensor and the log: a batch runs from the moment
// work arrives in an empty queue until the queue is empty again. Pure: time comes in as `now`.

import { HOUR_MS } from '../time.js';

export interface ProgressSnapshot {
  /** Jobs completed in this batch. */
  done: number;
  /** done + still pending. */
  total: number;
  /** Completions per hour over the recent window (or since the batch began, if later). */
  ratePerHour: number;
  etaSeconds: number | null;
}

// Long enough to smooth over the jitter and a short pause, short enough to follow a 429 slowdown.
export const DEFAULT_PROGRESS_WINDOW_MS = 10 * 60 * 1000;

export class ProgressTracker {
  private done = 0;
  /** Completion times within the window, oldest first; `head` skips the expired ones. */
  private completions: number[] = [];
  private head = 0;
  private batchStartedAt: number | undefined;
  /** The queue emptied; the finished batch stays on show until new work begins the next one. */
  private drained = true;

  constructor(private readonly windowMs = DEFAULT_PROGRESS_WINDOW_MS) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`progress window must be a positive number of ms, got ${windowMs}`);
  }

  /** Work arrived; if the queue had drained, a new batch begins and `done` starts from 0. */
  batchStarted(now: number): void {
    if (!this.drained) return;
    this.drained = false;
    this.done = 0;
    this.completions = [];
    this.head = 0;
    this.batchStartedAt = now;
  }

  jobCompleted(now: number): void {
    this.batchStarted(now);
    this.done++;
    this.completions.push(now);
  }

  /** The queue is empty: the next work starts a new batch. */
  queueDrained(): void {
    this.drained = true;
  }

  snapshot(now: number, pending: number, etaSeconds: number | null): ProgressSnapshot {
    this.expire(now);
    const recent = this.completions.length - this.head;
    const since = Math.max(now - this.windowMs, this.batchStartedAt ?? now);
    const spanMs = now - since;
    const ratePerHour = recent > 0 && spanMs > 0 ? Math.round((recent * HOUR_MS) / spanMs) : 0;
    return { done: this.done, total: this.done + Math.max(0, pending), ratePerHour, etaSeconds };
  }

  private expire(now: number): void {
    while (this.head < this.completions.length && this.completions[this.head]! <= now - this.windowMs) this.head++;
    if (this.head > 64 && this.head * 2 > this.completions.length) {
      this.completions = this.completions.slice(this.head);
      this.head = 0;
    }
  }
}

const numberFormat = new Intl.NumberFormat('en-US');

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
  return `${numberFormat.format(snapshot.done)}/${numberFormat.format(snapshot.total)} done (${percent} %), ${numberFormat.format(snapshot.ratePerHour)}/h, ${eta}`;
}
