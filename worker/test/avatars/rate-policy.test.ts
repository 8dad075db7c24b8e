import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../../src/clock.js';
import { FakeClock } from '../support/fake-clock.js';
import {
  DEFAULT_RATE_SETTINGS,
  HOUR_MS,
  MIN_REAL_INTERVAL_MS,
  RatePolicy,
  parseRatePolicySnapshot,
  rateSettingsProblems,
  type RateSettings,
} from '../../src/avatars/rate-policy.js';

const MINUTE_MS = 60_000;

interface Simulation {
  starts: number[];
  /** [from, to) spans in which no query may start. */
  blocked: { from: number; to: number; why: string }[];
  /** Total time with work pending and no pause, quiet period or disconnection. */
  openMs: number;
  policy: RatePolicy;
}

/**
 * Drives a policy on a fake clock the way the scheduler will: start a query whenever the policy
 * allows, answer it, flip the connection at the given times, and answer 429 to chosen queries.
 */
function simulate(options: {
  settings?: RateSettings;
  hours: number;
  seed?: number;
  connectionChanges?: { at: number; connected: boolean }[];
  rateLimitedQueries?: ReadonlySet<number>;
}): Simulation {
  const settings = options.settings ?? DEFAULT_RATE_SETTINGS;
  const clock = new FakeClock();
  const start = clock.now();
  const end = start + options.hours * HOUR_MS;
  const policy = new RatePolicy(settings, seededRandom(options.seed ?? 1));
  const starts: number[] = [];
  const blocked: Simulation['blocked'] = [];
  let disconnectedSince: number | undefined;
  let connectedAt = start;
  policy.connectionChanged(true, start);
  blocked.push({ from: start, to: start + settings.quietPeriodMs, why: 'quiet' });
  for (const change of options.connectionChanges ?? []) {
    clock.setTimer(() => {
      policy.connectionChanged(change.connected, clock.now());
      if (change.connected) {
        if (disconnectedSince !== undefined) blocked.push({ from: disconnectedSince, to: clock.now(), why: 'disconnected' });
        disconnectedSince = undefined;
        connectedAt = clock.now();
        blocked.push({ from: connectedAt, to: connectedAt + settings.quietPeriodMs, why: 'quiet' });
      } else {
        disconnectedSince = clock.now();
      }
    }, change.at - start);
  }
  while (clock.now() < end) {
    const now = clock.now();
    const at = policy.nextQueryAt(now);
    const event = clock.nextTimerAt();
    if (at === undefined || (event !== undefined && event <= at)) {
      if (event === undefined) break;
      clock.advance(event - now);
      continue;
    }
    if (at >= end) break;
    clock.advance(at - now);
    policy.queryStarted(at);
    starts.push(at);
    if (options.rateLimitedQueries?.has(starts.length - 1)) {
      const until = policy.rateLimited(at);
      blocked.push({ from: at + 1, to: until, why: '429' });
    } else {
      policy.answered(at);
    }
  }
  if (disconnectedSince !== undefined) blocked.push({ from: disconnectedSince, to: end, why: 'disconnected' });
  // Time in which the budget could be spent: the whole run minus the blocked spans (merged).
  const spans = blocked.map(({ from, to }) => [from, Math.min(to, end)] as const).sort((a, b) => a[0] - b[0]);
  let blockedMs = 0;
  let reach = start;
  for (const [from, to] of spans) {
    const lo = Math.max(from, reach);
    if (to > lo) blockedMs += to - lo;
    reach = Math.max(reach, to);
  }
  return { starts, blocked, openMs: end - start - blockedMs, policy };
}

function assertNoStartClosedTo(simulation: Simulation): void {
  for (const at of simulation.starts) {
    const inside = simulation.blocked.find(({ from, to }) => at >= from && at < to);
    assert.is(inside, undefined, `query started at +${at - simulation.starts[0]!} ms inside a ${inside?.why} span`);
  }
}

function maxStartsInAnyHour(starts: number[]): number {
  let most = 0;
  let oldest = 0;
  for (let i = 0; i < starts.length; i++) {
    while (starts[oldest]! + HOUR_MS <= starts[i]!) oldest++;
    most = Math.max(most, i - oldest + 1);
  }
  return most;
}

