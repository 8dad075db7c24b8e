// Picture outcomes are checked before anything trusts them: a malformed one is a refusal that
// names the problem; a sound one passes unchanged; a throw stays the job's failure.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkedOutcome, withCheckedAnswers } from '../../src/avatars/answer-check.js';
import type { PictureQueryOutcome, WhatsAppAccount } from '../../src/avatars/ports.js';
import { testJid } from '../support/jids.js';

const URL = 'https://pps.whatsapp.net/v/t61.24694-24/1_n.jpg?oe=6A000000';

test('sound outcomes pass unchanged', () => {
  const sound: PictureQueryOutcome[] = [
    { kind: 'picture', pictureId: '123', url: URL },
    { kind: 'unchanged', pictureId: '123' },
    { kind: 'none' },
    { kind: 'hidden' },
    { kind: 'rate-limited' },
    { kind: 'refused', reason: 'fixed-error', detail: '400 bad-request' },
    { kind: 'transient', cause: 'timeout', detail: '408' },
    { kind: 'transient', cause: 'server-error', detail: 'HTTP 503', retryAfterMs: 60_000 },
  ];
  for (const outcome of sound) assert.equal(checkedOutcome(outcome), outcome);
});

test('malformed outcomes are refusals naming the problem', () => {
  const cases: [unknown, RegExp][] = [
    [{ kind: 'picture', pictureId: '', url: URL }, /picture answer without a picture id \(""\)/],
    [{ kind: 'picture', pictureId: '1' }, /picture answer without a URL/],
    [{ kind: 'unchanged' }, /unchanged answer without a picture id/],
    [{ kind: 'refused', reason: 'odd', detail: 'x' }, /refusal with an unknown reason "odd"/],
    [{ kind: 'transient', cause: 'cosmic-ray', detail: 'x' }, /unknown cause "cosmic-ray"/],
    [{ kind: 'gone' }, /unknown kind "gone"/],
    [undefined, /gave no outcome \(undefined\)/],
    [null, /gave no outcome \(null\)/],
  ];
  for (const [value, detail] of cases) {
    const outcome = checkedOutcome(value);
    assert.is(outcome.kind, 'refused', JSON.stringify(value));
    if (outcome.kind === 'refused') {
      assert.is(outcome.reason, 'unreadable-answer');
      assert.match(outcome.detail, detail);
    }
  }
});

test('an unusable retry wait is dropped, the transient failure kept', () => {
  for (const wait of [-1, Number.NaN, Number.POSITIVE_INFINITY, '60']) {
    const outcome = checkedOutcome({ kind: 'transient', cause: 'server-error', detail: 'HTTP 503', retryAfterMs: wait });
    assert.equal(Object.keys(outcome).sort(), ['cause', 'detail', 'kind']);
    assert.match((outcome as { detail: string }).detail, /ignored an unusable retry wait/);
  }
});

test('the checked account checks answers and lets throws through', async () => {
  const account: WhatsAppAccount = {
    start: async () => undefined,
    stop: async () => undefined,
    onEvent: () => () => undefined,
    queryPicture: async (jid) => {
      if (jid === '491700000666@s.whatsapp.net') throw new Error('adapter bug');
      return { kind: 'picture', pictureId: '', url: URL };
    },
  };
  const checked = withCheckedAnswers(account);
  assert.is((await checked.queryPicture(testJid('1@s.whatsapp.net'), undefined, 1000)).kind, 'refused');
  await checked.queryPicture(testJid('491700000666@s.whatsapp.net'), undefined, 1000).then(
    () => assert.unreachable('the throw was swallowed'),
    (error: unknown) => assert.match(String(error), /adapter bug/),
  );
});

test.run();
