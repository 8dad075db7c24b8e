import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clampRetryAfterMs, MAX_RETRY_AFTER_MS, parseRetryAfterMs } from '../../src/cdn/retry-after.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

test('delay-seconds and HTTP dates are read', () => {
  assert.is(parseRetryAfterMs('0', NOW), 0);
  assert.is(parseRetryAfterMs(' 120 ', NOW), 120_000);
  assert.is(parseRetryAfterMs('Tue, 01 Dec 2026 12:05:00 GMT', NOW), 5 * 60_000);
  assert.is(parseRetryAfterMs(['7', '9'], NOW), 7_000);
  // The obsolete forms a recipient must still accept: RFC 850 and asctime (GMT, unsaid).
  assert.is(parseRetryAfterMs('Tuesday, 01-Dec-26 12:01:00 GMT', NOW), 60_000);
  assert.is(parseRetryAfterMs('Tue Dec  1 12:02:00 2026', NOW), 120_000);
});

test('a date in the past asks for no wait', () => {
  assert.is(parseRetryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', NOW), 0);
});

test('missing or unreadable values are undefined', () => {
  for (const value of [undefined, '', '   ', '-5', '1.5', '1e3', 'soon', '12 seconds', '2026-12-01T12:05:00Z', 'Tue, 99 Foo 2026 25:00:00 GMT', 'December 1, 2026', 'Tue, 01 Dec 2026 12:05:00 CET', 'Tue, 01 Dec 2026 12:05:00']) {
    assert.is(parseRetryAfterMs(value, NOW), undefined, String(value));
  }
  assert.is(parseRetryAfterMs([], NOW), undefined);
});

test('the wait honoured is never below our own delay nor above the longest pause', () => {
  assert.is(clampRetryAfterMs(0, 1_000), 1_000);
  assert.is(clampRetryAfterMs(3_000, 1_000), 3_000);
  assert.is(clampRetryAfterMs(999_999_999_000, 1_000), MAX_RETRY_AFTER_MS);
  assert.is(MAX_RETRY_AFTER_MS, 3_600_000);
});

test.run();
