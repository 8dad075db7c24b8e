import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Boom } from '@hapi/boom';
import {
  DisconnectReason,
  makeEventBuffer,
  type BinaryNode,
  type ConnectionState,
  type SignalKeyStoreWithTransaction,
  type UserFacingSocketConfig,
  type WAVersion,
} from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../../../src/clock.js';
import { FakeClock } from '../../support/fake-clock.js';
import { openDatabase, type SqliteDatabase } from '../../../src/store/database.js';
import type { AccountEvent } from '../../../src/avatars/ports.js';
import { BaileysAccount, BaileysAccountConfigError, type BaileysAccountOptions, type BaileysSocket } from '../../../src/wa/baileys/account.js';
import { useSqliteAuthState } from '../../../src/wa/baileys/auth-state.js';
import { MAX_PAIRING_ROUNDS, PAIRING_CODE_BROWSER, PAIRING_ROUND_BACKOFF_FACTOR, PAIRING_ROUND_BASE_DELAY_MS, QR_BROWSER } from '../../../src/wa/baileys/account.js';
import { formatClockTime, RECONNECT_BANNED_BASE_DELAY_MS, RECONNECT_BASE_DELAY_MS, RECONNECT_JITTER_RATIO, RECONNECT_SLOW_DELAY_MS } from '../../../src/wa/baileys/disconnect.js';
import { PINNED_WA_WEB_VERSION } from '../../../src/wa/baileys/version.js';
import { testJid } from '../../support/jids.js';

const silent = pino({ level: 'silent' });
const PN = testJid('491701234567@s.whatsapp.net');
const LID = testJid('123456789012345@lid');
// Long enough for the pending notifications fallback timer of the account (60 s) to fire.
const PAST_PENDING_WAIT_MS = 61_000;

/** Lets the account's async event handlers run: they await the SQLite store and the fake socket. */
async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve));
}

/** A socket made of Baileys' real event buffer, driven by the test instead of WhatsApp. */
class FakeSocket implements BaileysSocket {
  readonly ev = makeEventBuffer(silent);
  readonly authState: BaileysSocket['authState'];
  readonly queries: { node: BinaryNode; timeoutMs?: number }[] = [];
  readonly pairingRequests: string[] = [];
  serverProps: { profilePicPrivacyToken: boolean } = { profilePicPrivacyToken: true };
  answer: (node: BinaryNode) => Promise<unknown> = async () => undefined;
  ended = false;

  constructor(readonly config: UserFacingSocketConfig) {
    this.authState = { creds: config.auth.creds, keys: config.auth.keys as SignalKeyStoreWithTransaction };
    // Baileys' socket merges every credential update into the creds object before anyone else hears of it.
    this.ev.on('creds.update', (update) => Object.assign(config.auth.creds, update));
  }

  update(update: Partial<ConnectionState>): void {
    this.ev.emit('connection.update', update);
  }

  async query(node: BinaryNode, timeoutMs?: number): Promise<unknown> {
    this.queries.push({ node, timeoutMs });
    return this.answer(node);
  }

  async requestPairingCode(phoneNumber: string): Promise<string> {
    this.pairingRequests.push(phoneNumber);
    return 'ABCD1234';
  }

  /** Ends the socket the way Baileys' `end` does: a close update, then the emitter is gone. */
  end(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.update({ connection: 'close', lastDisconnect: { error, date: new Date() } });
    this.ev.destroy();
  }
}

interface Harness {
  readonly account: BaileysAccount;
  readonly clock: FakeClock;
  readonly db: SqliteDatabase;
  readonly sockets: FakeSocket[];
  readonly events: AccountEvent[];
  socket(): FakeSocket;
  connections(): AccountEvent[];
}

