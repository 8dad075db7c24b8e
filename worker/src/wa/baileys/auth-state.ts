// Baileys' auth state in the worker's SQLite database (table `auth_state`), instead of Baileys'
// multi-file store, which its authors call unfit for production: one row per credential or signal
// key, values in Baileys' own BufferJSON encoding, and every `keys.set` in one transaction so a
// crash never leaves half a key update behind.
//
// The key store returned here is the raw store. The caller (account.ts) wraps it with Baileys'
// `makeCacheableSignalKeyStore` for each socket, as Baileys' own example does, so hot keys
// (sessions, sender keys) are read from memory.

import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { Listeners } from '../../listeners.js';
// The database handle the composition root opened (store/database.ts migrates the auth tables too).
type SqliteDatabase = Database.Database;

/** The row that holds the credentials. */
const CREDS_TYPE = 'creds';
const CREDS_ID = '';

/** Every signal key type Baileys 7 stores; anything else is stored too, but logged once. */
export const SIGNAL_KEY_TYPES = [
  'pre-key',
  'session',
  'sender-key',
  'sender-key-memory',
  'app-state-sync-key',
  'app-state-sync-version',
  'lid-mapping',
  'device-list',
  'tctoken',
  'identity-key',
] as const satisfies readonly (keyof SignalDataTypeMap)[];

// SQLite refuses statements with more bound parameters than its limit (32766 in current builds);
// Baileys asks for a few hundred pre-keys at most, so chunks of this size stay far below it.
const MAX_IDS_PER_SELECT = 500;

export class AuthStateCorruptError extends Error {
  override readonly name = 'AuthStateCorruptError';
}

/** One LID ↔ phone-number pair as LIDMappingStore stores it: the user parts, without servers. */
export interface StoredLidMapping {
  readonly phoneNumberUser: string;
  readonly lidUser: string;
}

// rc14 lib/Signal/lid-mapping.js `storeLIDPNMappings` writes each pair twice under 'lid-mapping':
// `<pnUser>` → `<lidUser>` and `<lidUser>_reverse` → `<pnUser>`. The forward rows name every pair once.
const LID_MAPPING_TYPE = 'lid-mapping';
const REVERSE_SUFFIX = '_reverse';

function forwardMapping(id: string, value: unknown): StoredLidMapping | undefined {
  if (id.endsWith(REVERSE_SUFFIX) || typeof value !== 'string' || value === '' || id === '') return undefined;
  return { phoneNumberUser: id, lidUser: value };
}

export interface SqliteAuthState {
  readonly state: AuthenticationState;
  /** Every LID ↔ phone-number pair Baileys has stored so far. */
  readLidMappings: () => StoredLidMapping[];
  /**
   * Calls `listener` after each committed key write that stored new pairs: Baileys learns them from
   * history syncs, messages and USync answers and keeps them only in these rows. Returns the unsubscribe.
   */
  onLidMappingsStored: (listener: (mappings: readonly StoredLidMapping[]) => void) => () => void;
  /** Writes the current credentials; call it on every `creds.update`. */
  saveCreds: () => void;
  /** Wipes the whole session (credentials and keys) and starts `state.creds` afresh: after a logout. */
  clear: () => void;
}

function encode(value: unknown): string {
  return JSON.stringify(value, BufferJSON.replacer);
}

function decode(type: string, id: string, text: string): unknown {
  try {
    return JSON.parse(text, BufferJSON.reviver) as unknown;
  } catch (error) {
    // The id of a signal key is not secret (a number, a JID or a key id); the value is never shown.
    throw new AuthStateCorruptError(
      `the stored WhatsApp session has an unreadable '${type}' entry (id '${id}'): ${(error as Error).message}; ` +
        'delete the session and link the phone again',
    );
  }
}

