// What to do when Baileys' socket closes, and what to tell the user. Pure: the account applies it.
//
// Baileys ends a socket with a Boom whose `output.statusCode` is a DisconnectReason (515 restart
// required after pairing, 401 logged out, 408 lost, 428 closed, 440 replaced, …) or, for a
// network failure, a Boom "WebSocket Error (…)" carrying the Node error (ENOTFOUND, ECONNREFUSED)
// in `data`.

import { DisconnectReason } from '@whiskeysockets/baileys';
import type { Random } from '../../clock.js';
import { jittered } from '../../avatars/backoff.js';
import { DAY_MS } from '../../time.js';
import { boomData, boomStatusCode } from './boom.js';

export type DisconnectAction =
  /** Baileys asks for a new socket at once (515 after a fresh pairing). */
  | { readonly kind: 'restart'; readonly detail: string }
  /** The phone removed this device: wipe the session and pair again. */
  | { readonly kind: 'logged-out'; readonly detail: string }
  /**
   * The QR codes (or the pairing code) of this connection expired unused: not a logout, the
   * session stays; the account counts pairing rounds and stops after a few.
   */
  | { readonly kind: 'pairing-expired'; readonly detail: string }
  /**
   * Anything else: reconnect later. `pace` says how long to wait; `waitAtLeastMs` is a wait
   * WhatsApp named itself (a temporary ban's `expire`).
   */
  | { readonly kind: 'retry'; readonly detail: string; readonly pace: RetryPace; readonly staleVersion?: true; readonly waitAtLeastMs?: number };

/**
 * `backoff`: exponential from RECONNECT_BASE_DELAY_MS; `slow`: a long wait, because retrying fast
 * would make things worse (another client holds the session, WhatsApp refused this client);
 * `banned`: hours, growing, for an account WhatsApp banned or locked.
 */
export type RetryPace = 'backoff' | 'slow' | 'banned';

// First reconnect after a drop: long enough not to hammer a flapping network, short enough that
// a blip costs little.
export const RECONNECT_BASE_DELAY_MS = 2_000;
// The longest wait between attempts while offline: a restored network is noticed within minutes.
export const RECONNECT_MAX_DELAY_MS = 5 * 60_000;
// Another client using the same session or a refused client version: retrying fast only fights it.
export const RECONNECT_SLOW_DELAY_MS = 10 * 60_000;
// A banned or locked account (402, 403, 406 on connect): the user must act on the phone, and a
// client that keeps knocking only looks worse. Doubles per attempt up to the cap.
export const RECONNECT_BANNED_BASE_DELAY_MS = 6 * 60 * 60_000;
export const RECONNECT_BANNED_MAX_DELAY_MS = DAY_MS;
// ± this share of each delay, so many workers do not reconnect in step after an outage.
export const RECONNECT_JITTER_RATIO = 0.2;

const statusCodeOf = boomStatusCode;

const NODE_ERROR_CODE = /^E[A-Z]+/;

function networkCause(error: unknown): string | undefined {
  const data = boomData(error) as { code?: unknown; message?: unknown } | undefined;
  // A <failure> node's attributes ride in `data` too, and a temporary ban's carry a numeric `code`.
  if (data !== undefined && data !== null && typeof data === 'object' && typeof data.code === 'string' && NODE_ERROR_CODE.test(data.code)) {
    return typeof data.message === 'string' ? data.message : data.code;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NODE_ERROR_CODE.test(code)) return (error as Error).message;
  return undefined;
}

// whatsmeow types/events/events.go (commit 33cfac51) ConnectFailureReason: 402 TempBanned (its
// <failure> carries `expire` in seconds, read in connectionevents.go), 403 MainDeviceGone ("now
// called LOCKED in the whatsapp web code"), 406 UnknownLogout ("now called BANNED"). Baileys rc14
// lib/Socket/socket.js ends the socket on `CB:failure` with Boom('Connection Failure',
// { statusCode: reason, data: node.attrs }).
const CONNECT_FAILURE_TEMP_BANNED = 402;
const CONNECT_FAILURE_LOCKED = 403;
const CONNECT_FAILURE_BANNED = 406;
const MS_PER_SECOND = 1000;

