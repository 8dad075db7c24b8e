// The database change notification: another connection's commit reaches the watcher.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SETTLE_MS, watchDatabaseChanges, type SettleTimer } from '../../src/store/change-watch.js';
import { openDatabase } from '../../src/store/database.js';
import { createLogger } from '../../src/logger.js';

test("another connection's commit is noticed, and nothing is after the watch stops", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'change-watch-'));
  const worker = openDatabase(dir);
  const other = openDatabase(dir);
  let calls = 0;
  let notified: () => void = () => undefined;
  const stop = watchDatabaseChanges(dir, () => {
    calls++;
    notified();
  }, createLogger('silent', 'test'));
  try {
    // The watch is not persistent (it never keeps the worker alive); this timer keeps the test alive.
    let giveUp: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      notified = resolve;
      giveUp = setTimeout(() => reject(new Error('no notification within 5 s')), 5_000);
    });
    other.prepare(`INSERT INTO favourites (jid) VALUES ('491701112222@s.whatsapp.net')`).run();
    await seen.finally(() => clearTimeout(giveUp));
    assert.ok(calls >= 1);
    stop();
    const before = calls;
    other.prepare('DELETE FROM favourites').run();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(calls, before, 'a stopped watch calls no more');
  } finally {
    stop();
    other.close();
    worker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('each burst of events is followed by one more look once the folder is quiet (the commit may become visible after its last WAL write)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'change-watch-'));
  const worker = openDatabase(dir);
  const other = openDatabase(dir);
  // A hand-run timer: the trailing look is planned, replaced by a later event, and run by the test.
  const planned = new Map<number, { callback: () => void; delayMs: number }>();
  let nextHandle = 0;
  const timer: SettleTimer = {
    set: (callback, delayMs) => {
      planned.set(++nextHandle, { callback, delayMs });
      return nextHandle;
    },
    clear: (handle) => planned.delete(handle as number),
  };
  let calls = 0;
  let notified: () => void = () => undefined;
  const stop = watchDatabaseChanges(dir, () => {
    calls++;
    notified();
  }, createLogger('silent', 'test'), timer);
  try {
    let giveUp: NodeJS.Timeout | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      notified = resolve;
      giveUp = setTimeout(() => reject(new Error('no notification within 5 s')), 5_000);
    });
    other.prepare(`INSERT INTO favourites (jid) VALUES ('491701112222@s.whatsapp.net')`).run();
    await seen.finally(() => clearTimeout(giveUp));
    notified = () => undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(planned.size, 1, 'one trailing look planned for the burst, each later event replacing it');
    const [only] = [...planned.values()];
    assert.is(only!.delayMs, SETTLE_MS);
    const before = calls;
    only!.callback();
    assert.is(calls, before + 1, 'the trailing look happens');
    stop();
    other.prepare('DELETE FROM favourites').run();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(calls, before + 1, 'a stopped watch looks no more');
  } finally {
    stop();
    other.close();
    worker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
