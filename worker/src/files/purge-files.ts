// The avatars folder as the picture purge (avatars/purge.ts) sees it: the files' JIDs, their
// sizes, their removal. Only AvatarFiles names and removes files, so the purge stays inside it.

import { stat } from 'node:fs/promises';
import type { PurgeFiles } from '../avatars/purge.js';
import type { AvatarFiles } from './avatar-files.js';

export function purgeFiles(files: AvatarFiles): PurgeFiles {
  return {
    listJids: () => files.listJids(),
    remove: (jid) => files.remove(jid),
    async sizeOf(jid) {
      try {
        return (await stat(files.pathFor(jid))).size;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
  };
}
