// The avatar state machine of the design, as one pure function: given what we stored, the job and
// how the picture query resolved, it says what to write, what to do with the file and the job, and
// whether the whole queue must pause. The pipeline applies the answer in one transaction.

import type { Random } from '../clock.js';
import { DAY_MS, HOUR_MS } from '../time.js';
import { jittered } from './backoff.js';
import type { RefusalReason, TransientCause } from './ports.js';
import { isPictureId, type PictureId } from './picture-id.js';
import type { AvatarJob, AvatarRecord, AvatarState, FailureKind, JobReason } from './model.js';


export interface TtlSettings {
  /** Favourites are shown in HA, so they are checked daily. */
  favouriteTtlMs: number;
  otherTtlMs: number;
  /** Every scheduled time (TTL, retry) is spread by ± this fraction so checks do not bunch up. */
  ttlJitterRatio: number;
  /** A subject without a picture is re-checked at a uniformly random time in [min, max]. */
  noneRecheckMinMs: number;
  noneRecheckMaxMs: number;
  /** Hidden pictures rarely become visible; back off from base, doubling, to max. */
  hiddenBackoffBaseMs: number;
  hiddenBackoffMaxMs: number;
  /** Failed tries of one job retry from base, doubling per attempt, to max. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Tries of one job that keeps failing for a passing reason, when the subject last answered well. */
  maxAttempts: number;
  /** Tries of one job that keeps getting refused (a fixed error, an unreadable answer, a refusing CDN). */
  refusedMaxAttempts: number;
  /** Tries of every later job while the subject's failure streak lasts (it gave up at least once). */
  attemptsAfterGiveUp: number;
  /** After a job gives up on passing failures, the subject waits base × 2^streak, to max. */
  failureBackoffBaseMs: number;
  failureBackoffMaxMs: number;
  /** After a job gives up on refusals, the subject waits base × 2^streak, to max. */
  refusedBackoffBaseMs: number;
  refusedBackoffMaxMs: number;
}

export const DEFAULT_TTL_SETTINGS: Readonly<TtlSettings> = Object.freeze({
  favouriteTtlMs: DAY_MS,
  otherTtlMs: 7 * DAY_MS,
  ttlJitterRatio: 0.1,
  noneRecheckMinMs: 7 * DAY_MS,
  noneRecheckMaxMs: 14 * DAY_MS,
  hiddenBackoffBaseMs: DAY_MS,
  hiddenBackoffMaxMs: 14 * DAY_MS,
  // Long enough for a dropped socket to reconnect, short enough that a blip costs little.
  retryBaseMs: 30 * 1000,
  retryMaxMs: 30 * 60 * 1000,
  // Six tries over about 15 minutes ride out a reconnect or a CDN blip.
  maxAttempts: 6,
  // A refusal rarely changes on a second look; three tries allow for a fresh CDN URL.
  refusedMaxAttempts: 3,
  // Once a subject gave up, each later round is a short look, not six more queries.
  attemptsAfterGiveUp: 2,
  // 3 h, 6 h, 12 h, then daily: a subject that always fails costs ≤ 12 queries on its first day
  // and 2 a day after (see PER_SUBJECT_DAILY_QUERY_BOUND for why 3 h and not less).
  failureBackoffBaseMs: 3 * HOUR_MS,
  failureBackoffMaxMs: DAY_MS,
  // Refusals are about the subject, not the moment: days, like a hidden picture.
  refusedBackoffBaseMs: 3 * DAY_MS,
  refusedBackoffMaxMs: 14 * DAY_MS,
});

