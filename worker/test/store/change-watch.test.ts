// The database change notification: another connection's commit reaches the watcher.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { watchDatabaseChanges } from '../../src/store/change-watch.js';
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

test.run();
