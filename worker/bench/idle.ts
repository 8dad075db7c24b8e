// Benchmark 6: how often an idle worker wakes. The real AvatarWorker on a fake clock, with the
// change notification the composition root gives it, counted over ten fake minutes in two states:
// nothing to do (history synced, queue empty) and a one-hour rate-limit pause with jobs queued.
// Then, on the real clock and file system, how long the notification takes to arrive after
// another connection commits a job row (what `refresh` does).

import { join } from 'node:path';
import type { Logger } from 'pino';
import { AvatarFiles } from '../src/files/avatar-files.js';
import { cdnDownloader, DEFAULT_DOWNLOAD_SETTINGS } from '../src/cdn/download.js';
import { DEFAULT_RATE_SETTINGS } from '../src/avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS } from '../src/avatars/transitions.js';
import { seededRandom } from '../src/clock.js';
import { AvatarQueue } from '../src/avatars/queue.js';
import { requireJid } from '../src/jid.js';
import { watchDatabaseChanges } from '../src/store/change-watch.js';
import { openDatabase } from '../src/store/database.js';
import { JobTable } from '../src/store/job-table.js';
import { AvatarWorker } from '../src/worker/avatar-worker.js';
import { FakeClock } from '../test/support/fake-clock.js';
import { HistoryDeliveringAccount } from './history-account.js';
import { checked, type BenchmarkResult } from './report.js';
import { elapsedMs, percentile } from './stats.js';
import { withTempDir } from './temp-dir.js';

const MINUTE_MS = 60_000;
const MEASURED_MINUTES = 10;
const NOTIFICATION_RUNS = 5;
// A notification that has not come by then never will: the bench reports the miss.
const NOTIFICATION_GIVE_UP_MS = 5_000;

/** Fake-clock timers fired per minute over MEASURED_MINUTES, after `setUp` put the worker in its state. */
async function wakesPerMinute(dataDir: string, logger: Logger, setUp: (worker: AvatarWorker, account: HistoryDeliveringAccount, clock: FakeClock) => void): Promise<number> {
  const clock = new FakeClock();
  let fired = 0;
  const counting = {
    now: () => clock.now(),
    setTimer: (callback: () => void, delayMs: number) =>
      clock.setTimer(() => {
        fired++;
        callback();
      }, delayMs),
  };
  const db = openDatabase(dataDir);
  const account = new HistoryDeliveringAccount();
  const worker = new AvatarWorker({
    db,
    account,
    files: new AvatarFiles(join(dataDir, 'avatars'), logger),
    downloadPicture: cdnDownloader(DEFAULT_DOWNLOAD_SETTINGS, logger),
    rate: DEFAULT_RATE_SETTINGS,
    ttl: DEFAULT_TTL_SETTINGS,
    clock: counting,
    random: seededRandom(6),
    logger,
    // The notification is there (as in `run`); nothing else writes, so it never fires here.
    watchExternalChanges: () => () => undefined,
  });
  try {
    await worker.start();
    setUp(worker, account, clock);
    clock.advance(MINUTE_MS);
    fired = 0;
    clock.advance(MEASURED_MINUTES * MINUTE_MS);
    return fired / MEASURED_MINUTES;
  } finally {
    await worker.stop();
    db.close();
  }
}

/** Milliseconds from another connection's commit to the watch's call, on the real clock. */
async function notificationDelays(dataDir: string, logger: Logger): Promise<number[]> {
  const db = openDatabase(dataDir);
  const writer = openDatabase(dataDir);
  const delays: number[] = [];
  let notified: (() => void) | undefined;
  const stop = watchDatabaseChanges(dataDir, () => notified?.(), logger);
  try {
    const queue = new AvatarQueue();
    for (let run = 0; run < NOTIFICATION_RUNS; run++) {
      const arrived = new Promise<boolean>((resolve) => {
        notified = () => resolve(true);
        setTimeout(() => resolve(false), NOTIFICATION_GIVE_UP_MS);
      });
      const started = performance.now();
      const { job } = queue.enqueue({ jid: requireJid(`4917000000${run}@s.whatsapp.net`).jid, kind: 'contact', reason: 'explicit' }, Date.now());
      writer.transaction(() => new JobTable(writer).save([job]))();
      delays.push((await arrived) ? elapsedMs(started) : Number.POSITIVE_INFINITY);
      notified = undefined;
      // Let the commit's trailing events pass before the next run.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return delays;
  } finally {
    stop();
    writer.close();
    db.close();
  }
}

export async function runIdleBenchmark(logger: Logger): Promise<BenchmarkResult> {
  const started = performance.now();
  const idle = await withTempDir('idle', (dir) =>
    wakesPerMinute(dir, logger, (_worker, account) => {
      account.deliver({ type: 'history-synced' });
    }),
  );
  const paused = await withTempDir('paused', (dir) =>
    wakesPerMinute(dir, logger, (worker, account, clock) => {
      worker.enqueue([{ jid: requireJid('491700000001@s.whatsapp.net').jid, kind: 'contact', reason: 'explicit' }]);
      account.deliver({ type: 'connection', state: 'open' });
      worker.policy.rateLimited(clock.now());
      account.deliver({ type: 'history-synced' });
    }),
  );
  const delays = await withTempDir('notify', (dir) => notificationDelays(join(dir, 'data'), logger));
  const slowest = Math.max(...delays);
  return {
    id: 'idle',
    title: '6. Idle: wake-ups, and how fast a refresh from another process is noticed',
    figures: [
      checked('wake-ups per minute, nothing to do', idle, '/min', '≤ 1', (value) => value <= 1),
      checked('wake-ups per minute, in a rate-limit pause', paused, '/min', '≤ 1', (value) => value <= 1),
      { label: 'commit → notification, median', value: percentile(delays, 50), unit: 'ms' },
      checked('commit → notification, slowest', slowest, 'ms', '< 1,000 ms', (value) => value < 1_000),
    ],
    notes: [
      `real AvatarWorker on a fake clock with the change notification injected, timers counted over ${MEASURED_MINUTES} fake minutes after a first one (the sweep's 5-minute timer included)`,
      'pause: connected, one job queued, WhatsApp answered rate-overlimit (the first pause is an hour)',
      `notification: fs.watch on the data folder (store/change-watch.ts), a job row committed by a second connection, ${NOTIFICATION_RUNS} runs on the real clock`,
    ],
    wallMs: elapsedMs(started),
    keys: { idle_wakeups_per_min: idle, paused_wakeups_per_min: paused, refresh_notice_ms: slowest },
  };
}
