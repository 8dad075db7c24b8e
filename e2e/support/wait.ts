// Bounded waiting for things that happen in other processes (Home Assistant, the worker, a
// browser). Every wait has its own limit, so a broken step fails with a message that says what
// was awaited and what was last seen, instead of hanging the suite.

import { setTimeout as sleep } from 'node:timers/promises';

// Often enough that a test does not idle noticeably, rarely enough not to load HA's event loop.
const DEFAULT_POLL_INTERVAL_MS = 100;

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/** Thrown by a probe when waiting longer cannot help (the awaited process died). */
export class GiveUpError extends Error {
  override readonly name = 'GiveUpError';
}

export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/**
 * Polls `probe` until it returns something other than `undefined` and returns that. A probe that
 * throws counts as "not yet" (the other side may still be starting), except with a GiveUpError;
 * the last error or value is named in the timeout message.
 */
export async function waitFor<T>(description: string, probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastSeen = 'nothing yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastSeen = 'not yet';
    } catch (error) {
      if (error instanceof GiveUpError) throw error;
      lastSeen = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`timed out after ${options.timeoutMs} ms waiting for ${description} (last: ${lastSeen})`);
    }
    await sleep(options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  }
}

/** Races `promise` against a limit; the error names what did not happen in time. */
export async function withTimeout<T>(description: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms: ${description}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