export function useSqliteAuthState(db: SqliteDatabase, logger: Logger): SqliteAuthState {
  const selectOne = db.prepare<[string, string], { value: string }>('SELECT value FROM auth_state WHERE type = ? AND id = ?');
  const upsert = db.prepare<[string, string, string]>(
    'INSERT INTO auth_state (type, id, value) VALUES (?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET value = excluded.value',
  );
  const remove = db.prepare<[string, string]>('DELETE FROM auth_state WHERE type = ? AND id = ?');
  const removeAll = db.prepare('DELETE FROM auth_state');
  const selectManyCache = new Map<number, Database.Statement<unknown[], { id: string; value: string }>>();
  const knownTypes = new Set<string>(SIGNAL_KEY_TYPES);
  const reportedUnknownTypes = new Set<string>();

  function selectMany(type: string, ids: readonly string[]): { id: string; value: string }[] {
    const rows: { id: string; value: string }[] = [];
    for (let start = 0; start < ids.length; start += MAX_IDS_PER_SELECT) {
      const chunk = ids.slice(start, start + MAX_IDS_PER_SELECT);
      let statement = selectManyCache.get(chunk.length);
      if (statement === undefined) {
        statement = db.prepare<unknown[], { id: string; value: string }>(
          `SELECT id, value FROM auth_state WHERE type = ? AND id IN (${chunk.map(() => '?').join(', ')})`,
        );
        selectManyCache.set(chunk.length, statement);
      }
      rows.push(...statement.all(type, ...chunk));
    }
    return rows;
  }

  function noteType(type: string): void {
    if (type === CREDS_TYPE) {
      throw new Error(`'${CREDS_TYPE}' is reserved for the credentials and cannot be used as a signal key type`);
    }
    if (!knownTypes.has(type) && !reportedUnknownTypes.has(type)) {
      reportedUnknownTypes.add(type);
      logger.warn({ type }, 'Baileys stores a signal key type this worker does not know; storing it as is');
    }
  }

  function loadCreds(): AuthenticationCreds {
    const row = selectOne.get(CREDS_TYPE, CREDS_ID);
    if (row === undefined) return initAuthCreds();
    return decode(CREDS_TYPE, CREDS_ID, row.value) as AuthenticationCreds;
  }

  const selectLidMappings = db.prepare<[string], { id: string; value: string }>('SELECT id, value FROM auth_state WHERE type = ?');
  // A listener's failure must not fail Baileys' key write, which is already committed.
  const lidMappingListeners = new Listeners<readonly StoredLidMapping[]>((error) => logger.error({ err: error }, 'a LID mapping listener failed'));

  const writeMany = db.transaction((data: SignalDataSet) => {
    let written = 0;
    let deleted = 0;
    const mappings: StoredLidMapping[] = [];
    for (const [type, entries] of Object.entries(data)) {
      if (entries === undefined || entries === null) continue;
      noteType(type);
      for (const [id, value] of Object.entries(entries)) {
        if (value === null || value === undefined) {
          deleted += remove.run(type, id).changes;
        } else {
          upsert.run(type, id, encode(value));
          written++;
          if (type === LID_MAPPING_TYPE) {
            const mapping = forwardMapping(id, value);
            if (mapping !== undefined) mappings.push(mapping);
          }
        }
      }
    }
    return { written, deleted, mappings };
  });

  function announceLidMappings(mappings: readonly StoredLidMapping[]): void {
    if (mappings.length === 0) return;
    lidMappingListeners.emit(mappings);
  }

  const keys: SignalKeyStore = {
    get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): { [id: string]: SignalDataTypeMap[T] } {
      noteType(type);
      const result: { [id: string]: SignalDataTypeMap[T] } = {};
      if (ids.length === 0) return result;
      for (const row of selectMany(type, ids)) {
        let value = decode(type, row.id, row.value);
        // Protobuf messages lose their class in JSON; Baileys' own store rebuilds this one the same way.
        if (type === 'app-state-sync-key') value = proto.Message.AppStateSyncKeyData.fromObject(value as object);
        result[row.id] = value as SignalDataTypeMap[T];
      }
      return result;
    },
    set(data: SignalDataSet): void {
      const { written, deleted, mappings } = writeMany(data);
      logger.trace({ written, deleted }, 'stored signal keys');
      announceLidMappings(mappings);
    },
    clear(): void {
      // Keeps the credentials: Baileys clears keys alone when it resets its signal store.
      db.prepare('DELETE FROM auth_state WHERE type <> ?').run(CREDS_TYPE);
    },
  };

  const state: AuthenticationState = { creds: loadCreds(), keys };

  return {
    state,
    readLidMappings() {
      const mappings: StoredLidMapping[] = [];
      for (const row of selectLidMappings.all(LID_MAPPING_TYPE)) {
        const mapping = forwardMapping(row.id, decode(LID_MAPPING_TYPE, row.id, row.value));
        if (mapping !== undefined) mappings.push(mapping);
      }
      return mappings;
    },
    onLidMappingsStored(listener) {
      return lidMappingListeners.add(listener);
    },
    saveCreds() {
      upsert.run(CREDS_TYPE, CREDS_ID, encode(state.creds));
    },
    clear() {
      const removed = removeAll.run().changes;
      state.creds = initAuthCreds();
      logger.info({ rows: removed }, 'WhatsApp session wiped');
    },
  };
}