function banExpiryMs(error: unknown): number | undefined {
  const expire = (boomData(error) as { expire?: unknown } | undefined)?.expire;
  const seconds = typeof expire === 'string' ? Number(expire) : typeof expire === 'number' ? expire : Number.NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * MS_PER_SECOND : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'number') return `close code ${error}`;
  return 'no reason given';
}

export function classifyDisconnect(error: unknown): DisconnectAction {
  const cause = networkCause(error);
  if (cause !== undefined) return { kind: 'retry', pace: 'backoff', detail: `cannot reach WhatsApp (${cause})` };
  const statusCode = statusCodeOf(error);
  const message = messageOf(error);
  switch (statusCode) {
    case DisconnectReason.restartRequired:
      return { kind: 'restart', detail: 'WhatsApp asked for a restart of the connection (515)' };
    case DisconnectReason.loggedOut:
      return { kind: 'logged-out', detail: 'this device was logged out of WhatsApp (401): link the phone again' };
    case DisconnectReason.connectionReplaced:
      return { kind: 'retry', pace: 'slow', detail: 'another client opened this WhatsApp session (440); is a second worker running?' };
    case 405:
      return {
        kind: 'retry',
        pace: 'slow',
        staleVersion: true,
        detail: 'WhatsApp refused this client version (405 Connection Failure); a newer worker release may be needed',
      };
    case CONNECT_FAILURE_TEMP_BANNED: {
      const waitAtLeastMs = banExpiryMs(error);
      return {
        kind: 'retry',
        pace: 'banned',
        ...(waitAtLeastMs === undefined ? {} : { waitAtLeastMs }),
        detail: 'WhatsApp has temporarily banned this account (402); check WhatsApp on the phone',
      };
    }
    case CONNECT_FAILURE_LOCKED:
      return { kind: 'retry', pace: 'banned', detail: 'WhatsApp locked this account or its phone was logged out (403); check WhatsApp on the phone, then restart the worker' };
    case CONNECT_FAILURE_BANNED:
      return { kind: 'retry', pace: 'banned', detail: 'WhatsApp banned this account or logged it out for an unknown reason (406); check WhatsApp on the phone, then restart the worker' };
    case DisconnectReason.multideviceMismatch:
      return { kind: 'retry', pace: 'slow', detail: 'WhatsApp says this account cannot use linked devices (411)' };
    case DisconnectReason.timedOut:
      // rc14 lib/Socket/socket.js `genPairQR`: after the last ref of the pair-device stanza (60 s for
      // the first, 20 s for each next one: ~2.7 min) the socket ends with this 408. A pairing
      // code lives on the same refs and ends the same way.
      if (message.includes('QR refs attempts ended')) {
        return { kind: 'pairing-expired', detail: 'the pairing QR code or code expired before it was used' };
      }
      return { kind: 'retry', pace: 'backoff', detail: `lost the connection to WhatsApp (${message}, 408)` };
    case DisconnectReason.connectionClosed:
      return { kind: 'retry', pace: 'backoff', detail: `WhatsApp closed the connection (${message}, 428)` };
    case DisconnectReason.badSession:
      return { kind: 'retry', pace: 'backoff', detail: `the connection failed (${message}, 500)` };
    case DisconnectReason.unavailableService:
      return { kind: 'retry', pace: 'backoff', detail: 'WhatsApp is unavailable right now (503)' };
    default:
      return { kind: 'retry', pace: 'backoff', detail: `the connection failed (${message}${statusCode === undefined ? '' : `, ${statusCode}`})` };
  }
}

/** How long to wait before attempt number `failures` (1 for the first retry), with jitter. */
export function reconnectDelayMs(pace: RetryPace, failures: number, random: Random): number {
  let base: number;
  if (pace === 'slow') base = RECONNECT_SLOW_DELAY_MS;
  else if (pace === 'banned') base = Math.min(RECONNECT_BANNED_MAX_DELAY_MS, RECONNECT_BANNED_BASE_DELAY_MS * 2 ** Math.max(0, failures - 1));
  else base = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_BASE_DELAY_MS * 2 ** Math.max(0, failures - 1));
  return jittered(base, RECONNECT_JITTER_RATIO, random);
}

/** `15:04:05` in the worker's local time, for "retrying at …" messages. */
export function formatClockTime(unixMs: number): string {
  return new Date(unixMs).toTimeString().slice(0, 8);
}
