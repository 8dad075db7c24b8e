import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeClock } from '../support/fake-clock.js';
import { ProgressTracker, formatDuration, formatProgress } from '../../src/avatars/progress.js';

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
  progress.queueDrained();
  assert.equal(progress.snapshot(clock.now(), 0, 0).done, 3);
  assert.is(progress.snapshot(clock.now(), 0, 0).total, 3);
  clock.advance(MINUTE_MS);
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
  progress.queueDrained();
  clock.advance(MINUTE_MS);
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
  assert.equal(progress.snapshot(clock.now(), 7, null), { done: 0, total: 7, ratePerHour: 0, etaSeconds: null });
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

test.run();
