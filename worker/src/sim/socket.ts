// SIMULATION ONLY: a Baileys 7.0.0-rc14 socket whose far end is the simulated WhatsApp
// (sim/whatsapp.ts) instead of WhatsApp's servers. The real BaileysAccount drives it through the
// same `BaileysSocket` surface as Baileys' own makeWASocket, so every IQ the adapter causes
// (including the USync that Baileys' LIDMappingStore sends on a miss) reaches the simulation and
// is counted. Baileys' real parts are used where they decide behaviour: its event buffer
// (makeEventBuffer), its key-store transactions (addTransactionCapability), its LIDMappingStore,
// its QR payload (buildPairingQRData) and its error check (assertNodeErrorFree).
//
// The sequence of events follows Baileys 7.0.0-rc14 lib/Socket/socket.js:
//   - on the next tick: `ev.buffer()` when creds.me is set, then connection.update 'connecting';
//   - registration (no creds.me): a pair-device stanza with QR refs, one QR per ref, the first
//     living 60 s and the next 20 s each; when they run out `end(Boom('QR refs attempts ended',
//     408))`: 6 refs make the ~2.7 min window of a pairing code too. A scan or an entered code
//     gives pair-success: creds.update (me, platform), connection.update {isNewLogin}, then the
//     server's stream error 515 (restart required);
//   - login: CB:success sends pre-key count, passive and digest IQs, then creds.update {me.lid},
//     connection.update 'open', and the own LID pair goes into the key store; CB:ib,,offline
//     flushes the buffer and emits receivedPendingNotifications (it may come before 'open', as
//     the success handler awaits its IQs first).

import { Boom } from '@hapi/boom';
import {
  addTransactionCapability,
  assertNodeErrorFree,
  buildPairingQRData,
  DisconnectReason,
  getBinaryNodeChild,
  proto,
  WAMessageStubType,
  makeEventBuffer,
  type BaileysEventMap,
  type BinaryNode,
  type Chat,
  type Contact,
  type GroupMetadata,
  type LIDMapping,
  type SignalKeyStoreWithTransaction,
  type UserFacingSocketConfig,
  type WAMessage,
} from '@whiskeysockets/baileys';
import { LIDMappingStore } from '@whiskeysockets/baileys/lib/Signal/lid-mapping.js';
import type { Logger } from 'pino';
import { TimerGroup, type Clock } from '../clock.js';
import type { BaileysSocket } from '../wa/baileys/account.js';
import type { SimulatedWhatsApp } from './whatsapp.js';

// socket.js: `qrTimeout || 60000` for the first QR, `qrTimeout || 20000` for each next one.
const FIRST_QR_MS = 60_000;
const NEXT_QR_MS = 20_000;
// WhatsApp sends six refs in its pair-device stanza: 60 s + 5 × 20 s ≈ 2.7 min to link.
const QR_REFS = 6;
// Defaults/index.js DEFAULT_CONNECTION_CONFIG.transactionOpts.
const TRANSACTION_OPTS = { maxCommitRetries: 10, delayBetweenTriesMs: 3000 };
// Defaults/index.js defaultQueryTimeoutMs, for queries sent without their own timeout.
const DEFAULT_QUERY_TIMEOUT_MS = 60_000;
// The server restarts the stream shortly after pair-success; the pending notifications follow open.
const RESTART_AFTER_PAIRING_MS = 50;
const OFFLINE_AFTER_OPEN_MS = 20;
const SIMULATED_DEVICE = 7;
// A pairing code sends `companion_platform_display` = "<browser> (<os>)" (rc14 lib/Socket/socket.js
// `requestPairingCode`); WhatsApp answers an os it does not know with 400 and the code never links
// (Baileys issue #2560). The names it knows, as Baileys' own `Browsers` give them (rc14
// lib/Utils/browser-utils.js); Baileys' default browser is `Browsers.macOS` (lib/Defaults).
const PAIRING_CODE_OS_NAMES = new Set(['Ubuntu', 'Mac OS', 'Windows', 'Baileys']);

export interface SimulatedSocketOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** 1-based number of this connection in this process. */
  readonly connection: number;
  /** Whether this connection's "pending notifications received" comes before 'open'. */
  readonly pendingBeforeOpen: boolean;
}

interface PendingQuery {
  readonly drop: (code: number) => void;
  readonly cancelAnswer: () => void;
}

