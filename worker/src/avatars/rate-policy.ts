// Politeness toward WhatsApp: when the next picture query may start. Pure: time comes in as `now`,
// randomness as an injected `Random`, so every rule is tested on a fake clock over simulated hours.
//
// A query may start only when all of these hold: connected; the quiet period after connecting is
// over; no rate-limit (429) pause is running; the jittered gap since the last start has passed;
// fewer than `hourlyCap` queries started in the last sliding hour.

import type { Random } from '../clock.js';
import { HOUR_MS, MINUTE_MS, SECOND_MS } from '../time.js';

export { HOUR_MS } from '../time.js';

export interface RateSettings {
  /** Mean gap between query starts. */
  intervalMs: number;
  /** Each gap is drawn uniformly from interval × (1 ± jitterRatio), so queries do not tick like a bot. */
  jitterRatio: number;
  /** At most this many query starts in any sliding 60 minutes. */
  hourlyCap: number;
  /** Wait after every connect: the phone and server are busy syncing then. */
  quietPeriodMs: number;
  /** First pause after a 429; doubles on each consecutive 429. */
  rateLimitPauseMs: number;
  rateLimitPauseMaxMs: number;
}


/** Queries per hour at full speed under these settings: the tighter of the interval and the hourly cap. */
export function queriesPerHour(settings: Pick<RateSettings, 'intervalMs' | 'hourlyCap'>): number {
  return Math.min(HOUR_MS / settings.intervalMs, settings.hourlyCap);
}

export const DEFAULT_RATE_SETTINGS: Readonly<RateSettings> = Object.freeze({
  // 3 s ≈ 1,200 queries an hour: a few thousand contacts refresh within a few hours, far below
  // the pace that gets WhatsApp Web accounts flagged.
  intervalMs: 3 * SECOND_MS,
  jitterRatio: 0.2,
  // The binding limit by default (900 < 1,200): bursts after a long pause stay within an hour's budget.
  hourlyCap: 900,
  quietPeriodMs: 60 * SECOND_MS,
  // WhatsApp's 429 windows last minutes; start at 5 min and back off to an hour if they persist.
  rateLimitPauseMs: 5 * MINUTE_MS,
  rateLimitPauseMaxMs: HOUR_MS,
});

/** A real account must never be queried faster than this; only the simulator may go below. */
export const MIN_REAL_INTERVAL_MS = 2000;

function seconds(ms: number): string {
  return `${Number((ms / SECOND_MS).toFixed(3))} s`;
}

/** Every problem with `settings`, each naming the setting; empty when they are usable. */
export function rateSettingsProblems(settings: RateSettings, options: { allowFastInterval: boolean }): string[] {
  const problems: string[] = [];
  const finite = (name: keyof RateSettings): boolean => {
    const value = settings[name];
    if (typeof value === 'number' && Number.isFinite(value)) return true;
    problems.push(`${name} must be a finite number, got ${String(value)}`);
    return false;
  };
  if (finite('intervalMs')) {
    if (settings.intervalMs <= 0) {
      problems.push(`interval must be positive, got ${seconds(settings.intervalMs)}`);
    } else if (!options.allowFastInterval && settings.intervalMs < MIN_REAL_INTERVAL_MS) {
      problems.push(`interval must be at least ${seconds(MIN_REAL_INTERVAL_MS)} for a real account, got ${seconds(settings.intervalMs)}`);
    }
  }
  if (finite('jitterRatio') && (settings.jitterRatio < 0 || settings.jitterRatio >= 1)) {
    problems.push(`jitter must be at least 0 and below 1 (a fraction of the interval), got ${settings.jitterRatio}`);
  }
  if (finite('hourlyCap') && (!Number.isInteger(settings.hourlyCap) || settings.hourlyCap < 1)) {
    problems.push(`hourly cap must be a whole number of at least 1, got ${settings.hourlyCap}`);
  }
  if (finite('quietPeriodMs') && settings.quietPeriodMs < 0) {
    problems.push(`quiet period must not be negative, got ${seconds(settings.quietPeriodMs)}`);
  }
  const pauseOk = finite('rateLimitPauseMs');
  if (pauseOk && settings.rateLimitPauseMs <= 0) {
    problems.push(`rate-limit pause must be positive, got ${seconds(settings.rateLimitPauseMs)}`);
  }
  if (finite('rateLimitPauseMaxMs') && pauseOk && settings.rateLimitPauseMaxMs < settings.rateLimitPauseMs) {
    problems.push(
      `maximum rate-limit pause must be at least the rate-limit pause (${seconds(settings.rateLimitPauseMs)}), got ${seconds(settings.rateLimitPauseMaxMs)}`,
    );
  }
  return problems;
}

