// The rate policy's state that must survive a restart: the 429 pause (a small JSON value in
// `meta`, written only when it changes) and the query starts of the last hour (one row each in
// `rate_query_starts`, appended as they happen), so storing a job's outcome costs one short
// INSERT, not a rewrite of the whole hour. A snapshot stored whole by an older worker still loads.

import { HOUR_MS } from '../time.js';
import type { RatePolicySnapshot } from '../avatars/rate-policy.js';
import type { SqliteDatabase } from './database.js';
import { STATE_KEYS, WorkerState } from './worker-state.js';

export class RateStateTable {
  private readonly state: WorkerState;
  private readonly statements;
  /** The pause as last written, and the newest start written: what `save` can skip. */
  private savedPause: string | undefined;
  private savedUpTo = Number.NEGATIVE_INFINITY;
  /** Starts an older worker kept inside the JSON value: moved into the table by the first save. */
  private legacyStarts: number[] = [];

  constructor(db: SqliteDatabase) {
    this.state = new WorkerState(db);
    this.statements = {
      starts: db.prepare('SELECT at FROM rate_query_starts WHERE at > ? ORDER BY at'),
      add: db.prepare('INSERT INTO rate_query_starts (at) VALUES (?)'),
      prune: db.prepare('DELETE FROM rate_query_starts WHERE at <= ?'),
    };
  }

  /** The stored state as a snapshot (not yet checked: the policy's parser names a bad field). */
  load(now: number): unknown {
    const stored = this.state.get<unknown>(STATE_KEYS.ratePolicy);
    const rows = (this.statements.starts.all(now - HOUR_MS) as { at: number }[]).map((row) => row.at);
    if (stored === undefined && rows.length === 0) return undefined;
    this.savedUpTo = rows[rows.length - 1] ?? this.savedUpTo;
    if (typeof stored !== 'object' || stored === null) return stored ?? { pauseLevel: 0, recentStarts: rows };
    this.savedPause = JSON.stringify(stored);
    const older = (stored as { recentStarts?: unknown }).recentStarts;
    if (!Array.isArray(older)) return { ...stored, recentStarts: rows };
    // An older worker kept the starts inside the JSON value; both lists count.
    this.legacyStarts = older.filter((at): at is number => typeof at === 'number' && at > now - HOUR_MS);
    return { ...stored, recentStarts: [...older, ...rows] };
  }

  /** The newest query start stored: a snapshot of the starts after it is all `save` needs. */
  get startsSavedThrough(): number {
    return this.savedUpTo;
  }

  /** Stores what changed since the last save; call inside the transaction of the job's outcome. */
  save(snapshot: RatePolicySnapshot, now: number): void {
    const pause = JSON.stringify(snapshot.pausedUntil === undefined ? { pauseLevel: snapshot.pauseLevel } : { pauseLevel: snapshot.pauseLevel, pausedUntil: snapshot.pausedUntil });
    if (pause !== this.savedPause) {
      this.state.set(STATE_KEYS.ratePolicy, JSON.parse(pause));
      this.savedPause = pause;
    }
    for (const at of this.legacyStarts) {
      this.statements.add.run(at);
      this.savedUpTo = Math.max(this.savedUpTo, at);
    }
    this.legacyStarts = [];
    const starts = snapshot.recentStarts ?? [];
    let first = starts.length;
    while (first > 0 && starts[first - 1]! > this.savedUpTo) first--;
    for (let index = first; index < starts.length; index++) this.statements.add.run(starts[index]!);
    if (first < starts.length) this.savedUpTo = starts[starts.length - 1]!;
    this.statements.prune.run(now - HOUR_MS);
  }
}
