// The worker's link to Home Assistant: keeps one authenticated websocket open (reconnecting with
// clock-driven exponential backoff and jitter), runs a session on every socket — handshake,
// subscription, calls, favourites — and pushes the worker's changes up, rate-limited.
//
// home-assistant-js-websocket's Connection owns the socket between reconnects, but its socket
// factory is ours (`connectUntilAuthenticated`): it never gives up, waits on our clock, and treats
// a refused token as "retry slowly" rather than the library's silent stop. The library's own
// re-subscribe is off (`resubscribe: false`): in 9.7.0 it has no `.catch`, so a rejected
// re-subscribe (HA restarting before the integration loaded) would be an unhandled rejection.
// We subscribe again ourselves on the connection's `ready` event, with retry.

import { createConnection, type Connection, type HaWebSocket } from 'home-assistant-js-websocket';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import type { Clock, Random } from '../clock.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import type { WorkerChange, WorkerPort } from './port.js';
import { Debounce, Throttle } from './push-throttle.js';
import { HomeAssistantSession } from './session.js';
import { ConnectAbortedError, HomeAssistantAuthError, openHomeAssistantSocket } from './socket.js';

export { homeAssistantTarget } from './target.js';

/** Repeat the "cannot reach Home Assistant" warning this often while it stays down (≈ every 10 min at the cap). */
const UNREACHABLE_WARN_EVERY_ATTEMPTS = 10;

export interface BridgeTiming {
  /** Between attempts to reach HA (restarting, unreachable). */
  readonly reconnect: BackoffPolicy;
  /** Between handshake attempts while the integration is not loaded yet. */
  readonly setupRetry: BackoffPolicy;
  /** Between handshake attempts while HA has no entry for this worker yet (`not_set_up`). */
  readonly notSetUpRetryMs: number;
  /** After a refusal a human must fix (bad token, incompatible integration): retry, but slowly. */
  readonly refusedRetryMs: number;
  /** From opening the socket to auth_ok. */
  readonly connectTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** At most one status push per this interval. */
  readonly statusMinIntervalMs: number;
  /** The directory goes up once changes have been quiet this long… */
  readonly directoryQuietMs: number;
  /** …or at the latest this long after the first change of a burst. */
  readonly directoryMaxWaitMs: number;
  /** How long `stop()` waits for HA to acknowledge the close before cutting the socket. */
  readonly closeTimeoutMs: number;
}

export const DEFAULT_BRIDGE_TIMING: BridgeTiming = {
  // 1 s → 60 s: an HA restart takes 20 s to minutes; a minute's delay afterwards is acceptable.
  reconnect: { initialMs: 1_000, maxMs: 60_000, factor: 2, jitterRatio: 0.2 },
  // Integrations load within a minute or two of HA's websocket coming up; and on a new install the
  // integration loads only when the user adds it, whose dialog then waits for this worker: at most
  // ~10 s, not a minute. A hello is one small websocket message that HA answers from memory.
  setupRetry: { initialMs: 2_000, maxMs: 10_000, factor: 2, jitterRatio: 0.2 },
  // The user is adding the integration (or about to): its dialog waits for this worker, so the
  // worker comes within 2 s of the entry, not at the end of a grown backoff. A hello every 2 s is
  // one small websocket message, which HA answers from memory.
  notSetUpRetryMs: 2_000,
  // A wrong token or version stays wrong until someone acts; every 5 minutes keeps the log readable.
  refusedRetryMs: 5 * 60_000,
  // HA itself gives a client 10 s to authenticate.
  connectTimeoutMs: 10_000,
  // Well inside HA's own 55 s websocket heartbeat, so a dead link is noticed before HA notices.
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 10_000,
  // The design's limit: status at most once a second, the latest state always delivered.
  statusMinIntervalMs: 1_000,
  // A history sync changes the directory hundreds of times in a few seconds.
  directoryQuietMs: 2_000,
  directoryMaxWaitMs: 30_000,
  closeTimeoutMs: 2_000,
};

