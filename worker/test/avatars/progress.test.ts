import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeClock } from '../support/fake-clock.js';
import { BATCH_CONTINUES_WITHIN_MS, ProgressTracker, formatDuration, formatProgress, parseStoredProgress } from '../../src/avatars/progress.js';

const MINUTE_MS = 60_000;

test('done counts completions of the batch and total adds what is pending', () => {
  const clock = new FakeClock();
  const progress = new ProgressTracker();
  progress.batchStarted(clock.now());
  for (let i = 0; i < 5; i++) {
    clock.advance(3000);
    progress.jobCompleted(clock.now());
  }
  const snapshot = progress.snapshot(clock.now(), 15, 45);
  assert.is(snapshot.done, 5);
  assert.is(snapshot.total, 20);
  assert.is(snapshot.etaSeconds, 45);
});

test('a drained queue keeps its final count on show until new work starts a new batch', () => {
  const clock = new FakeClock();
  const progress = new ProgressTracker();
  progress.batchStarted(clock.now());
  for (let i = 0; i < 3; i++) {
    clock.advance(3000);
    progress.jobCompleted(clock.now());
  }
  progress.queueDrained(clock.now());
  assert.equal(progress.snapshot(clock.now(), 0, 0).done, 3);
  assert.is(progress.snapshot(clock.now(), 0, 0).total, 3);
  clock.advance(BATCH_CONTINUES_WITHIN_MS + MINUTE_MS);
  progress.batchStarted(clock.now());
  assert.is(progress.snapshot(clock.now(), 4, null).done, 0);
  assert.is(progress.snapshot(clock.now(), 4, null).total, 4);
  clock.advance(3000);
  progress.jobCompleted(clock.now());
  assert.is(progress.snapshot(clock.now(), 3, null).done, 1);
});

test('batchStarted while a batch runs does not reset the count', () => {
  const clock = new FakeClock();
  const progress = new ProgressTracker();
  progress.batchStarted(clock.now());
  clock.advance(3000);
  progress.jobCompleted(clock.now());
  progress.batchStarted(clock.now());
  assert.is(progress.snapshot(clock.now(), 10, null).done, 1);
});

test('a completion after draining starts a new batch by itself', () => {
  const clock = new FakeClock();
  const progress = new ProgressTracker();
  progress.jobCompleted(clock.now());
  progress.jobCompleted(clock.now());
  progress.queueDrained(clock.now());
  clock.advance(BATCH_CONTINUES_WITHIN_MS + MINUTE_MS);
  progress.jobCompleted(clock.now());
  assert.is(progress.snapshot(clock.now(), 0, 0).done, 1);
});

test('rate is completions per hour over the window, or since the batch began', () => {
  const clock = new FakeClock();
  const progress = new ProgressTracker(10 * MINUTE_MS);
  progress.batchStarted(clock.now());
  // One every 3 s for 2 minutes: 1,200 an hour, measured over the 2 minutes so far.
  for (let i = 0; i < 40; i++) {
    clock.advance(3000);
    progress.jobCompleted(clock.now());
  }
  assert.is(progress.snapshot(clock.now(), 100, null).ratePerHour, 1200);
  // Then one every 6 s for 20 minutes: the window only sees the slower pace.
  for (let i = 0; i < 200; i++) {
    clock.advance(6000);
    progress.jobCompleted(clock.now());
  }
  assert.is(progress.snapshot(clock.now(), 100, null).ratePerHour, 600);
  // Stalled (a 429 pause) for 5 minutes: half the window is empty.
  clock.advance(5 * MINUTE_MS);
  assert.is(progress.snapshot(clock.now(), 100, null).ratePerHour, 300);
  clock.advance(10 * MINUTE_MS);
  assert.is(progress.snapshot(clock.now(), 100, null).ratePerHour, 0);
});

test('no completions yet means a rate of 0, not a division by zero', () => {
  const clock = new FakeClock();
  const progress = new ProgressTracker();
  const { done, total, ratePerHour, etaSeconds } = progress.snapshot(clock.now(), 7, null);
  assert.equal({ done, total, ratePerHour, etaSeconds }, { done: 0, total: 7, ratePerHour: 0, etaSeconds: null });
  progress.batchStarted(clock.now());
  assert.is(progress.snapshot(clock.now(), 7, null).ratePerHour, 0);
});

test('a bad window is refused', () => {
  assert.throws(() => new ProgressTracker(0), /progress window must be a positive number of ms, got 0/);
});

