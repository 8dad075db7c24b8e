import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { answerCall } from '../../src/ha/calls.js';
import { parseDownstream } from '../../src/ha/downstream.js';
import { CallError, type WorkerPort } from '../../src/ha/port.js';

const silent = pino({ level: 'silent' });

test('resend parses: HA asks for everything again', () => {
  assert.equal(parseDownstream({ type: 'resend' }), { ok: true, message: { type: 'resend' } });
});

test('favourites and calls parse into typed messages, with defaults for optional fields', () => {
  assert.equal(parseDownstream({ type: 'favourites', jids: ['1@s.whatsapp.net'] }), {
    ok: true,
    message: { type: 'favourites', jids: ['1@s.whatsapp.net'] },
  });
  assert.equal(parseDownstream({ type: 'call', call_id: 'c1', service: 'refresh_avatar', data: { jid: '1@s.whatsapp.net' } }), {
    ok: true,
    message: { type: 'call', call_id: 'c1', service: 'refresh_avatar', data: { jid: '1@s.whatsapp.net', force: false, wait: 0 } },
  });
  assert.equal(parseDownstream({ type: 'call', call_id: 'c2', service: 'refresh_avatars', data: { scope: 'stale', force: true } }), {
    ok: true,
    message: { type: 'call', call_id: 'c2', service: 'refresh_avatars', data: { scope: 'stale', force: true } },
  });
});

test('malformed messages are refused with a reason, keeping the call id to answer', () => {
  const cases: [unknown, RegExp, string | undefined][] = [
    ['text', /expected an object/, undefined],
    [{ type: 'favourites', jids: 'x' }, /'jids' must be a list/, undefined],
    [{ type: 'favourites', jids: [1] }, /must be a string/, undefined],
    [{ type: 'mystery' }, /unknown message type "mystery"/, undefined],
    [{ type: 'call', service: 'refresh_avatar' }, /'call_id'/, undefined],
    [{ type: 'call', call_id: 'c', service: 'nope', data: {} }, /unknown service "nope"/, 'c'],
    [{ type: 'call', call_id: 'c', service: 'refresh_avatar', data: { jid: 5 } }, /'jid' must be a string/, 'c'],
    [{ type: 'call', call_id: 'c', service: 'refresh_avatar', data: { jid: 'j', wait: -1 } }, /'wait'/, 'c'],
    [{ type: 'call', call_id: 'c', service: 'refresh_avatars', data: { scope: 'everything' } }, /'scope' must be one of/, 'c'],
    [{ type: 'call', call_id: 'c', service: 'refresh_avatars', data: { force: 'yes' } }, /'force'/, 'c'],
  ];
  for (const [input, reason, callId] of cases) {
    const parsed = parseDownstream(input);
    assert.ok(!parsed.ok, JSON.stringify(input));
    if (!parsed.ok) {
      assert.match(parsed.reason, reason);
      assert.is(parsed.callId, callId);
    }
  }
});

function portThatThrows(error: unknown): WorkerPort {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return {
    refreshAvatar: fail,
    refreshAvatars: fail,
    setFavourites: () => undefined,
    status: () => {
      throw new Error('unused');
    },
    directory: () => [],
    avatarUpdate: async () => undefined,
    favourites: () => [],
    onChange: () => () => undefined,
  };
}

test('a CallError becomes ok:false with its code; anything else becomes internal_error', async () => {
  const call = { type: 'call', call_id: 'c9', service: 'refresh_avatar', data: { jid: 'x', force: false, wait: 0 } } as const;
  assert.equal(await answerCall(portThatThrows(new CallError('unknown_jid', 'nobody has that JID')), call, silent), {
    call_id: 'c9',
    ok: false,
    error: { code: 'unknown_jid', message: 'nobody has that JID' },
  });
  const internal = await answerCall(portThatThrows(new TypeError('boom')), call, silent);
  assert.equal(internal.ok, false);
  if (!internal.ok) {
    assert.is(internal.error.code, 'internal_error');
    assert.match(internal.error.message, /boom/);
  }
});

test.run();