export interface BridgeOptions {
  /** The websocket URL (see homeAssistantTarget). */
  readonly url: string;
  /** Long-lived access token or SUPERVISOR_TOKEN; never logged. */
  readonly token: string;
  readonly port: WorkerPort;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly workerVersion: string;
  /** Stable per data folder, so HA tells this worker's reconnect from a second worker (protocol.json, `whatsapp/hello`). */
  readonly workerId: string | null;
  /** Overrides for tests and tuning. */
  readonly timing?: Partial<BridgeTiming>;
}

export class HomeAssistantBridge {
  private readonly timing: BridgeTiming;
  private readonly logger: Logger;
  private readonly reconnectBackoff: Backoff;
  private started = false;
  private stopped = false;
  /** After the first socket, every new attempt waits a backoff delay first. */
  private hadSocket = false;
  private connection: Connection | undefined;
  private session: HomeAssistantSession | undefined;
  private unsubscribePort: (() => void) | undefined;
  private readonly connectAbort = new AbortController();
  private cancelSleep: (() => void) | undefined;
  private problem: string | undefined;
  private readonly statusThrottle: Throttle;
  private readonly directoryDebounce: Debounce;

  constructor(private readonly options: BridgeOptions) {
    this.timing = { ...DEFAULT_BRIDGE_TIMING, ...options.timing };
    this.logger = options.logger.child({ module: 'ha-bridge' });
    this.reconnectBackoff = new Backoff(this.timing.reconnect, options.random);
    this.statusThrottle = new Throttle(options.clock, this.timing.statusMinIntervalMs, () => this.session?.pushStatus());
    this.directoryDebounce = new Debounce(options.clock, this.timing.directoryQuietMs, this.timing.directoryMaxWaitMs, () =>
      this.session?.pushDirectory(),
    );
  }

  /** True while the subscription stands, i.e. while Home Assistant sees the worker as connected. */
  get connected(): boolean {
    return this.session?.subscribed === true;
  }

  /** Why the bridge is not connected, when it knows (for status output); never contains the token. */
  get lastProblem(): string | undefined {
    return this.connected ? undefined : this.problem;
  }

  /** Returns at once; connects in the background and keeps reconnecting until `stop()`. */
  async start(): Promise<void> {
    if (this.started) throw new Error('the Home Assistant bridge was already started');
    this.started = true;
    this.unsubscribePort = this.options.port.onChange((change) => this.onWorkerChange(change));
    this.logger.info({ url: this.options.url }, 'connecting to Home Assistant');
    void this.openConnection();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribePort?.();
    this.statusThrottle.cancel();
    this.directoryDebounce.cancel();
    this.connectAbort.abort();
    this.cancelSleep?.();
    this.session?.end();
    this.session = undefined;
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    const socket = connection.socket as unknown as WebSocket | undefined;
    connection.close();
    if (socket !== undefined) await this.waitForClose(socket);
    this.logger.info('disconnected from Home Assistant');
  }

  private async openConnection(): Promise<void> {
    let connection: Connection;
    try {
      connection = await createConnection({ setupRetry: 0, createSocket: () => this.connectUntilAuthenticated() });
    } catch (error) {
      if (!this.stopped) this.logger.error({ err: error }, 'gave up connecting to Home Assistant');
      return;
    }
    if (this.stopped) {
      connection.close();
      return;
    }
    this.connection = connection;
    // `ready` fires on every later socket; the first one fired inside createConnection already.
    connection.addEventListener('ready', () => this.beginSession());
    connection.addEventListener('disconnected', () => this.endSession());
    this.beginSession();
  }

