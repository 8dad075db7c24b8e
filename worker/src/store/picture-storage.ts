// What the stored pictures take on disk, as the database records it (a subject's file and its
// size are written with its picture, so the two agree after a kill), and where the picture purge
// keeps its first sightings of unused files (the `meta` table, so a restart keeps the grace).

import type { SightingStore } from '../avatars/purge.js';
import type { SqliteDatabase } from './database.js';
import { WorkerState } from './worker-state.js';

export interface PictureStorage {
  readonly files: number;
  readonly bytes: number;
}

const SIGHTINGS_KEY = 'purge_unused_since';

export class PictureStorageTable {
  private readonly total;
  private readonly state: WorkerState;

  constructor(db: SqliteDatabase) {
    this.total = db.prepare(`SELECT COUNT(*) AS files, COALESCE(SUM(picture_size), 0) AS bytes FROM (
        SELECT picture_size FROM contacts WHERE profile_picture IS NOT NULL
        UNION ALL SELECT picture_size FROM chats WHERE kind = 'group' AND profile_picture IS NOT NULL)`);
    this.state = new WorkerState(db);
  }

  storage(): PictureStorage {
    const row = this.total.get() as { files: number; bytes: number };
    return { files: row.files, bytes: row.bytes };
  }

  sightings(): SightingStore {
    return {
      load: () => this.state.get<Record<string, number>>(SIGHTINGS_KEY) ?? {},
      save: (sightings) => this.state.set(SIGHTINGS_KEY, sightings),
    };
  }
}
