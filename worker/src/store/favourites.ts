// The favourites chosen in Home Assistant (the `favourites` table): checked first and more often.

import type { SqliteDatabase } from './database.js';

export class FavouriteTable {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      list: db.prepare('SELECT jid FROM favourites ORDER BY jid'),
      clear: db.prepare('DELETE FROM favourites'),
      add: db.prepare('INSERT OR IGNORE INTO favourites (jid) VALUES (?)'),
    };
  }

  list(): string[] {
    return (this.statements.list.all() as { jid: string }[]).map((row) => row.jid);
  }

  /** The whole list at once, as HA sends it. */
  replace(jids: readonly string[]): void {
    this.db.transaction(() => {
      this.statements.clear.run();
      for (const jid of jids) this.statements.add.run(jid);
    })();
  }
}
