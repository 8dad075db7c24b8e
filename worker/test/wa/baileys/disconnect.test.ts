import { Boom } from '@hapi/boom';
import { DisconnectReason } from '@whiskeysockets/baileys';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../../../src/clock.js';
import {
  classifyDisconnect,
  reconnectDelayMs,
  RECONNECT_BANNED_BASE_DELAY_MS,
  RECONNECT_BANNED_MAX_DELAY_MS,
  RECONNECT_BASE_DELAY_MS,
  RECONNECT_JITTER_RATIO,
  RECONNECT_MAX_DELAY_MS,
  RECONNECT_SLOW_DELAY_MS,
} from '../../../src/wa/baileys/disconnect.js';

test('the close reasons Baileys raises map to restart, logged-out or a paced retry', () => {
  const cases: [unknown, string, string?][] = [
    [new Boom('Stream Errored (restart required)', { statusCode: DisconnectReason.restartRequired }), 'restart'],
    [new Boom('Intentional Logout', { statusCode: DisconnectReason.loggedOut }), 'logged-out'],
    [new Boom('Connection Failure', { statusCode: 401, data: { reason: '401', location: 'odn' } }), 'logged-out'],
    [new Boom('Stream Errored (conflict)', { statusCode: DisconnectReason.connectionReplaced }), 'retry', 'slow'],
    [new Boom('Connection Failure', { statusCode: 405, data: { reason: '405', location: 'odn' } }), 'retry', 'slow'],
    [new Boom('QR refs attempts ended', { statusCode: DisconnectReason.timedOut }), 'pairing-expired'],
    [new Boom('Connection Failure', { statusCode: 402, data: { reason: '402', code: '101', expire: '3600' } }), 'retry', 'banned'],
    [new Boom('Connection Failure', { statusCode: 403, data: { reason: '403' } }), 'retry', 'banned'],
    [new Boom('Connection Failure', { statusCode: 406, data: { reason: '406' } }), 'retry', 'banned'],
    [new Boom('Connection was lost', { statusCode: DisconnectReason.connectionLost }), 'retry', 'backoff'],
    [new Boom('Connection Terminated', { statusCode: DisconnectReason.connectionClosed }), 'retry', 'backoff'],
    [new Boom('Stream Errored (unknown)', { statusCode: DisconnectReason.badSession }), 'retry', 'backoff'],
    [undefined, 'retry', 'backoff'],
    [1006, 'retry', 'backoff'],
  ];
  for (const [error, kind, pace] of cases) {
    const action = classifyDisconnect(error);
    assert.is(action.kind, kind, String((error as Error | undefined)?.message ?? error));
    if (pace !== undefined) assert.is(action.kind === 'retry' && action.pace, pace);
    assert.ok(action.detail.length > 0);
  }
});

test('a temporary ban names its own expiry; banned waits start at hours and stop at a day', () => {
  const action = classifyDisconnect(new Boom('Connection Failure', { statusCode: 402, data: { reason: '402', expire: '90000' } }));
  assert.is(action.kind === 'retry' && action.waitAtLeastMs, 90_000_000);
  assert.match(action.detail, '402');
  const random = seededRandom(5);
  const first = reconnectDelayMs('banned', 1, random);
  assert.ok(first >= RECONNECT_BANNED_BASE_DELAY_MS * (1 - RECONNECT_JITTER_RATIO) && first <= RECONNECT_BANNED_BASE_DELAY_MS * (1 + RECONNECT_JITTER_RATIO));
  assert.ok(reconnectDelayMs('banned', 12, random) <= RECONNECT_BANNED_MAX_DELAY_MS * (1 + RECONNECT_JITTER_RATIO));
});

test('a network failure names the Node error, not a status code', () => {
  const cause = Object.assign(new Error('getaddrinfo EAI_AGAIN web.whatsapp.com'), { code: 'EAI_AGAIN' });
  const action = classifyDisconnect(new Boom(`WebSocket Error (${cause.message})`, { statusCode: 408, data: cause }));
  assert.equal(action, { kind: 'retry', pace: 'backoff', detail: 'cannot reach WhatsApp (getaddrinfo EAI_AGAIN web.whatsapp.com)' });
  assert.is(classifyDisconnect(Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH' })).detail, 'cannot reach WhatsApp (connect ENETUNREACH)');
});

test('backoff doubles from the base up to the cap, always within the jitter band', () => {
  const random = seededRandom(11);
  for (let failures = 1; failures <= 12; failures++) {
    const base = Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_BASE_DELAY_MS * 2 ** (failures - 1));
    for (let sample = 0; sample < 50; sample++) {
      const delay = reconnectDelayMs('backoff', failures, random);
      assert.ok(delay >= base * (1 - RECONNECT_JITTER_RATIO) && delay <= base * (1 + RECONNECT_JITTER_RATIO), `${failures}: ${delay}`);
    }
  }
  assert.is(reconnectDelayMs('slow', 1, () => 0.5), RECONNECT_SLOW_DELAY_MS);
});

test('jitter spreads reconnects: different random draws give different delays', () => {
  assert.ok(reconnectDelayMs('backoff', 3, () => 0) < reconnectDelayMs('backoff', 3, () => 0.999));
});

test.run();
