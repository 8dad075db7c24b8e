// The tests' clock: it only moves when told to, so every timing rule runs without waiting. The
// production tree has the \`Clock\` interface and the system clock only (src/clock.ts); the
// benchmarks that replay days of traffic use this one too.

import type { Clock } from '../../src/clock.js';

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
