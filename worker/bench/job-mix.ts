// A realistic, seeded stream of enqueue requests for the queue benchmarks: mostly first-time
// subjects from a sync and a sweep, active chats ranked by last activity, and about a fifth
// repeats of JIDs already queued that come back with a higher-priority reason (a picture-change
// notification, a favourite, an explicit refresh), which the queue must dedupe and raise.

import { requireJid } from '../src/jid.js';
import type { Random } from '../src/clock.js';
import type { EnqueueRequest, JobReason } from '../src/avatars/model.js';

export interface JobMix {
  readonly requests: readonly EnqueueRequest[];
  readonly distinctJids: number;
  readonly repeats: number;
}

// Shares of first-time requests by reason, as a sync followed by sweeps produces them.
const FIRST_TIME_REASONS: readonly (readonly [JobReason, number])[] = [
  ['never-fetched', 0.45],
  ['active-chat', 0.3],
  ['stale', 0.17],
  ['changed', 0.05],
  ['favourite', 0.02],
  ['explicit', 0.01],
];
// Repeats come from events that outrank a sweep.
const REPEAT_REASONS: readonly (readonly [JobReason, number])[] = [
  ['active-chat', 0.35],
  ['changed', 0.4],
  ['favourite', 0.15],
  ['explicit', 0.1],
];
// Last activity within the last two months, in ms: the rank of an active chat.
const MAX_CHAT_AGE_MS = 60 * 24 * 60 * 60 * 1000;

function pickWeighted(random: Random, choices: readonly (readonly [JobReason, number])[]): JobReason {
  let roll = random() * choices.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [reason, weight] of choices) {
    roll -= weight;
    if (roll < 0) return reason;
  }
  return choices[choices.length - 1]![0];
}

function request(jid: string, reason: JobReason, random: Random, now: number): EnqueueRequest {
  const kind = jid.endsWith('@g.us') ? 'group' : 'contact';
  const rank = reason === 'active-chat' ? now - Math.floor(random() * MAX_CHAT_AGE_MS) : 0;
  return { jid: requireJid(jid).jid, kind, reason, rank, force: reason === 'explicit' && random() < 0.5 };
}

/** `total` requests of which about `repeatShare` repeat a JID seen earlier in the stream. */
export function buildJobMix(total: number, repeatShare: number, random: Random, now: number): JobMix {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`total must be a whole number ≥ 1, got ${total}`);
  if (!(repeatShare >= 0 && repeatShare < 1)) throw new RangeError(`repeatShare must be in [0, 1), got ${repeatShare}`);
  const requests: EnqueueRequest[] = [];
  const seen: string[] = [];
  let repeats = 0;
  for (let index = 0; index < total; index++) {
    if (seen.length > 0 && random() < repeatShare) {
      const jid = seen[Math.floor(random() * seen.length)]!;
      requests.push(request(jid, pickWeighted(random, REPEAT_REASONS), random, now));
      repeats++;
      continue;
    }
    // One subject in eight is a group, as in a typical account.
    const jid = random() < 0.125 ? `120363${String(100_000_000_000 + seen.length)}@g.us` : `49${String(1_500_000_000 + seen.length)}@s.whatsapp.net`;
    seen.push(jid);
    requests.push(request(jid, pickWeighted(random, FIRST_TIME_REASONS), random, now));
  }
  return { requests, distinctJids: seen.length, repeats };
}
