// The database change notification: another connection's commit reaches the watcher.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SETTLE_MS, watchDatabaseChanges, type SettleTimer } from '../../src/store/change-watch.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { createLogger } from '../../src/logger.js';

interface WatchedFolder {
  /** A second connection to the watched database, as the CLI beside a running worker is. */
  readonly other: SqliteDatabase;
  /** How often the watch has called back so far. */
  calls(): number;
  /** Resolves at the watch's next call back (ask before the change), rejects after 5 s without one. */
  nextCall(): Promise<void>;
  readonly stop: () => void;
}

/** Runs `body` with a watch on a fresh data folder holding two open connections; always cleans up. */
async function withWatchedFolder(timer: SettleTimer | undefined, body: (folder: WatchedFolder) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'change-watch-'));
  const worker = openDatabase(dir);
  const other = openDatabase(dir);
  let calls = 0;
  let notified: () => void = () => undefined;
  const stop = watchDatabaseChanges(dir, () => {
    calls++;
    notified();
  }, createLogger('silent', 'test'), timer);
  const nextCall = (): Promise<void> => {
    // The watch is not persistent (it never keeps the worker alive); this timer keeps the test alive.
    let giveUp: NodeJS.Timeout | undefined;
    return new Promise<void>((resolve, reject) => {
      notified = resolve;
      giveUp = setTimeout(() => reject(new Error('no notification within 5 s')), 5_000);
    }).finally(() => {
      clearTimeout(giveUp);
      notified = () => undefined;
    });
  };
  try {
    await body({ other, calls: () => calls, nextCall, stop });
  } finally {
    stop();
    other.close();
    worker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const insertFavourite = (db: SqliteDatabase): void => {
  db.prepare(`INSERT INTO favourites (jid) VALUES ('491701112222@s.whatsapp.net')`).run();
};

test("another connection's commit is noticed, and nothing is after the watch stops", () =>
  withWatchedFolder(undefined, async ({ other, calls, nextCall, stop }) => {
    const seen = nextCall();
    insertFavourite(other);
    await seen;
    assert.ok(calls() >= 1);
    stop();
    const before = calls();
    other.prepare('DELETE FROM favourites').run();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(calls(), before, 'a stopped watch calls no more');
  }));

test('each burst of events is followed by one more look once the folder is quiet (the commit may become visible after its last WAL write)', () => {
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
  return withWatchedFolder(timer, async ({ other, calls, nextCall, stop }) => {
    const seen = nextCall();
    insertFavourite(other);
    await seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(planned.size, 1, 'one trailing look planned for the burst, each later event replacing it');
    const [only] = [...planned.values()];
    assert.is(only!.delayMs, SETTLE_MS);
    const before = calls();
    only!.callback();
    assert.is(calls(), before + 1, 'the trailing look happens');
    stop();
    other.prepare('DELETE FROM favourites').run();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(calls(), before + 1, 'a stopped watch looks no more');
  });
});

test.run();
