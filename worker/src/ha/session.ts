// One authenticated connection's protocol life: the version handshake, the subscription (retried
// on this socket while the integration is not loaded yet), the messages that come down it, the
// pushes that go up, and a heartbeat that notices a silently dead connection. A new socket gets a
// new session; an ended session does nothing and rejects nothing.

import { randomUUID } from 'node:crypto';
import type { Connection } from 'home-assistant-js-websocket';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Clock, Random } from '../clock.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import { answerCall, malformedCallResult } from './calls.js';
import { directoryTransfer } from './directory-chunks.js';
import { parseDownstream } from './downstream.js';
import { ConnectionScope, ScopeEndedError } from './lifetime.js';
import type { WorkerPort } from './port.js';
import { outgoingProblem, withinPictureCap } from './outgoing.js';
import { PROTOCOL_VERSION, type AvatarUpdate, type CallResult, type DownstreamMessage, type HaErrorCode, type WorkerCommands } from './protocol.js';
import { describeWireError, isConnectionLost, wireErrorCode } from './wire-errors.js';

/** How one upstream command ended: HA took it, refused it (with its code), or it never got there. */
type SendOutcome = { readonly sent: true } | { readonly sent: false; readonly code?: string | number };

/** HA's refusals of a picture: the same bytes would be refused again on this connection. */
const PICTURE_REFUSALS: ReadonlySet<string | number | undefined> = new Set<HaErrorCode>(['invalid_image', 'image_too_large', 'sha256_mismatch']);

export interface SessionTiming {
  /** Retrying hello/subscribe while the integration is not loaded (HA still starting). */
  readonly setupRetry: BackoffPolicy;
  /** Retrying while HA has no entry for this worker yet: the user may be adding it right now. */
  readonly notSetUpRetryMs: number;
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
  /** Stable per data folder (protocol.json, `whatsapp/hello`); HA refuses a second worker with another id. */
  readonly workerId: string | null;
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
  /** Pictures (`jid sha256`) HA refused on this connection: sent again without their bytes only. */
  private readonly refusedPictures = new Set<string>();
  /** The directory transfer in flight, and whether the directory changed meanwhile. */
  private directoryPush: { again: boolean } | undefined;
  /** Set once HA said it cannot talk our protocol version: nothing more is tried on this connection. */
  private incompatible = false;
  /** Set once the warning that HA has no entry for this worker was logged on this connection. */
  private notSetUpSaid = false;

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

  /** Sends the whole directory in chunks; a change while a transfer runs sends it again afterwards. */
  pushDirectory(): void {
    if (!this.subscribed) return;
    if (this.directoryPush !== undefined) {
      this.directoryPush.again = true;
      return;
    }
    const push = { again: false };
    this.directoryPush = push;
    void (async () => {
      do {
        push.again = false;
        await this.sendDirectory();
      } while (push.again && this.subscribed);
      this.directoryPush = undefined;
    })();
  }