function withAccount(options: Partial<BaileysAccountOptions>, run: (h: Harness) => Promise<void>, onSocket?: (socket: FakeSocket) => void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baileys-account-'));
    const db = openDatabase(dir);
    const clock = new FakeClock();
    const sockets: FakeSocket[] = [];
    const events: AccountEvent[] = [];
    const account = new BaileysAccount({
      db,
      logger: silent,
      clock,
      random: seededRandom(7),
      pictureType: 'image',
      printQrInTerminal: false,
      fetchVersion: async () => {
        throw new Error('getaddrinfo ENOTFOUND web.whatsapp.com');
      },
      makeSocket: (config) => {
        const socket = new FakeSocket(config);
        sockets.push(socket);
        onSocket?.(socket);
        return socket;
      },
      ...options,
    });
    account.onEvent((event) => events.push(event));
    const harness: Harness = {
      account,
      clock,
      db,
      sockets,
      events,
      socket: () => sockets[sockets.length - 1]!,
      connections: () => events.filter((event) => event.type === 'connection'),
    };
    try {
      await run(harness);
    } finally {
      await account.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function networkOutage(): Boom {
  // What Baileys' socket ends with when DNS fails: mapWebSocketError wraps the Node error.
  const cause = Object.assign(new Error('getaddrinfo ENOTFOUND web.whatsapp.com'), { code: 'ENOTFOUND' });
  return new Boom(`WebSocket Error (${cause.message})`, { statusCode: DisconnectReason.timedOut, data: cause });
}

test(
  'QR pairing: connecting → pairing with the QR → open only after pending notifications',
  withAccount({}, async (h) => {
    await h.account.start();
    assert.equal(h.connections(), [{ type: 'connection', state: 'connecting' }]);
    const config = h.socket().config;
    assert.equal(config.version, PINNED_WA_WEB_VERSION, 'no WhatsApp here: the pinned version, not Baileys’ default');
    assert.is(config.markOnlineOnConnect, false);
    assert.is(config.syncFullHistory, false);
    assert.ok(config.logger !== undefined, 'Baileys gets our (masked, quiet) logger');
    h.socket().update({ connection: 'connecting', receivedPendingNotifications: false, qr: undefined });
    h.socket().update({ qr: '2@ref,noise,identity,adv' });
    await settle();
    assert.equal(
      h.events.filter((event) => event.type === 'pairing'),
      [{ type: 'pairing', qr: '2@ref,noise,identity,adv' }],
    );
    assert.is(h.connections().at(-1)?.type === 'connection' && (h.connections().at(-1) as { state: string }).state, 'pairing');
    h.socket().update({ connection: 'open' });
    await settle();
    assert.equal(h.events.at(-1), { type: 'pairing' }, 'the QR is withdrawn once linked');
    assert.not.ok(h.connections().some((event) => (event as { state: string }).state === 'open'), 'not open before pending notifications');
    h.socket().update({ receivedPendingNotifications: true });
    await settle();
    assert.equal(h.connections().at(-1), { type: 'connection', state: 'open' });
  }),
);

test(
  'open is announced anyway when pending notifications never finish',
  withAccount({}, async (h) => {
    await h.account.start();
    h.socket().update({ connection: 'open' });
    await settle();
    h.clock.advance(PAST_PENDING_WAIT_MS);
    assert.equal(h.connections().at(-1), { type: 'connection', state: 'open' });
    h.socket().update({ receivedPendingNotifications: true });
    await settle();
    assert.is(h.connections().filter((event) => (event as { state: string }).state === 'open').length, 1, 'announced once');
  }),
);

test(
  'pairing code: asked for once per socket with the digits of the phone number, then shown',
  withAccount({ phoneNumber: '+49 170 1234567' }, async (h) => {
    await h.account.start();
    h.socket().update({ qr: 'first' });
    h.socket().update({ qr: 'second' });
    await settle();
    assert.equal(h.socket().pairingRequests, ['491701234567']);
    assert.equal(
      h.events.filter((event) => event.type === 'pairing'),
      [{ type: 'pairing', code: 'ABCD1234' }],
    );
    assert.match((h.connections().at(-1) as { detail?: string }).detail ?? '', 'ABCD-1234');
  }),
);

test('a malformed pairing phone number is refused with a clear error', () => {
  const db = {} as SqliteDatabase;
  assert.throws(
    () => new BaileysAccount({ db, logger: silent, clock: new FakeClock(), random: seededRandom(1), pictureType: 'image', printQrInTerminal: false, phoneNumber: '0170-12' }),
    (error: Error) => error instanceof BaileysAccountConfigError && /country code/.test(error.message),
  );
});

test(
  '515 restart required after pairing: a new socket at once, no retry wait',
  withAccount({}, async (h) => {
    await h.account.start();
    // What a QR pair-success stores (rc14 validate-connection.js configureSuccessfulPairing): an
    // account and a device JID, but `registered` stays false in the QR flow.
    const account = { details: Buffer.from('d'), accountSignatureKey: Buffer.from('k'), accountSignature: Buffer.from('s'), deviceSignature: Buffer.from('x') };
    h.socket().ev.emit('creds.update', { account, me: { id: '491701234567:5@s.whatsapp.net', name: 'Ada' }, platform: 'android' });
    await settle();
    h.socket().end(new Boom('Stream Errored (restart required)', { statusCode: DisconnectReason.restartRequired }));
    await settle();
    assert.is(h.sockets.length, 2);
    assert.not.ok(h.connections().some((event) => (event as { retryAt?: number }).retryAt !== undefined));
    assert.equal(h.socket().config.auth.creds.me, { id: '491701234567:5@s.whatsapp.net', name: 'Ada' }, 'the new socket logs in as the linked device');
  }),
);

test(
  'network drops back off exponentially with jitter and say when they retry',
  withAccount({}, async (h) => {
    await h.account.start();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const failedAt = h.clock.now();
      h.socket().end(networkOutage());
      await settle();
      const closed = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
      assert.is(closed.state, 'closed');
      assert.ok(closed.retryAt !== undefined);
      const delay = closed.retryAt! - failedAt;
      const base = RECONNECT_BASE_DELAY_MS * 2 ** (attempt - 1);
      assert.ok(delay >= base * (1 - RECONNECT_JITTER_RATIO) && delay <= base * (1 + RECONNECT_JITTER_RATIO), `attempt ${attempt}: ${delay} ms`);
      assert.is(closed.detail, `cannot reach WhatsApp (getaddrinfo ENOTFOUND web.whatsapp.com); retrying at ${formatClockTime(closed.retryAt!)}`);
      delays.push(delay);
      h.clock.advance(delay - 1);
      await settle();
      assert.is(h.sockets.length, attempt, 'not before the retry time');
      h.clock.advance(1);
      await settle();
      assert.is(h.sockets.length, attempt + 1, 'a new socket at the retry time');
    }
    assert.ok(delays[3]! > delays[0]! * 4, 'the waits grow');
    // A successful connection resets the backoff.
    h.socket().update({ connection: 'open' });
    await settle();
    const failedAt = h.clock.now();
    h.socket().end(networkOutage());
    await settle();
    const closed = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
    assert.ok(closed.retryAt! - failedAt <= RECONNECT_BASE_DELAY_MS * (1 + RECONNECT_JITTER_RATIO));
  }),
);

test(
  'logged out: the session is wiped, logged-out is emitted and a fresh pairing starts',
  withAccount({}, async (h) => {
    await h.account.start();
    const first = h.socket();
    first.ev.emit('creds.update', { registered: true, me: { id: '491701234567:5@s.whatsapp.net' } });
    await first.config.auth.keys.set({ session: { 'a.0': Buffer.from('secret') } });
    await settle();
    const oldNoise = Buffer.from(first.config.auth.creds.noiseKey.public);
    assert.ok((h.db.prepare("SELECT COUNT(*) AS n FROM auth_state WHERE type = 'creds'").get() as { n: number }).n === 1, 'creds were saved');
    first.end(new Boom('Intentional Logout', { statusCode: DisconnectReason.loggedOut }));
    await settle();
    assert.ok(h.connections().some((event) => (event as { state: string }).state === 'logged-out'));
    assert.is(h.sockets.length, 2, 'pairs again at once');
    const fresh = h.socket().config.auth.creds;
    assert.is(fresh.registered, false);
    assert.not.ok(Buffer.from(fresh.noiseKey.public).equals(oldNoise), 'new credentials');
    assert.equal(await useSqliteAuthState(h.db, silent).state.keys.get('session', ['a.0']), {}, 'keys are gone');
  }),
);

test(
  'a socket factory that fails like a network outage: closed with a retry time, retried, never thrown',
  withAccount(
    {
      makeSocket: () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND web.whatsapp.com'), { code: 'ENOTFOUND' });
      },
    },
    async (h) => {
      await h.account.start();
      for (let attempt = 1; attempt <= 3; attempt++) {
        const closed = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
        assert.is(closed.state, 'closed');
        assert.match(closed.detail ?? '', /cannot reach WhatsApp \(getaddrinfo ENOTFOUND web\.whatsapp\.com\); retrying at \d\d:\d\d:\d\d/);
        h.clock.advance(closed.retryAt! - h.clock.now());
        await settle();
      }
      assert.is(h.connections().filter((event) => (event as { state: string }).state === 'closed').length, 4);
    },
  ),
);