export class SimulatedBaileysSocket implements BaileysSocket {
  readonly ev: ReturnType<typeof makeEventBuffer>;
  readonly authState: { readonly creds: UserFacingSocketConfig['auth']['creds']; readonly keys: SignalKeyStoreWithTransaction };
  readonly signalRepository: { readonly lidMapping: LIDMappingStore };
  /** Pairing-code requests received, for tests. */
  readonly pairingCodeRequests: string[] = [];
  private readonly lifecycle: TimerGroup;
  // Baileys' query timeouts are their own timers: `end()` does not cancel them (socket.js).
  private readonly queryTimers: TimerGroup;
  private readonly pending = new Set<PendingQuery>();
  private closed = false;
  private opened = false;

  constructor(
    private readonly server: SimulatedWhatsApp,
    private readonly config: UserFacingSocketConfig,
    private readonly options: SimulatedSocketOptions,
  ) {
    const { logger } = options;
    this.ev = makeEventBuffer(logger);
    this.lifecycle = new TimerGroup(options.clock);
    this.queryTimers = new TimerGroup(options.clock);
    const keys = addTransactionCapability(config.auth.keys, logger, config.transactionOpts ?? TRANSACTION_OPTS);
    this.authState = { creds: config.auth.creds, keys };
    // socket.js passes pnFromLIDUSync: a USync query with the LID protocol, through `query`.
    this.signalRepository = { lidMapping: new LIDMappingStore(keys, logger, (pns) => this.lidsFromUsync(pns)) };
    // socket.js: every credential update is merged into the creds object first.
    this.ev.on('creds.update', (update) => Object.assign(this.authState.creds, update));
    // chats.js: a lid-mapping.update is stored in the key store.
    this.ev.on('lid-mapping.update', (mapping) => {
      this.signalRepository.lidMapping.storeLIDPNMappings([mapping]).catch((error: unknown) => logger.warn({ err: error }, 'simulated socket: storing a LID pair failed'));
    });
    process.nextTick(() => {
      if (this.closed) return;
      const loggedIn = this.authState.creds.me?.id !== undefined;
      if (loggedIn) this.ev.buffer();
      this.ev.emit('connection.update', { connection: 'connecting', receivedPendingNotifications: false, qr: undefined });
      this.lifecycle.after(this.server.behaviour.connectDelayMs, () => (loggedIn ? void this.login() : this.register()));
    });
  }

  get isOpen(): boolean {
    return this.opened && !this.closed;
  }