  private async sendDirectory(): Promise<void> {
    const entries = this.read('directory', () => this.options.port.directory());
    if (entries === undefined) return;
    const { chunks, leftOut } = directoryTransfer(entries, randomUUID());
    if (leftOut > 0) {
      this.options.logger.warn(
        { sent: entries.length - leftOut, leftOut },
        `the directory has ${entries.length} contacts and groups; Home Assistant keeps at most ${entries.length - leftOut}, so ${leftOut} are left out of the favourites picker`,
      );
    }
    for (const chunk of chunks) {
      if (!this.subscribed) return;
      const outcome = await this.send('whatsapp/directory', chunk);
      // A refused chunk ends the transfer; HA keeps the last whole directory until the next push.
      if (!outcome.sent) return;
    }
    this.options.logger.debug({ entries: entries.length - leftOut, chunks: chunks.length }, 'directory sent to Home Assistant');
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
        await this.sendAvatar(current);
      }
      this.avatarPushes.delete(update.jid);
    })();
  }

  private async establish(): Promise<void> {
    if (this.establishing || this.incompatible) return;
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
              worker_id: this.options.workerId,
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
          if (delayMs === undefined || !(await this.scope.sleep(delayMs))) return;
        }
      }
    } finally {
      this.establishing = false;
    }
  }

  /**
   * What to do after HA refused the handshake (protocol.json `ha_errors`): the delay before the
   * next attempt, or undefined to stop trying on this connection.
   */
  private setupRetryDelayMs(error: unknown, backoff: Backoff): number | undefined {
    const { logger, timing } = this.options;
    const code = wireErrorCode(error) as HaErrorCode | number | undefined;
    const detail = describeWireError(error);
    switch (code) {
      case 'unsupported_version': {
        // Only an update changes the answer, and an update restarts HA or the worker: a new connection.
        const problem = `the whatsapp integration in Home Assistant cannot talk protocol version ${PROTOCOL_VERSION} (${detail}): update the integration and the worker to matching releases; not trying again until Home Assistant or the worker restarts`;
        this.incompatible = true;
        this.options.onProblem(problem);
        logger.error(problem);
        return undefined;
      }
      case 'unauthorized':
        return this.refused(`Home Assistant refused the whatsapp commands (${detail}): the access token must belong to an administrator`);
      case 'already_subscribed':
        return this.refused(
          `another worker is connected to Home Assistant's whatsapp integration (${detail}); one account needs one worker: stop the other one. Trying again in ${Math.round(timing.refusedRetryMs / 60_000)} minutes`,
        );
      case 'not_set_up': {
        // Not a growing backoff: the "Add integration" dialog waits for this worker
        // (custom_components/whatsapp/linking.py), and it should find it at once.
        const delayMs = timing.notSetUpRetryMs;
        const problem = `this worker is not set up in Home Assistant yet: add it under Settings → Devices & services (${detail})`;
        this.options.onProblem(problem);
        if (!this.notSetUpSaid) logger.warn({ retryInMs: delayMs }, `${problem}; asking again every ${Math.round(delayMs / 1_000)} s until it is`);
        else logger.debug({ retryInMs: delayMs }, 'this worker is still not set up in Home Assistant');
        this.notSetUpSaid = true;
        return delayMs;
      }
      case 'unknown_command':
      case 'not_loaded': {
        const delayMs = backoff.nextDelayMs();
        const why = code === 'not_loaded' ? 'set up but not loaded (disabled, failed or reloading)' : 'not loaded (not installed, or Home Assistant still starting)';
        this.options.onProblem(`the whatsapp integration is ${why} in Home Assistant`);
        // One line says so; the retries are quiet (the status carries the problem meanwhile).
        if (backoff.attempts === 1) logger.warn({ retryInMs: delayMs }, `the whatsapp integration is ${why} in Home Assistant; retrying quietly until it is`);
        else logger.debug({ retryInMs: delayMs, attempt: backoff.attempts }, `the whatsapp integration is still ${code === 'not_loaded' ? 'not loaded' : 'unknown'}`);
        return delayMs;
      }
      default: {
        const delayMs = backoff.nextDelayMs();
        this.options.onProblem(`the handshake with Home Assistant failed (${detail})`);
        logger.warn({ retryInMs: delayMs }, `the handshake with Home Assistant failed (${detail}); retrying`);
        return delayMs;
      }
    }
  }

  /** A refusal a human must fix: said once per attempt as an error, retried slowly. */
  private refused(problem: string): number {
    const { logger, timing } = this.options;
    this.options.onProblem(problem);
    logger.error({ retryInMs: timing.refusedRetryMs }, problem);
    return timing.refusedRetryMs;
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
      else if (message.type === 'resend') this.resendEverything();
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
    // HA deletes a dropped favourite's picture: picked again, it needs the bytes again.
    const favourites = new Set(this.read('favourites', () => port.favourites()) ?? []);
    for (const jid of this.imagesSent) if (!favourites.has(jid)) this.imagesSent.delete(jid);
    if (this.subscribed) void this.pushFavouriteAvatars();
  }

  /** HA asked for everything again (its entry reloaded under this subscription). */
  private resendEverything(): void {
    if (!this.subscribed) return;
    this.options.logger.info('Home Assistant asked for everything again: sending status, directory and pictures');
    this.imagesSent.clear();
    this.pushStatus();
    this.pushDirectory();
    void this.pushFavouriteAvatars();
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
    await this.sendAvatar(update);
  }

  /** Sends one picture update within HA's cap, and never again the bytes HA refused on this connection. */
  private async sendAvatar(update: AvatarUpdate): Promise<void> {
    const refusedKey = `${update.jid} ${update.sha256 ?? ''}`;
    if (update.image !== null && this.refusedPictures.has(refusedKey)) update = { ...update, image: null };
    const capped = withinPictureCap(update);
    if (capped.dropped !== undefined) {
      this.options.logger.warn({ jid: update.jid }, `sending the picture's state without its bytes: ${capped.dropped}`);
    }
    const outcome = await this.send('whatsapp/avatar', capped.update);
    if (!outcome.sent && capped.update.image !== null && PICTURE_REFUSALS.has(outcome.code)) {
      // The same bytes would be refused again: from now on this picture goes up as state only.
      this.refusedPictures.add(refusedKey);
      this.options.logger.warn({ jid: update.jid, code: outcome.code }, 'Home Assistant refused the picture; it is not sent again on this connection');
      if (this.subscribed) await this.send('whatsapp/avatar', { ...capped.update, image: null });
    }
  }

  /** Sends one command and waits for its result; failures are logged and acted on, never thrown. */
  private async send<K extends UpstreamCommand>(type: K, request: WorkerCommands[K]['request']): Promise<SendOutcome> {
    if (this.ended) return { sent: false };
    const { connection, logger } = this.options;
    const problem = outgoingProblem(type, request);
    if (problem !== undefined) {
      logger.error({ type }, `not sending ${type}: ${problem}`);
      return { sent: false };
    }
    try {
      await this.scope.untilEnded(connection.sendMessagePromise({ ...request, type }));
      return { sent: true };
    } catch (error) {
      if (this.ended || error instanceof ScopeEndedError || isConnectionLost(error)) {
        logger.debug({ type }, 'not sent: the connection to Home Assistant ended');
        return { sent: false };
      }
      const code = wireErrorCode(error);
      this.onRefused(type, code, describeWireError(error));
      return { sent: false, code };
    }
  }

  /** What the worker does about each of HA's refusals of a command (protocol.json `ha_errors`). */
  private onRefused(type: UpstreamCommand, code: string | number | undefined, detail: string): void {
    const { logger } = this.options;
    switch (code as HaErrorCode | undefined) {
      case 'unknown_command':
      case 'not_loaded':
      case 'not_set_up':
      case 'hello_required':
        if (!this.isSubscribed) return;
        // The integration was unloaded or reloaded under a live connection, or HA forgot the
        // handshake: say hello and subscribe again (quietly retried until it is back).
        logger.warn({ type, code }, `Home Assistant refused ${type} (${detail}); saying hello and subscribing again`);
        this.isSubscribed = false;
        this.imagesSent.clear();
        void this.establish();
        return;
      case 'unknown_call':
        logger.debug({ type }, `Home Assistant no longer waits for this call: ${detail}`);
        return;
      case 'invalid_chunk':
        logger.warn({ type }, `Home Assistant refused a directory chunk (${detail}); the next directory push starts over`);
        return;
      default:
        logger.warn({ type, code }, `Home Assistant refused ${type}: ${detail}`);
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