test(
  'a socket that closes at once for lack of network keeps being retried',
  withAccount(
    {},
    async (h) => {
      await h.account.start();
      await settle();
      for (let attempt = 1; attempt <= 3; attempt++) {
        h.clock.advance(h.clock.nextTimerAt()! - h.clock.now());
        await settle();
      }
      assert.is(h.sockets.length, 4);
      assert.ok(h.connections().filter((event) => (event as { state: string }).state === 'closed').every((event) => (event as { retryAt?: number }).retryAt !== undefined));
    },
    (socket) => setImmediate(() => socket.end(networkOutage())),
  ),
);

test(
  'stop ends the socket and cancels the pending retry',
  withAccount({}, async (h) => {
    await h.account.start();
    h.socket().end(networkOutage());
    await settle();
    await h.account.stop();
    h.clock.advance(RECONNECT_BASE_DELAY_MS * 10);
    await settle();
    assert.is(h.sockets.length, 1);
    assert.equal(h.connections().at(-1), { type: 'connection', state: 'closed', detail: 'stopped' });
  }),
);

test(
  'picture queries: refused while not connected, sent with the timeout and the privacy token once open',
  withAccount({}, async (h) => {
    await h.account.start();
    const socket = h.socket();
    const offline = await h.account.queryPicture(PN, undefined, 5_000);
    assert.is(offline.kind === 'transient' && offline.cause, 'socket-closed');
    assert.is(socket.queries.length, 0);
    socket.update({ connection: 'open' });
    await settle();
    // Baileys keeps a contact's privacy token under the LID, and the LID in its own
    // 'lid-mapping' rows (pn user → lid user); the token must not be expired on our clock.
    const nowSeconds = Math.floor(h.clock.now() / 1000);
    await socket.config.auth.keys.set({
      tctoken: { [LID]: { token: Buffer.from('tc'), timestamp: String(nowSeconds) } },
      'lid-mapping': { '491701234567': '123456789012345', '123456789012345_reverse': '491701234567' },
    });
    socket.answer = async () => ({ tag: 'iq', attrs: { type: 'result' }, content: [{ tag: 'picture', attrs: { id: '42', url: 'https://pps.whatsapp.net/p.jpg' } }] });
    const outcome = await h.account.queryPicture(testJid('491701234567:7@s.whatsapp.net'), '41', 5_000);
    assert.equal(outcome, { kind: 'picture', pictureId: '42', url: 'https://pps.whatsapp.net/p.jpg' });
    const sent = socket.queries[0]!;
    assert.is(sent.timeoutMs, 5_000);
    assert.is(sent.node.attrs.target, PN, 'normalised target');
    const picture = (sent.node.content as BinaryNode[])[0]!;
    assert.equal(picture.attrs, { type: 'image', query: 'url', id: '41' });
    assert.equal((picture.content as BinaryNode[]).map((child) => [child.tag, child.attrs.t]), [['tctoken', String(nowSeconds)]]);
    const group = await h.account.queryPicture(testJid('120363025246125486@g.us'), undefined, 5_000);
    assert.is(group.kind, 'picture');
    assert.is((socket.queries[1]!.node.content as BinaryNode[])[0]!.content, undefined, 'groups carry no token');
  }),
);

