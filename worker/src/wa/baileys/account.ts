// The real WhatsApp account: a Baileys socket behind our narrow WhatsAppAccount interface.
//
// Lifecycle: connecting → pairing (QR, or a pairing code when a phone number is configured) →
// open → pending notifications received → 'open' is announced (the core then waits its quiet
// period). A 515 after pairing restarts at once; a logout wipes the session and pairs afresh;
// expired pairing rounds pair again a bounded number of times, then stop and wait for the user
// (`pairing-stopped`); a banned or locked account waits hours; every other drop reconnects with
// exponential backoff and jitter. Being offline is a state: the account keeps retrying and never
// throws out of `start()`.
//
// One door to WhatsApp: the only IQ this adapter causes is `queryPicture`'s one query. Baileys'
// own IQs at connect (pre-keys, passive, props, blocklist, privacy settings, app-state sync) are
// part of being a linked device and run once per connection; the privacy token is read from our
// stored rows (privacy-token.ts), never through Baileys' getLIDForPN. Baileys itself calls
// getLIDForPN for every incoming message from a phone number it has no LID for, for tokens in a
// history sync and in notifications, and each unknown one becomes a USync IQ; the signal
// repository is built without that lookup (`signalRepositoryWithoutUsync`).

import makeWASocket, {
  Browsers,
  DEFAULT_CONNECTION_CONFIG,
  makeCacheableSignalKeyStore,
  type WABrowserDescription,
  type BaileysEventMap,
  type BinaryNode,
  type ConnectionState,
  type SignalKeyStoreWithTransaction,
  type UserFacingSocketConfig,
  type WAVersion,
} from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import qrcodeTerminal from 'qrcode-terminal';
import type { Clock, Random } from '../../clock.js';
import { jidKind, type Jid } from '../../jid.js';
import { Listeners } from '../../listeners.js';
import { phoneNumberDigits } from '../../phone-number.js';
import type Database from 'better-sqlite3';
import type { AccountEvent, AccountListener, ConnectionState as OurConnectionState, PictureQueryHints, PictureQueryOutcome, WhatsAppAccount } from '../../avatars/ports.js';
import { PairingCodeRefused } from '../../avatars/ports.js';
import { useSqliteAuthState, type SqliteAuthState, type StoredLidMapping } from './auth-state.js';
import { classifyDisconnect, formatClockTime, reconnectDelayMs, type DisconnectAction } from './disconnect.js';
import { BaileysEventMapper } from './events.js';
import { PICTURE_TYPES, queryPicture, type PictureType } from './picture-query.js';
import { storedPrivacyToken } from './privacy-token.js';
import { makeBaileysLogger, maskJid, maskPhoneNumber } from './redact.js';
import { fetchCurrentWaWebVersion, resolveWaWebVersion, type VersionFetcher } from './version.js';

/** The part of Baileys' socket this account uses; the real socket and the tests' fake both fit. */
export interface BaileysSocket {
  readonly ev: {
    process(handler: (events: Partial<BaileysEventMap>) => void | Promise<void>): () => void;
  };
  readonly authState: {
    readonly creds: { readonly registered: boolean; readonly me?: { id: string; lid?: string }; readonly accountSyncCounter?: number };
    readonly keys: SignalKeyStoreWithTransaction;
  };
  /**
   * WhatsApp's AB props as Baileys reads them at connect (rc14 lib/Socket/chats.js `fetchProps`):
   * `profilePicPrivacyToken` is prop 9666 `profile_scraping_privacy_token_in_photo_iq`, true
   * until the server says otherwise.
   */
  readonly serverProps?: { readonly profilePicPrivacyToken?: boolean };
  query(node: BinaryNode, timeoutMs?: number): Promise<unknown>;
  requestPairingCode(phoneNumber: string, customPairingCode?: string): Promise<string>;
  end(error: Error | undefined): Promise<void> | void;
}

export type SocketFactory = (config: UserFacingSocketConfig) => BaileysSocket;

