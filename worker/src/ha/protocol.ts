// The worker's copy of the wire protocol between the worker and the `whatsapp` integration, over
// Home Assistant's websocket API. The description both sides are checked against is
// protocol/protocol.json: worker/test/ha/protocol.test.ts fails when a version, limit, enum,
// default or error code here differs from it, and validates what the worker builds against its
// JSON Schemas; tests/test_protocol.py does the same for the integration (const.py, schemas.py).
// Field names are snake_case because they cross into Python; times are ISO 8601 UTC strings.

export const PROTOCOL_VERSION = 1;

// Limits (protocol.json `limits`, those the worker checks). ------------------------------------

/**
 * The largest message the worker sends, UTF-8 bytes of its JSON: HA's websocket (aiohttp's
 * default `max_msg_size`) closes the connection on a message over 4 MiB; 64 KiB stay spare.
 */
export const MAX_UPSTREAM_MESSAGE_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** Decoded picture bytes HA accepts; a larger picture goes up without `image`. */
export const MAX_PICTURE_BYTES = 2 * 1024 * 1024;
/** HA keeps at most this many directory entries; the worker sends no more. */
export const MAX_DIRECTORY_ENTRIES = 250_000;
/** Entries in one `whatsapp/directory` chunk at most. */
export const MAX_DIRECTORY_CHUNK_ENTRIES = 5_000;
/** JSON bytes of one chunk's entries at most, so a chunk stays far below the message limit whatever the names. */
export const MAX_DIRECTORY_CHUNK_BYTES = 1024 * 1024;
/** Names longer than this (in UTF-16 code units, as Python counts code points for BMP text) are cut. */
export const MAX_NAME_LENGTH = 256;
/** A call error's message is cut to this. */
export const MAX_CALL_ERROR_MESSAGE_LENGTH = 1024;
/** refresh_avatar waits at most this long; a longer `wait` is cut to it. */
export const MAX_WAIT_SECONDS = 300;
/** A picture file no stored subject uses is removed this many days after the worker first saw it unused. */
export const MAX_UNUSED_PICTURE_DAYS = 30;

// Enums (protocol.json `$defs`). --------------------------------------------------------------

/** `pairing-stopped`: pairing codes expired unused too often; the worker waits for a restart. */
export const CONNECTION_STATES = ['connecting', 'pairing', 'pairing-stopped', 'open', 'closed', 'logged-out'] as const;
export const AVATAR_STATES = ['unknown', 'fetched', 'none', 'hidden'] as const;
export const SUBJECT_KINDS = ['contact', 'group'] as const;
export const REFRESH_SCOPES = ['all', 'missing', 'stale', 'favourites'] as const;
/** Stable codes of a failed call; HA maps each to a translated error. */
export const CALL_ERROR_CODES = ['invalid_jid', 'unknown_jid', 'not_connected', 'internal_error', 'no_picture'] as const;
/** `picture` is HA asking for one picture's bytes (the Media panel), not a user's service. */
export const SERVICES = ['refresh_avatar', 'refresh_avatars', 'picture', 'purge_avatars', 'pairing_code'] as const;

export type ConnectionStateWire = (typeof CONNECTION_STATES)[number];
export type AvatarStateWire = (typeof AVATAR_STATES)[number];
export type SubjectKindWire = (typeof SUBJECT_KINDS)[number];
export type RefreshScope = (typeof REFRESH_SCOPES)[number];
export type CallErrorCode = (typeof CALL_ERROR_CODES)[number];

/**
 * What HA answers a refused command with (`error.code`), each with what the worker does about it
 * (protocol.json `ha_errors`; session.ts acts on them). `unknown_command`, `invalid_format` and
 * `unauthorized` are HA's websocket_api's own, the rest the integration's.
 */
export const HA_ERROR_CODES = [
  'unknown_command',
  'not_loaded',
  'not_set_up',
  'unsupported_version',
  'hello_required',
  'already_subscribed',
  'unauthorized',
  'invalid_format',
  'invalid_image',
  'image_too_large',
  'sha256_mismatch',
  'invalid_chunk',
  'unknown_call',
  'invalid_response',
] as const;
export type HaErrorCode = (typeof HA_ERROR_CODES)[number];

// Defaults (protocol.json `defaults`): fields a call may leave out. ---------------------------

export const CALL_DEFAULTS = {
  /** 30 s: a user calling refresh_avatar expects the new picture's outcome in the answer. */
  refresh_avatar: { force: false, wait: 30 },
  /** `missing`: the polite bulk refresh; `all` queues the whole address book. */
  refresh_avatars: { scope: 'missing', force: false },
} as const satisfies { refresh_avatar: Omit<RefreshAvatarCall, 'jid'>; refresh_avatars: RefreshAvatarsCall };

// Messages. ----------------------------------------------------------------------------------

/** Commands the worker sends; each answers with a websocket `result`. */
export interface WorkerCommands {
  /**
   * Version handshake, sent first after every (re)connect. `worker_id` is stable per data folder:
   * HA lets the same worker's reconnect replace its old subscription and refuses another worker.
   */
  'whatsapp/hello': {
    request: { protocol_version: number; worker_version: string; worker_id: string | null };
    response: { protocol_version: number; integration_version: string };
  };
  /**
   * The subscription the worker holds open; its life is the worker's liveness. Down it HA sends
   * `DownstreamMessage`s: the favourites at once and on every change, and service calls.
   */
  'whatsapp/subscribe': { request: Record<string, never>; response: null };
  /** The answer to one service call. */
  'whatsapp/call_result': { request: CallResult; response: null };
  /** A picture's state changed (or a favourite's picture once per connection). */
  'whatsapp/avatar': { request: AvatarUpdate; response: null };
  /** Worker status: connection, pairing, queue, progress, rate limit, counts. */
  'whatsapp/status': { request: WorkerStatus; response: null };
  /** One chunk of the contact directory; the last chunk of a transfer replaces the previous directory. */
  'whatsapp/directory': { request: DirectoryChunk; response: null };
}

