// The HA connection's retry counter over the worker's one backoff rule (avatars/backoff.ts), so
// the schedule is tested exactly and many workers restarting together do not reconnect in lockstep.

import type { Random } from '../clock.js';
import { backoffDelayMs, type BackoffPolicy } from '../avatars/backoff.js';

export { backoffDelayMs, type BackoffPolicy } from '../avatars/backoff.js';

/** Counts consecutive failures and hands out the next delay; `reset` after a success. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: Random,
  ) {}

  /** The delay to wait after one more failure. */
  nextDelayMs(): number {
    const delay = backoffDelayMs(this.policy, this.failures, this.random);
    this.failures += 1;
    return delay;
  }

  get attempts(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }
}
