// The favourites chosen in Home Assistant, held in memory for the queue's every decision and kept
// in their table so a restart keeps them.

import type { FavouriteTable } from '../store/favourites.js';

export class Favourites {
  private jids = new Set<string>();

  constructor(private readonly table: FavouriteTable) {}

  /** Reads the stored list (on start). */
  load(): void {
    this.jids = new Set(this.table.list());
  }

  has(jid: string): boolean {
    return this.jids.has(jid);
  }

  list(): string[] {
    return [...this.jids];
  }

  /** Replaces the whole list, as HA sends it; returns the JIDs that are new favourites. */
  replace(jids: readonly string[]): string[] {
    const next = new Set(jids);
    const added = [...next].filter((jid) => !this.jids.has(jid));
    this.jids = next;
    this.table.replace([...next]);
    return added;
  }
}