/** What must survive a restart: a running 429 pause, its doubling level, and recent starts. */
export interface RatePolicySnapshot {
  pausedUntil?: number;
  /** Consecutive 429s so far; the next pause is rateLimitPauseMs × 2^pauseLevel. */
  pauseLevel: number;
  /** Query starts in the last hour, oldest first, so a restart cannot exceed the hourly cap. */
  recentStarts?: number[];
}

/** Reads a snapshot from stored JSON, or throws an error naming the bad field. */
export function parseRatePolicySnapshot(value: unknown): RatePolicySnapshot {
  if (typeof value !== 'object' || value === null) throw new TypeError(`rate policy snapshot must be an object, got ${JSON.stringify(value)}`);
  const record = value as Record<string, unknown>;
  const { pausedUntil, pauseLevel, recentStarts } = record;
  if (typeof pauseLevel !== 'number' || !Number.isInteger(pauseLevel) || pauseLevel < 0) {
    throw new TypeError(`rate policy snapshot: pauseLevel must be a non-negative integer, got ${JSON.stringify(pauseLevel)}`);
  }
  if (pausedUntil !== undefined && pausedUntil !== null && (typeof pausedUntil !== 'number' || !Number.isFinite(pausedUntil))) {
    throw new TypeError(`rate policy snapshot: pausedUntil must be a time in ms, got ${JSON.stringify(pausedUntil)}`);
  }
  if (recentStarts !== undefined && (!Array.isArray(recentStarts) || !recentStarts.every((at) => typeof at === 'number' && Number.isFinite(at)))) {
    throw new TypeError('rate policy snapshot: recentStarts must be a list of times in ms');
  }
  const snapshot: RatePolicySnapshot = { pauseLevel };
  if (typeof pausedUntil === 'number') snapshot.pausedUntil = pausedUntil;
  if (recentStarts !== undefined) snapshot.recentStarts = [...(recentStarts as number[])].sort((a, b) => a - b);
  return snapshot;
}

// Doubling stops growing here; the pause is capped by rateLimitPauseMaxMs long before.
const MAX_PAUSE_LEVEL = 30;

export class RatePolicy {
  private connected = false;
  private quietUntil = 0;
  private pauseEnd: number | undefined;
  private pauseLevel = 0;
  private lastStartAt: number | undefined;
  private gapAfterLastStartMs = 0;
  /** Query start times within the last hour, oldest first; `startsHead` skips pruned ones. */
  private starts: number[] = [];
  private startsHead = 0;

  constructor(
    private readonly settings: RateSettings,
    private readonly random: Random,
    restoredSnapshot?: RatePolicySnapshot,
  ) {
    const problems = rateSettingsProblems(settings, { allowFastInterval: true });
    if (problems.length > 0) throw new RangeError(`invalid rate settings: ${problems.join('; ')}`);
    if (restoredSnapshot !== undefined) this.restore(restoredSnapshot);
  }

  /** Takes back a stored pause and recent query times (on start, before any query). */
  restore(restoredSnapshot: RatePolicySnapshot): void {
    // Stored state may come from an older worker or a hand-edited database: check it by name.
    const restored = parseRatePolicySnapshot(restoredSnapshot);
    this.pauseEnd = restored.pausedUntil;
    this.pauseLevel = Math.min(restored.pauseLevel, MAX_PAUSE_LEVEL);
    this.starts = [...(restored.recentStarts ?? [])].sort((a, b) => a - b);
    this.startsHead = 0;
    const last = this.starts[this.starts.length - 1];
    if (last !== undefined) {
      // The gap chosen before the restart is lost; the full interval is the polite assumption.
      this.lastStartAt = last;
      this.gapAfterLastStartMs = this.settings.intervalMs;
    }
  }

