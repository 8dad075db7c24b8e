// A picture query's outcome is input from the network, even after the adapter classified it.
// Its shape is checked before the CDN or the state machine sees it, so a malformed answer (an
// empty picture id, a missing URL, an unknown kind) becomes a refusal that names the problem:
// never a throw that loops, and never a download written over the stored picture. whatsmeow reads
// a picture's `id` and `url` with its strict attribute getter and fails the query without them
// (user.go `GetProfilePictureInfo`, commit 33cfac5116293e4cb86f8e4099e8eaf6de7ebc08): the same rule.
// This is the edge for picture ids: past it they are `PictureId`s (picture-id.ts).

import { isPictureId } from './picture-id.js';
import type { CheckedAccount, CheckedPictureOutcome, RefusalReason, TransientCause, WhatsAppAccount } from './ports.js';

const REFUSAL_REASONS: ReadonlySet<string> = new Set<RefusalReason>(['fixed-error', 'unreadable-answer', 'cdn']);
const TRANSIENT_CAUSES: ReadonlySet<string> = new Set<TransientCause>(['timeout', 'socket-closed', 'server-error', 'network']);

function unreadable(detail: string): CheckedPictureOutcome {
  return { kind: 'refused', reason: 'unreadable-answer', detail };
}

const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** The outcome as given when its shape is sound, else a refusal saying what is wrong with it. */
export function checkedOutcome(value: unknown): CheckedPictureOutcome {
  if (typeof value !== 'object' || value === null) return unreadable(`the account gave no outcome (${value === null ? 'null' : typeof value})`);
  const outcome = value as Record<string, unknown>;
  switch (outcome.kind) {
    case 'picture':
      if (!isPictureId(outcome.pictureId)) return unreadable(`a picture answer without a picture id (${JSON.stringify(outcome.pictureId)})`);
      if (!nonEmptyString(outcome.url)) return unreadable('a picture answer without a URL');
      return { kind: 'picture', pictureId: outcome.pictureId, url: outcome.url };
    case 'unchanged':
      if (!isPictureId(outcome.pictureId)) return unreadable(`an unchanged answer without a picture id (${JSON.stringify(outcome.pictureId)})`);
      return { kind: 'unchanged', pictureId: outcome.pictureId };
    case 'none':
    case 'hidden':
    case 'rate-limited':
      return { kind: outcome.kind };
    case 'refused':
      if (typeof outcome.reason !== 'string' || !REFUSAL_REASONS.has(outcome.reason)) {
        return unreadable(`a refusal with an unknown reason ${JSON.stringify(outcome.reason)}`);
      }
      return { kind: 'refused', reason: outcome.reason as RefusalReason, detail: String(outcome.detail ?? '') };
    case 'transient': {
      if (typeof outcome.cause !== 'string' || !TRANSIENT_CAUSES.has(outcome.cause)) {
        return unreadable(`a transient failure with an unknown cause ${JSON.stringify(outcome.cause)}`);
      }
      const cause = outcome.cause as TransientCause;
      const detail = String(outcome.detail ?? '');
      const wait = outcome.retryAfterMs;
      if (wait === undefined) return { kind: 'transient', cause, detail };
      if (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0) {
        // The failure is still real; only the wait it asked for is unusable, so the normal backoff applies.
        return { kind: 'transient', cause, detail: `${detail} (ignored an unusable retry wait ${JSON.stringify(wait)})` };
      }
      return { kind: 'transient', cause, detail, retryAfterMs: wait };
    }
    default:
      return unreadable(`an outcome of unknown kind ${JSON.stringify(outcome.kind)}`);
  }
}

/** The same account, with every picture outcome checked. A throw still propagates: it is the job's failure. */
export function withCheckedAnswers(account: WhatsAppAccount): CheckedAccount {
  return {
    start: () => account.start(),
    stop: () => account.stop(),
    onEvent: (listener) => account.onEvent(listener),
    queryPicture: async (jid, knownPictureId, timeoutMs, hints) => checkedOutcome(await account.queryPicture(jid, knownPictureId, timeoutMs, hints)),
  };
}
