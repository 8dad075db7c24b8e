// The CDN's `Retry-After` on a 429 or 503 (RFC 9110 §10.2.3: delay-seconds or an HTTP date),
// read defensively: it may ask for a wait we honour, but never for one shorter than our own
// retry delay, and never park a subject for longer than the queue's own longest pause.

import { HOUR_MS } from '../time.js';

// The queue's rate-limit pause tops out at an hour (DESIGN: 5 min doubling to 1 h); a CDN asking
// for days is answered with that, the state machine's backoff takes over from there.
export const MAX_RETRY_AFTER_MS = HOUR_MS;

/**
 * The wait `value` asks for in ms, or undefined when it is missing or unreadable (negative,
 * fractional, not a number, not a date). A date in the past asks for no wait (0).
 */
export function parseRetryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  // The three HTTP-date forms (RFC 9110 §5.6.7), matched first so Date.parse's leniency (local
  // times, bare numbers) stays out: IMF-fixdate and RFC 850 end in GMT; asctime is GMT unsaid.
  let normalised: string;
  if (/^[A-Z][a-z]{2,8}, [0-9]{2}[ -][A-Z][a-z]{2}[ -][0-9]{2,4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/.test(text)) normalised = text;
  else if (/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$/.test(text)) normalised = `${text} GMT`;
  else return undefined;
  const at = Date.parse(normalised);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The wait to honour: at least our own `floorMs`, at most `MAX_RETRY_AFTER_MS`. */
export function clampRetryAfterMs(askedMs: number, floorMs: number): number {
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(floorMs, askedMs));
}
