import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nextTrouble } from '../../src/worker/connection-trouble.js';

const unreachable = { type: 'connection', state: 'closed', detail: 'cannot reach WhatsApp (getaddrinfo ENOTFOUND web.whatsapp.com)', retryAt: 5_000 } as const;

test('a close names the reason and the next attempt', () => {
  assert.equal(nextTrouble(undefined, unreachable), { detail: unreachable.detail, retryAt: 5_000 });
});

test('the attempt in between keeps the reason; the retry it was is no longer ahead', () => {
  const trouble = nextTrouble(undefined, unreachable);
  assert.equal(nextTrouble(trouble, { type: 'connection', state: 'connecting' }), { detail: unreachable.detail });
});

test('the next close replaces reason and time', () => {
  const trouble = nextTrouble(undefined, unreachable);
  const next = nextTrouble(trouble, { type: 'connection', state: 'closed', detail: 'WhatsApp is unavailable right now (503)', retryAt: 9_000 });
  assert.equal(next, { detail: 'WhatsApp is unavailable right now (503)', retryAt: 9_000 });
});

test('open or pairing ends it; a first connect has none', () => {
  const trouble = nextTrouble(undefined, unreachable);
  assert.is(nextTrouble(trouble, { type: 'connection', state: 'open' }), undefined);
  assert.is(nextTrouble(trouble, { type: 'connection', state: 'pairing' }), undefined);
  assert.is(nextTrouble(undefined, { type: 'connection', state: 'connecting' }), undefined);
});

test('a logout names its reason without a retry time', () => {
  assert.equal(nextTrouble(undefined, { type: 'connection', state: 'logged-out', detail: 'this device was logged out of WhatsApp (401): link the phone again' }), {
    detail: 'this device was logged out of WhatsApp (401): link the phone again',
  });
});

test.run();
