// Benchmark 4: does the queue stay polite over an hour, and does it use the budget it has? The
// real RatePolicy, AvatarScheduler and AvatarQueue on a fake clock with the default settings and
// more work than an hour allows; WhatsApp answers instantly, except one 429 at minute 20, and
// the connection drops for two minutes at minute 40. Everything is measured on the fake clock.

import { requireJid } from '../src/jid.js';
import type { Logger } from 'pino';
import { AvatarQueue } from '../src/avatars/queue.js';
import { DEFAULT_RATE_SETTINGS, HOUR_MS, RatePolicy, type RateSettings } from '../src/avatars/rate-policy.js';
import { AvatarScheduler } from '../src/avatars/scheduler.js';
import type { AvatarJob } from '../src/avatars/model.js';
import { seededRandom, type Random } from '../src/clock.js';
import { FakeClock } from '../test/support/fake-clock.js';
import { checked, type BenchmarkResult } from './report.js';
import { elapsedMs, mostInAnyWindow, smallestGap } from './stats.js';

const MINUTE_MS = 60_000;
const SEED = 429;
// More than an hour's budget (900), so work is pending all the time.
const PENDING_JOBS = 2_000;
const RATE_LIMIT_AT_MS = 20 * MINUTE_MS;
const DISCONNECT_AT_MS = 40 * MINUTE_MS;
const DISCONNECTED_FOR_MS = 2 * MINUTE_MS;
// The worker's own poll for jobs from other processes; it also bounds how long the loop sleeps.
const POLL_INTERVAL_MS = 1_000;

/** A span of time in which no query may start; `from` itself is allowed for a 429 (that query caused it). */
interface BlockedSpan {
  readonly why: 'quiet period' | 'rate-limit pause' | 'disconnected';
  readonly from: number;
  readonly to: number;
}

/**
 * The real policy, watched: after every change of its state it notes the earliest start it now
 * allows, so each actual start can be compared with the moment it could have happened.
 */
class ObservedRatePolicy extends RatePolicy {
  /** How long each start came after the policy first allowed it. */
  readonly startDelaysMs: number[] = [];
  private earliestAllowed: number | undefined;

  constructor(settings: RateSettings, random: Random) {
    super(settings, random);
  }

  override queryStarted(now: number): void {
    if (this.earliestAllowed !== undefined) this.startDelaysMs.push(now - this.earliestAllowed);
    super.queryStarted(now);
    this.earliestAllowed = this.nextQueryAt(now);
  }

  override rateLimited(now: number): number {
    const until = super.rateLimited(now);
    this.earliestAllowed = this.nextQueryAt(now);
    return until;
  }

  override connectionChanged(connected: boolean, now: number): void {
    super.connectionChanged(connected, now);
    this.earliestAllowed = this.nextQueryAt(now);
  }
}

/** Total length of the union of spans clipped to [from, to). */
function coveredMs(spans: readonly BlockedSpan[], from: number, to: number): number {
  const clipped = spans
    .map((span) => [Math.max(from, span.from), Math.min(to, span.to)] as const)
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = from;
  for (const [start, end] of clipped) {
    if (end <= reach) continue;
    total += end - Math.max(start, reach);
    reach = end;
  }
  return total;
}

function startsInside(starts: readonly number[], spans: readonly BlockedSpan[]): { count: number; first?: string } {
  let count = 0;
  let first: string | undefined;
  for (const at of starts) {
    const span = spans.find((candidate) => (candidate.why === 'rate-limit pause' ? at > candidate.from : at >= candidate.from) && at < candidate.to);
    if (span === undefined) continue;
    count++;
    first ??= `a start at ${((at - spans[0]!.from) / 1000).toFixed(1)} s fell in a ${span.why}`;
  }
  return count === 0 ? { count } : { count, first: first! };
}

async function letJobsSettle(): Promise<void> {
  // runJob answers at once, but the scheduler continues after an await: let that run.
  await new Promise((resolve) => setImmediate(resolve));
}

interface SimulatedHour {
  readonly settings: RateSettings;
  readonly starts: number[];
  readonly blocked: BlockedSpan[];
  readonly startDelaysMs: readonly number[];
  readonly budgetPerHour: number;
  readonly pendingAtEnd: number;
  readonly origin: number;
}

