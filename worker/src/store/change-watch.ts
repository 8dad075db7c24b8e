// Tells a running worker that another process (`whatsapp-worker refresh`) wrote the database, so
// it can sleep a minute at a time instead of looking every second. In WAL mode every commit
// appends to `whatsapp.db-wal`, so a watch on the data folder sees one; the worker's own commits
// are seen too, which only costs it a cheap look (SQLite's data_version says nothing changed).

import { watch, type FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';
import type { Logger } from 'pino';
import { databasePath } from './database.js';

export function watchDatabaseChanges(dataDir: string, changed: () => void, logger: Logger): () => void {
  const path = databasePath(dataDir);
  const names = new Set([basename(path), `${basename(path)}-wal`]);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
      if (name === null || names.has(name.toString())) changed();
    });
    watcher.on('error', (error) => logger.warn({ err: error }, 'the database watch failed: refreshes from other processes are picked up within a minute'));
  } catch (error) {
    logger.warn({ err: error }, 'cannot watch the database folder: refreshes from other processes are picked up within a minute');
  }
  return () => watcher?.close();
}
