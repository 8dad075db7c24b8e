// Opens one websocket to Home Assistant and runs its auth phase: auth_required → auth →
// auth_ok / auth_invalid. Uses `ws` because Node 20 has no global WebSocket. The timeout runs on
// the injected clock; the token is sent once and never appears in an error or a log line.

import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Clock } from '../clock.js';

/** Home Assistant refused the token (`auth_invalid`); retrying soon will not help. */
export class HomeAssistantAuthError extends Error {
  override readonly name = 'HomeAssistantAuthError';
}

/** Home Assistant could not be reached, or dropped the connection before auth_ok. */
export class HomeAssistantUnreachableError extends Error {
  override readonly name = 'HomeAssistantUnreachableError';
}

/** The attempt was cancelled because the bridge is stopping. */
export class ConnectAbortedError extends Error {
  override readonly name = 'ConnectAbortedError';
}

/** An authenticated socket; `haVersion` is what home-assistant-js-websocket's Connection expects. */
export type AuthenticatedSocket = WebSocket & { haVersion: string };

export interface OpenSocketOptions {
  readonly url: string;
  readonly token: string;
  readonly clock: Clock;
  /** From the first byte to auth_ok. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export function openHomeAssistantSocket(options: OpenSocketOptions): Promise<AuthenticatedSocket> {
  const { url, token, clock, logger, signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ConnectAbortedError('the bridge is stopping'));
      return;
    }
    let socket: WebSocket;
    try {
      // No compression: the pictures are JPEG already, and it keeps the Supervisor proxy simple.
      socket = new WebSocket(url, { perMessageDeflate: false, followRedirects: false });
    } catch (error) {
      reject(new HomeAssistantUnreachableError(`cannot connect to Home Assistant at ${url}: ${(error as Error).message}`));
      return;
    }
    let settled = false;
    let cancelTimeout = (): void => {};

    const finish = (error: Error | undefined, haVersion?: string): void => {
      if (settled) return;
      settled = true;
      cancelTimeout();
      signal?.removeEventListener('abort', onAbort);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      if (error !== undefined) {
        socket.terminate();
        reject(error);
        return;
      }
      resolve(Object.assign(socket, { haVersion: haVersion ?? 'unknown' }));
    };

    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      if (isBinary) {
        finish(new HomeAssistantUnreachableError(`${url} sent a binary frame during authentication; is it Home Assistant?`));
        return;
      }
      let message: { type?: unknown; message?: unknown; ha_version?: unknown };
      try {
        message = JSON.parse(rawText(data)) as typeof message;
      } catch (error) {
        finish(new HomeAssistantUnreachableError(`${url} sent invalid JSON during authentication (${(error as Error).message})`));
        return;
      }
      switch (message.type) {
        case 'auth_required':
          socket.send(JSON.stringify({ type: 'auth', access_token: token }));
          return;
        case 'auth_ok':
          finish(undefined, typeof message.ha_version === 'string' ? message.ha_version : undefined);
          return;
        case 'auth_invalid': {
          const why = typeof message.message === 'string' ? message.message : 'no reason given';
          finish(new HomeAssistantAuthError(`Home Assistant at ${url} refused the access token (${why})`));
          return;
        }
        default:
          logger.debug({ type: message.type }, 'ignoring an unexpected message during authentication');
      }
    };
    const onClose = (code: number, reason: Buffer): void => {
      const why = reason.length > 0 ? `: ${reason.toString()}` : '';
      finish(new HomeAssistantUnreachableError(`Home Assistant at ${url} closed the connection during authentication (code ${code}${why})`));
    };
    const onAbort = (): void => finish(new ConnectAbortedError('the bridge is stopping'));

    // `ws` throws an 'error' event that has no listener; this one stays for the socket's life.
    socket.on('error', (error: Error) => {
      if (!settled) {
        finish(new HomeAssistantUnreachableError(`cannot reach Home Assistant at ${url}: ${error.message}`));
        return;
      }
      logger.debug({ err: error }, 'Home Assistant websocket error (a close follows)');
    });
    socket.on('message', onMessage);
    socket.on('close', onClose);
    signal?.addEventListener('abort', onAbort);
    cancelTimeout = clock.setTimer(
      () => finish(new HomeAssistantUnreachableError(`Home Assistant at ${url} did not complete authentication within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
  });
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
