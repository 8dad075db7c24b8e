// The scheduler's last guard: a job whose run throws must not run again at once. Fake clock,
// the real queue and rate policy.

import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AvatarQueue } from '../../src/avatars/queue.js';
import { DEFAULT_RATE_SETTINGS, RatePolicy } from '../../src/avatars/rate-policy.js';
import { AvatarScheduler } from '../../src/avatars/scheduler.js';
import { seededRandom } from '../../src/clock.js';
import { FakeClock } from '../support/fake-clock.js';
import { testJid } from '../support/jids.js';

const POISON = testJid('491700000001@s.whatsapp.net');
const HEALTHY = ['491700000002@s.whatsapp.net', '491700000003@s.whatsapp.net'].map(testJid);

test('a job whose run throws is held back with a growing delay, and the others run', async () => {
  const clock = new FakeClock();
  const queue = new AvatarQueue();
  for (const jid of [POISON, ...HEALTHY]) queue.enqueue({ jid, kind: 'contact', reason: 'stale' }, clock.now());
  const policy = new RatePolicy({ ...DEFAULT_RATE_SETTINGS, quietPeriodMs: 0 }, seededRandom(1));
  policy.connectionChanged(true, clock.now());
  const runs: { jid: string; at: number }[] = [];
  const scheduler = new AvatarScheduler({
    queue,
    policy,
    clock,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 60_000,
    failureDelayMs: (attempts) => 30_000 * 2 ** attempts,
    runJob: async (job, querySent) => {
      querySent();
      runs.push({ jid: job.jid, at: clock.now() });
      if (job.jid === POISON) throw new TypeError('cannot record the outcome: a picture id is empty');
      queue.complete(job.jid);
    },
  });
  scheduler.start();
  const end = clock.now() + 10 * 60_000;
  while (clock.now() < end) {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const next = clock.nextTimerAt();
    if (next === undefined || next > end) break;
    clock.advance(Math.max(0, next - clock.now()));
  }
  await scheduler.stop();
  const poison = runs.filter((run) => run.jid === POISON).map((run) => run.at);
  // Before: 179 runs in 540 s. Now 30 s, 60 s, 120 s, 240 s apart: 5 runs in 10 minutes.
  assert.is(poison.length, 5);
  for (let i = 2; i < poison.length; i++) assert.ok(poison[i]! - poison[i - 1]! > poison[i - 1]! - poison[i - 2]!);
  for (const jid of HEALTHY) assert.ok(runs.some((run) => run.jid === jid), `${jid} never ran`);
  assert.is(queue.get(POISON)?.attempts, 5);
});

test.run();
