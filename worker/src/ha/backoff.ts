// Exponential backoff with jitter, as pure arithmetic over an injected random source, so the
// schedule is tested exactly and many workers restarting together do not reconnect in lockstep.

import type { Random } from '../clock.js';

export interface BackoffPolicy {
  /** Delay before the first retry. */
  readonly initialMs: number;
  /** The delay stops growing here (before jitter). */
  readonly maxMs: number;
  /** Growth per attempt, e.g. 2 to double. */
  readonly factor: number;
  /** Each delay is spread by ± this fraction, e.g. 0.2 for ±20 %. */
  readonly jitterRatio: number;
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: Random): number {
  const grown = policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt));
  const base = Math.min(policy.maxMs, grown);
  const spread = base * policy.jitterRatio * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}

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
