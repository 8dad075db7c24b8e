import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../../src/clock.js';
import { Backoff, backoffDelayMs, type BackoffPolicy } from '../../src/ha/backoff.js';

const POLICY: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, factor: 2, jitterRatio: 0.2 };
const middle = () => 0.5;

test('without jitter the delay doubles from the initial delay up to the cap', () => {
  const delays = [0, 1, 2, 3, 4, 5, 6, 7, 10].map((attempt) => backoffDelayMs(POLICY, attempt, middle));
  assert.equal(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
});

test('jitter spreads each delay by at most the ratio either way', () => {
  assert.is(backoffDelayMs(POLICY, 0, () => 0), 800);
  assert.is(backoffDelayMs(POLICY, 0, () => 0.999999), 1_200);
  assert.is(backoffDelayMs(POLICY, 10, () => 0), 48_000);
  const random = seededRandom(7);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = Math.min(POLICY.maxMs, POLICY.initialMs * 2 ** attempt);
    const delay = backoffDelayMs(POLICY, attempt, random);
    assert.ok(delay >= base * 0.8 && delay <= base * 1.2, `attempt ${attempt}: ${delay} outside ±20 % of ${base}`);
  }
});

test('jitter differs between workers with different random sources', () => {
  const first = backoffDelayMs(POLICY, 3, seededRandom(1));
  const second = backoffDelayMs(POLICY, 3, seededRandom(2));
  assert.is.not(first, second);
});

test('Backoff counts failures and starts over after reset', () => {
  const backoff = new Backoff(POLICY, middle);
  assert.equal([backoff.nextDelayMs(), backoff.nextDelayMs(), backoff.nextDelayMs()], [1_000, 2_000, 4_000]);
  assert.is(backoff.attempts, 3);
  backoff.reset();
  assert.is(backoff.attempts, 0);
  assert.is(backoff.nextDelayMs(), 1_000);
});

test.run();