  async query(node: BinaryNode, timeoutMs?: number): Promise<unknown> {
    // socket.js sendRawMessage: nothing is sent on a closed WebSocket.
    if (this.closed) throw new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed });
    node.attrs.id ??= `sim.${this.options.connection}.${Math.random().toString(36).slice(2, 10)}`;
    const reply = this.server.receive(node, this);
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const cancels: (() => void)[] = [];
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        for (const cancel of cancels) cancel();
        this.pending.delete(entry);
        finish();
      };
      const deliver = () =>
        settle(() => {
          try {
            // socket.js query: `assertNodeErrorFree(result)` → Boom(text, { data: code }).
            if (reply !== undefined) assertNodeErrorFree(reply);
            resolve(reply);
          } catch (error) {
            reject(error);
          }
        });
      const entry: PendingQuery = {
        // waitForMessage: ws 'close' hands its close code to every pending query.
        drop: (code) => settle(() => reject(code)),
        cancelAnswer: () => undefined,
      };
      this.pending.add(entry);
      const cap = this.server.behaviour.maxTimeoutWaitMs;
      if (timeoutMs !== undefined && timeoutMs > 0) {
        // promiseTimeout (Utils/generics.js) rejects Boom('Timed Out', 408) before waitForMessage's own timer.
        cancels.push(this.queryTimers.after(Math.min(timeoutMs, cap), () => settle(() => reject(new Boom('Timed Out', { statusCode: DisconnectReason.timedOut, data: { stack: '' } })))));
      } else {
        // Without a timeout, waitForMessage resolves `undefined` after defaultQueryTimeoutMs.
        const wait = this.config.defaultQueryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
        cancels.push(this.queryTimers.after(Math.min(wait, cap), () => settle(() => resolve(undefined))));
      }
      if (reply === undefined) return;
      const latency = this.server.behaviour.latencyMs;
      if (latency <= 0) {
        deliver();
        return;
      }
      const cancelAnswer = this.lifecycle.after(latency, deliver);
      cancels.push(cancelAnswer);
      (entry as { cancelAnswer: () => void }).cancelAnswer = cancelAnswer;
    });
  }

  async requestPairingCode(phoneNumber: string, customPairingCode?: string): Promise<string> {
    if (this.closed) throw new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed });
    this.pairingCodeRequests.push(phoneNumber);
    // socket.js requestPairingCode: a Crockford code, creds.me set to the number, one `md` IQ.
    const code = customPairingCode ?? crockfordCode(this.options.connection, phoneNumber);
    this.authState.creds.pairingCode = code;
    this.authState.creds.me = { id: `${phoneNumber}@s.whatsapp.net`, name: '~' };
    this.ev.emit('creds.update', this.authState.creds);
    this.server.countLoginIq('md link_code_companion_reg');
    const os = this.config.browser?.[0] ?? 'Mac OS';
    if (this.server.phone.mode === 'scans' && PAIRING_CODE_OS_NAMES.has(os)) {
      this.lifecycle.after(this.server.phone.codeAfterMs ?? this.server.phone.afterMs, () => {
        // messages-recv.js link_code_companion_reg: the phone entered the code.
        this.authState.creds.registered = true;
        this.ev.emit('creds.update', this.authState.creds);
        this.pairSuccess(phoneNumber);
      });
    }
    return code;
  }

  /** Ends the socket as socket.js `end` does: a close update, then the emitter is destroyed. */
  end(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.opened = false;
    this.lifecycle.cancelAll();
    // end() removes the WebSocket's close listeners: pending queries only end by their timeouts.
    for (const entry of this.pending) entry.cancelAnswer();
    this.ev.emit('connection.update', { connection: 'close', lastDisconnect: { error, date: new Date(this.options.clock.now()) } });
    this.ev.removeAllListeners('connection.update');
    this.ev.destroy();
  }

  /** The network drops: pending queries reject with the WebSocket close code, then the socket ends. */
  dropConnection(closeCode = 1006): void {
    if (this.closed) return;
    for (const entry of [...this.pending]) entry.drop(closeCode);
    this.end(new Boom('Connection Terminated', { statusCode: DisconnectReason.connectionClosed }));
  }

  /**
   * messages-recv.js, notification type 'picture': contacts.update with imgUrl 'changed'/'removed',
   * and for a group also a GROUP_CHANGE_ICON stub message (new id in its parameters), both through
   * the buffered upsertMessage.
   */
  announcePictureChange(jid: string, removed: boolean): void {
    if (!this.isOpen) return;
    this.ev.buffer();
    this.ev.emit('contacts.update', [{ id: jid, imgUrl: removed ? 'removed' : 'changed' }]);
    if (jid.endsWith('@g.us')) {
      const picture = this.server.population.pictureAfterQueries(jid, this.server.queriesAnswered);
      const stub = {
        key: { remoteJid: jid, fromMe: false, id: `SIMICON${this.server.queriesAnswered}` },
        messageTimestamp: Math.floor(this.options.clock.now() / 1000),
        messageStubType: WAMessageStubType.GROUP_CHANGE_ICON,
        messageStubParameters: !removed && picture?.kind === 'picture' ? [picture.pictureId] : [],
      } as WAMessage;
      this.ev.emit('messages.upsert', { messages: [stub], type: 'append' });
    }
    this.ev.flush();
  }

  // --- registration ---------------------------------------------------------------------------

  private register(): void {
    const { creds } = this.authState;
    let refs = QR_REFS;
    let lifetimeMs = FIRST_QR_MS;
    const nextQr = () => {
      if (this.closed) return;
      if (refs === 0) {
        this.end(new Boom('QR refs attempts ended', { statusCode: DisconnectReason.timedOut }));
        return;
      }
      const ref = `SIMREF${this.options.connection}-${QR_REFS - refs + 1}`;
      refs--;
      const qr = buildPairingQRData(
        ref,
        Buffer.from(creds.noiseKey.public).toString('base64'),
        Buffer.from(creds.signedIdentityKey.public).toString('base64'),
        creds.advSecretKey,
        this.config.browser ?? ['Simulation', 'Chrome', '1'],
      );
      this.ev.emit('connection.update', { qr });
      this.lifecycle.after(lifetimeMs, nextQr);
      lifetimeMs = NEXT_QR_MS;
    };
    nextQr();
    // A QR is scanned; a pairing code is entered after requestPairingCode (see there).
    if (this.server.phone.mode === 'scans') {
      const afterMs = this.server.phone.afterMs;
      this.lifecycle.after(afterMs, () => {
        if (this.pairingCodeRequests.length === 0) this.pairSuccess(this.server.accountNumber);
      });
    }
  }

  private pairSuccess(number: string): void {
    if (this.closed) return;
    // validate-connection.js configureSuccessfulPairing: account (the signed device identity), me
    // (device JID and LID) and platform, in one creds.update (socket.js 'CB:iq,,pair-success').
    this.lifecycle.cancelAll();
    const me = { id: `${number}:${SIMULATED_DEVICE}@s.whatsapp.net`, name: 'Simulated phone', lid: `${ownLid(number)}:${SIMULATED_DEVICE}@lid` };
    const account = { details: new Uint8Array([1]), accountSignatureKey: new Uint8Array(32), accountSignature: new Uint8Array(64), deviceSignature: new Uint8Array(64) };
    this.ev.emit('creds.update', { account, me, platform: 'android' });
    this.ev.emit('connection.update', { isNewLogin: true, qr: undefined });
    this.lifecycle.after(RESTART_AFTER_PAIRING_MS, () => {
      // generics.js getErrorCodeFromStreamError: code 515 is "restart required".
      this.end(new Boom('Stream Errored (restart required)', { statusCode: DisconnectReason.restartRequired }));
    });
  }

  // --- login ----------------------------------------------------------------------------------

  private async login(): Promise<void> {
    const me = this.authState.creds.me;
    if (me?.id === undefined || !me.id.includes(':')) {
      // A number set by requestPairingCode but never linked: WhatsApp fails the login (CB:failure).
      this.end(new Boom('Connection Failure', { statusCode: DisconnectReason.loggedOut }));
      return;
    }
    // CB:success: uploadPreKeysToServerIfRequired, sendPassiveIq('active'), digestKeyBundle.
    this.server.countLoginIq('encrypt count');
    this.server.countLoginIq('passive');
    this.server.countLoginIq('encrypt digest');
    if (this.options.pendingBeforeOpen) this.offline();
    const number = me.id.split(/[:@]/)[0]!;
    this.ev.emit('creds.update', { me: { ...me, lid: me.lid ?? `${ownLid(number)}:${SIMULATED_DEVICE}@lid` } });
    this.opened = true;
    this.ev.emit('connection.update', { connection: 'open' });
    await this.signalRepository.lidMapping.storeLIDPNMappings([{ lid: `${ownLid(number)}@lid`, pn: `${number}@s.whatsapp.net` }]);
    if (this.closed) return;
    if (this.options.pendingBeforeOpen) this.deliverHistory();
    else
      this.lifecycle.after(OFFLINE_AFTER_OPEN_MS, () => {
        this.offline();
        this.deliverHistory();
      });
  }

  /** CB:ib,,offline: the buffered events are released, then receivedPendingNotifications. */
  private offline(): void {
    if (this.closed) return;
    if (this.ev.isBuffering()) this.ev.flush();
    this.ev.emit('connection.update', { receivedPendingNotifications: true });
  }

  // --- what arrives after login ---------------------------------------------------------------

  /**
   * The history sync, chunk by chunk, as process-message.js handles a HISTORY_SYNC_NOTIFICATION:
   * the chunk's LID pairs are stored first (`lidMapping.storeLIDPNMappings`, which writes
   * `lid-mapping` rows `{<pn user>: <lid user>, <lid user>_reverse: <pn user>}`), then
   * messaging-history.set is emitted inside upsertMessage, a buffered function (chats.js): the
   * buffer's consolidation (event-buffer.js) rebuilds the event without `lidPnMappings`.
   */
  private deliverHistory(): void {
    const population = this.server.population;
    const batch = Math.max(1, this.server.behaviour.historyBatchSize);
    const now = this.options.clock.now();
    const contacts = population.subjects.filter((subject) => subject.kind === 'contact');
    const withChat = population.subjects.filter((subject) => subject.chat !== undefined);
    const chunks: { contacts: typeof contacts; chats: typeof withChat }[] = [];
    for (let index = 0; index < contacts.length; index += batch) chunks.push({ contacts: contacts.slice(index, index + batch), chats: [] });
    for (let index = 0; index < withChat.length; index += batch) chunks.push({ contacts: [], chats: withChat.slice(index, index + batch) });
    const deliver = async (index: number): Promise<void> => {
      if (this.closed) return;
      const chunk = chunks[index];
      if (chunk === undefined) {
        this.afterHistory();
        return;
      }
      const pairs: LIDMapping[] = chunk.contacts.flatMap((subject) => (subject.lid?.delivery === 'history' ? [{ lid: subject.lid.jid, pn: subject.jid }] : []));
      await this.signalRepository.lidMapping.storeLIDPNMappings(pairs);
      if (this.closed) return;
      const historyContacts: Contact[] = chunk.contacts.map((subject) => compact({ id: subject.jid, name: subject.name, notify: subject.notify }));
      const chats: Chat[] = chunk.chats.map((subject) =>
        compact({
          id: subject.jid,
          name: subject.name,
          conversationTimestamp: Math.floor((now - subject.chat!.lastActivityAgoMs) / 1000),
          lidJid: subject.lid?.delivery === 'history' ? subject.lid.jid : undefined,
        }) as Chat,
      );
      const last = index === chunks.length - 1;
      const history: BaileysEventMap['messaging-history.set'] = {
        chats,
        contacts: historyContacts,
        messages: [],
        lidPnMappings: pairs,
        syncType: index === 0 ? proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP : proto.HistorySync.HistorySyncType.RECENT,
        progress: last ? 100 : Math.floor(((index + 1) / chunks.length) * 100),
        isLatest: true,
      };
      this.ev.buffer();
      this.ev.emit('messaging-history.set', history);
      this.ev.flush();
      this.lifecycle.after(this.server.behaviour.historyBatchGapMs, () => void deliver(index + 1));
    };
    void deliver(0);
  }

  private afterHistory(): void {
    const population = this.server.population;
    // messages-recv.js NotificationLinkedProfilesUpdates: lid-mapping.update, stored as it arrives.
    for (const subject of population.subjects) {
      if (subject.lid?.delivery === 'notification') this.ev.emit('lid-mapping.update', { lid: subject.lid.jid, pn: subject.jid });
    }
    // groups.js: a "dirty groups" notification makes Baileys fetch every group (one w:g2 IQ) and
    // emit groups.update with their metadata, where `isCommunity` marks a community's parent.
    this.server.countLoginIq('w:g2 participating');
    this.server.countLoginIq('urn:xmpp:whatsapp:dirty');
    const groups: Partial<GroupMetadata>[] = population.subjects
      .filter((subject) => subject.kind === 'group')
      .map((subject) => compact({ id: subject.jid, subject: subject.name, isCommunity: subject.community === true }));
    if (groups.length > 0) this.ev.emit('groups.update', groups);
    // Changes that happened before this connection, announced again (at-least-once delivery).
    for (const change of this.server.appliedChanges()) this.announcePictureChange(change.jid, change.removed);
  }

  private async lidsFromUsync(pns: string[]): Promise<LIDMapping[] | undefined> {
    // socket.js pnFromLIDUSync → executeUSyncQuery: <usync context=background><query><lid/></query><list><user jid/></list></usync>.
    const node: BinaryNode = {
      tag: 'iq',
      attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'usync' },
      content: [
        {
          tag: 'usync',
          attrs: { context: 'background', mode: 'query', last: 'true', index: '0' },
          content: [
            { tag: 'query', attrs: {}, content: [{ tag: 'lid', attrs: {} }] },
            { tag: 'list', attrs: {}, content: pns.map((jid) => ({ tag: 'user', attrs: { jid } })) },
          ],
        },
      ],
    };
    // Like Baileys, this query passes no timeout of its own (defaultQueryTimeoutMs applies).
    const result = (await this.query(node)) as BinaryNode | undefined;
    const list = getBinaryNodeChild(getBinaryNodeChild(result, 'usync'), 'list');
    const users = Array.isArray(list?.content) ? list.content : [];
    return users.flatMap((user) => {
      const lid = getBinaryNodeChild(user, 'lid')?.attrs.val;
      return lid === undefined || user.attrs.jid === undefined ? [] : [{ pn: user.attrs.jid, lid }];
    });
  }
}

/** The simulated account's own LID user, fixed by its number. */
function ownLid(number: string): string {
  return `9${number.padStart(14, '0').slice(-14)}`;
}

/** An 8-character code in Crockford's alphabet, as bytesToCrockford gives, fixed per connection. */
function crockfordCode(connection: number, phoneNumber: string): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTVWXYZ';
  let state = (connection * 2_654_435_761 + Number(phoneNumber.slice(-6))) >>> 0;
  let code = '';
  for (let index = 0; index < 8; index++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    code += alphabet[state % alphabet.length];
  }
  return code;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