/**
 * The most picture queries the state machine lets one subject cause in any 24 hours with the
 * default settings, whatever WhatsApp or the CDN answer (explicit refreshes and picture-change
 * notifications aside). Every delay below is the shortest its ± 10 % jitter allows.
 * - A round of tries is at most 6 queries over ≥ 14 min (30 s, 1, 2, 4, 8 min between them).
 * - Always failing: 6, then rounds of 2 after ≥ 2.7 h, 5.4 h and 10.8 h (the 4th starts ≥ 19.2 h
 *   in), the next ≥ 21.6 h later: 6 + 2 + 2 + 2 = 12.
 * - A good answer ends a round; the next check is ≥ 21.6 h later (a favourite's TTL). That round
 *   may fail all 6 tries; the round after it starts ≥ 2.7 h later, past the 24 h: 6 + 6 = 12.
 *   (With a 2 h base it would start at 23.9 h, for 14.)
 * - A hidden answer waits ≥ 24 h, none ≥ 7 d, a refusal ≥ 2.7 d after at most 3 tries.
 */
export const PER_SUBJECT_DAILY_QUERY_BOUND = 12;

/** How one job's picture query ended, as the pipeline saw it. */
export type Resolution =
  /** A new picture, already downloaded and written atomically to `path` by the caller. */
  | { kind: 'downloaded'; pictureId: PictureId; sha256: string; size: number; path: string }
  /** The picture id we sent is still current: nothing downloaded. */
  | { kind: 'unchanged'; pictureId: PictureId }
  | { kind: 'none' }
  | { kind: 'hidden' }
  | { kind: 'rate-limited' }
  /** The job itself failed: the account adapter threw, the store failed, or a bug. */
  | { kind: 'failed'; detail: string }
  /** A fixed error or an answer we cannot read: a few tries, then a long backoff. */
  | { kind: 'refused'; reason: RefusalReason; detail: string }
  /** A query or download that failed for a passing reason. */
  | { kind: 'transient'; cause: TransientCause; detail: string; retryAfterMs?: number };

/** Subject columns to write; an absent field is left alone, `null` clears the column. */
export interface AvatarPatch {
  state?: AvatarState;
  pictureId?: PictureId | null;
  sha256?: string | null;
  size?: number | null;
  path?: string | null;
  checkedAt?: number | null;
  changedAt?: number | null;
  nextCheckAt?: number | null;
  hiddenCount?: number;
  failureStreak?: number;
  failureKind?: FailureKind | null;
  failureDetail?: string | null;
}

export type JobAction = { action: 'complete' } | { action: 'retry'; notBefore: number } | { action: 'keep' };

export interface Transition {
  patch: AvatarPatch;
  /** 'delete': remove the subject's picture file (if any); 'keep': leave the disk as it is. */
  file: 'keep' | 'delete';
  job: JobAction;
  /** The stored picture changed (new bytes, or a picture went away): tell HA. */
  changed: boolean;
  /** WhatsApp rate-limited us: pause the whole queue. */
  pauseQueue: boolean;
}

export interface TransitionContext {
  now: number;
  favourite: boolean;
  random: Random;
  settings: TtlSettings;
  /** When the queue-wide 429 pause this answer started ends: a rate-limited job retries after it. */
  pausedUntil?: number;
}

function nextTtlCheck(context: TransitionContext): number {
  const { settings, favourite, now, random } = context;
  return now + jittered(favourite ? settings.favouriteTtlMs : settings.otherTtlMs, settings.ttlJitterRatio, random);
}

function resolutionProblem(resolution: Resolution): string | undefined {
  switch (resolution.kind) {
    case 'downloaded':
      if (!isPictureId(resolution.pictureId)) return 'a downloaded picture needs a picture id';
      if (typeof resolution.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(resolution.sha256)) {
        return `a downloaded picture needs a sha256 of 64 lowercase hex digits, got ${JSON.stringify(resolution.sha256)}`;
      }
      if (!Number.isSafeInteger(resolution.size) || resolution.size <= 0) {
        return `a downloaded picture needs a positive size in bytes, got ${String(resolution.size)}`;
      }
      if (typeof resolution.path !== 'string' || resolution.path === '') return 'a downloaded picture needs the path it was written to';
      return undefined;
    case 'unchanged':
      if (!isPictureId(resolution.pictureId)) return 'an unchanged picture needs its picture id';
      return undefined;
    case 'none':
    case 'hidden':
    case 'rate-limited':
      return undefined;
    case 'failed':
    case 'refused':
      if (typeof resolution.detail !== 'string') return `a ${resolution.kind} outcome needs a detail text`;
      return undefined;
    case 'transient': {
      const wait = resolution.retryAfterMs;
      if (wait !== undefined && (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0)) {
        return `a transient outcome's retryAfterMs must be a non-negative number of ms, got ${String(wait)}`;
      }
      return undefined;
    }
    default:
      return `unknown resolution kind ${JSON.stringify((resolution as { kind: unknown }).kind)}`;
  }
}

