// Tells a running worker that another process (`whatsapp-worker refresh`) wrote the database, so
// it can sleep a minute at a time instead of looking every second. In WAL mode every commit
// appends to `whatsapp.db-wal`, so a watch on the data folder sees one; the worker's own commits
// are seen too, which only costs it a cheap look (SQLite's data_version says nothing changed).
//
// A commit becomes visible to readers only when the writer updates the WAL index in
// `whatsapp.db-shm`, after its last write to the WAL, and that update is a write through a shared
// memory map, which inotify does not report. An idle worker woken by the WAL write can look before
// that update, see no change, and get no further event: the job would wait for the minute poll.
// So each burst of events is followed by one more look once the folder has been quiet a moment.

import { watch, type FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';
import type { Logger } from 'pino';
import { databasePath } from './database.js';

/** How long after the last event the trailing look comes: far longer than a commit's last steps. */
export const SETTLE_MS = 50;

/** The timer the trailing look uses (injected so a test runs it without waiting). */
export interface SettleTimer {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

const SYSTEM_TIMER: SettleTimer = {
  set: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export function watchDatabaseChanges(dataDir: string, changed: () => void, logger: Logger, timer: SettleTimer = SYSTEM_TIMER): () => void {
  const path = databasePath(dataDir);
  const names = new Set([basename(path), `${basename(path)}-wal`]);
  let watcher: FSWatcher | undefined;
  let trailing: unknown;
  const lookAgainLater = (): void => {
    if (trailing !== undefined) timer.clear(trailing);
    trailing = timer.set(() => {
      trailing = undefined;
      changed();
    }, SETTLE_MS);
  };
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (name !== null && !names.has(name.toString())) return;
      changed();
      lookAgainLater();
    });
    watcher.on('error', (error) => logger.warn({ err: error }, 'the database watch failed: refreshes from other processes are picked up within a minute'));
  } catch (error) {
    logger.warn({ err: error }, 'cannot watch the database folder: refreshes from other processes are picked up within a minute');
  }
  return () => {
    watcher?.close();
    if (trailing !== undefined) timer.clear(trailing);
    trailing = undefined;
  };
}
