// Clock-driven throttle and debounce for pushes to Home Assistant: status changes can arrive many
// times a second while the queue drains, the directory changes in bursts during a history sync.

import type { Clock } from '../clock.js';

/**
 * Runs `action` at most once per `minIntervalMs`. A request inside the interval is not lost: one
 * trailing run happens when the interval ends, so the last state always reaches HA.
 */
export class Throttle {
  private lastRunAt: number | undefined;
  private cancelTrailing: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly minIntervalMs: number,
    private readonly action: () => void,
  ) {}

  request(): void {
    if (this.cancelTrailing !== undefined) return;
    const now = this.clock.now();
    if (this.lastRunAt === undefined || now - this.lastRunAt >= this.minIntervalMs) {
      this.run();
      return;
    }
    this.cancelTrailing = this.clock.setTimer(() => {
      this.cancelTrailing = undefined;
      this.run();
    }, this.lastRunAt + this.minIntervalMs - now);
  }

  /** Runs now regardless of the interval, replacing any pending trailing run. */
  flush(): void {
    this.cancel();
    this.run();
  }

  cancel(): void {
    this.cancelTrailing?.();
    this.cancelTrailing = undefined;
  }

  private run(): void {
    this.lastRunAt = this.clock.now();
    this.action();
  }
}

/**
 * Runs `action` once requests have been quiet for `quietMs`, but never later than `maxWaitMs`
 * after the first request of a burst, so a long burst cannot starve it.
 */
export class Debounce {
  private burstStartedAt: number | undefined;
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly quietMs: number,
    private readonly maxWaitMs: number,
    private readonly action: () => void,
  ) {}

  request(): void {
    const now = this.clock.now();
    this.burstStartedAt ??= now;
    this.cancelTimer?.();
    const delay = Math.max(0, Math.min(this.quietMs, this.burstStartedAt + this.maxWaitMs - now));
    this.cancelTimer = this.clock.setTimer(() => this.run(), delay);
  }

  /** Runs now, ending any pending burst. */
  flush(): void {
    this.cancel();
    this.run();
  }

  cancel(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.burstStartedAt = undefined;
  }

  private run(): void {
    this.cancelTimer = undefined;
    this.burstStartedAt = undefined;
    this.action();
  }
}
