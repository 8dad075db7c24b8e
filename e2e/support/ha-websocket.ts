// A minimal Home Assistant websocket client for the tests: authenticate, send a command, get its
// result or its error exactly as HA sent it (code, message, translation key), so the tests can
// check what a user or an automation would see. Plain `ws`, no reconnection: a test that restarts
// HA opens a new client.

import WebSocket from 'ws';
import { withTimeout } from './wait.js';

// HA answers a command within milliseconds; service calls that wait for the worker get their own limit.
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 15_000;

export interface HaError {
  readonly code: string;
  readonly message: string;
  readonly translation_key?: string;
  readonly translation_domain?: string;
  readonly translation_placeholders?: Record<string, string>;
}

export type CommandOutcome<T> = { readonly success: true; readonly result: T } | { readonly success: false; readonly error: HaError };

export class HaCommandError extends Error {
  override readonly name = 'HaCommandError';
  constructor(
    readonly command: string,
    readonly error: HaError,
  ) {
    super(`${command} failed: ${error.code}: ${error.message}`);
  }
}

interface Pending {
  resolve(outcome: CommandOutcome<unknown>): void;
  reject(error: Error): void;
}

type Message = Record<string, unknown> & { type: string; id?: number };

export class HaWebSocket {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.dispatch(JSON.parse(String(data)) as Message));
    socket.on('close', () => {
      for (const pending of this.pending.values()) pending.reject(new Error('the websocket to Home Assistant closed'));
      this.pending.clear();
    });
  }

  /** Opens `<baseUrl>/api/websocket` and authenticates with `token`. */
  static async connect(baseUrl: string, token: string): Promise<HaWebSocket> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/websocket`;
    const socket = new WebSocket(url);
    const authenticated = new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`the websocket ${url} closed during authentication`)));
      socket.on('message', function onMessage(data) {
        const message = JSON.parse(String(data)) as Message;
        if (message.type === 'auth_required') socket.send(JSON.stringify({ type: 'auth', access_token: token }));
        else if (message.type === 'auth_ok') {
          socket.off('message', onMessage);
          resolve();
        } else if (message.type === 'auth_invalid') reject(new Error(`Home Assistant refused the token: ${String(message.message)}`));
      });
    });
    try {
      await withTimeout(`authenticating at ${url}`, authenticated, CONNECT_TIMEOUT_MS);
    } catch (error) {
      socket.terminate();
      throw error;
    }
    socket.removeAllListeners('error');
    socket.on('error', (error) => process.stderr.write(`e2e: websocket error: ${error.message}\n`));
    return new HaWebSocket(socket);
  }

  /** Sends a command and resolves with HA's result or error, as HA sent it. */
  async send<T = unknown>(command: Record<string, unknown> & { type: string }, timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): Promise<CommandOutcome<T>> {
    const id = this.nextId++;
    const outcome = new Promise<CommandOutcome<unknown>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    this.socket.send(JSON.stringify({ ...command, id }));
    try {
      return (await withTimeout(`Home Assistant to answer ${command.type}`, outcome, timeoutMs)) as CommandOutcome<T>;
    } finally {
      this.pending.delete(id);
    }
  }

  /** Sends a command and returns its result; throws HaCommandError when HA answers with an error. */
  async command<T = unknown>(command: Record<string, unknown> & { type: string }, timeoutMs?: number): Promise<T> {
    const outcome = await this.send<T>(command, timeoutMs);
    if (!outcome.success) throw new HaCommandError(command.type, outcome.error);
    return outcome.result;
  }

  /** `call_service` with `return_response`, as Developer Tools and automations do. */
  async callService<T = unknown>(domain: string, service: string, data: Record<string, unknown>, timeoutMs?: number): Promise<CommandOutcome<T>> {
    const outcome = await this.send<{ response: T }>(
      { type: 'call_service', domain, service, service_data: data, return_response: true },
      timeoutMs,
    );
    return outcome.success ? { success: true, result: outcome.result.response } : outcome;
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.close();
    await withTimeout('the websocket to close', closed, CONNECT_TIMEOUT_MS).catch((error: unknown) => {
      process.stderr.write(`e2e: ${error instanceof Error ? error.message : String(error)}; terminating it\n`);
      this.socket.terminate();
    });
  }

  private dispatch(message: Message): void {
    // Only command results matter here; the suite subscribes to nothing.
    if (message.id === undefined || message.type !== 'result') return;
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    if (message.success === true) pending.resolve({ success: true, result: message.result });
    else pending.resolve({ success: false, error: message.error as HaError });
  }
}
