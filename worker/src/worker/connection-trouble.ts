// Why the account is not connected to WhatsApp, kept across the attempts in between, for Home
// Assistant's status: "Connection: Disconnected" alone does not say what to do. The reason is the
// account's: wa/baileys/disconnect.ts reads it from Baileys' close error (the DisconnectReason
// enum of @whiskeysockets/baileys 7.0.0-rc14 lib/Types/index.d.ts, or the Node error that
// lib/Socket/socket.js wraps as Boom `WebSocket Error (…)` with the error in `data`).

import type { AccountEvent } from '../avatars/ports.js';

/** Why the account is not connected to WhatsApp, in the account's words, and the next attempt. */
export interface ConnectionTrouble {
  readonly detail: string;
  readonly retryAt?: number;
}

/**
 * A reason lasts until the account is open (or pairing, which has its own story); an attempt in
 * between (`connecting`, which names no reason) keeps it but is the retry that was due.
 */
export function nextTrouble(previous: ConnectionTrouble | undefined, event: Extract<AccountEvent, { type: 'connection' }>): ConnectionTrouble | undefined {
  if (event.state === 'open' || event.state === 'pairing') return undefined;
  if (event.detail !== undefined) return { detail: event.detail, ...(event.retryAt === undefined ? {} : { retryAt: event.retryAt }) };
  return previous === undefined ? undefined : { detail: previous.detail };
}