test('defaults are the documented ones and are valid for a real account', () => {
  assert.equal({ ...DEFAULT_RATE_SETTINGS }, {
    intervalMs: 3000, jitterRatio: 0.2, hourlyCap: 900, quietPeriodMs: 60_000,
    rateLimitPauseMs: 5 * MINUTE_MS, rateLimitPauseMaxMs: HOUR_MS,
  });
  assert.equal(rateSettingsProblems(DEFAULT_RATE_SETTINGS, { allowFastInterval: false }), []);
  assert.is(MIN_REAL_INTERVAL_MS, 2000);
});

test('settings problems name the setting and the value', () => {
  const fast = { ...DEFAULT_RATE_SETTINGS, intervalMs: 500 };
  assert.equal(rateSettingsProblems(fast, { allowFastInterval: false }), ['interval must be at least 2 s for a real account, got 0.5 s']);
  assert.equal(rateSettingsProblems(fast, { allowFastInterval: true }), []);
  const bad: RateSettings = { intervalMs: 0, jitterRatio: 1.5, hourlyCap: 0, quietPeriodMs: -1, rateLimitPauseMs: 600_000, rateLimitPauseMaxMs: 60_000 };
  const problems = rateSettingsProblems(bad, { allowFastInterval: true });
  assert.is(problems.length, 5);
  assert.match(problems.join('\n'), /interval must be positive/);
  assert.match(problems.join('\n'), /jitter must be at least 0 and below 1.*1\.5/);
  assert.match(problems.join('\n'), /hourly cap must be a whole number of at least 1, got 0/);
  assert.match(problems.join('\n'), /quiet period must not be negative/);
  assert.match(problems.join('\n'), /maximum rate-limit pause must be at least/);
  assert.match(rateSettingsProblems({ ...DEFAULT_RATE_SETTINGS, hourlyCap: Number.NaN }, { allowFastInterval: false }).join(), /hourlyCap must be a finite number/);
  assert.throws(() => new RatePolicy(bad, seededRandom(1)), /invalid rate settings: interval must be positive/);
});

test('nothing starts while disconnected, and a connect waits out the quiet period', () => {
  const policy = new RatePolicy(DEFAULT_RATE_SETTINGS, seededRandom(1));
  const t0 = Date.UTC(2026, 0, 1);
  assert.is(policy.nextQueryAt(t0), undefined);
  policy.connectionChanged(true, t0);
  assert.is(policy.nextQueryAt(t0), t0 + 60_000);
  assert.is(policy.nextQueryAt(t0 + 90_000), t0 + 90_000);
  policy.connectionChanged(true, t0 + 90_000);
  assert.is(policy.nextQueryAt(t0 + 90_000), t0 + 90_000, 'a repeated "connected" is not a new connect');
  policy.connectionChanged(false, t0 + 100_000);
  assert.is(policy.nextQueryAt(t0 + 200_000), undefined);
  policy.connectionChanged(true, t0 + 200_000);
  assert.is(policy.nextQueryAt(t0 + 200_000), t0 + 260_000);
});

test('the gap after a start is the interval within ± jitter, drawn from the injected random', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const draws = [0, 0.5, 0.999_999];
  const expectedGaps = [2400, 3000, 3600];
  const policy = new RatePolicy({ ...DEFAULT_RATE_SETTINGS, quietPeriodMs: 0 }, () => draws.shift()!);
  policy.connectionChanged(true, t0);
  let now = t0;
  for (const gap of expectedGaps) {
    policy.queryStarted(now);
    assert.is(Math.round(policy.nextQueryAt(now)! - now), gap);
    now = policy.nextQueryAt(now)!;
  }
});

test('429 pauses the whole queue, doubling to the maximum; an answer resets the doubling', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const policy = new RatePolicy({ ...DEFAULT_RATE_SETTINGS, quietPeriodMs: 0 }, seededRandom(3));
  policy.connectionChanged(true, t0);
  assert.is(policy.pausedUntil, undefined);
  const pauses: number[] = [];
  let now = t0;
  for (let i = 0; i < 6; i++) {
    policy.queryStarted(now);
    const until = policy.rateLimited(now);
    pauses.push(until - now);
    assert.is(policy.pausedUntil, until);
    assert.is(policy.nextQueryAt(now), until);
    now = until;
  }
  assert.equal(pauses, [5, 10, 20, 40, 60, 60].map((minutes) => minutes * MINUTE_MS));
  policy.queryStarted(now);
  policy.answered(now);
  now += 10_000;
  assert.is(policy.rateLimited(now) - now, 5 * MINUTE_MS);
});