  /**
   * The socket factory the library calls for the first connection and after every drop. Resolves
   * with an authenticated socket; rejects only when the bridge stops.
   */
  private async connectUntilAuthenticated(): Promise<HaWebSocket> {
    const { url, token, clock } = this.options;
    let waitMs = this.hadSocket ? this.reconnectBackoff.nextDelayMs() : 0;
    for (;;) {
      if (waitMs > 0) {
        this.logger.debug({ waitMs }, 'waiting before connecting to Home Assistant');
        await this.sleep(waitMs);
      }
      if (this.stopped) throw new ConnectAbortedError('the bridge is stopping');
      try {
        const socket = await openHomeAssistantSocket({
          url,
          token,
          clock,
          timeoutMs: this.timing.connectTimeoutMs,
          logger: this.logger,
          signal: this.connectAbort.signal,
        });
        if (this.stopped) {
          socket.terminate();
          throw new ConnectAbortedError('the bridge is stopping');
        }
        this.hadSocket = true;
        this.logger.info({ haVersion: socket.haVersion }, 'authenticated with Home Assistant');
        return socket as unknown as HaWebSocket;
      } catch (error) {
        if (this.stopped || error instanceof ConnectAbortedError) throw error;
        this.problem = (error as Error).message;
        if (error instanceof HomeAssistantAuthError) {
          waitMs = this.timing.refusedRetryMs;
          this.logger.error(
            { retryInMs: waitMs },
            `${this.problem}: create a new long-lived access token (or check the add-on's Home Assistant API access); retrying slowly`,
          );
        } else {
          waitMs = this.reconnectBackoff.nextDelayMs();
          const attempt = this.reconnectBackoff.attempts;
          const fields = { retryInMs: waitMs, attempt };
          // The first failure and every tenth are worth a warning; the rest would flood the log.
          if (attempt === 1 || attempt % UNREACHABLE_WARN_EVERY_ATTEMPTS === 0) this.logger.warn(fields, this.problem);
          else this.logger.debug(fields, this.problem);
        }
      }
    }
  }

  private beginSession(): void {
    // Runs inside the library's event dispatch: a throw here would become an unhandled rejection.
    try {
      const connection = this.connection;
      if (this.stopped || connection === undefined || connection.socket === undefined) return;
      this.session?.end();
      const session = new HomeAssistantSession({
        connection,
        socket: connection.socket as unknown as WebSocket,
        port: this.options.port,
        logger: this.logger,
        clock: this.options.clock,
        random: this.options.random,
        timing: this.timing,
        workerVersion: this.options.workerVersion,
        workerId: this.options.workerId,
        onSubscribed: (subscribed) => this.onSubscribed(subscribed),
        onProblem: (problem) => {
          this.problem = problem;
        },
      });
      this.session = session;
      void session.begin();
    } catch (error) {
      this.logger.error({ err: error }, 'could not start a session with Home Assistant');
    }
  }

  private onSubscribed(session: HomeAssistantSession): void {
    if (session !== this.session) return;
    this.reconnectBackoff.reset();
    this.problem = undefined;
    // The order HA expects after every (re)subscribe: status, directory, then the favourites' pictures.
    this.statusThrottle.flush();
    this.directoryDebounce.flush();
    void session.pushFavouriteAvatars();
  }

  private endSession(): void {
    try {
      if (this.session === undefined) return;
      const wasSubscribed = this.session.subscribed;
      this.session.end();
      this.session = undefined;
      this.problem = 'the connection to Home Assistant was lost';
      if (wasSubscribed) this.logger.warn('lost the connection to Home Assistant; reconnecting');
      else this.logger.info('the connection to Home Assistant closed; reconnecting');
    } catch (error) {
      this.logger.error({ err: error }, 'could not end the session with Home Assistant');
    }
  }

  private onWorkerChange(change: WorkerChange): void {
    try {
      switch (change.type) {
        case 'status':
          this.statusThrottle.request();
          return;
        case 'directory':
          this.directoryDebounce.request();
          return;
        case 'avatar':
          this.session?.pushAvatarUpdate(change.update);
          return;
      }
    } catch (error) {
      this.logger.error({ err: error, change }, 'could not push a change to Home Assistant');
    }
  }

  /** Waits on the injected clock; `stop()` cuts it short. */
  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const cancelTimer = this.options.clock.setTimer(() => {
        this.cancelSleep = undefined;
        resolve();
      }, delayMs);
      this.cancelSleep = () => {
        cancelTimer();
        this.cancelSleep = undefined;
        resolve();
      };
    });
  }

  private waitForClose(socket: WebSocket): Promise<void> {
    if (socket.readyState === socket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const cancelTimer = this.options.clock.setTimer(() => {
        this.logger.debug('Home Assistant did not acknowledge the close; cutting the socket');
        socket.terminate();
        resolve();
      }, this.timing.closeTimeoutMs);
      socket.once('close', () => {
        cancelTimer();
        resolve();
      });
    });
  }
}
