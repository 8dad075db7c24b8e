// The SQLite floor of benchmark 1's history sync: the same batches written as bare rows into a
// fresh database with the worker's own schema (every index, the WAL settings of openDatabase and
// the checkpoint threshold a worker holds during a history sync), one transaction per batch as
// the worker commits them, and nothing else: each contact record a row of `contacts`, each chat
// record one of `chats`, each subject seen for the first time one `avatar_jobs` row, each table's
// rows of a batch in one INSERT over a JSON array. No identity read, no merge, no conflict update,
// no RETURNING, no queue, no events. What the sync takes above this is the worker's own work; the
// floor itself is the B-tree and WAL cost of the rows the schema asks for, which only fewer rows
// or indexes lower.

import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AccountEvent } from '../src/avatars/ports.js';
import { openDatabase } from '../src/store/database.js';
import { WalCheckpoints } from '../src/store/wal-checkpoints.js';
import { elapsedMs } from './stats.js';

export interface IngestFloor {
  readonly ms: number;
  /** Rows written: contacts + chats + jobs. */
  readonly rows: number;
}

/** Writes the sync's rows bare into a fresh database under `dataDir` and times it. */
export function measureIngestFloor(dataDir: string, events: readonly AccountEvent[], now: number, logger: Logger): IngestFloor {
  const db = openDatabase(dataDir);
  try {
    new WalCheckpoints(db, logger).holdForHistorySync();
    // One INSERT per table and batch over a JSON array read with jsonb_each, the worker's own fastest way to write rows.
    const contacts = db.prepare(`
      INSERT OR IGNORE INTO contacts (jid, name, notify, alternate_jid, created_at, updated_at)
      SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, @now, @now FROM jsonb_each(@rows)`);
    const chats = db.prepare(`
      INSERT OR IGNORE INTO chats (jid, kind, name, last_activity_at, community, created_at, updated_at)
      SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, @now, @now FROM jsonb_each(@rows)`);
    const jobs = db.prepare(`
      INSERT OR IGNORE INTO avatar_jobs (jid, kind, reason, priority, seq, enqueued_at, revision)
      SELECT value ->> 0, value ->> 1, 'never-fetched', 0, value ->> 2, @now, @revision FROM jsonb_each(@rows)`);
    const queued = new Set<string>();
    let rows = 0;
    let revision = 0;
    const newJobs = (subjects: readonly { jid: string; kind: string }[]): unknown[][] => {
      const fresh: unknown[][] = [];
      for (const { jid, kind } of subjects) {
        if (queued.has(jid)) continue;
        queued.add(jid);
        fresh.push([jid, kind, queued.size]);
      }
      return fresh;
    };
    const write = (table: Database.Statement, records: unknown[][], subjects: readonly { jid: string; kind: string }[]): void => {
      revision++;
      db.transaction(() => {
        table.run({ rows: JSON.stringify(records), now });
        const fresh = newJobs(subjects);
        if (fresh.length > 0) jobs.run({ rows: JSON.stringify(fresh), now, revision });
        rows += records.length + fresh.length;
      })();
    };
    const started = performance.now();
    for (const event of events) {
      if (event.type === 'contacts') {
        write(
          contacts,
          event.contacts.map((record) => [record.jid, record.name ?? null, record.notify ?? null, record.alternateJid ?? null]),
          event.contacts.map((record) => ({ jid: record.jid, kind: 'contact' })),
        );
      } else if (event.type === 'chats') {
        write(
          chats,
          event.chats.map((record) => [record.jid, record.kind, record.name ?? null, record.lastActivityAt ?? null, record.community === true ? 1 : 0]),
          event.chats,
        );
      }
    }
    return { ms: elapsedMs(started), rows };
  } finally {
    db.close();
  }
}
