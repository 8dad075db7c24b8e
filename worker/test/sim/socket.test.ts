// The simulated Baileys socket under the real BaileysAccount, on the fake clock: pairing as
// Baileys 7.0.0-rc14 socket.js does it, IQs counted by kind, the answers' shapes, and LID pairs in
// the key store where Baileys' LIDMappingStore reads them.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../../src/clock.js';
import { FakeClock } from '../support/fake-clock.js';
import { createPopulation } from '../../src/sim/population.js';
import { SimulatedWhatsApp, type SimulatedPhone } from '../../src/sim/whatsapp.js';
import { openDatabase } from '../../src/store/database.js';
import type { AccountEvent } from '../../src/avatars/ports.js';
import type { WABrowserDescription } from '@whiskeysockets/baileys';
import { BaileysAccount, QR_BROWSER } from '../../src/wa/baileys/account.js';
import { PINNED_WA_WEB_VERSION } from '../../src/wa/baileys/version.js';

const silent = pino({ level: 'silent' });

async function settle(): Promise<void> {
  for (let round = 0; round < 10; round++) await new Promise((resolve) => setImmediate(resolve));
}

/** Advances the fake clock in steps, letting the async handlers run between them. */
async function run(clock: FakeClock, totalMs: number, stepMs = 50): Promise<void> {
  for (let elapsed = 0; elapsed < totalMs; elapsed += stepMs) {
    await settle();
    clock.advance(stepMs);
  }
  await settle();
}