function qrExpired(): Boom {
  // rc14 lib/Socket/socket.js genPairQR, once the pair-device refs are used up.
  return new Boom('QR refs attempts ended', { statusCode: DisconnectReason.timedOut });
}

function tokenAnswer(): (node: BinaryNode) => Promise<unknown> {
  return async () => ({ tag: 'iq', attrs: { type: 'result' }, content: [{ tag: 'picture', attrs: { id: '42', url: 'https://pps.whatsapp.net/p.jpg' } }] });
}

async function storeTokenAndMapping(socket: FakeSocket, clock: FakeClock): Promise<void> {
  await socket.config.auth.keys.set({
    tctoken: { [LID]: { token: Buffer.from('tc'), timestamp: String(Math.floor(clock.now() / 1000)) } },
    'lid-mapping': { '491701234567': '123456789012345', '123456789012345_reverse': '491701234567' },
  });
}

function sentToken(socket: FakeSocket, index: number): boolean {
  const picture = (socket.queries[index]!.node.content as BinaryNode[])[0]!;
  return Array.isArray(picture.content) && picture.content.some((child) => child.tag === 'tctoken');
}

test(
  'pending notifications received before open are kept: open is announced with open, no 60 s wait',
  withAccount({}, async (h) => {
    await h.account.start();
    h.socket().update({ receivedPendingNotifications: true });
    await settle();
    assert.not.ok(h.connections().some((event) => (event as { state: string }).state === 'open'), 'not open before the socket is');
    h.socket().update({ connection: 'open' });
    await settle();
    assert.equal(h.connections().at(-1), { type: 'connection', state: 'open' });
    assert.is(h.clock.nextTimerAt(), undefined, 'no fallback timer left running');
  }),
);

