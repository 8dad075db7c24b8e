// The avatar domain: what the worker knows about each subject's picture and each queued job.

import type { Jid, SubjectKind } from '../jid.js';
import type { PictureId } from './picture-id.js';

export type AvatarState = 'unknown' | 'fetched' | 'none' | 'hidden';

/**
 * Why the last job for a subject gave up, while its failure streak lasts: `refused` (a fixed
 * error, an unreadable answer, a CDN that keeps refusing) or `failing` (timeouts, dropped
 * sockets, CDN errors, 429s, unexpected failures). Not a state: the stored picture stays.
 */
export type FailureKind = 'refused' | 'failing';

/** A contact's or group's picture as stored (columns of `contacts` / `chats`). */
export interface AvatarRecord {
  readonly jid: Jid;
  readonly kind: SubjectKind;
  readonly name?: string;
  readonly state: AvatarState;
  /** WhatsApp's id of the current picture; sent back with the next query. */
  readonly pictureId?: PictureId;
  readonly sha256?: string;
  readonly size?: number;
  /** Local file path (`profile_picture`), set only while a file exists. */
  readonly path?: string;
  /** Last completed check, unix ms (`profile_picture_timestamp`). */
  readonly checkedAt?: number;
  /** When the stored picture last changed, unix ms. */
  readonly changedAt?: number;
  /** When the TTL sweep should check again, unix ms. */
  readonly nextCheckAt?: number;
  /** Consecutive `hidden` answers, for the 1 d → 14 d backoff. */
  readonly hiddenCount: number;
  /** Jobs in a row that gave up without a good answer; grows the give-up backoff, 0 after a good one. */
  readonly failureStreak: number;
  readonly failureKind?: FailureKind;
  readonly failureDetail?: string;
  readonly lastActivityAt?: number;
  /** A community's parent group: its picture is asked for the community way. */
  readonly community?: boolean;
}

/** Why a job is queued; the order of this list is the priority order, highest first. */
export const JOB_REASONS = ['explicit', 'favourite', 'changed', 'active-chat', 'never-fetched', 'stale'] as const;
export type JobReason = (typeof JOB_REASONS)[number];

/** Higher runs first. Spaced so a reason's priority reads at a glance in the database. */
export const PRIORITY_BY_REASON: Readonly<Record<JobReason, number>> = {
  explicit: 60,
  favourite: 50,
  changed: 40,
  'active-chat': 30,
  'never-fetched': 20,
  stale: 10,
};

export interface AvatarJob {
  readonly jid: Jid;
  readonly kind: SubjectKind;
  /** The reason that gave the job its current priority. */
  readonly reason: JobReason;
  readonly priority: number;
  /** Order within one priority, higher first (the last activity for active chats, else 0). */
  readonly rank: number;
  /** Ignore the stored picture id and download again. */
  readonly force: boolean;
  /** Failed tries of this job so far (any failure but a verdict), for the retry backoff. */
  readonly attempts: number;
  /** Not before this unix ms (retry backoff); 0 when ready at once. */
  readonly notBefore: number;
  /** Enqueue order, for first-in-first-out within equal priority and rank. */
  readonly seq: number;
  readonly enqueuedAt: number;
}

export interface EnqueueRequest {
  readonly jid: Jid;
  readonly kind: SubjectKind;
  readonly reason: JobReason;
  readonly rank?: number;
  readonly force?: boolean;
}
