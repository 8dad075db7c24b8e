// Small pieces of worker state that outlive a process (the `meta` table): the rate-limit pause,
// progress, the WhatsApp connection as last seen. The favourites have their own table (favourites.ts).

import type { SqliteDatabase } from './database.js';

export class WorkerState {
  private readonly statements;

  constructor(db: SqliteDatabase) {
    this.statements = {
      get: db.prepare('SELECT value FROM meta WHERE key = ?'),
      set: db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    };
  }

  get<T>(key: string): T | undefined {
    const row = this.statements.get.get(key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  set(key: string, value: unknown): void {
    this.statements.set.run(key, JSON.stringify(value));
  }

  /** This data folder's worker id, made once (`newId`) and kept: HA tells a reconnect from a second worker by it. */
  workerId(newId: () => string): string {
    const known = this.get<string>(STATE_KEYS.workerId);
    if (typeof known === 'string') return known;
    const id = newId();
    this.set(STATE_KEYS.workerId, id);
    return id;
  }
}

/** Keys of `meta` the worker writes and `status` reads. */
export const STATE_KEYS = {
  ratePolicy: 'rate_policy',
  progress: 'progress',
  connection: 'connection',
  historySynced: 'history_synced',
  workerId: 'worker_id',
} as const;
