// One authenticated connection's protocol life: the version handshake, the subscription (retried
// on this socket while the integration is not loaded yet), the messages that come down it, the
// pushes that go up, and a heartbeat that notices a silently dead connection. A new socket gets a
// new session; an ended session does nothing and rejects nothing.

import type { Connection } from 'home-assistant-js-websocket';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Clock, Random } from '../clock.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import { answerCall, malformedCallResult } from './calls.js';
import { parseDownstream } from './downstream.js';
import { ConnectionScope, ScopeEndedError } from './lifetime.js';
import type { WorkerPort } from './port.js';
import { PROTOCOL_VERSION, type AvatarUpdate, type CallResult, type DownstreamMessage, type WorkerCommands } from './protocol.js';
import {
  describeWireError,
  isConnectionLost,
  UNAUTHORIZED,
  UNKNOWN_COMMAND,
  UNSUPPORTED_VERSION,
  wireErrorCode,
} from './wire-errors.js';

/**
 * HA's websocket (aiohttp's default) refuses an incoming message over 4 MiB and drops the whole
 * connection; we keep 64 KiB below it for the JSON around a picture.
 */
export const MAX_UPSTREAM_MESSAGE_CHARS = 4 * 1024 * 1024 - 64 * 1024;

/** Repeat the "integration still not loaded" warning this often while retrying, so it is not spam. */
const WARN_EVERY_ATTEMPTS = 10;

export interface SessionTiming {
  /** Retrying hello/subscribe while the integration is not loaded (HA still starting). */
  readonly setupRetry: BackoffPolicy;
  /** Retrying after a refusal that needs a human (wrong version, token not admin). */
  readonly refusedRetryMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

export interface SessionOptions {
  readonly connection: Connection;
  /** The raw socket under `connection`, to cut a connection whose heartbeat went unanswered. */
  readonly socket: WebSocket;
  readonly port: WorkerPort;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly timing: SessionTiming;
  readonly workerVersion: string;
  /** Called once the subscription stands: the bridge pushes status and directory. */
  readonly onSubscribed: (session: HomeAssistantSession) => void;
  /** Why the subscription does not stand yet, for the bridge's status. */
  readonly onProblem: (problem: string) => void;
}

type UpstreamCommand = keyof WorkerCommands;
type HelloResponse = WorkerCommands['whatsapp/hello']['response'];

/** `newer`, carrying `older`'s bytes when `newer` has none and both describe the same picture. */
function newestKeepingBytes(newer: AvatarUpdate, older: AvatarUpdate | undefined): AvatarUpdate {
  if (newer.image !== null || older?.image == null || newer.state === 'none' || older.sha256 !== newer.sha256) return newer;
  return { ...newer, image: older.image };
}

export class HomeAssistantSession {
  private readonly scope: ConnectionScope;
  private isSubscribed = false;
  private establishing = false;
  /** Favourites whose bytes went up on this connection; HA needs them once per connection. */
  private readonly imagesSent = new Set<string>();
  /** Avatar pushes in flight, and the newest update that came meanwhile. */
  private readonly avatarPushes = new Map<string, { next: AvatarUpdate | undefined }>();

  constructor(private readonly options: SessionOptions) {
    this.scope = new ConnectionScope(options.clock, options.logger);
  }

  private get ended(): boolean {
    return this.scope.ended;
  }

  get subscribed(): boolean {
    return this.isSubscribed && !this.ended;
  }

  /** Runs the handshake and subscription; never rejects. */
  async begin(): Promise<void> {
    this.scheduleHeartbeat();
    await this.establish();
  }

  end(): void {
    this.isSubscribed = false;
    this.scope.end();
  }

  pushStatus(): void {
    if (!this.subscribed) return;
    const status = this.read('status', () => this.options.port.status());
    if (status !== undefined) void this.send('whatsapp/status', status);
  }

  pushDirectory(): void {
    if (!this.subscribed) return;
    const entries = this.read('directory', () => this.options.port.directory());
    if (entries !== undefined) void this.send('whatsapp/directory', { entries });
  }

  /** Sends every favourite's picture that has not gone up on this connection yet. */
  async pushFavouriteAvatars(): Promise<void> {
    const favourites = this.read('favourites', () => this.options.port.favourites()) ?? [];
    for (const jid of favourites) {
      if (!this.subscribed) return;
      if (this.imagesSent.has(jid)) continue;
      this.imagesSent.add(jid);
      await this.pushAvatar(jid, true);
    }
  }

