import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { answerCall } from '../../src/ha/calls.js';
import { CallError, type WorkerPort } from '../../src/ha/port.js';
import { MAX_CALL_ERROR_MESSAGE_LENGTH } from '../../src/ha/protocol.js';

const silent = pino({ level: 'silent' });

// What HA sends down the subscription, valid and malformed, is in protocol/fixtures/downstream.json;
// protocol.test.ts runs every fixture through parseDownstream. This file covers the answers.

function portThatThrows(error: unknown): WorkerPort {
  const fail = async (): Promise<never> => {
    throw error;
  };
  return {
    refreshAvatar: fail,
    refreshAvatars: fail,
    picture: fail,
    purgeAvatars: fail,
    pairingCode: fail,
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

test('a failure message longer than HA accepts is cut, so the answer is not refused', async () => {
  const call = { type: 'call', call_id: 'c10', service: 'refresh_avatars', data: { scope: 'all', force: false } } as const;
  const answer = await answerCall(portThatThrows(new Error('x'.repeat(5_000))), call, silent);
  assert.ok(!answer.ok);
  if (!answer.ok) assert.is(answer.error.message.length, MAX_CALL_ERROR_MESSAGE_LENGTH);
});

test.run();