test(
  'an expired QR round is not a logout: the session stays, a new round follows after a growing wait, then pairing stops',
  withAccount({}, async (h) => {
    await h.account.start();
    await h.socket().config.auth.keys.set({ 'pre-key': { '1': { public: Buffer.from('p'), private: Buffer.from('q') } } });
    h.socket().ev.emit('creds.update', { nextPreKeyId: 2 });
    await settle();
    const noise = Buffer.from(h.socket().config.auth.creds.noiseKey.public);
    for (let round = 1; round < MAX_PAIRING_ROUNDS; round++) {
      h.socket().update({ qr: `qr-${round}` });
      await settle();
      h.socket().end(qrExpired());
      await settle();
      const closed = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
      assert.is(closed.state, 'closed');
      const delay = PAIRING_ROUND_BASE_DELAY_MS * PAIRING_ROUND_BACKOFF_FACTOR ** (round - 1);
      assert.is(closed.retryAt! - h.clock.now(), delay, `round ${round}`);
      assert.match(closed.detail ?? '', `round ${round + 1} of ${MAX_PAIRING_ROUNDS}`);
      assert.equal(h.events.at(-2), { type: 'pairing' }, 'the dead QR is withdrawn');
      h.clock.advance(delay);
      await settle();
      assert.is(h.sockets.length, round + 1);
    }
    assert.not.ok(h.connections().some((event) => (event as { state: string }).state === 'logged-out'));
    assert.ok(Buffer.from(h.socket().config.auth.creds.noiseKey.public).equals(noise), 'the same credentials: nothing was wiped');
    assert.is(Object.keys(await useSqliteAuthState(h.db, silent).state.keys.get('pre-key', ['1'])).length, 1, 'keys kept');
    h.socket().end(qrExpired());
    await settle();
    const stopped = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
    assert.is(stopped.state, 'pairing-stopped');
    assert.match(stopped.detail ?? '', 'Restart the worker');
    h.clock.advance(24 * 60 * 60_000);
    await settle();
    assert.is(h.sockets.length, MAX_PAIRING_ROUNDS, 'no further pairing round until the user restarts');
  }),
);

