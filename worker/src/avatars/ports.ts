// The ports: every interface the core and the use cases need from the world, owned here so the
// adapters (wa/, store/, cdn/, files/) depend on the core and never the other way round.
// The WhatsApp account's real implementation wraps Baileys (wa/baileys/); the simulated socket
// (sim/) plugs in under it for the demo. The core never sees anything WhatsApp-specific beyond
// these types.

import type { Jid, SubjectKind } from '../jid.js';
import type { AvatarJob } from './model.js';
import type { PictureId } from './picture-id.js';

export type { Clock, Random } from '../clock.js';

/**
 * What one `w:profile:picture` query answered, as the account's adapter classified it. Still
 * input from the network: `checkedOutcome` (answer-check.ts) checks it into a `CheckedPictureOutcome`.
 */
export type PictureQueryOutcome = PictureOutcome<string>;

/** An outcome whose shape was checked: its picture ids are `PictureId`s. */
export type CheckedPictureOutcome = PictureOutcome<PictureId>;

type PictureOutcome<Id extends string> =
  /** A picture whose id differs from the one we sent (or we sent none): download `url` now. */
  | { readonly kind: 'picture'; readonly pictureId: Id; readonly url: string }
  /** The picture id we sent is still current: nothing to download. */
  | { readonly kind: 'unchanged'; readonly pictureId: Id }
  /** `item-not-found` (404) or an answer without a picture: the subject has no picture. */
  | { readonly kind: 'none' }
  /** `not-authorized` (401) or `forbidden` (403): hidden by privacy settings, blocked, or anti-scraping. */
  | { readonly kind: 'hidden' }
  /** `rate-overlimit` (429): the whole queue must pause. */
  | { readonly kind: 'rate-limited' }
  /**
   * An answer that will not get better by asking again soon: a fixed error (400 `bad-request`,
   * 406 `not-acceptable`, an unknown code), or an answer we cannot read (a picture with an empty
   * id, an empty answer to a query that sent no id). The state machine gives it a few tries with a
   * growing delay, then a long backoff, and counts it in `status`; the stored picture is kept.
   */
  | { readonly kind: 'refused'; readonly reason: RefusalReason; readonly detail: string }
  /**
   * Timeout (408), dropped socket (bare close code or 428), server error, network error: retry
   * later. `retryAfterMs` is a wait the other side asked for (a CDN's `Retry-After`).
   */
  | { readonly kind: 'transient'; readonly cause: TransientCause; readonly detail: string; readonly retryAfterMs?: number };

export type TransientCause = 'timeout' | 'socket-closed' | 'server-error' | 'network';

/** Why an answer was refused; `cdn` is a picture URL the CDN keeps refusing (403/404/410, not a JPEG). */
export type RefusalReason = 'fixed-error' | 'unreadable-answer' | 'cdn';

/**
 * `pairing-stopped`: the pairing QR codes or codes expired unused a bounded number of times in a
 * row; the account waits for the user (a restart of the worker starts pairing again).
 */
export type ConnectionState = 'connecting' | 'pairing' | 'pairing-stopped' | 'open' | 'closed' | 'logged-out';

export interface ContactInfo {
  /** Normalised contact JID (`…@s.whatsapp.net` or `…@lid`). */
  readonly jid: Jid;
  /** The name saved in the phone's address book, if any. */
  readonly name?: string;
  /** The name the contact chose for themselves (WhatsApp's "push name"). */
  readonly notify?: string;
  /** The phone-number JID of a `@lid` contact, or the LID of a phone-number contact, when known. */
  readonly alternateJid?: Jid;
}

export interface ChatInfo {
  /** Normalised chat JID: a contact or a group. */
  readonly jid: Jid;
  readonly kind: SubjectKind;
  readonly name?: string;
  /** Unix milliseconds of the last message, used to fetch active chats first. */
  readonly lastActivityAt?: number;
  /** The group is a community's parent group, whose picture needs its own query. */
  readonly community?: boolean;
}

/** What the core knows about a subject that changes how its picture is asked for. */
export interface PictureQueryHints {
  /** A community's parent group (learned from ChatInfo.community). */
  readonly community?: boolean;
  /**
   * Called at the moment the picture IQ goes to WhatsApp, after any local work the adapter does
   * first (key-store reads), so the rate policy spaces queries by when WhatsApp receives them.
   */
  readonly querySent?: () => void;
}

