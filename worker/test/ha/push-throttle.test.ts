import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeClock } from '../support/fake-clock.js';
import { Debounce, Throttle } from '../../src/ha/push-throttle.js';

function recorder(clock: FakeClock): { runs: number[]; action: () => void } {
  const runs: number[] = [];
  const start = clock.now();
  return { runs, action: () => runs.push(clock.now() - start) };
}

test('Throttle runs the first request at once and keeps one trailing run per interval', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const throttle = new Throttle(clock, 1_000, action);
  throttle.request();
  clock.advance(100);
  throttle.request();
  clock.advance(100);
  throttle.request();
  assert.equal(runs, [0]);
  clock.advance(800);
  assert.equal(runs, [0, 1_000], 'the trailing run happens when the interval ends');
  clock.advance(5_000);
  assert.equal(runs, [0, 1_000], 'no extra runs without requests');
});

test('Throttle never runs twice within the interval under a steady stream of requests', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const throttle = new Throttle(clock, 1_000, action);
  for (let step = 0; step < 50; step++) {
    throttle.request();
    clock.advance(90);
  }
  clock.advance(1_000);
  for (let index = 1; index < runs.length; index++) {
    assert.ok((runs[index] as number) - (runs[index - 1] as number) >= 1_000, `runs ${runs.join(',')} closer than 1 s`);
  }
  // Requests from 0 to 4.41 s: one run per second, and the last request's trailing run at 5 s.
  assert.equal(runs, [0, 1_000, 2_000, 3_000, 4_000, 5_000]);
});

test('Throttle runs at once again once the interval has passed', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const throttle = new Throttle(clock, 1_000, action);
  throttle.request();
  clock.advance(1_500);
  throttle.request();
  assert.equal(runs, [0, 1_500]);
});

test('Throttle.flush runs now and drops the pending trailing run', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const throttle = new Throttle(clock, 1_000, action);
  throttle.request();
  clock.advance(200);
  throttle.request();
  throttle.flush();
  clock.advance(2_000);
  assert.equal(runs, [0, 200]);
});

test('Throttle.cancel drops the trailing run', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const throttle = new Throttle(clock, 1_000, action);
  throttle.request();
  throttle.request();
  throttle.cancel();
  clock.advance(2_000);
  assert.equal(runs, [0]);
});

test('Debounce waits for a quiet period', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const debounce = new Debounce(clock, 2_000, 30_000, action);
  debounce.request();
  clock.advance(1_500);
  debounce.request();
  clock.advance(1_999);
  assert.equal(runs, []);
  clock.advance(1);
  assert.equal(runs, [3_500]);
});

test('Debounce runs at the latest maxWait after the first request of a burst', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const debounce = new Debounce(clock, 2_000, 5_000, action);
  for (let step = 0; step < 20; step++) {
    debounce.request();
    clock.advance(500);
  }
  clock.advance(3_000);
  assert.equal(runs.slice(0, 2), [5_000, 10_000], 'a constant stream still gets through every 5 s');
});

test('Debounce.flush runs now and cancels the pending run', () => {
  const clock = new FakeClock();
  const { runs, action } = recorder(clock);
  const debounce = new Debounce(clock, 2_000, 30_000, action);
  debounce.request();
  clock.advance(500);
  debounce.flush();
  clock.advance(5_000);
  assert.equal(runs, [500]);
});

test.run();
