// Time and randomness are injected everywhere so every timing rule runs on a fake clock in tests.

export interface Clock {
  /** Unix milliseconds. */
  now(): number;
  /** Calls `callback` after `delayMs`; returns the cancel. */
  setTimer(callback: () => void, delayMs: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
};

/** Timers that end together: `cancelAll` stops every one still pending (on stop, on disconnect). */
export class TimerGroup {
  private readonly pending = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  /** Starts a timer in the group; returns its own cancel. */
  after(delayMs: number, callback: () => void): () => void {
    const cancel = this.clock.setTimer(() => {
      this.pending.delete(cancel);
      callback();
    }, delayMs);
    this.pending.add(cancel);
    return () => {
      this.pending.delete(cancel);
      cancel();
    };
  }

  cancelAll(): void {
    for (const cancel of this.pending) cancel();
    this.pending.clear();
  }
}

/** A clock that only moves when told to; timers fire in due order as it advances. */
export class FakeClock implements Clock {
  private current: number;
  private timers: { at: number; order: number; callback: () => void }[] = [];
  private order = 0;

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, delayMs: number): () => void {
    // Whole milliseconds, as a real clock reads: times derived from it go into INTEGER columns.
    const timer = { at: this.current + Math.max(0, Math.ceil(delayMs)), order: this.order++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((candidate) => candidate !== timer);
    };
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.current + Math.ceil(ms);
    for (;;) {
      const due = this.timers
        .filter((timer) => timer.at <= target)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.current = Math.max(this.current, due.at);
      due.callback();
    }
    this.current = target;
  }

  /** When the next timer is due, if any. */
  nextTimerAt(): number | undefined {
    return this.timers.reduce<number | undefined>((soonest, timer) => (soonest === undefined || timer.at < soonest ? timer.at : soonest), undefined);
  }
}

/** A uniform random number in [0, 1). */
export type Random = () => number;

/** Deterministic random numbers from a seed (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