export type DownstreamMessage =
  | { type: 'favourites'; jids: string[] }
  /**
   * HA lost what the worker sent on this subscription (the entry reloaded under it): send status,
   * directory and every favourite's picture again.
   */
  | { type: 'resend' }
  | { type: 'call'; call_id: string; service: 'refresh_avatar'; data: RefreshAvatarCall }
  | { type: 'call'; call_id: string; service: 'refresh_avatars'; data: RefreshAvatarsCall }
  | { type: 'call'; call_id: string; service: 'picture'; data: PictureCall }
  | { type: 'call'; call_id: string; service: 'purge_avatars'; data: Record<string, never> }
  | { type: 'call'; call_id: string; service: 'pairing_code'; data: PairingCodeCall };

/** HA's linking dialog: link by pairing code for this number instead of the QR. */
export interface PairingCodeCall {
  /** Digits with the country code, as the phone rule (phone-number.ts) gives them. */
  phone_number: string;
}

export interface PairingCodeResponse {
  /** The 8 characters WhatsApp issued, unformatted; the phone shows them as XXXX-XXXX. */
  code: string;
}

/** HA asks for one subject's picture bytes: HA and the worker share no disk. */
export interface PictureCall {
  jid: string;
}

export interface PictureResponse {
  jid: string;
  sha256: string;
  /** Base64 JPEG, at most MAX_PICTURE_BYTES decoded. */
  image: string;
}

export interface PurgeAvatarsResponse {
  files_removed: number;
  bytes_removed: number;
}

export interface RefreshAvatarCall {
  jid: string;
  force: boolean;
  /** Seconds to wait for the outcome before answering; 0 answers as soon as the job is queued. */
  wait: number;
}

export interface RefreshAvatarsCall {
  scope: RefreshScope;
  force: boolean;
}

export type CallResult =
  | { call_id: string; ok: true; response: RefreshAvatarResponse | RefreshAvatarsResponse | PictureResponse | PurgeAvatarsResponse | PairingCodeResponse }
  | { call_id: string; ok: false; error: { code: CallErrorCode; message: string } };

export interface RefreshAvatarResponse {
  jid: string;
  /** True when the call added a job or raised its priority. */
  queued: boolean;
  /** 1-based place in the queue after the call, or null when no longer queued (done). */
  position: number | null;
  eta_seconds: number | null;
  /** Present when the call waited and the job finished in time. */
  outcome: AvatarOutcome | null;
  /** True when the wait ran out before the job finished. */
  timed_out: boolean;
}

export interface AvatarOutcome {
  state: AvatarStateWire;
  changed: boolean;
  picture_id: string | null;
  sha256: string | null;
  checked_at: string | null;
}

export interface RefreshAvatarsResponse {
  scope: RefreshScope;
  /** Jobs added or raised by this call. */
  queued: number;
  /** Subjects matching the scope. */
  matched: number;
  queue_length: number;
  eta_seconds: number | null;
}

export interface AvatarUpdate {
  jid: string;
  kind: SubjectKindWire;
  name: string | null;
  state: AvatarStateWire;
  picture_id: string | null;
  sha256: string | null;
  checked_at: string | null;
  changed_at: string | null;
  /** Base64 JPEG bytes: only for favourites with a picture, at most MAX_PICTURE_BYTES decoded. */
  image: string | null;
}

export interface ProgressWire {
  done: number;
  total: number;
  /** Completed queries per hour, over the recent past. */
  rate_per_hour: number;
  eta_seconds: number | null;
}

export type CountsWire = Record<SubjectKindWire, Record<AvatarStateWire, number>>;

export interface WorkerStatus {
  connection: ConnectionStateWire;
  /**
   * Set while the worker waits to be linked: the QR text, a PNG of that QR (base64, for an image
   * entity), and the pairing code when a phone number is configured. Null once linked.
   */
  pairing: { qr: string | null; qr_image: string | null; code: string | null } | null;
  queue_length: number;
  progress: ProgressWire | null;
  rate_limited_until: string | null;
  counts: CountsWire;
  /** Why WhatsApp is not connected, in the worker's words; null while open or pairing. */
  connection_detail: string | null;
  /** When the worker next tries to reach WhatsApp; null when no attempt is scheduled. */
  reconnect_at: string | null;
  /** The worker runs as the Home Assistant app, so its log is the app's log. */
  runs_in_app: boolean;
  /** The pictures kept on disk: how many files, how many bytes. Optional on the wire. */
  storage?: StorageWire | null;
}

export interface StorageWire {
  files: number;
  bytes: number;
}

/** HA refuses a longer `connection_detail`; the worker cuts its reason to it. */
export const MAX_CONNECTION_DETAIL_LENGTH = 512;

/** One contact or group as the worker's port reports it; it goes up as a `DirectoryEntryWire`. */
export interface DirectoryEntry {
  jid: string;
  kind: SubjectKindWire;
  name: string | null;
  state: AvatarStateWire;
}

/** `[jid, kind, name, state]`: a tuple, so 200,000 entries stay small on the wire. */
export type DirectoryEntryWire = [jid: string, kind: SubjectKindWire, name: string | null, state: AvatarStateWire];

/** Chunks 0..chunks-1 of one transfer go up in order; HA replaces its directory only after the last. */
export interface DirectoryChunk {
  transfer_id: string;
  chunk: number;
  chunks: number;
  entries: DirectoryEntryWire[];
}