/** The message a promise rejects with; fails the test when it resolves. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  assert.unreachable('expected a refusal');
  return '';
}

function harness(phone: SimulatedPhone, options: { phoneNumber?: string; quirks?: []; browser?: WABrowserDescription } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sim-socket-'));
  const db = openDatabase(dir);
  const clock = new FakeClock();
  const population = createPopulation({ seed: 5, subjects: 60, groupShare: 0.3 });
  const whatsapp = new SimulatedWhatsApp({ population, cdn: { pictureOrigin: () => 'https://pps.whatsapp.net' }, clock, logger: silent, phone, quirks: options.quirks ?? [], behaviour: { timeoutShare: 0, rateLimitEveryQueries: 0 } });
  const account = new BaileysAccount({
    db,
    logger: silent,
    clock,
    random: seededRandom(3),
    pictureType: 'image',
    printQrInTerminal: false,
    makeSocket: options.browser === undefined ? whatsapp.makeSocket : (config) => whatsapp.makeSocket({ ...config, browser: options.browser! }),
    fetchVersion: async () => PINNED_WA_WEB_VERSION,
    ...(options.phoneNumber === undefined ? {} : { phoneNumber: options.phoneNumber }),
  });
  const events: AccountEvent[] = [];
  account.onEvent((event) => events.push(event));
  const close = async () => {
    await account.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { clock, population, whatsapp, account, events, db, close };
}

test('a fresh folder pairs by QR: the phone scans, 515 restarts, the account opens with the history', async () => {
  const h = harness({ mode: 'scans', afterMs: 3_000 });
  try {
    await h.account.start();
    await run(h.clock, 10_000);
    assert.ok(h.events.some((event) => event.type === 'pairing' && typeof event.qr === 'string' && event.qr.startsWith('https://wa.me/settings/linked_devices#')), 'a QR was shown');
    const states = h.events.filter((event) => event.type === 'connection').map((event) => (event as { state: string }).state);
    assert.ok(states.includes('pairing') && states.lastIndexOf('open') > states.indexOf('pairing'), `states: ${states.join(', ')}`);
    assert.ok(h.events.some((event) => event.type === 'history-synced'), 'the history sync arrived');
    assert.ok(h.events.some((event) => event.type === 'contacts'));
  } finally {
    await h.close();
  }
});

test('nobody scans: the QR refs run out after 60 s + 5 × 20 s and the socket ends with 408', async () => {
  const h = harness({ mode: 'nobody' });
  try {
    await h.account.start();
    await run(h.clock, 150_000, 1_000);
    const socket = h.whatsapp.socket!;
    assert.ok(socket.isOpen === false);
    const before = h.events.filter((event) => event.type === 'pairing' && event.qr !== undefined).length;
    assert.is(before, 6, 'six QRs in the first 2.5 min');
    const closes: unknown[] = [];
    socket.ev.on('connection.update', (update) => update.connection === 'close' && closes.push(update.lastDisconnect?.error));
    await run(h.clock, 15_000, 1_000);
    const error = closes[0] as { output?: { statusCode?: number }; message?: string } | undefined;
    assert.is(error?.output?.statusCode, 408);
    assert.is(error?.message, 'QR refs attempts ended');
  } finally {
    await h.close();
  }
});

test('with a phone number the code is asked once per socket and the entered code links the device', async () => {
  const h = harness({ mode: 'scans', afterMs: 2_000 }, { phoneNumber: '491701234567' });
  try {
    await h.account.start();
    await run(h.clock, 8_000);
    const codes = h.events.filter((event) => event.type === 'pairing' && event.code !== undefined);
    assert.is(codes.length, 1);
    assert.match((codes[0] as { code: string }).code, /^[1-9A-HJ-NP-TV-Z]{8}$/);
    assert.ok(h.events.some((event) => event.type === 'connection' && event.state === 'open'));
    assert.is(h.whatsapp.iqSummary().byKind['md link_code_companion_reg'], 1);
  } finally {
    await h.close();
  }
});

test('a pairing code asked under a device name WhatsApp does not know never links (Baileys #2560)', async () => {
  const h = harness({ mode: 'scans', afterMs: 2_000 }, { phoneNumber: '491701234567', browser: QR_BROWSER });
  try {
    await h.account.start();
    await run(h.clock, 8_000);
    assert.ok(h.events.some((event) => event.type === 'pairing' && event.code !== undefined), 'a code is issued');
    assert.not.ok(h.events.some((event) => event.type === 'connection' && event.state === 'open'), 'but the phone cannot link with it');
  } finally {
    await h.close();
  }
});

test("Home Assistant's dialog asks for a pairing code while the QR shows: a new socket asks, the phone enters it, linked", async () => {
  const h = harness({ mode: 'scans', afterMs: 30_000, codeAfterMs: 2_000 });
  try {
    await h.account.start();
    await run(h.clock, 1_000);
    assert.ok(h.events.some((event) => event.type === 'pairing' && event.qr !== undefined), 'the QR shows first');
    assert.match(await refusal(h.account.requestPairingCode('0170 1234567')), /country code and no leading 0/);
    let code = '';
    void h.account.requestPairingCode('+49 170 1234567').then((issued) => (code = issued), (error: unknown) => (code = String(error)));
    await run(h.clock, 1_000);
    assert.match(code, /^[1-9A-HJ-NP-TV-Z]{8}$/);
    assert.equal(h.whatsapp.socket!.pairingCodeRequests, ['491701234567'], 'the new socket asked, with the digits');
    assert.ok(h.events.some((event) => event.type === 'pairing' && event.code === code), 'the code is shown as pairing news');
    assert.not.ok(h.events.some((event) => event.type === 'connection' && event.state === 'open'), 'not linked before the phone enters it');
    await run(h.clock, 6_000);
    assert.ok(h.events.some((event) => event.type === 'connection' && event.state === 'open'), 'linked once the phone entered the code');
    assert.match(await refusal(h.account.requestPairingCode('491701234567')), /open, not waiting to be linked/);
  } finally {
    await h.close();
  }
});

test('every IQ is counted by kind; a picture query is one IQ whether or not a LID pair is stored (no USync)', async () => {
  const h = harness({ mode: 'scans', afterMs: 1_000 });
  try {
    await h.account.start();
    await run(h.clock, 8_000);
    const unknown = h.population.subjects.find((subject) => subject.lid?.delivery === 'unknown' && subject.oddAnswer === undefined)!;
    const known = h.population.subjects.find((subject) => subject.lid?.delivery === 'history' && subject.oddAnswer === undefined)!;
    const before = h.whatsapp.iqSummary();
    await h.account.queryPicture(known.jid, undefined, 20_000);
    const afterKnown = h.whatsapp.iqSummary();
    assert.is(afterKnown.total - before.total, 1, 'a contact with a stored pair costs one IQ');
    assert.is(afterKnown.byKind['w:profile:picture']! - (before.byKind['w:profile:picture'] ?? 0), 1);
    // Without a stored pair Baileys' getLIDForPN would send a USync; the adapter reads our key rows only.
    await h.account.queryPicture(unknown.jid, undefined, 20_000);
    const afterUnknown = h.whatsapp.iqSummary();
    assert.is(afterUnknown.byKind.usync ?? 0, before.byKind.usync ?? 0, 'no USync for a contact without a stored pair');
    assert.is(afterUnknown.total - afterKnown.total, 1);
    // The history's pairs are in the key store in LIDMappingStore's format.
    const pnUser = known.jid.split('@')[0]!;
    const lidUser = known.lid!.jid.split('@')[0]!;
    const rows = h.db.prepare("SELECT id, value FROM auth_state WHERE type = 'lid-mapping' AND id IN (?, ?)").all(pnUser, `${lidUser}_reverse`) as { id: string; value: string }[];
    assert.equal(Object.fromEntries(rows.map((row) => [row.id, JSON.parse(row.value)])), { [pnUser]: lidUser, [`${lidUser}_reverse`]: pnUser });
  } finally {
    await h.close();
  }
});

test('answers as WhatsApp gives them: odd codes, an empty answer, a community asked the wrong way', async () => {
  const h = harness({ mode: 'scans', afterMs: 1_000 });
  try {
    await h.account.start();
    await run(h.clock, 8_000);
    const socket = h.whatsapp.socket!;
    const odd = (answer: string) => h.population.subjects.find((subject) => subject.oddAnswer === answer)!.jid;
    const ask = (jid: string) => socket.query({ tag: 'iq', attrs: { target: jid, to: 's.whatsapp.net', type: 'get', xmlns: 'w:profile:picture' }, content: [{ tag: 'picture', attrs: { type: 'image', query: 'url' } }] }, 20_000);
    for (const [answer, code] of [['forbidden', 403], ['bad-request', 400], ['not-acceptable', 406]] as const) {
      const error = await ask(odd(answer)).then(() => undefined, (caught: unknown) => caught as { isBoom?: boolean; data?: unknown });
      assert.ok(error?.isBoom === true, `${answer} rejects with a Boom`);
      assert.is(error?.data, code, `${answer} carries ${code} in data`);
    }
    const empty = (await ask(odd('empty-answer'))) as { attrs: { type: string }; content: unknown[] };
    assert.is(empty.attrs.type, 'result');
    assert.equal(empty.content, []);
    const emptyId = (await ask(odd('empty-id'))) as { content: { attrs: { id: string; url: string } }[] };
    assert.is(emptyId.content[0]!.attrs.id, '');
    assert.ok(emptyId.content[0]!.attrs.url.startsWith('https://pps.whatsapp.net/'));
    const community = h.population.subjects.find((subject) => subject.community === true)!;
    const plain = await ask(community.jid).then(() => undefined, (caught: unknown) => caught as { data?: unknown });
    assert.is(plain?.data, 401, 'the plain query for a community answers 401');
    const right = (await socket.query({ tag: 'iq', attrs: { to: community.jid, type: 'get', xmlns: 'w:g2' }, content: [{ tag: 'pictures', attrs: {}, content: [{ tag: 'picture', attrs: { type: 'image', query: 'url', parent_group_jid: community.jid } }] }] }, 20_000)) as {
      content: { tag: string; content: { attrs: { id: string } }[] }[];
    };
    assert.is(right.content[0]!.tag, 'pictures');
    const final = h.population.finalPicture(community.jid)!;
    assert.is(right.content[0]!.content[0]!.attrs.id, final.kind === 'picture' ? final.pictureId : 'no picture');
    assert.is(h.whatsapp.iqSummary().byKind['w:g2 pictures'], 1);
  } finally {
    await h.close();
  }
});

test('a query nobody answers rejects with Baileys\' Boom 408 at its timeout; a dropped socket rejects with the close code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-socket-timeout-'));
  const db = openDatabase(dir);
  const clock = new FakeClock();
  const population = createPopulation({ seed: 9, subjects: 30 });
  const whatsapp = new SimulatedWhatsApp({ population, cdn: { pictureOrigin: () => 'https://pps.whatsapp.net' }, clock, logger: silent, phone: { mode: 'scans', afterMs: 1_000 }, behaviour: { timeoutShare: 1, rateLimitEveryQueries: 0, latencyMs: 500 } });
  const account = new BaileysAccount({ db, logger: silent, clock, random: seededRandom(1), pictureType: 'image', printQrInTerminal: false, makeSocket: whatsapp.makeSocket, fetchVersion: async () => PINNED_WA_WEB_VERSION });
  try {
    await account.start();
    await run(clock, 8_000);
    const jid = population.subjects[0]!.jid;
    const node = () => ({ tag: 'iq', attrs: { target: jid, to: 's.whatsapp.net', type: 'get', xmlns: 'w:profile:picture' }, content: [{ tag: 'picture', attrs: { type: 'image', query: 'url' } }] });
    const pending = whatsapp.socket!.query(node(), 20_000).then(() => undefined, (caught: unknown) => caught as { output?: { statusCode?: number } });
    await run(clock, 19_000, 1_000);
    let settled = false;
    void pending.then(() => (settled = true));
    await settle();
    assert.not.ok(settled, 'still waiting before the timeout');
    await run(clock, 2_000, 500);
    assert.is((await pending)?.output?.statusCode, 408);
    const dropped = whatsapp.socket!.query(node(), 20_000).then(() => undefined, (caught: unknown) => caught);
    whatsapp.socket!.dropConnection(1006);
    assert.is(await dropped, 1006);
  } finally {
    await account.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
