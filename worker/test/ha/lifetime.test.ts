import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeClock } from '../support/fake-clock.js';
import { ConnectionScope, ScopeEndedError } from '../../src/ha/lifetime.js';

const silent = pino({ level: 'silent' });

test('sleep resolves true when the delay passes', async () => {
  const clock = new FakeClock();
  const scope = new ConnectionScope(clock, silent);
  const slept = scope.sleep(1_000);
  clock.advance(1_000);
  assert.is(await slept, true);
});

test('ending the scope cuts sleeps short and cancels its timers', async () => {
  const clock = new FakeClock();
  const scope = new ConnectionScope(clock, silent);
  let fired = false;
  scope.timer(() => {
    fired = true;
  }, 500);
  const slept = scope.sleep(1_000);
  scope.end();
  assert.is(await slept, false);
  clock.advance(5_000);
  assert.is(fired, false);
  assert.is(clock.nextTimerAt(), undefined, 'no timer left behind');
  assert.is(await scope.sleep(10), false, 'an ended scope does not sleep');
});

test('untilEnded passes results and failures through while the scope lives', async () => {
  const scope = new ConnectionScope(new FakeClock(), silent);
  assert.is(await scope.untilEnded(Promise.resolve(7)), 7);
  try {
    await scope.untilEnded(Promise.reject({ code: 'unknown_command', message: 'Unknown command.' }));
    assert.unreachable('should have rejected');
  } catch (error) {
    assert.equal(error, { code: 'unknown_command', message: 'Unknown command.' });
  }
});

test('untilEnded rejects a wait that would never settle once the scope ends', async () => {
  const scope = new ConnectionScope(new FakeClock(), silent);
  const never = new Promise<never>(() => undefined);
  const waiting = scope.untilEnded(never);
  scope.end();
  try {
    await waiting;
    assert.unreachable('should have rejected');
  } catch (error) {
    assert.instance(error, ScopeEndedError);
  }
});

test('a promise handed to an ended scope is rejected at once and its late failure is handled', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    const scope = new ConnectionScope(new FakeClock(), silent);
    scope.end();
    const late = Promise.reject(3);
    try {
      await scope.untilEnded(late);
      assert.unreachable('should have rejected');
    } catch (error) {
      assert.instance(error, ScopeEndedError);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test.run();
