// A stand-in for Home Assistant's websocket API on 127.0.0.1, speaking its real wire protocol:
// auth_required → auth → auth_ok / auth_invalid, then `id`-numbered commands answered with
// `result` (success or `{ code, message }` error, `unknown_command` for unregistered types,
// `id_reuse` for non-increasing ids), `event` messages for subscriptions, and ping/pong; like HA's
// websocket (aiohttp's default) it closes a connection that sends a message over 4 MiB. The
// `whatsapp/*` commands behave as the integration does and are recorded for the tests: every
// payload is checked against protocol/protocol.json's schemas (a misfit is refused with
// `invalid_format`, as the integration does), and directory chunks are put together as HA does.

import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import type { CallResult, DirectoryChunk, DirectoryEntryWire, DownstreamMessage } from '../../src/ha/protocol.js';
import { description, responseSchemaProblem, upstreamSchemaProblem } from './protocol-description.js';

/** HA's limit on one incoming websocket message (aiohttp's default `max_msg_size`). */
export const HA_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export const FAKE_HA_VERSION = '2026.11.0';

export interface RecordedCommand {
  /** Which accepted connection sent it, counting from 1. */
  readonly connection: number;
  readonly type: string;
  readonly message: Record<string, unknown>;
}

/** Lets a test answer one command type itself: a result, an error, or nothing at all. */
export type CommandHandler = (
  message: Record<string, unknown>,
) => { result: unknown } | { error: { code: string; message: string } } | 'no-answer';

export interface FakeHomeAssistantOptions {
  readonly token: string;
  /** Whether the `whatsapp` integration's commands are registered; false answers unknown_command. */
  readonly integrationLoaded?: boolean;
  readonly favourites?: string[];
  /** Reuse a port (to come back after a simulated restart). */
  readonly port?: number;
}

interface ClientState {
  readonly number: number;
  readonly socket: WebSocket;
  authenticated: boolean;
  lastId: number;
  /** The id of this client's whatsapp/subscribe, once accepted. */
  subscriptionId: number | undefined;
  /** The hello accepted on it, with the worker_id it named; undefined until one is. */
  hello: { readonly workerId: string | null } | undefined;
}

export class FakeHomeAssistant {
  readonly commands: RecordedCommand[] = [];
  /** Every auth message's outcome, in order. */
  readonly authAttempts: ('ok' | 'invalid')[] = [];
  /** Every whatsapp/* command refused, with HA's code and message. */
  readonly refusals: { type: string; code: string; message: string }[] = [];
  /** The last whole directory, once a transfer's last chunk arrived. */
  directory: DirectoryEntryWire[] | undefined;
  /** Connections HA closed because a message was over its limit. */
  oversizedMessages = 0;
  integrationLoaded: boolean;
  favourites: string[];
  private readonly handlers = new Map<string, CommandHandler>();
  private readonly clients = new Set<ClientState>();
  private readonly pendingCalls = new Map<string, { service: string; resolve: (result: CallResult) => void }>();
  private partialDirectory: { transferId: string; next: number; entries: DirectoryEntryWire[] } | undefined;
  private connectionCount = 0;
  private callCount = 0;
  private server: WebSocketServer | undefined;
  private listeningPort = 0;

  private constructor(private readonly options: FakeHomeAssistantOptions) {
    this.integrationLoaded = options.integrationLoaded ?? true;
    this.favourites = options.favourites ?? [];
  }

  static async start(options: FakeHomeAssistantOptions): Promise<FakeHomeAssistant> {
    const fake = new FakeHomeAssistant(options);
    await fake.listen(options.port ?? 0);
    return fake;
  }

