// What to do when Baileys' socket closes, and what to tell the user. Pure: the account applies it.
//
// Baileys ends a socket with a Boom whose `output.statusCode` is a DisconnectReason (515 restart
// required after pairing, 401 logged out, 408 lost, 428 closed, 440 replaced, …) or, for a
// network failure, a Boom "WebSocket Error (…)" carrying the Node error (ENOTFOUND, ECONNREFUSED)
// in `data`.

import { DisconnectReason } from '@whiskeysockets/baileys';
import type { Random } from '../../clock.js';

export type DisconnectAction =
  /** Baileys asks for a new socket at once (515 after a fresh pairing). */
  | { readonly kind: 'restart'; readonly detail: string }
  /** The phone removed this device: wipe the session and pair again. */
  | { readonly kind: 'logged-out'; readonly detail: string }
  /** Anything else: reconnect later. `pace` says how long to wait. */
  | { readonly kind: 'retry'; readonly detail: string; readonly pace: RetryPace; readonly staleVersion?: true };

/**
 * `backoff`: exponential from RECONNECT_BASE_DELAY_MS; `soon`: a fixed short wait that does not
 * count as a failure (an unscanned QR expired); `slow`: a long wait, because retrying fast would
 * make things worse (another client holds the session, WhatsApp refused this client).
 */
export type RetryPace = 'backoff' | 'soon' | 'slow';

// First reconnect after a drop: long enough not to hammer a flapping network, short enough that
// a blip costs little.
export const RECONNECT_BASE_DELAY_MS = 2_000;
// The longest wait between attempts while offline: a restored network is noticed within minutes.
export const RECONNECT_MAX_DELAY_MS = 5 * 60_000;
// After an expired QR code a new one is wanted quickly; a little wait avoids a tight loop.
export const RECONNECT_SOON_DELAY_MS = 1_000;
// Another client using the same session or a refused client version: retrying fast only fights it.
export const RECONNECT_SLOW_DELAY_MS = 10 * 60_000;
// ± this share of each delay, so many workers do not reconnect in step after an outage.
export const RECONNECT_JITTER_RATIO = 0.2;

interface BoomLike {
  readonly message: string;
  readonly output?: { readonly statusCode?: number };
  readonly data?: unknown;
}

function statusCodeOf(error: unknown): number | undefined {
  if (typeof error === 'number') return error;
  const code = (error as BoomLike | undefined)?.output?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function networkCause(error: unknown): string | undefined {
  const data = (error as BoomLike | undefined)?.data as { code?: unknown; message?: unknown } | undefined;
  if (data !== undefined && data !== null && typeof data === 'object' && typeof data.code === 'string') {
    return typeof data.message === 'string' ? data.message : data.code;
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+/.test(code)) return (error as Error).message;
  return undefined;
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
    case DisconnectReason.forbidden:
      return { kind: 'retry', pace: 'slow', detail: 'WhatsApp refused this device (403 forbidden); the account may be restricted' };
    case DisconnectReason.multideviceMismatch:
      return { kind: 'retry', pace: 'slow', detail: 'WhatsApp says this account cannot use linked devices (411)' };
    case DisconnectReason.timedOut:
      if (message.includes('QR refs attempts ended')) {
        return { kind: 'retry', pace: 'soon', detail: 'the QR code expired before it was scanned; showing a new one' };
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
  if (pace === 'soon') base = RECONNECT_SOON_DELAY_MS;
  else if (pace === 'slow') base = RECONNECT_SLOW_DELAY_MS;
  else base = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_BASE_DELAY_MS * 2 ** Math.max(0, failures - 1));
  const jitter = 1 + RECONNECT_JITTER_RATIO * (2 * random() - 1);
  return Math.round(base * jitter);
}

/** `15:04:05` in the worker's local time, for "retrying at …" messages. */
export function formatClockTime(unixMs: number): string {
  return new Date(unixMs).toTimeString().slice(0, 8);
}