  /** Disconnected, nothing starts; on every connect, queries wait out the quiet period. */
  connectionChanged(connected: boolean, now: number): void {
    if (connected && !this.connected) this.quietUntil = now + this.settings.quietPeriodMs;
    this.connected = connected;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** When a running 429 pause ends; undefined when none was ever set. */
  get pausedUntil(): number | undefined {
    return this.pauseEnd;
  }

  /** Earliest time (≥ now) the next query may start; undefined while disconnected. */
  nextQueryAt(now: number): number | undefined {
    if (!this.connected) return undefined;
    return Math.max(now, this.earliestStartIgnoringConnection(now));
  }

  /** Records a query start and draws the gap that must pass before the next one. */
  queryStarted(now: number): void {
    this.lastStartAt = now;
    const jitter = this.settings.jitterRatio * (2 * this.random() - 1);
    this.gapAfterLastStartMs = this.settings.intervalMs * (1 + jitter);
    this.pruneStarts(now);
    this.starts.push(now);
  }

  /** WhatsApp answered 429: pause the whole queue, doubling on each consecutive 429. Returns the end. */
  rateLimited(now: number): number {
    const pauseMs = Math.min(this.settings.rateLimitPauseMs * 2 ** this.pauseLevel, this.settings.rateLimitPauseMaxMs);
    this.pauseLevel = Math.min(this.pauseLevel + 1, MAX_PAUSE_LEVEL);
    this.pauseEnd = Math.max(this.pauseEnd ?? 0, now + pauseMs);
    return this.pauseEnd;
  }

  /** Any answer other than 429 shows the limit has lifted: the next pause starts small again. */
  answered(_now: number): void {
    this.pauseLevel = 0;
  }

  /**
   * `startsAfter`: only the starts later than this, for a store that already holds the older ones
   * (each job's outcome saves the state; copying the whole hour, up to the hourly cap, every time
   * was the largest allocation a job made — issue 11).
   */
  snapshot(startsAfter = Number.NEGATIVE_INFINITY): RatePolicySnapshot {
    let first = this.starts.length;
    while (first > this.startsHead && this.starts[first - 1]! > startsAfter) first--;
    const snapshot: RatePolicySnapshot = { pauseLevel: this.pauseLevel, recentStarts: this.starts.slice(first) };
    if (this.pauseEnd !== undefined) snapshot.pausedUntil = this.pauseEnd;
    return snapshot;
  }

  /** Queries per hour at full speed: the tighter of the interval and the hourly cap. */
  budgetPerHour(): number {
    return queriesPerHour(this.settings);
  }

  /**
   * Seconds until `pendingJobs` more queries have started, at the budget rate, after any pause or
   * quiet period (and, while connected, the gap and hourly slot) that holds the next start back.
   */
  estimateSeconds(pendingJobs: number, now: number): number {
    if (pendingJobs <= 0) return 0;
    const firstStart = Math.max(now, this.earliestStartIgnoringConnection(now));
    const perQueryMs = HOUR_MS / this.budgetPerHour();
    return Math.ceil((firstStart - now + (pendingJobs - 1) * perQueryMs) / SECOND_MS);
  }

  private earliestStartIgnoringConnection(now: number): number {
    let earliest = this.quietUntil;
    if (this.lastStartAt !== undefined) earliest = Math.max(earliest, this.lastStartAt + this.gapAfterLastStartMs);
    if (this.pauseEnd !== undefined) earliest = Math.max(earliest, this.pauseEnd);
    this.pruneStarts(now);
    const inWindow = this.starts.length - this.startsHead;
    if (inWindow >= this.settings.hourlyCap) {
      // Enough of the oldest starts must leave the window to make room for one more.
      const oldestToLeave = this.starts[this.startsHead + inWindow - this.settings.hourlyCap]!;
      earliest = Math.max(earliest, oldestToLeave + HOUR_MS);
    }
    return earliest;
  }

  /** Drops starts that left the sliding hour (a start at t counts until t + 1 h). */
  private pruneStarts(now: number): void {
    while (this.startsHead < this.starts.length && this.starts[this.startsHead]! + HOUR_MS <= now) this.startsHead++;
    // Compact once the dead prefix dominates, so the array stays about one hour of starts long.
    if (this.startsHead > 64 && this.startsHead * 2 > this.starts.length) {
      this.starts = this.starts.slice(this.startsHead);
      this.startsHead = 0;
    }
  }
}