  /**
   * A finished job's update, pushed as it came. Pushes for one JID go one at a time; updates that
   * arrive while one is in flight collapse into the newest, which goes next (with the bytes of a
   * collapsed one for the same picture, so a new picture never goes up without them).
   */
  pushAvatarUpdate(update: AvatarUpdate): void {
    if (!this.subscribed) return;
    const running = this.avatarPushes.get(update.jid);
    if (running !== undefined) {
      running.next = newestKeepingBytes(update, running.next);
      return;
    }
    const entry: { next: AvatarUpdate | undefined } = { next: update };
    this.avatarPushes.set(update.jid, entry);
    void (async () => {
      while (entry.next !== undefined && this.subscribed) {
        const current = entry.next;
        entry.next = undefined;
        await this.send('whatsapp/avatar', this.withinMessageLimit(current));
      }
      this.avatarPushes.delete(update.jid);
    })();
  }

  private async establish(): Promise<void> {
    if (this.establishing) return;
    this.establishing = true;
    const { connection, logger, timing, random } = this.options;
    const backoff = new Backoff(timing.setupRetry, random);
    try {
      while (!this.ended) {
        try {
          const hello = await this.scope.untilEnded(
            connection.sendMessagePromise<HelloResponse>({
              type: 'whatsapp/hello',
              protocol_version: PROTOCOL_VERSION,
              worker_version: this.options.workerVersion,
            }),
          );
          logger.info(
            { integrationVersion: hello?.integration_version, protocolVersion: hello?.protocol_version },
            'the whatsapp integration in Home Assistant answered the handshake',
          );
          await this.scope.untilEnded(
            connection.subscribeMessage<unknown>((event) => this.onDownstream(event), { type: 'whatsapp/subscribe' }, { resubscribe: false }),
          );
          if (this.ended) return;
          this.isSubscribed = true;
          logger.info('subscribed to Home Assistant: the worker shows as connected');
          this.options.onSubscribed(this);
          return;
        } catch (error) {
          if (this.ended || error instanceof ScopeEndedError || isConnectionLost(error)) return;
          const delayMs = this.setupRetryDelayMs(error, backoff);
          if (!(await this.scope.sleep(delayMs))) return;
        }
      }
    } finally {
      this.establishing = false;
    }
  }

  private setupRetryDelayMs(error: unknown, backoff: Backoff): number {
    const { logger, timing } = this.options;
    const code = wireErrorCode(error);
    const detail = describeWireError(error);
    if (code === UNSUPPORTED_VERSION) {
      const problem = `the whatsapp integration in Home Assistant cannot talk protocol version ${PROTOCOL_VERSION} (${detail}): update the integration and the worker to matching releases`;
      this.options.onProblem(problem);
      logger.error({ retryInMs: timing.refusedRetryMs }, problem);
      return timing.refusedRetryMs;
    }
    if (code === UNAUTHORIZED) {
      const problem = `Home Assistant refused the whatsapp commands (${detail}): the access token must belong to an administrator`;
      this.options.onProblem(problem);
      logger.error({ retryInMs: timing.refusedRetryMs }, problem);
      return timing.refusedRetryMs;
    }
    const delayMs = backoff.nextDelayMs();
    if (code === UNKNOWN_COMMAND) {
      this.options.onProblem('the whatsapp integration is not loaded in Home Assistant');
      const attempt = backoff.attempts;
      const message =
        attempt === 1
          ? 'the whatsapp integration is not loaded in Home Assistant yet (unknown command); retrying'
          : `the whatsapp integration is still not loaded after ${attempt} attempts: is it installed and configured?`;
      if (attempt === 1 || attempt % WARN_EVERY_ATTEMPTS === 0) logger.warn({ retryInMs: delayMs }, message);
      else logger.debug({ retryInMs: delayMs, attempt }, message);
      return delayMs;
    }
    this.options.onProblem(`the handshake with Home Assistant failed (${detail})`);
    logger.warn({ retryInMs: delayMs }, `the handshake with Home Assistant failed (${detail}); retrying`);
    return delayMs;
  }

  /** Everything HA sends down the subscription. Runs inside the socket's message handler: never throws. */
  private onDownstream(event: unknown): void {
    try {
      const parsed = parseDownstream(event);
      if (!parsed.ok) {
        this.options.logger.warn(`ignoring a malformed message from Home Assistant: ${parsed.reason}`);
        if (parsed.callId !== undefined) void this.sendCallResult(malformedCallResult(parsed.callId, parsed.reason, parsed.badJid === true));
        return;
      }
      const message = parsed.message;
      if (message.type === 'favourites') this.applyFavourites(message.jids);
      else void this.handleCall(message);
    } catch (error) {
      this.options.logger.error({ err: error }, 'failed to handle a message from Home Assistant');
    }
  }