test('a restored snapshot keeps a running pause, its doubling level and the hour of starts', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const settings = { ...DEFAULT_RATE_SETTINGS, quietPeriodMs: 0, hourlyCap: 3 };
  const before = new RatePolicy(settings, seededRandom(5));
  before.connectionChanged(true, t0);
  for (let i = 0; i < 2; i++) before.queryStarted(t0 + i * 4000);
  const until = before.rateLimited(t0 + 4000);
  const stored = JSON.parse(JSON.stringify(before.snapshot())) as unknown;
  const after = new RatePolicy(settings, seededRandom(6), parseRatePolicySnapshot(stored));
  assert.is(after.pausedUntil, until);
  assert.is(after.nextQueryAt(t0 + 9000), undefined, 'still disconnected after the restart');
  after.connectionChanged(true, t0 + 9000);
  assert.is(after.nextQueryAt(t0 + 9000), until);
  // Two starts from before the restart still count: one more fills the cap of 3 an hour.
  after.queryStarted(until);
  assert.is(after.nextQueryAt(until), t0 + HOUR_MS);
  assert.is(after.rateLimited(until) - until, 10 * MINUTE_MS, 'the doubling continues');
});

test('a snapshot of the starts after a time holds only the newer ones, and the pause all the same', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const policy = new RatePolicy({ ...DEFAULT_RATE_SETTINGS, quietPeriodMs: 0 }, seededRandom(5));
  policy.connectionChanged(true, t0);
  for (let i = 0; i < 4; i++) policy.queryStarted(t0 + i * 4000);
  const until = policy.rateLimited(t0 + 12_000);
  assert.equal(policy.snapshot(t0 + 4000), { pauseLevel: 1, pausedUntil: until, recentStarts: [t0 + 8000, t0 + 12_000] });
  assert.equal(policy.snapshot(t0 + 12_000).recentStarts, []);
  assert.equal(policy.snapshot().recentStarts, [t0, t0 + 4000, t0 + 8000, t0 + 12_000], 'without a time: the whole hour');
  // Starts that left the hour are not in a snapshot, whatever time it is asked from.
  policy.queryStarted(t0 + HOUR_MS + 5000);
  assert.equal(policy.snapshot(t0 - 1).recentStarts, [t0 + 8000, t0 + 12_000, t0 + HOUR_MS + 5000]);
});

test('snapshot parsing refuses bad stored values by name', () => {
  assert.equal(parseRatePolicySnapshot({ pauseLevel: 0 }), { pauseLevel: 0 });
  assert.equal(parseRatePolicySnapshot({ pauseLevel: 1, pausedUntil: null }), { pauseLevel: 1 });
  assert.throws(() => parseRatePolicySnapshot('x'), /must be an object/);
  assert.throws(() => parseRatePolicySnapshot({ pauseLevel: -1 }), /pauseLevel must be a non-negative integer/);
  assert.throws(() => parseRatePolicySnapshot({ pauseLevel: 0, pausedUntil: 'soon' }), /pausedUntil must be a time/);
  assert.throws(() => parseRatePolicySnapshot({ pauseLevel: 0, recentStarts: [1, 'b'] }), /recentStarts/);
  assert.throws(
    () => new RatePolicy(DEFAULT_RATE_SETTINGS, seededRandom(1), { pauseLevel: 'two' } as unknown as { pauseLevel: number }),
    /pauseLevel must be a non-negative integer, got "two"/,
  );
});