test(
  "an expired pairing code: Baileys' unregistered creds.me is forgotten so the next socket registers instead of logging in",
  withAccount({ phoneNumber: '491701234567' }, async (h) => {
    await h.account.start();
    const first = h.socket();
    first.update({ qr: 'ref' });
    await settle();
    // What requestPairingCode does to the creds (rc14 lib/Socket/socket.js).
    first.ev.emit('creds.update', { me: { id: '491701234567@s.whatsapp.net', name: '~' }, pairingCode: 'ABCD1234' });
    await settle();
    first.end(qrExpired());
    await settle();
    h.clock.advance(PAIRING_ROUND_BASE_DELAY_MS);
    await settle();
    assert.is(h.sockets.length, 2);
    assert.is(h.socket().config.auth.creds.me, undefined, 'a registration, not a login that WhatsApp answers with 401');
    assert.is(h.socket().config.auth.creds.pairingCode, undefined);
    assert.is(useSqliteAuthState(h.db, silent).state.creds.me, undefined, 'and so it is stored');
    assert.equal(h.socket().config.browser, PAIRING_CODE_BROWSER, 'pairing codes keep a canonical browser (Baileys #2560)');
  }),
);

test(
  "Baileys' LID store never asks WhatsApp: an unknown phone number stays unknown, and no USync is sent",
  withAccount({}, async (h) => {
    await h.account.start();
    const config = h.socket().config;
    let usyncs = 0;
    const repository = config.makeSignalRepository!(
      { creds: config.auth.creds, keys: config.auth.keys as SignalKeyStoreWithTransaction },
      config.logger as never,
      async () => {
        usyncs++;
        return [{ pn: PN, lid: LID }];
      },
    );
    assert.is(await repository.lidMapping.getLIDForPN(PN), null);
    assert.is(usyncs, 0, "Baileys' own pnFromLIDUSync is never called");
    await config.auth.keys.set({ 'lid-mapping': { '491701234567': '123456789012345' } });
    assert.is(await repository.lidMapping.getLIDForPN(PN), LID, 'a stored pair is still found');
  }),
);

test(
  'the QR device name names the product',
  withAccount({}, async (h) => {
    await h.account.start();
    assert.equal(h.socket().config.browser, QR_BROWSER);
    assert.match(QR_BROWSER[0], 'Home Assistant');
    assert.is(QR_BROWSER[1], 'Chrome', 'the platform type WhatsApp knows');
  }),
);

test(
  'a banned account (406 on connect) waits hours, not minutes, and says why',
  withAccount({}, async (h) => {
    await h.account.start();
    h.socket().end(new Boom('Connection Failure', { statusCode: 406, data: { reason: '406' } }));
    await settle();
    const closed = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
    assert.is(closed.state, 'closed');
    assert.ok(closed.retryAt! - h.clock.now() >= RECONNECT_BANNED_BASE_DELAY_MS * (1 - RECONNECT_JITTER_RATIO));
    assert.match(closed.detail ?? '', 'banned');
    h.clock.advance(RECONNECT_SLOW_DELAY_MS * 2);
    await settle();
    assert.is(h.sockets.length, 1, 'no reconnect within minutes');
  }),
);

test(
  'a temporary ban (402) waits at least as long as WhatsApp names',
  withAccount({}, async (h) => {
    await h.account.start();
    const twoDaysSeconds = 2 * 24 * 60 * 60;
    h.socket().end(new Boom('Connection Failure', { statusCode: 402, data: { reason: '402', code: '101', expire: String(twoDaysSeconds) } }));
    await settle();
    const closed = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
    assert.is(closed.retryAt! - h.clock.now(), twoDaysSeconds * 1000);
  }),
);