async function simulateHour(logger: Logger): Promise<SimulatedHour> {
  const settings: RateSettings = { ...DEFAULT_RATE_SETTINGS };
  const clock = new FakeClock();
  const origin = clock.now();
  const end = origin + HOUR_MS;
  const policy = new ObservedRatePolicy(settings, seededRandom(SEED));
  const queue = new AvatarQueue();
  for (let index = 0; index < PENDING_JOBS; index++) {
    queue.enqueue({ jid: requireJid(`4915${String(100_000_000 + index)}@s.whatsapp.net`).jid, kind: 'contact', reason: 'never-fetched' }, origin);
  }
  const starts: number[] = [];
  const blocked: BlockedSpan[] = [];
  let rateLimitSent = false;
  const runJob = async (job: AvatarJob, querySent: () => void): Promise<void> => {
    const now = clock.now();
    querySent();
    starts.push(now);
    if (!rateLimitSent && now >= origin + RATE_LIMIT_AT_MS) {
      rateLimitSent = true;
      blocked.push({ why: 'rate-limit pause', from: now, to: policy.rateLimited(now) });
      return;
    }
    policy.answered(now);
    queue.complete(job.jid);
  };
  const scheduler = new AvatarScheduler({ queue, policy, clock, logger, runJob, pollIntervalMs: POLL_INTERVAL_MS });
  const connect = (): void => {
    const now = clock.now();
    policy.connectionChanged(true, now);
    blocked.push({ why: 'quiet period', from: now, to: now + settings.quietPeriodMs });
    scheduler.wake();
  };
  connect();
  scheduler.start();
  clock.setTimer(() => {
    const now = clock.now();
    policy.connectionChanged(false, now);
    blocked.push({ why: 'disconnected', from: now, to: now + DISCONNECTED_FOR_MS });
    scheduler.wake();
  }, DISCONNECT_AT_MS);
  clock.setTimer(connect, DISCONNECT_AT_MS + DISCONNECTED_FOR_MS);

  for (;;) {
    await letJobsSettle();
    const next = clock.nextTimerAt();
    if (next === undefined || next >= end) break;
    clock.advance(next - clock.now());
  }
  await scheduler.stop();
  blocked.sort((a, b) => a.from - b.from);
  return { settings, starts, blocked, startDelaysMs: policy.startDelaysMs, budgetPerHour: policy.budgetPerHour(), pendingAtEnd: queue.size, origin };
}

export async function runRateComplianceBenchmark(logger: Logger): Promise<BenchmarkResult> {
  const started = performance.now();
  const hour = await simulateHour(logger);
  const { settings, starts, origin } = hour;
  const end = origin + HOUR_MS;
  const eligibleMs = HOUR_MS - coveredMs(hour.blocked, origin, end);
  const minimumGapMs = settings.intervalMs * (1 - settings.jitterRatio);
  const mostPerMinute = mostInAnyWindow(starts, MINUTE_MS);
  // k starts fit in a minute only if (k − 1) minimum gaps are shorter than it.
  const allowedPerMinute = Math.ceil(MINUTE_MS / minimumGapMs);
  const smallest = smallestGap(starts) ?? Number.NaN;
  const violations = startsInside(starts, hour.blocked);
  // Work is pending the whole hour (jobs are left at the end), so the hour's budget is the measure.
  const budgetShare = (100 * starts.length) / hour.budgetPerHour;
  const paceWhileEligible = (100 * starts.length) / ((hour.budgetPerHour * eligibleMs) / HOUR_MS);
  const totalDelayMs = hour.startDelaysMs.reduce((sum, delay) => sum + delay, 0);
  const lostShare = (100 * totalDelayMs) / eligibleMs;
  const minutes = (ms: number): string => `${((ms - origin) / MINUTE_MS).toFixed(2)} min`;
  const notes = [
    `defaults: interval ${settings.intervalMs / 1000} s ± ${settings.jitterRatio * 100} %, hourly cap ${settings.hourlyCap}, quiet ${settings.quietPeriodMs / 1000} s, 429 pause ${settings.rateLimitPauseMs / MINUTE_MS} min; ${PENDING_JOBS.toLocaleString('en-US')} jobs queued (work pending all hour: ${hour.pendingAtEnd.toLocaleString('en-US')} left at the end)`,
    `blocked: ${hour.blocked.map((span) => `${span.why} ${minutes(span.from)}–${minutes(span.to)}`).join('; ')}; eligible (pending, connected, not quiet, not paused): ${(eligibleMs / MINUTE_MS).toFixed(1)} min`,
    `budget = the tighter of interval and cap = ${hour.budgetPerHour}/h; the cap is a sliding hour, so after a pause the queue may catch up at the interval pace and use more than budget × eligible time (the pace figure) while never exceeding the cap`,
    'start delay = how long after the policy allowed a start the scheduler actually started it, summed over all starts (timers fire on whole milliseconds, hence up to 1 ms each)',
  ];
  if (violations.first !== undefined) notes.push(`VIOLATION: ${violations.first}`);
  return {
    id: 'rate',
    title: '4. Rate compliance over a simulated hour (fake clock, default settings)',
    figures: [
      checked('queries started in the hour', starts.length, 'queries', `≤ ${settings.hourlyCap} (hourly cap)`, (value) => value <= settings.hourlyCap),
      checked('most queries in any sliding minute', mostPerMinute, 'queries', `≤ ${allowedPerMinute}`, (value) => value <= allowedPerMinute),
      checked('rate budget used, work pending all hour', budgetShare, '%', '≥ 98 %', (value) => value >= 98 && value <= 100),
      { label: 'pace while eligible (catch-up after pauses)', value: paceWhileEligible, unit: '% of budget' },
      checked('time lost to start delay', lostShare, '% of eligible', '≤ 2 %', (value) => value <= 2),
      { label: 'largest single start delay', value: Math.max(0, ...hour.startDelaysMs), unit: 'ms' },
      checked('starts in pause/quiet/disconnected', violations.count, 'queries', '0', (value) => value === 0),
      checked('minimum gap between starts', smallest, 'ms', `≥ ${minimumGapMs} (interval × (1 − jitter))`, (value) => value >= minimumGapMs),
    ],
    notes,
    wallMs: elapsedMs(started),
    keys: { rate_queries_per_hour: starts.length, rate_most_per_minute: mostPerMinute, rate_budget_used_percent: budgetShare, rate_starts_while_blocked: violations.count, rate_min_gap_ms: smallest ?? 0 },
  };
}
