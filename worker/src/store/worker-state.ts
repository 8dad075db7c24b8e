// Small pieces of worker state that outlive a process: the rate-limit pause, progress, the
// WhatsApp connection as last seen, and the favourites chosen in Home Assistant.

import type { SqliteDatabase } from './database.js';

export class WorkerState {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      get: db.prepare('SELECT value FROM meta WHERE key = ?'),
      set: db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
      favourites: db.prepare('SELECT jid FROM favourites ORDER BY jid'),
      clearFavourites: db.prepare('DELETE FROM favourites'),
      addFavourite: db.prepare('INSERT OR IGNORE INTO favourites (jid) VALUES (?)'),
    };
  }

  get<T>(key: string): T | undefined {
    const row = this.statements.get.get(key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  set(key: string, value: unknown): void {
    this.statements.set.run(key, JSON.stringify(value));
  }

  favourites(): string[] {
    return (this.statements.favourites.all() as { jid: string }[]).map((row) => row.jid);
  }

  replaceFavourites(jids: readonly string[]): void {
    this.db.transaction(() => {
      this.statements.clearFavourites.run();
      for (const jid of jids) this.statements.addFavourite.run(jid);
    })();
  }
}

/** Keys of `meta` the worker writes and `status` reads. */
export const STATE_KEYS = {
  ratePolicy: 'rate_policy',
  progress: 'progress',
  connection: 'connection',
  historySynced: 'history_synced',
} as const;
