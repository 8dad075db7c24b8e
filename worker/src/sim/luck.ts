// SIMULATION ONLY: the per-query luck of a simulated account (timeouts, rate-limit bursts). A
// pure function of the seed and the query number, so a restarted demo replays the same luck.

import { seededRandom, type Random } from '../clock.js';

// The salt of the timeout draw; other decisions use their own salts (picture-answers.ts).
const SALT_TIMEOUT = 0;

export class QueryLuck {
  private readonly bursts: { start: number; length: number }[] = [];
  private readonly burstRandom: Random;

  constructor(
    private readonly seed: number,
    /** Average number of queries between two rate-limit bursts; 0 turns them off. */
    private readonly rateLimitEveryQueries: number,
  ) {
    this.burstRandom = seededRandom((seed ^ 0x0429_0429) >>> 0);
  }

  /** A number in [0, 1) that depends only on the seed, the query number and a salt. */
  draw(query: number, salt = 0): number {
    return seededRandom((this.seed ^ Math.imul(query, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0)();
  }

  /**
   * Whether this query meets a rate-limit burst or a timeout (in that order), the same for both
   * simulations; undefined when it is answered.
   */
  failure(query: number, timeoutShare: number): 'rate-limited' | 'timeout' | undefined {
    if (this.inRateLimitBurst(query)) return 'rate-limited';
    if (this.draw(query, SALT_TIMEOUT) < timeoutShare) return 'timeout';
    return undefined;
  }

  inRateLimitBurst(query: number): boolean {
    const every = this.rateLimitEveryQueries;
    if (every <= 0) return false;
    // Bursts sit at seeded positions (gaps of 0.5×–1.5× the average, one or two answers long),
    // generated in order from one sequence, so they never depend on when they were computed.
    let last = this.bursts[this.bursts.length - 1];
    while (last === undefined || last.start <= query) {
      const start = (last?.start ?? 0) + Math.max(1, Math.round(every * (0.5 + this.burstRandom())));
      last = { start, length: this.burstRandom() < 0.5 ? 1 : 2 };
      this.bursts.push(last);
    }
    return this.bursts.some((burst) => query >= burst.start && query < burst.start + burst.length);
  }
}
