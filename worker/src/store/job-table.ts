// The persistent side of the avatar queue. Every write of rows takes a fresh revision from a
// counter in `meta` (one per `save`, shared by the rows it writes), so a running worker can pick
// up what another process (`whatsapp-worker refresh`) queued by reading the rows newer than the
// last revision it saw. A `save` is two statements whatever its size: the counter, and one
// INSERT over a JSON array of the rows.

import type { AvatarJob, JobReason } from '../avatars/model.js';
import type { JobStore } from '../avatars/ports.js';
import { storedJid, type SubjectKind } from '../jid.js';
import type { SqliteDatabase } from './database.js';

interface JobRow {
  jid: string;
  kind: SubjectKind;
  reason: JobReason;
  priority: number;
  rank: number;
  force: number;
  attempts: number;
  not_before: number;
  seq: number;
  enqueued_at: number;
  revision: number;
}

const REVISION_KEY = 'job_revision';

function toJob(row: JobRow): AvatarJob {
  return {
    jid: storedJid(row.jid),
    kind: row.kind,
    reason: row.reason,
    priority: row.priority,
    rank: row.rank,
    force: row.force === 1,
    attempts: row.attempts,
    notBefore: row.not_before,
    seq: row.seq,
    enqueuedAt: row.enqueued_at,
  };
}

export class JobTable implements JobStore {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      all: db.prepare('SELECT * FROM avatar_jobs'),
      changedSince: db.prepare('SELECT * FROM avatar_jobs WHERE revision > ?'),
      nextRevision: db.prepare(`
        INSERT INTO meta (key, value) VALUES ('${REVISION_KEY}', '1')
        ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
        RETURNING CAST(value AS INTEGER) AS revision`),
      currentRevision: db.prepare(`SELECT CAST(value AS INTEGER) AS revision FROM meta WHERE key = '${REVISION_KEY}'`),
      // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint of the SELECT;
      // jsonb_each for the reason given at SubjectStore's upserts.
      save: db.prepare(`
        INSERT INTO avatar_jobs (jid, kind, reason, priority, rank, force, attempts, not_before, seq, enqueued_at, revision)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
               value ->> 8, value ->> 9, @revision
        FROM jsonb_each(@rows) WHERE true
        ON CONFLICT (jid) DO UPDATE SET
          kind = excluded.kind, reason = excluded.reason, priority = excluded.priority, rank = excluded.rank,
          force = excluded.force, attempts = excluded.attempts, not_before = excluded.not_before,
          seq = excluded.seq, enqueued_at = excluded.enqueued_at, revision = excluded.revision`),
      remove: db.prepare('DELETE FROM avatar_jobs WHERE jid = ?'),
      count: db.prepare('SELECT COUNT(*) AS count FROM avatar_jobs'),
    };
  }

  loadAll(): AvatarJob[] {
    return [...this.eachJob()];
  }

  *eachJob(): Generator<AvatarJob> {
    for (const row of this.statements.all.iterate() as Iterable<JobRow>) yield toJob(row);
  }

  /** Jobs written (by any process) after `revision`, and the revision to ask from next time. */
  changedSince(revision: number): { jobs: AvatarJob[]; revision: number } {
    const rows = this.statements.changedSince.all(revision) as JobRow[];
    const latest = rows.reduce((max, row) => Math.max(max, row.revision), revision);
    return { jobs: rows.map(toJob), revision: latest };
  }

  currentRevision(): number {
    const row = this.statements.currentRevision.get() as { revision: number } | undefined;
    return row?.revision ?? 0;
  }

  /** Writes jobs; call inside the caller's transaction when it batches. */
  save(jobs: Iterable<AvatarJob>): void {
    const rows = Array.from(jobs, (job) => [job.jid, job.kind, job.reason, job.priority, job.rank, job.force ? 1 : 0, job.attempts, job.notBefore, job.seq, job.enqueuedAt]);
    if (rows.length === 0) return;
    const { revision } = this.statements.nextRevision.get() as { revision: number };
    this.statements.save.run({ rows: JSON.stringify(rows), revision });
  }

  remove(jid: string): void {
    this.statements.remove.run(jid);
  }

  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  count(): number {
    return (this.statements.count.get() as { count: number }).count;
  }
}
