// The avatar state machine of the design, as one pure function: given what we stored, the job and
// how the picture query resolved, it says what to write, what to do with the file and the job, and
// whether the whole queue must pause. The pipeline applies the answer in one transaction.

import type { Random } from '../clock.js';
import type { RefusalReason, TransientCause } from '../wa/account.js';
import type { AvatarJob, AvatarRecord, AvatarState, JobReason } from './model.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

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
  /** Transient failures retry from base, doubling per attempt, to max. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** After this many transient failures in a row the job ends; the sweep tries again later. */
  maxAttempts: number;
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
  maxAttempts: 6,
});

/** How one job's picture query ended, as the pipeline saw it. */
export type Resolution =
  /** A new picture, already downloaded and written atomically to `path` by the caller. */
  | { kind: 'downloaded'; pictureId: string; sha256: string; size: number; path: string }
  /** The picture id we sent is still current: nothing downloaded. */
  | { kind: 'unchanged'; pictureId: string }
  | { kind: 'none' }
  | { kind: 'hidden' }
  | { kind: 'rate-limited' }
  /** A fixed error or an answer we cannot read: a few tries, then a long backoff. */
  | { kind: 'refused'; reason: RefusalReason; detail: string }
  /** A query or download that failed for a passing reason. */
  | { kind: 'transient'; cause: TransientCause; detail: string; retryAfterMs?: number };

/** Subject columns to write; an absent field is left alone, `null` clears the column. */
export interface AvatarPatch {
  state?: AvatarState;
  pictureId?: string | null;
  sha256?: string | null;
  size?: number | null;
  path?: string | null;
  checkedAt?: number | null;
  changedAt?: number | null;
  nextCheckAt?: number | null;
  hiddenCount?: number;
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
}

/** `baseMs` spread uniformly by ± `ratio`. */
function jittered(baseMs: number, ratio: number, random: Random): number {
  return Math.round(baseMs * (1 + ratio * (2 * random() - 1)));
}

function nextTtlCheck(context: TransitionContext): number {
  const { settings, favourite, now, random } = context;
  return now + jittered(favourite ? settings.favouriteTtlMs : settings.otherTtlMs, settings.ttlJitterRatio, random);
}

function resolutionProblem(resolution: Resolution): string | undefined {
  switch (resolution.kind) {
    case 'downloaded':
      if (typeof resolution.pictureId !== 'string' || resolution.pictureId === '') return 'a downloaded picture needs a picture id';
      if (typeof resolution.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(resolution.sha256)) {
        return `a downloaded picture needs a sha256 of 64 lowercase hex digits, got ${JSON.stringify(resolution.sha256)}`;
      }
      if (!Number.isSafeInteger(resolution.size) || resolution.size <= 0) {
        return `a downloaded picture needs a positive size in bytes, got ${String(resolution.size)}`;
      }
      if (typeof resolution.path !== 'string' || resolution.path === '') return 'a downloaded picture needs the path it was written to';
      return undefined;
    case 'unchanged':
      if (typeof resolution.pictureId !== 'string' || resolution.pictureId === '') return 'an unchanged picture needs its picture id';
      return undefined;
    case 'none':
    case 'hidden':
    case 'rate-limited':
    case 'refused':
    case 'transient':
      return undefined;
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
      };
      if (changed) patch.changedAt = now;
      return { patch, file: 'keep', job: complete, changed, pauseQueue: false };
    }
    case 'unchanged':
      return {
        patch: { state: 'fetched', pictureId: resolution.pictureId, checkedAt: now, nextCheckAt: nextTtlCheck(context), hiddenCount: 0 },
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
      };
      if (hadPicture) patch.changedAt = now;
      return { patch, file: 'delete', job: complete, changed: hadPicture, pauseQueue: false };
    }
    case 'hidden': {
      // The last good picture stays: privacy settings change back, and a blank is worse than stale.
      const backoffMs = Math.min(settings.hiddenBackoffBaseMs * 2 ** record.hiddenCount, settings.hiddenBackoffMaxMs);
      return {
        patch: { state: 'hidden', checkedAt: now, nextCheckAt: now + backoffMs, hiddenCount: record.hiddenCount + 1 },
        file: 'keep',
        job: complete,
        changed: false,
        pauseQueue: false,
      };
    }
    case 'rate-limited':
      // Not this subject's fault: the job stays as it is and runs once the pause is over.
      return { patch: {}, file: 'keep', job: { action: 'keep' }, changed: false, pauseQueue: true };
    case 'refused':
    case 'transient': {
      const failures = job.attempts + 1;
      if (failures >= settings.maxAttempts) {
        // Give up for now without claiming anything about the picture; the sweep comes back.
        return { patch: { nextCheckAt: now + settings.retryMaxMs }, file: 'keep', job: complete, changed: false, pauseQueue: false };
      }
      const backoffMs = Math.min(settings.retryBaseMs * 2 ** job.attempts, settings.retryMaxMs);
      return {
        patch: {},
        file: 'keep',
        job: { action: 'retry', notBefore: now + jittered(backoffMs, settings.ttlJitterRatio, random) },
        changed: false,
        pauseQueue: false,
      };
    }
  }
}

/**
 * Why the TTL sweep should queue this subject now, or undefined when it is not due. A subject is
 * due when its next check time has come, or when it has none and was never checked.
 */
export function sweepReason(record: AvatarRecord, favourite: boolean, now: number): JobReason | undefined {
  // A scheduled time wins even for a never-checked subject: after repeated transient failures it
  // carries a retry time, and re-queueing it at once would hammer a failing query.
  const due = record.nextCheckAt !== undefined ? record.nextCheckAt <= now : true;
  if (!due) return undefined;
  if (favourite) return 'favourite';
  return record.checkedAt === undefined ? 'never-fetched' : 'stale';
}