export interface BaileysAccountOptions {
  /** The worker's database, already migrated by store/database.ts; Baileys' creds and keys live in its auth tables. */
  readonly db: Database.Database;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  /** Link by pairing code instead of QR: the account's phone number, digits with country code. */
  readonly phoneNumber?: string;
  readonly pictureType: PictureType;
  readonly printQrInTerminal: boolean;
  /** Injected for tests; defaults to Baileys' makeWASocket. */
  readonly makeSocket?: SocketFactory;
  /** Injected for tests; defaults to asking web.whatsapp.com, with a pinned fallback. */
  readonly fetchVersion?: VersionFetcher;
  /** Baileys' own log level; it logs every frame at debug. */
  readonly baileysLogLevel?: string;
  /** Only for tests that point a real socket at a loopback port. */
  readonly webSocketUrl?: string;
}

// Baileys announces 'open' before it has replayed what arrived while we were away; if its
// "pending notifications received" never comes, announce 'open' after this long anyway.
const PENDING_NOTIFICATIONS_TIMEOUT_MS = 60_000;
// Pairing rounds (one socket's QR codes or pairing code, ~2.7 min each) that may expire unused
// before pairing stops and waits for the user: enough for someone who walked away to come back
// (about 10 minutes in all), few enough that an add-on nobody pairs does not open ~500
// registration connections a day, nor push a code notification to the phone each time.
export const MAX_PAIRING_ROUNDS = 3;
// Wait before the next pairing round, multiplied by PAIRING_ROUND_BACKOFF_FACTOR per expired round.
export const PAIRING_ROUND_BASE_DELAY_MS = 30_000;
export const PAIRING_ROUND_BACKOFF_FACTOR = 4;
// WhatsApp answers a connection attempt within seconds; a hung TLS handshake is a failure.
const CONNECT_TIMEOUT_MS = 20_000;
// Baileys' own queries (pre-keys, app state) use this; picture queries pass their own timeout.
const DEFAULT_QUERY_TIMEOUT_MS = 60_000;
// How the linked device appears in the phone's "Linked devices" list: the first element is the
// registration's `DeviceProps.os` (rc14 lib/Utils/validate-connection.js
// `generateRegistrationNode`), the second picks the platform type (Chrome). With a QR code the
// name can be ours. A pairing code also sends `companion_platform_display` = "<browser> (<os>)"
// (rc14 lib/Socket/socket.js `requestPairingCode`), and WhatsApp answers a non-canonical os there
// with 400 and a dead code (Baileys issue #2560), so pairing codes keep Baileys' own Ubuntu/Chrome.
export const QR_BROWSER: WABrowserDescription = ['Home Assistant (WhatsApp Avatars)', 'Chrome', '1.0'];
export const PAIRING_CODE_BROWSER: WABrowserDescription = Browsers.ubuntu('Chrome');

/**
 * Baileys' own signal repository, but its LID store gets a PN → LID lookup that asks nobody.
 * rc14 lib/Socket/socket.js passes `pnFromLIDUSync` (a USync IQ, `withContext('background')`) as
 * `pnToLIDFunc`; lib/Signal/lid-mapping.js calls it for every phone number without a stored LID
 * (from lib/Utils/decode-wa-message.js `getDecryptionJid` on each message, process-message.js
 * `storeTcTokensFromHistorySync`, messages-recv.js token notifications). Without it an unknown
 * mapping is simply unknown: a message is decrypted under the phone number, as before LIDs, and
 * the mapping is still learned from the envelope (`storeMappingFromEnvelope`) and history syncs.
 * This device sends no messages, the only path that needs a fresh mapping.
 */
export function signalRepositoryWithoutUsync(logger: Logger): NonNullable<UserFacingSocketConfig['makeSignalRepository']> {
  return (auth, baileysLogger) =>
    DEFAULT_CONNECTION_CONFIG.makeSignalRepository(auth, baileysLogger, async (jids) => {
      logger.debug({ count: jids.length }, 'Baileys wanted LIDs by USync; not asked: the picture query is the only IQ this worker sends');
      return undefined;
    });
}

export class BaileysAccountConfigError extends Error {
  override readonly name = 'BaileysAccountConfigError';
}

// WhatsApp answers a pairing-code request within seconds once the new socket is up.
export const PAIRING_CODE_WAIT_MS = 60_000;