test(
  'the privacy token comes from stored rows only: an unknown mapping sends the query without one, and nothing else',
  withAccount({}, async (h) => {
    await h.account.start();
    const socket = h.socket();
    socket.update({ connection: 'open' });
    await settle();
    socket.answer = tokenAnswer();
    await h.account.queryPicture(PN, undefined, 5_000);
    assert.is(socket.queries.length, 1, 'exactly one IQ: no USync for the LID');
    assert.is(sentToken(socket, 0), false);
    await storeTokenAndMapping(socket, h.clock);
    await h.account.queryPicture(PN, undefined, 5_000);
    assert.is(sentToken(socket, 1), true);
    h.clock.advance(4 * 7 * 24 * 60 * 60_000);
    await h.account.queryPicture(PN, undefined, 5_000);
    assert.is(sentToken(socket, 2), false, 'a token past its 4-week window is not sent');
  }),
);

test(
  "WhatsApp's AB prop 9666 off: no privacy token",
  withAccount({}, async (h) => {
    await h.account.start();
    const socket = h.socket();
    socket.update({ connection: 'open' });
    await settle();
    await storeTokenAndMapping(socket, h.clock);
    socket.serverProps.profilePicPrivacyToken = false;
    socket.answer = tokenAnswer();
    await h.account.queryPicture(PN, undefined, 5_000);
    assert.is(sentToken(socket, 0), false);
  }),
);

test(
  'a query with a token that times out goes without the token next time; a hidden answer brings the token back',
  withAccount({}, async (h) => {
    await h.account.start();
    const socket = h.socket();
    socket.update({ connection: 'open' });
    await settle();
    await storeTokenAndMapping(socket, h.clock);
    socket.answer = async () => undefined;
    const silentAnswer = await h.account.queryPicture(PN, undefined, 5_000);
    assert.is(silentAnswer.kind === 'transient' && silentAnswer.cause, 'timeout');
    assert.is(sentToken(socket, 0), true);
    socket.answer = async () => ({ tag: 'iq', attrs: { type: 'error' }, content: [{ tag: 'error', attrs: { code: '401', text: 'not-authorized' } }] });
    assert.is((await h.account.queryPicture(PN, undefined, 5_000)).kind, 'hidden');
    assert.is(sentToken(socket, 1), false, 'the retry went without the token');
    socket.answer = tokenAnswer();
    await h.account.queryPicture(PN, undefined, 5_000);
    assert.is(sentToken(socket, 2), true, 'after hidden the token is tried again');
  }),
);

test(
  'a community hint sends the w:g2 query',
  withAccount({}, async (h) => {
    await h.account.start();
    const socket = h.socket();
    socket.update({ connection: 'open' });
    await settle();
    socket.answer = async () => ({ tag: 'iq', attrs: { type: 'result' }, content: [{ tag: 'pictures', attrs: {}, content: [{ tag: 'picture', attrs: { id: '5', url: 'https://pps.whatsapp.net/c.jpg' } }] }] });
    const outcome = await h.account.queryPicture(testJid('120363025246125486@g.us'), undefined, 5_000, { community: true });
    assert.equal(outcome, { kind: 'picture', pictureId: '5', url: 'https://pps.whatsapp.net/c.jpg' });
    assert.is(socket.queries[0]!.node.attrs.xmlns, 'w:g2');
  }),
);

test(
  'LID pairs Baileys stores reach the core as identities: the stored ones on open, new ones as they are written',
  withAccount({}, async (h) => {
    await useSqliteAuthState(h.db, silent).state.keys.set({ 'lid-mapping': { '4915112345678': '987654321098765', '987654321098765_reverse': '4915112345678' } });
    await h.account.start();
    const socket = h.socket();
    socket.update({ connection: 'open' });
    await settle();
    assert.ok(
      h.events.some((event) => event.type === 'identities' && event.pairs.some((c) => c.jid === '4915112345678@s.whatsapp.net' && c.alternateJid === '987654321098765@lid')),
      'stored pairs on open',
    );
    // What LIDMappingStore.storeLIDPNMappings writes after a history sync, through Baileys' key store.
    await socket.config.auth.keys.set({ 'lid-mapping': { '491701234567': '123456789012345', '123456789012345_reverse': '491701234567' } });
    await settle();
    assert.equal(h.events.at(-1), { type: 'identities', pairs: [{ jid: PN, alternateJid: LID }] });
  }),
);

