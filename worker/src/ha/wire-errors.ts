// home-assistant-js-websocket rejects with three shapes: a bare number (its ERR_* constants), HA's
// `{ code, message }` error object, or a whole failed `result` message (`{ error: { code } }`) when
// the connection drops. This module turns any of them into a code and a readable sentence.

import { ERR_CANNOT_CONNECT, ERR_CONNECTION_LOST, ERR_INVALID_AUTH } from 'home-assistant-js-websocket';

// HA's codes themselves, and what the worker does about each, are protocol.ts's HA_ERROR_CODES
// (protocol/protocol.json `ha_errors`).

const LIBRARY_ERRORS: Readonly<Record<number, string>> = {
  [ERR_CANNOT_CONNECT]: 'cannot connect',
  [ERR_INVALID_AUTH]: 'invalid authentication',
  [ERR_CONNECTION_LOST]: 'connection lost',
};

/** The error's code: HA's string code, or the library's ERR_* number. */
export function wireErrorCode(error: unknown): string | number | undefined {
  if (typeof error === 'number') return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const nested = (error as { error?: unknown }).error;
  if (typeof nested === 'object' && nested !== null) return wireErrorCode(nested);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}

export function isConnectionLost(error: unknown): boolean {
  return wireErrorCode(error) === ERR_CONNECTION_LOST;
}

/** A one-line description for logs and call results. */
export function describeWireError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'number') return LIBRARY_ERRORS[error] ?? `library error ${error}`;
  if (typeof error === 'object' && error !== null) {
    const nested = (error as { error?: unknown }).error;
    if (typeof nested === 'object' && nested !== null) return describeWireError(nested);
    const { code, message } = error as { code?: unknown; message?: unknown };
    const codeText = typeof code === 'number' ? (LIBRARY_ERRORS[code] ?? `error ${code}`) : typeof code === 'string' ? code : undefined;
    const messageText = typeof message === 'string' ? message : undefined;
    if (codeText !== undefined && messageText !== undefined) return `${codeText}: ${messageText}`;
    if (codeText !== undefined || messageText !== undefined) return (codeText ?? messageText) as string;
  }
  return String(error);
}