test('the log line reads like the example', () => {
  assert.is(formatProgress({ done: 120, total: 300, ratePerHour: 1150, etaSeconds: 155 }), '120/300 done (40 %), 1,150/h, ETA 2 min 35 s');
  assert.is(formatProgress({ done: 1999, total: 2000, ratePerHour: 900, etaSeconds: 4 }), '1,999/2,000 done (99 %), 900/h, ETA 4 s');
  assert.is(formatProgress({ done: 0, total: 0, ratePerHour: 0, etaSeconds: null }), '0/0 done (100 %), 0/h, ETA unknown');
});

test('durations are short and readable', () => {
  assert.is(formatDuration(0), '0 s');
  assert.is(formatDuration(59.6), '1 min');
  assert.is(formatDuration(155), '2 min 35 s');
  assert.is(formatDuration(3600), '1 h');
  assert.is(formatDuration(3900), '1 h 5 min');
  assert.is(formatDuration(2 * 86_400 + 3 * 3600 + 59), '2 d 3 h');
  assert.is(formatDuration(-5), '0 s');
});

test('work that comes back soon after the queue drained goes on with the batch (a sync in parts)', () => {
  const clock = new FakeClock();
  const progress = new ProgressTracker();
  for (let i = 0; i < 3; i++) {
    clock.advance(3000);
    progress.jobCompleted(clock.now());
  }
  progress.queueDrained(clock.now());
  clock.advance(BATCH_CONTINUES_WITHIN_MS - MINUTE_MS);
  progress.batchStarted(clock.now());
  clock.advance(3000);
  progress.jobCompleted(clock.now());
  const snapshot = progress.snapshot(clock.now(), 2, 6);
  assert.is(snapshot.done, 4);
  assert.is(snapshot.total, 6);
  // The batch began with the first completion; the 9 idle minutes between the parts are not
  // working time: 6 s in the first part, 3 s in the second.
  assert.is(snapshot.observedMs, 9_000);
});

test('a restart with work left goes on from the stored count, the downtime not counted as working time', () => {
  const clock = new FakeClock();
  const before = new ProgressTracker();
  before.batchStarted(clock.now());
  for (let i = 0; i < 50; i++) {
    clock.advance(6000);
    before.jobCompleted(clock.now());
  }
  // Stored as JSON in the meta table, read back after the restart.
  const stored = parseStoredProgress(JSON.parse(JSON.stringify(before.snapshot(clock.now(), 150, 450))));
  clock.advance(30 * MINUTE_MS);
  const after = new ProgressTracker();
  after.restore(stored, 150, clock.now());
  clock.advance(6000);
  after.jobCompleted(clock.now());
  const snapshot = after.snapshot(clock.now(), 149, 447);
  assert.is(snapshot.done, 51);
  assert.is(snapshot.total, 200);
  assert.is(snapshot.batchStartedAt, stored.batchStartedAt);
  assert.is(snapshot.observedMs, 51 * 6000);
  // 6 s a job observed (the budget says 3 s): 149 × 6 s.
  assert.is(snapshot.etaSeconds, 894);
});

test('a restart after the batch finished shows it until new work starts a fresh one', () => {
  const clock = new FakeClock();
  const before = new ProgressTracker();
  before.jobCompleted(clock.now());
  const stored = parseStoredProgress(before.snapshot(clock.now(), 0, 0));
  before.queueDrained(clock.now());
  clock.advance(BATCH_CONTINUES_WITHIN_MS + MINUTE_MS);
  const after = new ProgressTracker();
  after.restore(stored, 0, clock.now());
  assert.is(after.snapshot(clock.now(), 0, 0).done, 1);
  after.batchStarted(clock.now());
  assert.is(after.snapshot(clock.now(), 5, 15).done, 0);
});

test('a damaged stored progress is refused with the field it names', () => {
  assert.throws(() => parseStoredProgress({ done: 3, total: 2, batchStartedAt: 0, observedMs: 0, savedAt: 0 }), /total \(2\) is below done \(3\)/);
  assert.throws(() => parseStoredProgress({ done: 1, total: 2, batchStartedAt: 'x', observedMs: 0, savedAt: 0 }), /batchStartedAt/);
  assert.throws(() => parseStoredProgress({ done: -1, total: 2 }), /done must be a non-negative integer/);
  assert.throws(() => parseStoredProgress('progress'), /must be an object/);
});

test.run();