test(
  'a reconnection whose history arrived earlier (accountSyncCounter > 0) reports history-synced once open',
  withAccount({}, async (h) => {
    await h.account.start();
    h.socket().ev.emit('creds.update', { registered: true, me: { id: '491701234567:5@s.whatsapp.net' }, accountSyncCounter: 1 });
    h.socket().update({ connection: 'open' });
    h.socket().update({ receivedPendingNotifications: true });
    await settle();
    assert.is(h.events.filter((event) => event.type === 'history-synced').length, 1);
  }),
);

test(
  'events from the socket reach listeners mapped; credentials are saved on creds.update',
  withAccount({}, async (h) => {
    await h.account.start();
    h.socket().ev.emit('contacts.upsert', [{ id: PN, name: 'Ada', lid: LID }]);
    h.socket().ev.emit('creds.update', { registered: true });
    await settle();
    assert.equal(h.events.at(-1), { type: 'contacts', contacts: [{ jid: PN, name: 'Ada', alternateJid: LID }] });
    assert.is(useSqliteAuthState(h.db, silent).state.creds.registered, true);
  }),
);

test(
  'the live WhatsApp Web version is used when the lookup works',
  withAccount({ fetchVersion: async (): Promise<WAVersion> => [2, 3000, 1050000000] }, async (h) => {
    await h.account.start();
    assert.equal(h.socket().config.version, [2, 3000, 1050000000]);
  }),
);

test('a real Baileys socket pointed at a closed loopback port reports it cannot connect and retries', async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      server.close(() => resolve(address.port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'baileys-real-'));
  const db = openDatabase(dir);
  const clock = new FakeClock();
  const account = new BaileysAccount({
    db,
    logger: silent,
    clock,
    random: seededRandom(3),
    pictureType: 'preview',
    printQrInTerminal: false,
    fetchVersion: async () => PINNED_WA_WEB_VERSION,
    webSocketUrl: `ws://127.0.0.1:${port}/ws/chat`,
  });
  try {
    const closed = new Promise<Extract<AccountEvent, { type: 'connection' }>>((resolve) => {
      account.onEvent((event) => {
        if (event.type === 'connection' && event.state === 'closed') resolve(event);
      });
    });
    await account.start();
    const event = await closed;
    assert.match(event.detail ?? '', new RegExp(`cannot reach WhatsApp \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); retrying at`));
    assert.ok(event.retryAt !== undefined && event.retryAt > clock.now());
  } finally {
    await account.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 405 (stale client version) waits long and looks the version up again before retrying', async () => {
  let lookups = 0;
  await withAccount(
    {
      fetchVersion: async (): Promise<WAVersion> => {
        lookups++;
        return [2, 3000, 1050000000 + lookups];
      },
    },
    async (h) => {
      await h.account.start();
      h.socket().end(new Boom('Connection Failure', { statusCode: 405, data: { reason: '405', location: 'odn' } }));
      await settle();
      const closed = h.connections().at(-1) as Extract<AccountEvent, { type: 'connection' }>;
      assert.ok(closed.retryAt! - h.clock.now() >= RECONNECT_SLOW_DELAY_MS * (1 - RECONNECT_JITTER_RATIO), 'a slow retry');
      assert.match(closed.detail ?? '', '405');
      h.clock.advance(closed.retryAt! - h.clock.now());
      await settle();
      assert.is(lookups, 2);
      assert.equal(h.socket().config.version, [2, 3000, 1050000002]);
    },
  )();
});

test.run();
