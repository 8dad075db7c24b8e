// The one wire protocol between the worker and the `whatsapp` integration, over Home Assistant's
// websocket API. Every command is `require_admin` and namespaced `whatsapp/`. The Python side
// validates exactly these shapes with probatio (custom_components/whatsapp/schemas.py, used by
// websocket_api.py for the commands and by services.py for the call results).
// Field names are snake_case because they cross into Python; times are ISO 8601 UTC strings.

export const PROTOCOL_VERSION = 1;

/** `pairing-stopped`: pairing codes expired unused too often; the worker waits for a restart. */
export type ConnectionStateWire = 'connecting' | 'pairing' | 'pairing-stopped' | 'open' | 'closed' | 'logged-out';
export type AvatarStateWire = 'unknown' | 'fetched' | 'none' | 'hidden';
export type SubjectKindWire = 'contact' | 'group';
export type RefreshScope = 'all' | 'missing' | 'stale' | 'favourites';

/** Commands the worker sends; each answers with a websocket `result`. */
export interface WorkerCommands {
  /** Version handshake, sent first after every (re)connect. HA answers `unsupported_version` if it cannot talk `protocol_version`. */
  'whatsapp/hello': {
    request: { protocol_version: number; worker_version: string };
    response: { protocol_version: number; integration_version: string };
  };
  /**
   * The subscription the worker holds open; its life is the worker's liveness. Down it HA sends
   * `DownstreamMessage`s: the favourites at once and on every change, and service calls.
   */
  'whatsapp/subscribe': { request: Record<string, never>; response: null };
  /** The answer to one service call. */
  'whatsapp/call_result': { request: CallResult; response: null };
  /** A picture's state changed (or the worker re-sends favourites after a reconnect). */
  'whatsapp/avatar': { request: AvatarUpdate; response: null };
  /** Worker status: connection, pairing, queue, progress, rate limit, totals. */
  'whatsapp/status': { request: WorkerStatus; response: null };
  /** The whole contact directory, for the favourites picker; replaces the previous one. */
  'whatsapp/directory': { request: { entries: DirectoryEntry[] }; response: null };
}

export type DownstreamMessage =
  | { type: 'favourites'; jids: string[] }
  /**
   * HA lost what the worker sent on this subscription (the entry reloaded under it): send status,
   * directory and every favourite's picture again.
   */
  | { type: 'resend' }
  | { type: 'call'; call_id: string; service: 'refresh_avatar'; data: RefreshAvatarCall }
  | { type: 'call'; call_id: string; service: 'refresh_avatars'; data: RefreshAvatarsCall };

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
  | { call_id: string; ok: true; response: RefreshAvatarResponse | RefreshAvatarsResponse }
  | { call_id: string; ok: false; error: { code: CallErrorCode; message: string } };

/** Stable codes; HA maps each to a translated error. */
export type CallErrorCode = 'invalid_jid' | 'unknown_jid' | 'not_connected' | 'internal_error';

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

/**
 * HA refuses larger pictures. Base64 grows them by a third and HA drops a connection whose
 * message passes 4 MiB (aiohttp's default), so 2 MiB leaves room; WhatsApp's full-size pictures
 * are a few hundred kB.
 */
export const MAX_PICTURE_BYTES = 2 * 1024 * 1024;

export interface ProgressWire {
  done: number;
  total: number;
  /** Completed queries per hour, over the recent past. */
  rate_per_hour: number;
  eta_seconds: number | null;
}

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
  counts: Record<SubjectKindWire, Record<AvatarStateWire, number>>;
  /** Why WhatsApp is not connected, in the worker's words; null while open or pairing. */
  connection_detail: string | null;
  /** When the worker next tries to reach WhatsApp; null when no attempt is scheduled. */
  reconnect_at: string | null;
  /** The worker runs as the Home Assistant app, so its log is the app's log. */
  runs_in_app: boolean;
}

/** HA refuses a longer `connection_detail`; the worker cuts its reason to it. */
export const MAX_CONNECTION_DETAIL_LENGTH = 512;

export interface DirectoryEntry {
  jid: string;
  kind: SubjectKindWire;
  name: string | null;
  state: AvatarStateWire;
}
