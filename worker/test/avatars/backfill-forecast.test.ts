// The up-front forecast of long work: said once per batch in words, again only when the work grows
// by a quarter, and never for a few minutes' work.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BackfillForecast, describePace, FORECAST_MIN_SECONDS } from '../../src/avatars/backfill-forecast.js';
import { seededRandom } from '../../src/clock.js';
import { DEFAULT_RATE_SETTINGS, RatePolicy } from '../../src/avatars/rate-policy.js';

const snapshot = (done: number, total: number, etaSeconds: number | null) => ({ done, total, ratePerHour: 0, etaSeconds });

test('a 3,500-contact backfill at the default pace is said up front: about 3 h 53 min, pauses on top', () => {
  // The estimate the worker's rate policy gives for 3,500 jobs with nothing holding the first back.
  const eta = new RatePolicy(DEFAULT_RATE_SETTINGS, seededRandom(1)).estimateSeconds(3500, 0);
  const forecast = new BackfillForecast(DEFAULT_RATE_SETTINGS);
  assert.is(
    forecast.observe(snapshot(0, 3500, eta)),
    '3,500 pictures to check: about 3 h 53 min at the default pace (at most 900 picture queries an hour); pauses WhatsApp asks for (rate-overlimit) come on top',
  );
  // Progress goes on: nothing new to say.
  assert.is(forecast.observe(snapshot(100, 3500, eta - 400)), undefined);
});

test('said again only when the work grows by a quarter within a batch, and afresh for the next batch', () => {
  const forecast = new BackfillForecast(DEFAULT_RATE_SETTINGS);
  assert.match(forecast.observe(snapshot(0, 1000, 4000)) ?? '', /^1,000 pictures to check: about 1 h 6 min/);
  assert.is(forecast.observe(snapshot(0, 1200, 4999)), undefined, 'grew by less than a quarter');
  assert.match(forecast.observe(snapshot(0, 1250, 5000)) ?? '', /^1,250 pictures to check: about 1 h 23 min/);
  assert.is(forecast.observe(snapshot(1500, 1500, 0)), undefined, 'drained');
  assert.match(forecast.observe(snapshot(0, 1000, 4000)) ?? '', /^1,000 pictures to check/, 'a new batch');
});

test('short work and an unknown ETA get no forecast', () => {
  const forecast = new BackfillForecast(DEFAULT_RATE_SETTINGS);
  assert.is(forecast.observe(snapshot(0, 10, FORECAST_MIN_SECONDS - 1)), undefined);
  assert.is(forecast.observe(snapshot(0, 10, null)), undefined);
});

test('the pace in words names the binding limit, and whether it is the default', () => {
  assert.is(describePace(DEFAULT_RATE_SETTINGS), 'at the default pace (at most 900 picture queries an hour)');
  assert.is(describePace({ intervalMs: 10_000, hourlyCap: 900 }), 'at the configured pace (at most 360 picture queries an hour)');
});

test.run();
