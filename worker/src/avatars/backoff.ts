// Exponential backoff with jitter, once for the whole worker: the HA reconnects, the WhatsApp
// reconnects and the job retries all grow and spread their waits this way.

import type { Random } from '../clock.js';

/** `baseMs` spread uniformly by ± `ratio` (0.2: anywhere from 80 % to 120 %), rounded to whole ms. */
export function jittered(baseMs: number, ratio: number, random: Random): number {
  return Math.round(baseMs * (1 + ratio * (2 * random() - 1)));
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
  /** ± this share of the delay, so many clients do not retry in lockstep. */
  readonly jitterRatio: number;
}

/** The wait before retry number `attempt` (0 for the first): grown by `factor`, capped, jittered. */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: Random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt)));
  return Math.max(0, jittered(base, policy.jitterRatio, random));
}