  private applyFavourites(jids: string[]): void {
    const { port, logger } = this.options;
    try {
      port.setFavourites(jids);
    } catch (error) {
      logger.error({ err: error }, 'the worker refused the favourites from Home Assistant');
      return;
    }
    logger.info({ count: jids.length }, 'favourites received from Home Assistant');
    if (this.subscribed) void this.pushFavouriteAvatars();
  }

  private async handleCall(call: Extract<DownstreamMessage, { type: 'call' }>): Promise<void> {
    this.options.logger.debug({ callId: call.call_id, service: call.service }, 'service call from Home Assistant');
    const result = await answerCall(this.options.port, call, this.options.logger);
    await this.sendCallResult(result);
  }

  private async sendCallResult(result: CallResult): Promise<void> {
    if (this.ended) {
      this.options.logger.warn({ callId: result.call_id }, 'cannot answer a service call: the connection to Home Assistant ended first');
      return;
    }
    await this.send('whatsapp/call_result', result);
  }

  private async pushAvatar(jid: string, withImage: boolean): Promise<void> {
    let update: AvatarUpdate | undefined;
    try {
      update = await this.options.port.avatarUpdate(jid, withImage);
    } catch (error) {
      this.options.logger.error({ err: error, jid }, 'could not read an avatar to send to Home Assistant');
      return;
    }
    if (update === undefined) {
      this.options.logger.debug({ jid }, 'no avatar to send: the subject is unknown');
      return;
    }
    if (!this.subscribed) return;
    await this.send('whatsapp/avatar', this.withinMessageLimit(update));
  }

  private withinMessageLimit(update: AvatarUpdate): AvatarUpdate {
    if (update.image === null) return update;
    // Everything but the image is a few hundred characters; the image dominates the size.
    const size = update.image.length + JSON.stringify({ ...update, image: null }).length;
    if (size <= MAX_UPSTREAM_MESSAGE_CHARS) return update;
    this.options.logger.warn(
      { jid: update.jid, base64Chars: update.image.length, limitChars: MAX_UPSTREAM_MESSAGE_CHARS },
      "picture too large for Home Assistant's websocket; sending its state without the bytes",
    );
    return { ...update, image: null };
  }

  /** Sends one command and waits for its result; failures are logged, never thrown. */
  private async send<K extends UpstreamCommand>(type: K, request: WorkerCommands[K]['request']): Promise<void> {
    if (this.ended) return;
    const { connection, logger } = this.options;
    try {
      await this.scope.untilEnded(connection.sendMessagePromise({ ...request, type }));
    } catch (error) {
      if (this.ended || error instanceof ScopeEndedError || isConnectionLost(error)) {
        logger.debug({ type }, 'not sent: the connection to Home Assistant ended');
        return;
      }
      if (wireErrorCode(error) === UNKNOWN_COMMAND && this.isSubscribed) {
        // The integration was unloaded under a live connection: subscribe again once it is back.
        logger.warn({ type }, 'the whatsapp integration disappeared from Home Assistant; waiting for it to return');
        this.isSubscribed = false;
        this.imagesSent.clear();
        void this.establish();
        return;
      }
      logger.warn({ type }, `Home Assistant refused ${type}: ${describeWireError(error)}`);
    }
  }

  private read<T>(what: string, reader: () => T): T | undefined {
    try {
      return reader();
    } catch (error) {
      this.options.logger.error({ err: error }, `could not read the worker's ${what} to send to Home Assistant`);
      return undefined;
    }
  }

  private scheduleHeartbeat(): void {
    if (this.ended) return;
    this.scope.timer(() => this.beat(), this.options.timing.heartbeatIntervalMs);
  }

  /** A ping that stays unanswered means a half-open connection; cutting it lets the reconnect start. */
  private beat(): void {
    if (this.ended) return;
    const { connection, socket, logger, timing } = this.options;
    let answered = false;
    const cancelDeadline = this.scope.timer(() => {
      if (answered || this.ended) return;
      logger.warn({ timeoutMs: timing.heartbeatTimeoutMs }, 'Home Assistant did not answer a ping; reconnecting');
      socket.terminate();
    }, timing.heartbeatTimeoutMs);
    connection.ping().then(
      () => {
        answered = true;
        cancelDeadline();
        this.scheduleHeartbeat();
      },
      (error: unknown) => {
        answered = true;
        cancelDeadline();
        logger.debug({ reason: describeWireError(error) }, 'ping not answered: the connection is closing');
      },
    );
  }
}