/** Applies the design's state machine to one finished picture query. */
export function transition(record: AvatarRecord, job: AvatarJob, resolution: Resolution, context: TransitionContext): Transition {
  const problem = resolutionProblem(resolution);
  if (problem !== undefined) throw new TypeError(`cannot record the outcome for ${record.jid}: ${problem}`);
  if (record.jid !== job.jid) throw new Error(`job for ${job.jid} resolved against the record of ${record.jid}`);
  const { now, settings, random } = context;
  const complete: JobAction = { action: 'complete' };

  switch (resolution.kind) {
    case 'downloaded': {
      const changed = resolution.sha256 !== record.sha256;
      const patch: AvatarPatch = {
        state: 'fetched',
        pictureId: resolution.pictureId,
        sha256: resolution.sha256,
        size: resolution.size,
        path: resolution.path,
        checkedAt: now,
        nextCheckAt: nextTtlCheck(context),
        hiddenCount: 0,
        ...ANSWERED_WELL,
      };
      if (changed) patch.changedAt = now;
      return { patch, file: 'keep', job: complete, changed, pauseQueue: false };
    }
    case 'unchanged':
      return {
        patch: {
          state: 'fetched',
          pictureId: resolution.pictureId,
          checkedAt: now,
          nextCheckAt: nextTtlCheck(context),
          hiddenCount: 0,
          ...ANSWERED_WELL,
        },
        file: 'keep',
        job: complete,
        changed: false,
        pauseQueue: false,
      };
    case 'none': {
      const hadPicture = record.path !== undefined || record.sha256 !== undefined;
      const recheckMs = settings.noneRecheckMinMs + random() * (settings.noneRecheckMaxMs - settings.noneRecheckMinMs);
      const patch: AvatarPatch = {
        state: 'none',
        pictureId: null,
        sha256: null,
        size: null,
        path: null,
        checkedAt: now,
        nextCheckAt: now + Math.round(recheckMs),
        hiddenCount: 0,
        ...ANSWERED_WELL,
      };
      if (hadPicture) patch.changedAt = now;
      return { patch, file: 'delete', job: complete, changed: hadPicture, pauseQueue: false };
    }
    case 'hidden': {
      // The last good picture stays: privacy settings change back, and a blank is worse than stale.
      const backoffMs = Math.min(settings.hiddenBackoffBaseMs * 2 ** record.hiddenCount, settings.hiddenBackoffMaxMs);
      return {
        patch: { state: 'hidden', checkedAt: now, nextCheckAt: now + backoffMs, hiddenCount: record.hiddenCount + 1, ...ANSWERED_WELL },
        file: 'keep',
        job: complete,
        changed: false,
        pauseQueue: false,
      };
    }
    case 'rate-limited':
    case 'failed':
    case 'refused':
    case 'transient':
      return failedTry(record, job, resolution, context);
  }
}

/** A good answer (a verdict on the picture) ends any failure streak. */
const ANSWERED_WELL = { failureStreak: 0, failureKind: null, failureDetail: null } as const satisfies AvatarPatch;

// Doubling stops here; every backoff is capped long before.
const MAX_DOUBLINGS = 30;

function doubled(baseMs: number, times: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.min(times, MAX_DOUBLINGS), maxMs);
}

/**
 * A try that told us nothing about the picture: the stored state, picture and file stay as they
 * are. The job retries with a growing delay until its tries run out; then it ends, and the
 * subject waits out a backoff that grows with its failure streak, so no answer can make the
 * worker ask about one subject over and over. A 429 counts as a try too (the same subject is
 * not the probe of every pause) and its retry waits until the pause is over.
 */