export type AccountEvent =
  | { readonly type: 'connection'; readonly state: ConnectionState; readonly detail?: string; readonly retryAt?: number }
  /** A QR to scan or a pairing code to type on the phone; `undefined` both once linked. */
  | { readonly type: 'pairing'; readonly qr?: string; readonly code?: string }
  | { readonly type: 'contacts'; readonly contacts: readonly ContactInfo[] }
  /**
   * LID ↔ phone-number pairs Baileys learned (its `lid-mapping` key rows, `lid-mapping.update`).
   * They join identities the store already has; they never add a subject, since Baileys keeps
   * pairs for every group member and sender it meets, most of them strangers.
   */
  | { readonly type: 'identities'; readonly pairs: readonly ContactInfo[] }
  | { readonly type: 'chats'; readonly chats: readonly ChatInfo[] }
  /** WhatsApp said a picture changed or was removed (`contacts.update` with `imgUrl`, group stub). */
  | { readonly type: 'picture-changed'; readonly jid: Jid; readonly removed: boolean }
  /** The initial history sync finished: every known contact and chat may be queued. */
  | { readonly type: 'history-synced' };

export type AccountListener = (event: AccountEvent) => void;

export interface WhatsAppAccount {
  /** Connects; progress and data arrive as events. Resolves once connecting has begun. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Subscribes to account events; returns the unsubscribe. */
  onEvent(listener: AccountListener): () => void;
  /**
   * Asks WhatsApp for a subject's picture. `knownPictureId` is the id we stored, so an unchanged
   * picture costs no download. Never throws for WhatsApp's answers; every answer is classified.
   */
  queryPicture(jid: Jid, knownPictureId: string | undefined, timeoutMs: number, hints?: PictureQueryHints): Promise<PictureQueryOutcome>;
  /**
   * While waiting to be linked: link by pairing code for this phone number instead of the QR;
   * resolves with the code WhatsApp issued. Optional: an account that cannot (a test double) lacks it.
   */
  requestPairingCode?(phoneNumber: string): Promise<string>;
}

/** Why no pairing code came (requestPairingCode); the worker's call answer names it. */
export class PairingCodeRefused extends Error {
  override readonly name = 'PairingCodeRefused';
  constructor(
    readonly reason: 'invalid-number' | 'not-pairing' | 'superseded' | 'no-code',
    message: string,
  ) {
    super(message);
  }
}

/** An account whose every picture outcome is checked (answer-check.ts `withCheckedAnswers`). */
export interface CheckedAccount extends Omit<WhatsAppAccount, 'queryPicture'> {
  queryPicture(jid: Jid, knownPictureId: PictureId | undefined, timeoutMs: number, hints?: PictureQueryHints): Promise<CheckedPictureOutcome>;
}

/** `refused`: an answer that asking again soon will not fix (a host we do not trust, 4xx, too big, not a JPEG). */
export type DownloadFailureCause = 'timeout' | 'server-error' | 'network' | 'refused';

export type DownloadResult =
  | { ok: true; bytes: Buffer; sha256: string }
  /**
   * `retryAfterMs`: the wait a 429/503 asked for in `Retry-After`, clamped (see cdn/retry-after.ts).
   * `aborted`: the caller's signal ended the download (cause `network`); nothing is wrong with the picture.
   */
  | { ok: false; cause: DownloadFailureCause; detail: string; httpStatus?: number; retryAfterMs?: number; aborted?: true };

/** Downloads a picture URL WhatsApp just gave (implemented by cdn/download.ts). Never throws for the CDN's answers. */
export type PictureDownloader = (url: string, signal?: AbortSignal) => Promise<DownloadResult>;

/** The pictures folder (implemented by files/avatar-files.ts): atomic writes, one file per subject. */
export interface PictureFiles {
  /** Writes the picture atomically; returns its path. */
  write(jid: string, bytes: Uint8Array): Promise<string>;
  /** Removes the subject's picture; false when there was none. */
  remove(jid: string): Promise<boolean>;
  read(jid: string): Promise<Buffer | undefined>;
  /** Whether a stored path still holds a file (the user may delete pictures by hand). */
  exists(path: string): boolean;
  /** Removes the temporary files an interrupted write left; returns how many. */
  sweepTemporaryFiles(): Promise<number>;
}

/** The durable half of the job queue (implemented by store/job-table.ts). */
export interface JobStore {
  loadAll(): AvatarJob[];
  /** The stored jobs one at a time, so reading a big queue never holds every row at once. */
  eachJob(): Iterable<AvatarJob>;
  /** Jobs written since `revision` (by any process), and the revision now. */
  changedSince(revision: number): { jobs: AvatarJob[]; revision: number };
  currentRevision(): number;
  save(jobs: Iterable<AvatarJob>): void;
  remove(jid: string): void;
  /** Changes only when another connection commits: a cheap "did anyone else write?". */
  dataVersion(): number;
  /** Runs `work` in one transaction (nested calls join the outer one). */
  transaction<T>(work: () => T): T;
}
