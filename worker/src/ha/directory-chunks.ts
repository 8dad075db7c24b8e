// The contact directory in chunks HA takes in (protocol.json, `whatsapp/directory`): 200,000
// contacts and groups are ~20 MB of JSON, five times HA's 4 MiB message limit. Each chunk holds at
// most MAX_DIRECTORY_CHUNK_ENTRIES entries and MAX_DIRECTORY_CHUNK_BYTES of JSON, whatever the
// names; HA replaces its directory only when the last chunk of a transfer arrived.

import {
  MAX_DIRECTORY_CHUNK_BYTES,
  MAX_DIRECTORY_CHUNK_ENTRIES,
  MAX_DIRECTORY_ENTRIES,
  MAX_NAME_LENGTH,
  type DirectoryChunk,
  type DirectoryEntry,
  type DirectoryEntryWire,
} from './protocol.js';

export interface DirectoryTransfer {
  readonly chunks: DirectoryChunk[];
  /** Entries past MAX_DIRECTORY_ENTRIES, which HA would not keep. */
  readonly leftOut: number;
}

/** Cuts a name to what HA accepts (`max_name_length`), without splitting a surrogate pair. */
export function wireName(name: string | null): string | null {
  if (name === null || name.length <= MAX_NAME_LENGTH) return name;
  const cut = name.slice(0, MAX_NAME_LENGTH);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export function directoryTransfer(entries: readonly DirectoryEntry[], transferId: string): DirectoryTransfer {
  const kept = entries.slice(0, MAX_DIRECTORY_ENTRIES);
  const groups: DirectoryEntryWire[][] = [];
  let current: DirectoryEntryWire[] = [];
  let currentBytes = 0;
  for (const entry of kept) {
    const wire: DirectoryEntryWire = [entry.jid, entry.kind, wireName(entry.name), entry.state];
    // The entry and the comma before it.
    const bytes = Buffer.byteLength(JSON.stringify(wire), 'utf8') + 1;
    if (current.length > 0 && (current.length >= MAX_DIRECTORY_CHUNK_ENTRIES || currentBytes + bytes > MAX_DIRECTORY_CHUNK_BYTES)) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(wire);
    currentBytes += bytes;
  }
  groups.push(current);
  return {
    chunks: groups.map((group, chunk) => ({ transfer_id: transferId, chunk, chunks: groups.length, entries: group })),
    leftOut: entries.length - kept.length,
  };
}