function failedTry(
  record: AvatarRecord,
  job: AvatarJob,
  resolution: Extract<Resolution, { kind: 'rate-limited' | 'failed' | 'refused' | 'transient' }>,
  context: TransitionContext,
): Transition {
  const { now, settings, random } = context;
  const pauseQueue = resolution.kind === 'rate-limited';
  // Nothing may start before a running 429 pause ends, nor before the other side asked us to wait.
  const from = pauseQueue ? Math.max(now, context.pausedUntil ?? now) : now;
  const askedWaitMs = resolution.kind === 'transient' ? (resolution.retryAfterMs ?? 0) : 0;
  const refused = resolution.kind === 'refused';
  const roundLimit = record.failureStreak > 0 ? settings.attemptsAfterGiveUp : Number.POSITIVE_INFINITY;
  const triesAllowed = Math.max(1, Math.min(refused ? settings.refusedMaxAttempts : settings.maxAttempts, roundLimit));
  const failures = job.attempts + 1;
  if (failures < triesAllowed) {
    const delayMs = jittered(doubled(settings.retryBaseMs, job.attempts, settings.retryMaxMs), settings.ttlJitterRatio, random);
    return {
      patch: {},
      file: 'keep',
      job: { action: 'retry', notBefore: from + Math.max(delayMs, askedWaitMs) },
      changed: false,
      pauseQueue,
    };
  }
  const streak = record.failureStreak;
  const backoffMs = refused
    ? doubled(settings.refusedBackoffBaseMs, streak, settings.refusedBackoffMaxMs)
    : doubled(settings.failureBackoffBaseMs, streak, settings.failureBackoffMaxMs);
  const kind: FailureKind = refused ? 'refused' : 'failing';
  return {
    patch: {
      nextCheckAt: from + Math.max(jittered(backoffMs, settings.ttlJitterRatio, random), askedWaitMs),
      failureStreak: streak + 1,
      failureKind: kind,
      failureDetail: failureDetail(resolution),
    },
    file: 'keep',
    job: { action: 'complete' },
    changed: false,
    pauseQueue,
  };
}

// A stored detail is for `status` and diagnostics, not a log: keep it short.
const FAILURE_DETAIL_MAX_CHARS = 300;

function failureDetail(resolution: Extract<Resolution, { kind: 'rate-limited' | 'failed' | 'refused' | 'transient' }>): string {
  const text =
    resolution.kind === 'rate-limited'
      ? 'rate-overlimit (429)'
      : resolution.kind === 'refused'
        ? `${resolution.reason}: ${resolution.detail}`
        : resolution.kind === 'transient'
          ? `${resolution.cause}: ${resolution.detail}`
          : `unexpected failure: ${resolution.detail}`;
  return text.length > FAILURE_DETAIL_MAX_CHARS ? `${text.slice(0, FAILURE_DETAIL_MAX_CHARS - 1)}…` : text;
}

/**
 * The wait before a job runs again when even its failure could not be stored (a broken
 * database): only the in-memory queue holds it back, so it grows to a day instead of giving up.
 */
export function unstoredFailureDelayMs(attempts: number, settings: TtlSettings): number {
  return doubled(settings.retryBaseMs, attempts, settings.failureBackoffMaxMs);
}

/**
 * Why the TTL sweep should queue this subject now, or undefined when it is not due. A subject is
 * due when its next check time has come, or when it has none and was never checked.
 */
export function sweepReason(record: Pick<AvatarRecord, 'nextCheckAt' | 'checkedAt'>, favourite: boolean, now: number): JobReason | undefined {
  // A scheduled time wins even for a never-checked subject: after repeated transient failures it
  // carries a retry time, and re-queueing it at once would hammer a failing query.
  const due = record.nextCheckAt !== undefined ? record.nextCheckAt <= now : true;
  if (!due) return undefined;
  if (favourite) return 'favourite';
  return record.checkedAt === undefined ? 'never-fetched' : 'stale';
}