  get port(): number {
    return this.listeningPort;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.listeningPort}/api/websocket`;
  }

  /** How many authenticated clients hold a whatsapp/subscribe right now. */
  get subscriberCount(): number {
    return [...this.clients].filter((client) => client.subscriptionId !== undefined).length;
  }

  commandsOfType(type: string): RecordedCommand[] {
    return this.commands.filter((command) => command.type === type);
  }

  /** The whatsapp/* command types in the order they arrived. */
  whatsappCommandTypes(): string[] {
    return this.commands.filter((command) => command.type.startsWith('whatsapp/')).map((command) => command.type);
  }

  setHandler(type: string, handler: CommandHandler | undefined): void {
    if (handler === undefined) this.handlers.delete(type);
    else this.handlers.set(type, handler);
  }

  /** Sends a message down every whatsapp subscription, as the integration does. */
  sendDownstream(message: DownstreamMessage | Record<string, unknown>): void {
    for (const client of this.clients) {
      if (client.subscriptionId !== undefined) send(client.socket, { id: client.subscriptionId, type: 'event', event: message });
    }
  }

  setFavourites(jids: string[]): void {
    this.favourites = jids;
    this.sendDownstream({ type: 'favourites', jids });
  }

  /** A service call forwarded to the worker; resolves with its call_result. */
  call(service: 'refresh_avatar' | 'refresh_avatars' | 'picture' | 'purge_avatars' | 'pairing_code', data: Record<string, unknown>): Promise<CallResult> {
    const callId = `call-${++this.callCount}`;
    return new Promise((resolve) => {
      this.pendingCalls.set(callId, { service, resolve });
      this.sendDownstream({ type: 'call', call_id: callId, service, data });
    });
  }

  /** Closes every client connection, as HA does when it stops, but keeps listening. */
  dropConnections(): void {
    for (const client of this.clients) client.socket.close(1001, 'Home Assistant is stopping');
  }

  /** Stops listening and closes every client (HA shutting down). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const client of this.clients) client.socket.terminate();
    this.clients.clear();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  /** Listens again on the same port, as HA does after a restart. */
  async restart(): Promise<void> {
    await this.listen(this.listeningPort);
  }

  /** Resolves once `predicate` holds, polling; fails with `description` if it never does. */
  async waitFor(predicate: () => boolean, description: string, attempts = 500): Promise<void> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (predicate()) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`fake Home Assistant: gave up waiting for ${description}`);
  }

  private async listen(port: number): Promise<void> {
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/api/websocket', maxPayload: HA_MAX_MESSAGE_BYTES });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', (error) => {
      throw error;
    });
    this.listeningPort = (server.address() as AddressInfo).port;
    this.server = server;
    server.on('connection', (socket) => this.accept(socket));
  }

  private accept(socket: WebSocket): void {
    const client: ClientState = { number: ++this.connectionCount, socket, authenticated: false, lastId: 0, subscriptionId: undefined, hello: undefined };
    this.clients.add(client);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.oversizedMessages += 1;
      socket.terminate();
    });
    socket.on('message', (data) => this.receive(client, data.toString()));
    send(socket, { type: 'auth_required', ha_version: FAKE_HA_VERSION });
  }

  private receive(client: ClientState, text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // HA drops a client that sends invalid JSON; so do we.
      client.socket.close(1003, 'Received invalid JSON.');
      return;
    }
    if (!client.authenticated) {
      this.authenticate(client, parsed as Record<string, unknown>);
      return;
    }
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) this.handleCommand(client, message as Record<string, unknown>);
  }

  private authenticate(client: ClientState, message: Record<string, unknown>): void {
    if (message.type === 'auth' && message.access_token === this.options.token) {
      client.authenticated = true;
      this.authAttempts.push('ok');
      send(client.socket, { type: 'auth_ok', ha_version: FAKE_HA_VERSION });
      return;
    }
    this.authAttempts.push('invalid');
    const why = message.type === 'auth' ? 'Invalid access token or password' : 'Auth message incorrectly formatted: expected auth';
    send(client.socket, { type: 'auth_invalid', message: why });
    client.socket.close();
  }

  private handleCommand(client: ClientState, message: Record<string, unknown>): void {
    const { id, type } = message;
    if (typeof id !== 'number' || !Number.isInteger(id) || typeof type !== 'string') {
      send(client.socket, { id, type: 'result', success: false, error: { code: 'invalid_format', message: 'Message incorrectly formatted.' } });
      return;
    }
    if (id <= client.lastId) {
      send(client.socket, { id, type: 'result', success: false, error: { code: 'id_reuse', message: 'Identifier values have to increase.' } });
      return;
    }
    client.lastId = id;
    this.commands.push({ connection: client.number, type, message });
    const answer = this.answer(client, message, type);
    if (answer === 'no-answer') return;
    if ('error' in answer && type.startsWith('whatsapp/')) this.refusals.push({ type, ...answer.error });
    if ('error' in answer) send(client.socket, { id, type: 'result', success: false, error: answer.error });
    else send(client.socket, { id, type: 'result', success: true, result: answer.result });
    if (type === 'whatsapp/subscribe' && 'result' in answer) {
      client.subscriptionId = id;
      // Like the integration: the favourites go down right after the subscription is accepted.
      send(client.socket, { id, type: 'event', event: { type: 'favourites', jids: this.favourites } });
    }
  }

  private answer(client: ClientState, message: Record<string, unknown>, type: string): ReturnType<CommandHandler> {
    const custom = this.handlers.get(type);
    if (custom !== undefined) return custom(message);
    if (type === 'ping') {
      send(client.socket, { id: message.id, type: 'pong' });
      return 'no-answer';
    }
    if (type === 'supported_features' || type === 'unsubscribe_events') return { result: null };
    if (!type.startsWith('whatsapp/') || !this.integrationLoaded || !(type in description.upstream)) {
      return { error: { code: 'unknown_command', message: 'Unknown command.' } };
    }
    const { id: _id, type: _type, ...payload } = message;
    const problem = upstreamSchemaProblem(type, payload);
    if (problem !== undefined) return { error: { code: 'invalid_format', message: problem } };
    switch (type) {
      case 'whatsapp/hello': {
        if (payload.protocol_version !== description.protocol_version) {
          client.hello = undefined;
          return { error: { code: 'unsupported_version', message: `protocol version ${String(payload.protocol_version)} is not supported` } };
        }
        // As the integration (websocket_api.websocket_hello): a connection speaks for the worker
        // that said hello first on it; a hello that adds, drops or changes its worker_id is refused.
        const workerId = (payload.worker_id as string | null | undefined) ?? null;
        if (client.hello !== undefined && workerId !== client.hello.workerId) {
          return { error: { code: 'already_subscribed', message: `this connection belongs to worker (id ${String(client.hello.workerId)}); another worker needs its own connection` } };
        }
        client.hello = { workerId };
        return { result: { protocol_version: description.protocol_version, integration_version: '0.1.0-test' } };
      }
      case 'whatsapp/subscribe': {
        // As the integration: another worker's subscription is refused while one holds the link.
        const holder = [...this.clients].find((other) => other !== client && other.subscriptionId !== undefined);
        const holderId = holder?.hello?.workerId ?? null;
        const clientId = client.hello?.workerId ?? null;
        if (holderId !== null && clientId !== null && holderId !== clientId) {
          return { error: { code: 'already_subscribed', message: `another worker holds the subscription: worker (id ${holderId}); one WhatsApp account needs one worker` } };
        }
        return { result: null };
      }
      case 'whatsapp/call_result':
        return this.resolveCall(payload as unknown as CallResult);
      case 'whatsapp/directory':
        return this.receiveChunk(payload as unknown as DirectoryChunk);
      default:
        return { result: null };
    }
  }

  private resolveCall(result: CallResult): ReturnType<CommandHandler> {
    const pending = this.pendingCalls.get(result.call_id);
    if (pending === undefined) return { error: { code: 'unknown_call', message: `no call ${result.call_id} is waiting` } };
    this.pendingCalls.delete(result.call_id);
    const problem = result.ok ? responseSchemaProblem(pending.service, result.response) : undefined;
    pending.resolve(result);
    return problem === undefined ? { result: null } : { error: { code: 'invalid_response', message: problem } };
  }

  /** As the integration does: chunks in order under one transfer; the last one replaces the directory. */
  private receiveChunk(chunk: DirectoryChunk): ReturnType<CommandHandler> {
    if (chunk.chunk === 0) this.partialDirectory = { transferId: chunk.transfer_id, next: 0, entries: [] };
    const partial = this.partialDirectory;
    if (partial === undefined || partial.transferId !== chunk.transfer_id || partial.next !== chunk.chunk || chunk.chunk >= chunk.chunks) {
      this.partialDirectory = undefined;
      return { error: { code: 'invalid_chunk', message: `chunk ${chunk.chunk} of ${chunk.transfer_id} does not continue a transfer` } };
    }
    partial.entries.push(...chunk.entries);
    partial.next += 1;
    if (partial.next === chunk.chunks) {
      this.directory = partial.entries;
      this.partialDirectory = undefined;
    }
    return { result: null };
  }
}

function send(socket: WebSocket, message: unknown): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