test('the hourly cap holds in every sliding hour, and a full window waits for its oldest start', () => {
  const settings = { ...DEFAULT_RATE_SETTINGS, intervalMs: 2000, hourlyCap: 300 };
  const simulation = simulate({ settings, hours: 5, seed: 9 });
  assert.ok(maxStartsInAnyHour(simulation.starts) <= 300);
  // Bursty by design: the first 300 go out at the interval pace, then the window throttles.
  assert.ok(simulation.starts[299]! - simulation.starts[0]! < 15 * MINUTE_MS);
  assert.ok(simulation.starts[300]! >= simulation.starts[0]! + HOUR_MS);
  assert.ok(simulation.starts.length >= 0.98 * 5 * 300 - 300);
});

test('simulated hours: gaps, pauses, quiet periods, disconnections and the cap are all respected', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const settings = DEFAULT_RATE_SETTINGS;
  const simulation = simulate({
    settings,
    hours: 8,
    seed: 42,
    connectionChanges: [
      { at: t0 + 50 * MINUTE_MS, connected: false },
      { at: t0 + 70 * MINUTE_MS, connected: true },
      { at: t0 + 3 * HOUR_MS, connected: false },
      { at: t0 + 3 * HOUR_MS + 30_000, connected: true },
      { at: t0 + 3 * HOUR_MS + 45_000, connected: false },
      { at: t0 + 3 * HOUR_MS + 47_000, connected: true },
    ],
    rateLimitedQueries: new Set([500, 501, 502, 2000]),
  });
  const { starts } = simulation;
  assert.ok(starts.length > 4000, `only ${starts.length} queries in 8 hours`);
  for (let i = 1; i < starts.length; i++) {
    assert.ok(starts[i]! - starts[i - 1]! >= settings.intervalMs * (1 - settings.jitterRatio) - 1e-6, `gap ${starts[i]! - starts[i - 1]!} ms`);
  }
  assertNoStartClosedTo(simulation);
  assert.ok(maxStartsInAnyHour(starts) <= settings.hourlyCap);
  assert.ok(simulation.blocked.some(({ why }) => why === '429'));
});

test('work pending uses at least 98 % of the budget', () => {
  for (const settings of [
    DEFAULT_RATE_SETTINGS,
    { ...DEFAULT_RATE_SETTINGS, hourlyCap: 5000 },
    { ...DEFAULT_RATE_SETTINGS, intervalMs: 10_000, jitterRatio: 0.5 },
  ]) {
    const hours = 6;
    const simulation = simulate({ settings, hours, seed: 17 });
    const budget = simulation.policy.budgetPerHour();
    const possible = (budget * simulation.openMs) / HOUR_MS;
    const share = simulation.starts.length / possible;
    assert.ok(share >= 0.98, `used ${(share * 100).toFixed(1)} % of the budget with interval ${settings.intervalMs} and cap ${settings.hourlyCap}`);
    assert.ok(share <= 1.02, `exceeded the budget: ${(share * 100).toFixed(1)} %`);
  }
});

test('budget is the tighter of interval and hourly cap', () => {
  assert.is(new RatePolicy(DEFAULT_RATE_SETTINGS, seededRandom(1)).budgetPerHour(), 900);
  assert.is(new RatePolicy({ ...DEFAULT_RATE_SETTINGS, hourlyCap: 5000 }, seededRandom(1)).budgetPerHour(), 1200);
});

test('the estimate spreads pending jobs over the budget after any pause or quiet period', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const policy = new RatePolicy({ ...DEFAULT_RATE_SETTINGS, hourlyCap: 5000 }, seededRandom(1));
  assert.is(policy.estimateSeconds(0, t0), 0);
  policy.connectionChanged(true, t0);
  // 60 s quiet, then 100 queries at 3 s: the last starts 99 × 3 s after the first.
  assert.is(policy.estimateSeconds(100, t0), 60 + 297);
  assert.is(policy.estimateSeconds(1, t0 + 60_000), 0);
  policy.queryStarted(t0 + 60_000);
  const until = policy.rateLimited(t0 + 60_000);
  assert.is(policy.estimateSeconds(10, t0 + 60_000), Math.ceil((until - (t0 + 60_000)) / 1000) + 27);
  const capped = new RatePolicy(DEFAULT_RATE_SETTINGS, seededRandom(1));
  capped.connectionChanged(true, t0);
  assert.is(capped.estimateSeconds(901, t0 + 60_000), 3600);
});

test.run();
