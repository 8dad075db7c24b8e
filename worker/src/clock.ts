// Time and randomness are injected everywhere so every timing rule runs on a fake clock in tests
// (worker/test/support/fake-clock.ts); production has the system clock only.

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
