// Opens the worker's SQLite database: WAL for a reader (status, refresh) beside the running
// worker, a busy timeout so those short writers wait instead of failing, and the migrations.

import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MIGRATIONS } from './migrations.js';

export type SqliteDatabase = Database.Database;

export const DATABASE_FILE_NAME = 'whatsapp.db';

// Long enough for the worker's largest batch transaction to finish, short enough to report a stuck lock.
const BUSY_TIMEOUT_MS = 10_000;

export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE_NAME);
}

export class DatabaseMissingError extends Error {
  override readonly name = 'DatabaseMissingError';
}

export class DatabaseVersionError extends Error {
  override readonly name = 'DatabaseVersionError';
}

export interface OpenOptions {
  /** Refuse, creating nothing, when the database does not exist yet (for `status`). */
  readonly mustExist?: boolean;
}

export function openDatabase(dataDir: string, options: OpenOptions = {}): SqliteDatabase {
  const path = databasePath(dataDir);
  if (options.mustExist && !existsSync(path)) {
    throw new DatabaseMissingError(`no worker database at ${path}: run the worker on this folder first`);
  }
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, options.mustExist ? { fileMustExist: true } : {});
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // NORMAL is durable in WAL mode except for the last transactions on power loss; a lost
    // transaction only re-runs a job, since a job row goes only after its outcome is stored.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function migrate(db: SqliteDatabase): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new DatabaseVersionError(
      `the database has schema version ${current}, newer than this worker knows (${MIGRATIONS.length}): update the worker`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