export class BaileysAccount implements WhatsAppAccount {
  private readonly listeners = new Listeners<AccountEvent>((error, event) => this.options.logger.error({ err: error, event: event.type }, 'an account event listener failed'));
  private readonly mapper: BaileysEventMapper;
  private readonly makeSocket: SocketFactory;
  private readonly fetchVersion: VersionFetcher;
  /** Set by `--phone`, or later by Home Assistant's linking dialog (requestPairingCode). */
  private phoneNumber: string | undefined;
  private readonly baileysLogger;
  private socket: BaileysSocket | undefined;
  private auth: SqliteAuthState | undefined;
  /** Bumped for every socket so late events of an old socket are ignored. */
  private generation = 0;
  private running = false;
  private state: OurConnectionState = 'closed';
  private failures = 0;
  private loggedOutInARow = 0;
  private expiredPairingRounds = 0;
  private pendingNotificationsReceived = false;
  private stopLidMappingWatch: (() => void) | undefined;
  /** JIDs whose last query with a privacy token got no answer: asked without one next time. */
  private readonly tokenlessJids = new Set<string>();
  private version: WAVersion | undefined;
  private cancelRetry: (() => void) | undefined;
  private cancelPendingWait: (() => void) | undefined;
  private socketOpen = false;
  private pairingCodeRequested = false;
  private pairingShown = false;
  /** Home Assistant's dialog waits for the code of the socket it had opened (requestPairingCode). */
  private codeWaiter: { resolve: (code: string) => void; reject: (error: Error) => void; cancelTimer: () => void } | undefined;

  constructor(private readonly options: BaileysAccountOptions) {
    if (!(PICTURE_TYPES as readonly string[]).includes(options.pictureType)) {
      throw new BaileysAccountConfigError(`picture type must be 'image' or 'preview', not '${String(options.pictureType)}'`);
    }
    if (options.phoneNumber !== undefined) {
      const digits = phoneNumberDigits(options.phoneNumber);
      if (digits === undefined) {
        throw new BaileysAccountConfigError(
          `the phone number for pairing must be 7 to 15 digits with the country code and no leading 0 (e.g. 491701234567); got '${maskPhoneNumber(options.phoneNumber)}' with ${options.phoneNumber.replace(/[\s+()-]/g, '').length} characters`,
        );
      }
      this.phoneNumber = digits;
    }
    this.mapper = new BaileysEventMapper(options.logger);
    this.makeSocket = options.makeSocket ?? makeWASocket;
    this.fetchVersion = options.fetchVersion ?? fetchCurrentWaWebVersion;
    this.baileysLogger = makeBaileysLogger(options.logger, options.baileysLogLevel ?? 'warn');
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.settleCodeWaiter({ error: new PairingCodeRefused('not-pairing', 'the worker is stopping') });
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    this.cancelPendingWait?.();
    this.cancelPendingWait = undefined;
    this.stopLidMappingWatch?.();
    this.stopLidMappingWatch = undefined;
    const socket = this.socket;
    this.socket = undefined;
    this.generation++;
    if (socket !== undefined) {
      try {
        await socket.end(undefined);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'closing the WhatsApp socket failed');
      }
    }
    this.setState('closed', 'stopped');
  }

  /**
   * Home Assistant's linking dialog: link by pairing code for `phoneNumber` instead of the QR.
   * A new socket asks for it, as with `--phone` (handleQr): the QR socket registers under our own
   * browser name, and WhatsApp gives a dead code under a non-canonical one (QR_BROWSER above,
   * Baileys issue #2560), so the code is asked by a socket opened with PAIRING_CODE_BROWSER.
   * Resolves with the code WhatsApp issued (Baileys `requestPairingCode(phoneNumber)`).
   */
  async requestPairingCode(phoneNumber: string): Promise<string> {
    const digits = phoneNumberDigits(phoneNumber);
    if (digits === undefined) {
      throw new PairingCodeRefused('invalid-number', `the phone number must be 7 to 15 digits with the country code and no leading 0 (e.g. 491701234567); got ${phoneNumber.replace(/[\s+()-]/g, '').length} characters`);
    }
    if (!this.running || this.state !== 'pairing') {
      throw new PairingCodeRefused('not-pairing', `the account is ${this.running ? this.state : 'stopped'}, not waiting to be linked`);
    }
    this.phoneNumber = digits;
    this.codeWaiter?.reject(new PairingCodeRefused('superseded', 'a newer pairing code was asked for'));
    const issued = new Promise<string>((resolve, reject) => {
      const cancelTimer = this.options.clock.setTimer(() => {
        this.codeWaiter = undefined;
        reject(new PairingCodeRefused('no-code', `WhatsApp issued no pairing code within ${PAIRING_CODE_WAIT_MS / 1000} s`));
      }, PAIRING_CODE_WAIT_MS);
      this.codeWaiter = { resolve, reject, cancelTimer };
    });
    const socket = this.socket;
    this.socket = undefined;
    this.socketOpen = false;
    // The old socket's close is ours, not a disconnect to react to.
    this.generation++;
    if (socket !== undefined) {
      try {
        await socket.end(undefined);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'closing the QR socket for a pairing code failed');
      }
    }
    this.options.logger.info({ phone: maskPhoneNumber(digits) }, 'Home Assistant asked for a pairing code instead of the QR; reconnecting to get one');
    void this.connect();
    return issued;
  }

  private settleCodeWaiter(outcome: { code: string } | { error: Error }): void {
    const waiter = this.codeWaiter;
    if (waiter === undefined) return;
    this.codeWaiter = undefined;
    waiter.cancelTimer();
    if ('code' in outcome) waiter.resolve(outcome.code);
    else waiter.reject(outcome.error);
  }

  onEvent(listener: AccountListener): () => void {
    return this.listeners.add(listener);
  }

  async queryPicture(jid: Jid, knownPictureId: string | undefined, timeoutMs: number, hints?: PictureQueryHints): Promise<PictureQueryOutcome> {
    // Validated once at the edge (parseJid); only its kind is needed here.
    const subject = { jid, kind: jidKind(jid) };
    const socket = this.socket;
    if (socket === undefined || !this.socketOpen) {
      return { kind: 'transient', cause: 'socket-closed', detail: 'not connected to WhatsApp' };
    }
    const community = subject.kind === 'group' && hints?.community === true;
    const privacyToken = subject.kind === 'contact' ? await this.privacyToken(socket, subject.jid) : undefined;
    const outcome = await queryPicture(
      socket,
      { jid: subject.jid, pictureType: this.options.pictureType, knownPictureId, privacyToken, community },
      timeoutMs,
      hints?.querySent,
    );
    this.notePrivacyTokenOutcome(subject.jid, privacyToken !== undefined, outcome);
    this.options.logger.debug({ jid: maskJid(subject.jid), outcome: outcome.kind, community }, 'picture query answered');
    return outcome;
  }

  // --- connection lifecycle -------------------------------------------------------------------

  private async connect(): Promise<void> {
    if (!this.running) return;
    const generation = ++this.generation;
    this.socketOpen = false;
    this.pairingCodeRequested = false;
    this.pendingNotificationsReceived = false;
    this.mapper.resetForNewConnection();
    this.setState('connecting');
    this.version ??= await resolveWaWebVersion(this.fetchVersion, this.options.logger);
    if (!this.running || generation !== this.generation) return;
    let socket: BaileysSocket;
    try {
      const auth = useSqliteAuthState(this.options.db, this.options.logger);
      this.auth = auth;
      this.forgetUnfinishedPairing(auth);
      this.watchLidMappings(generation, auth);
      socket = this.makeSocket(this.socketConfig(auth, this.version));
    } catch (error) {
      this.handleClose(generation, error);
      return;
    }
    this.socket = socket;
    socket.ev.process(async (events) => {
      if (generation !== this.generation) return;
      try {
        await this.handleEvents(generation, socket, events);
      } catch (error) {
        // An event we could not map must not take the connection down; the next batch may be fine.
        this.options.logger.error({ err: error }, 'handling a WhatsApp event failed');
      }
    });
  }

  private socketConfig(auth: SqliteAuthState, version: WAVersion): UserFacingSocketConfig {
    return {
      auth: { creds: auth.state.creds, keys: makeCacheableSignalKeyStore(auth.state.keys, this.baileysLogger) },
      version,
      browser: this.phoneNumber === undefined ? QR_BROWSER : PAIRING_CODE_BROWSER,
      makeSignalRepository: signalRepositoryWithoutUsync(this.options.logger),
      logger: this.baileysLogger,
      ...(this.options.webSocketUrl === undefined ? {} : { waWebSocketUrl: this.options.webSocketUrl }),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      defaultQueryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS,
      // Stay "offline" so the phone keeps getting its notifications.
      markOnlineOnConnect: false,
      // Contacts and recent chats are all we need; the full message history is not.
      syncFullHistory: false,
      // Baileys 7 deprecates its own QR printing; this account prints the QR itself.
      printQRInTerminal: false,
      // This device never sends messages: no retries, no link previews, no own-message events.
      emitOwnEvents: false,
      generateHighQualityLinkPreview: false,
    };
  }

  private async handleEvents(generation: number, socket: BaileysSocket, events: Partial<BaileysEventMap>): Promise<void> {
    if (events['creds.update'] !== undefined) this.auth?.saveCreds();
    const update = events['connection.update'];
    if (update !== undefined) await this.handleConnectionUpdate(generation, socket, update);
    if (generation !== this.generation) return;
    for (const event of this.mapper.map(events)) {
      // The history's pairs are in the key rows by now (process-message.js stores them before the
      // history is emitted): join them to the contacts just stored, before the sweep queues anyone.
      if (event.type === 'history-synced') this.emitStoredLidMappings(this.auth?.readLidMappings() ?? []);
      this.listeners.emit(event);
    }
  }

  private async handleConnectionUpdate(generation: number, socket: BaileysSocket, update: Partial<ConnectionState>): Promise<void> {
    if (update.qr !== undefined && update.qr !== '') await this.handleQr(generation, socket, update.qr);
    if (update.connection === 'open') this.handleOpen(generation, socket);
    if (update.receivedPendingNotifications === true && generation === this.generation) {
      // rc14 lib/Socket/socket.js: `CB:success` awaits pre-key upload, the passive IQ and a key
      // digest before it emits 'open', while `CB:ib,,offline` may be handled in between: the
      // "pending notifications received" can come first. It is kept, not lost.
      this.pendingNotificationsReceived = true;
      if (this.socketOpen) this.announceOpen(generation, socket);
    }
    if (update.connection === 'close') this.handleClose(generation, update.lastDisconnect?.error);
  }

  private async handleQr(generation: number, socket: BaileysSocket, qr: string): Promise<void> {
    if (this.phoneNumber === undefined) {
      const detail = 'scan the QR code with WhatsApp on the phone: Settings → Linked devices → Link a device';
      if (!this.pairingShown) this.options.logger.info(detail);
      this.pairingShown = true;
      this.setState('pairing', detail);
      this.listeners.emit({ type: 'pairing', qr });
      if (this.options.printQrInTerminal && process.stdout.isTTY) qrcodeTerminal.generate(qr, { small: true });
      return;
    }
    // A QR event means the socket is ready to register; a pairing code is asked for once per socket.
    if (this.pairingCodeRequested || socket.authState.creds.registered) return;
    this.pairingCodeRequested = true;
    try {
      const code = await socket.requestPairingCode(this.phoneNumber);
      if (generation !== this.generation) return;
      this.pairingShown = true;
      const shown = code.length === 8 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
      // The code is short-lived and useless without the phone; the log is where a headless user finds it.
      const detail = `enter the code ${shown} in WhatsApp on the phone ${maskPhoneNumber(this.phoneNumber)}: Linked devices → Link a device → Link with phone number instead`;
      this.options.logger.info(detail);
      this.setState('pairing', detail);
      this.listeners.emit({ type: 'pairing', code });
      this.settleCodeWaiter({ code });
    } catch (error) {
      this.pairingCodeRequested = false;
      this.settleCodeWaiter({ error: new PairingCodeRefused('no-code', `WhatsApp refused to issue a pairing code: ${error instanceof Error ? error.message : String(error)}`) });
      this.options.logger.error({ err: error }, 'WhatsApp refused to issue a pairing code; retrying with the next connection');
    }
  }

  private handleOpen(generation: number, socket: BaileysSocket): void {
    if (generation !== this.generation) return;
    this.socketOpen = true;
    this.failures = 0;
    this.loggedOutInARow = 0;
    this.expiredPairingRounds = 0;
    if (this.pairingShown) {
      this.pairingShown = false;
      this.listeners.emit({ type: 'pairing' });
    }
    const me = socket.authState.creds.me?.id;
    this.emitStoredLidMappings(this.auth?.readLidMappings() ?? []);
    if (this.pendingNotificationsReceived) {
      this.options.logger.info({ account: me === undefined ? undefined : maskJid(me) }, 'connected to WhatsApp');
      this.announceOpen(generation, socket);
      return;
    }
    this.options.logger.info({ account: me === undefined ? undefined : maskJid(me) }, 'connected to WhatsApp; waiting for the messages that arrived while offline');
    this.cancelPendingWait?.();
    this.cancelPendingWait = this.options.clock.setTimer(() => {
      this.options.logger.warn('WhatsApp did not finish replaying pending notifications in time; continuing anyway');
      this.announceOpen(generation, socket);
    }, PENDING_NOTIFICATIONS_TIMEOUT_MS);
  }

  private announceOpen(generation: number, socket: BaileysSocket): void {
    if (generation !== this.generation || this.state === 'open') return;
    this.cancelPendingWait?.();
    this.cancelPendingWait = undefined;
    this.setState('open');
    if ((socket.authState.creds.accountSyncCounter ?? 0) > 0) {
      for (const event of this.mapper.historyFromEarlierConnection()) this.listeners.emit(event);
    }
  }

  private handleClose(generation: number, error: unknown): void {
    if (generation !== this.generation) return;
    this.socketOpen = false;
    this.socket = undefined;
    this.cancelPendingWait?.();
    this.cancelPendingWait = undefined;
    if (!this.running) return;
    const action = classifyDisconnect(error);
    this.generation++;
    this.react(action);
  }

  private react(action: DisconnectAction): void {
    const { logger, clock } = this.options;
    if (action.kind === 'restart') {
      logger.info(action.detail);
      void this.connect();
      return;
    }
    if (action.kind === 'pairing-expired') {
      this.handlePairingExpired(action.detail);
      return;
    }
    if (action.kind === 'logged-out') {
      this.loggedOutInARow++;
      this.auth?.clear();
      this.pairingShown = false;
      logger.warn(`${action.detail}; the stored session was wiped and a new pairing starts`);
      this.setState('logged-out', action.detail);
      // Pair again at once; should WhatsApp keep refusing a fresh session, back off instead.
      if (this.loggedOutInARow <= 1) void this.connect();
      else this.scheduleReconnect(reconnectDelayMs('backoff', this.loggedOutInARow, this.options.random), action.detail);
      return;
    }
    // Look the WhatsApp Web version up again before the next attempt: it may have moved on.
    if (action.staleVersion === true) this.version = undefined;
    this.failures++;
    const delayMs = Math.max(reconnectDelayMs(action.pace, this.failures, this.options.random), action.waitAtLeastMs ?? 0);
    const retryAt = clock.now() + delayMs;
    const detail = `${action.detail}; retrying at ${formatClockTime(retryAt)}`;
    if (action.pace === 'banned') logger.error({ failures: this.failures }, detail);
    else logger.warn({ failures: this.failures }, detail);
    // The reason and the time apart: Home Assistant shows the time in its own zone.
    this.setState('closed', action.detail, retryAt);
    this.scheduleReconnect(delayMs, detail);
  }

  private scheduleReconnect(delayMs: number, reason: string): void {
    this.cancelRetry?.();
    this.cancelRetry = this.options.clock.setTimer(() => {
      this.cancelRetry = undefined;
      void this.connect().catch((error: unknown) => {
        this.options.logger.error({ err: error, after: reason }, 'reconnecting to WhatsApp failed');
      });
    }, delayMs);
  }

  // --- helpers --------------------------------------------------------------------------------

  private setState(state: OurConnectionState, detail?: string, retryAt?: number): void {
    this.state = state;
    this.listeners.emit({ type: 'connection', state, ...(detail === undefined ? {} : { detail }), ...(retryAt === undefined ? {} : { retryAt }) });
  }

  private isSelf(socket: BaileysSocket, jid: string): boolean {
    const me = socket.authState.creds.me;
    const bare = (id: string | undefined) => id?.replace(/:[0-9]+@/, '@');
    return bare(me?.id) === jid || bare(me?.lid) === jid;
  }

  /**
   * WhatsApp Web sends a contact's privacy token with picture queries, as Baileys 7 does (rc14
   * lib/Socket/chats.js `profilePictureUrl`): only while AB prop 9666 allows it, never for our own
   * JID ("including tctoken for own JID causes the server to never respond", same place), and
   * never for a JID whose last query with a token went unanswered.
   */
  private async privacyToken(socket: BaileysSocket, jid: string): Promise<BinaryNode[] | undefined> {
    if (socket.serverProps?.profilePicPrivacyToken === false) return undefined;
    if (this.isSelf(socket, jid) || this.tokenlessJids.has(jid)) return undefined;
    return storedPrivacyToken(socket.authState.keys, jid, this.options.clock.now());
  }

  /**
   * A query with a token that times out is asked without the token next time. Why: the server
   * does not refuse a token it will not honour, it stays silent (rc14 chats.js comment above;
   * Baileys issues #2498 and #2550: picture IQs with a tctoken never answered, answered again
   * without it). A silent query costs a whole timeout and a retry each time; one tokenless try
   * settles it. A `hidden` answer without the token puts the token back for the try after.
   */
  private notePrivacyTokenOutcome(jid: string, sentToken: boolean, outcome: PictureQueryOutcome): void {
    if (sentToken && outcome.kind === 'transient' && outcome.cause === 'timeout') {
      this.tokenlessJids.add(jid);
      this.options.logger.info({ jid: maskJid(jid) }, 'a picture query with a privacy token went unanswered; the next one goes without it');
    } else if (!sentToken && outcome.kind === 'hidden') {
      this.tokenlessJids.delete(jid);
    }
  }

  // --- pairing --------------------------------------------------------------------------------

  /**
   * Baileys' requestPairingCode stores the phone number as `creds.me` before anything is linked
   * (rc14 lib/Socket/socket.js), and the next socket then sends a login instead of a registration
   * (`creds.me` decides, socket.js `validateConnection`), which WhatsApp answers with 401: an
   * expired code looked like a logout. A linked device has `creds.account`, the signed device
   * identity of the pair-success (rc14 lib/Utils/validate-connection.js
   * `configureSuccessfulPairing`); `registered` is no sign, as only the pairing-code flow sets it
   * (lib/Socket/messages-recv.js). Without an account, `me` is forgotten instead.
   */
  private forgetUnfinishedPairing(auth: SqliteAuthState): void {
    const creds = auth.state.creds;
    if (creds.account !== undefined || creds.me === undefined) return;
    creds.me = undefined;
    creds.pairingCode = undefined;
    auth.saveCreds();
  }

  private handlePairingExpired(detail: string): void {
    const { logger } = this.options;
    this.expiredPairingRounds++;
    this.pairingShown = false;
    this.listeners.emit({ type: 'pairing' });
    if (this.expiredPairingRounds >= MAX_PAIRING_ROUNDS) {
      const stopped =
        `${detail}; pairing stopped after ${this.expiredPairingRounds} unused rounds. ` +
        'Restart the worker (the app) to pair again, and have the phone ready: WhatsApp → Settings → Linked devices → Link a device';
      logger.warn(stopped);
      this.setState('pairing-stopped', stopped);
      return;
    }
    const delayMs = PAIRING_ROUND_BASE_DELAY_MS * PAIRING_ROUND_BACKOFF_FACTOR ** (this.expiredPairingRounds - 1);
    const retryAt = this.options.clock.now() + delayMs;
    const next = `${detail}; a new one at ${formatClockTime(retryAt)} (round ${this.expiredPairingRounds + 1} of ${MAX_PAIRING_ROUNDS})`;
    logger.info(next);
    this.setState('closed', next, retryAt);
    this.scheduleReconnect(delayMs, next);
  }

  // --- LID ↔ phone-number pairs ---------------------------------------------------------------

  /** Pairs Baileys stores while this socket runs (history syncs, messages, USync answers). */
  private watchLidMappings(generation: number, auth: SqliteAuthState): void {
    this.stopLidMappingWatch?.();
    this.stopLidMappingWatch = auth.onLidMappingsStored((mappings) => {
      if (generation === this.generation) this.emitStoredLidMappings(mappings);
    });
  }

  private emitStoredLidMappings(mappings: readonly StoredLidMapping[]): void {
    const pairs = this.mapper.storedMappingContacts(mappings);
    if (pairs.length > 0) this.listeners.emit({ type: 'identities', pairs });
  }
}
