import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Curve, initAuthCreds, makeCacheableSignalKeyStore, proto, signedKeyPair, type SignalDataSet } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDatabase, type SqliteDatabase } from '../../../src/store/database.js';
import { AuthStateCorruptError, SIGNAL_KEY_TYPES, useSqliteAuthState } from '../../../src/wa/baileys/auth-state.js';

const silent = pino({ level: 'silent' });

function withDataDir(run: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baileys-auth-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function reopen(db: SqliteDatabase, dir: string): SqliteDatabase {
  db.close();
  return openDatabase(dir);
}

/** One value of every signal key type Baileys 7 stores, made with Baileys' own helpers. */
function keyMaterial(): SignalDataSet {
  const identity = Curve.generateKeyPair();
  return {
    'pre-key': { '1': Curve.generateKeyPair(), '2': Curve.generateKeyPair() },
    session: { '491701234567.0': randomBytes(120) },
    'sender-key': { '1203630@g.us::491701234567::0': randomBytes(64) },
    'sender-key-memory': { '1203630@g.us': { '491701234567:3@s.whatsapp.net': true } },
    'app-state-sync-key': {
      AAAAAQ: proto.Message.AppStateSyncKeyData.fromObject({
        keyData: randomBytes(32),
        fingerprint: { rawId: 7, currentIndex: 2, deviceIndexes: [0, 3] },
        timestamp: 1_767_225_600_000,
      }),
    },
    'app-state-sync-version': {
      regular_high: { version: 12, hash: randomBytes(128), indexValueMap: { 'aW5kZXg=': { valueMac: randomBytes(32) } } },
    },
    'lid-mapping': { '491701234567': '123456789012345', '123456789012345_reverse': '491701234567' },
    'device-list': { '491701234567': ['0', '3'] },
    tctoken: { '123456789012345@lid': { token: randomBytes(24), timestamp: '1767225600' } },
    'identity-key': { '491701234567.0': signedKeyPair(identity, 9).keyPair.public },
  };
}

test(
  'credentials made by Baileys survive a save, a close and a reopen byte for byte',
  withDataDir((dir) => {
    let db = openDatabase(dir);
    const first = useSqliteAuthState(db, silent);
    const fresh = initAuthCreds();
    first.state.creds = Object.assign(first.state.creds, fresh, { me: { id: '491701234567:3@s.whatsapp.net', name: 'Ada' }, registered: true });
    first.saveCreds();
    db = reopen(db, dir);
    const second = useSqliteAuthState(db, silent);
    // JSON has no `undefined`: fields Baileys leaves undefined come back absent, as in its own store.
    const defined = Object.fromEntries(Object.entries(first.state.creds).filter(([, value]) => value !== undefined));
    assert.equal(second.state.creds, defined);
    assert.ok(Buffer.isBuffer(second.state.creds.noiseKey.private), 'key bytes come back as Buffers');
    assert.ok(Curve.verify(second.state.creds.signedIdentityKey.public, second.state.creds.signedPreKey.keyPair.public, second.state.creds.signedPreKey.signature));
    db.close();
  }),
);

test(
  'without a stored session a fresh one is made and nothing is written until saveCreds',
  withDataDir((dir) => {
    const db = openDatabase(dir);
    const auth = useSqliteAuthState(db, silent);
    assert.is(auth.state.creds.registered, false);
    assert.is((db.prepare('SELECT COUNT(*) AS n FROM auth_state').get() as { n: number }).n, 0);
    db.close();
  }),
);

test(
  'every signal key type Baileys 7 uses round-trips through the database file',
  withDataDir(async (dir) => {
    let db = openDatabase(dir);
    const material = keyMaterial();
    assert.equal(Object.keys(material).sort(), [...SIGNAL_KEY_TYPES].sort(), 'the test covers every known type');
    await useSqliteAuthState(db, silent).state.keys.set(material);
    db = reopen(db, dir);
    const keys = useSqliteAuthState(db, silent).state.keys;
    for (const type of SIGNAL_KEY_TYPES) {
      const stored = material[type]!;
      const loaded = await keys.get(type, Object.keys(stored));
      if (type === 'app-state-sync-key') {
        const [id] = Object.keys(stored);
        const value = loaded[id!];
        assert.instance(value, proto.Message.AppStateSyncKeyData, 'rebuilt as the protobuf class');
        assert.equal(proto.Message.AppStateSyncKeyData.toObject(value as proto.Message.AppStateSyncKeyData), proto.Message.AppStateSyncKeyData.toObject(stored[id!] as proto.Message.AppStateSyncKeyData));
      } else {
        assert.equal(loaded, stored, `type ${type}`);
      }
    }
    db.close();
  }),
);

test(
  'get returns only the ids that exist; null in set deletes',
  withDataDir(async (dir) => {
    const db = openDatabase(dir);
    const { keys } = useSqliteAuthState(db, silent).state;
    await keys.set({ 'pre-key': { '1': Curve.generateKeyPair(), '2': Curve.generateKeyPair() } });
    await keys.set({ 'pre-key': { '1': null } });
    const loaded = await keys.get('pre-key', ['1', '2', '3']);
    assert.equal(Object.keys(loaded), ['2']);
    assert.equal(await keys.get('session', []), {});
    db.close();
  }),
);

test(
  'a set that fails half-way writes nothing (one transaction)',
  withDataDir(async (dir) => {
    const db = openDatabase(dir);
    const { keys } = useSqliteAuthState(db, silent).state;
    const unserialisable = { token: Buffer.from('x'), timestamp: 1n } as unknown as { token: Buffer };
    let failure: unknown;
    try {
      await keys.set({ session: { a: randomBytes(8) }, tctoken: { b: unserialisable } });
    } catch (error) {
      failure = error;
    }
    assert.instance(failure, TypeError, 'JSON cannot encode a BigInt');
    assert.equal(await keys.get('session', ['a']), {});
    db.close();
  }),
);

test(
  'asking for more ids than SQLite binds in one statement still finds them all',
  withDataDir(async (dir) => {
    const db = openDatabase(dir);
    const { keys } = useSqliteAuthState(db, silent).state;
    const count = 1_234;
    const preKeys = Object.fromEntries(Array.from({ length: count }, (_, index) => [String(index + 1), Curve.generateKeyPair()]));
    await keys.set({ 'pre-key': preKeys });
    const loaded = await keys.get('pre-key', Object.keys(preKeys));
    assert.is(Object.keys(loaded).length, count);
    assert.equal(loaded['1000'], preKeys['1000']);
    db.close();
  }),
);

test(
  "works behind Baileys' makeCacheableSignalKeyStore, as the account uses it",
  withDataDir(async (dir) => {
    let db = openDatabase(dir);
    const cached = makeCacheableSignalKeyStore(useSqliteAuthState(db, silent).state.keys, silent);
    const session = randomBytes(40);
    await cached.set({ session: { 'x.0': session } });
    assert.equal((await cached.get('session', ['x.0']))['x.0'], session);
    db = reopen(db, dir);
    assert.equal((await useSqliteAuthState(db, silent).state.keys.get('session', ['x.0']))['x.0'], session, 'written through to SQLite');
    db.close();
  }),
);

test(
  'clear() wipes the whole session and starts new credentials; keys.clear() keeps the credentials',
  withDataDir(async (dir) => {
    let db = openDatabase(dir);
    const auth = useSqliteAuthState(db, silent);
    const oldNoiseKey = Buffer.from(auth.state.creds.noiseKey.public);
    auth.saveCreds();
    await auth.state.keys.set({ session: { a: randomBytes(8) } });
    await auth.state.keys.clear!();
    assert.equal(await auth.state.keys.get('session', ['a']), {});
    db = reopen(db, dir);
    const reloaded = useSqliteAuthState(db, silent);
    assert.ok(Buffer.from(reloaded.state.creds.noiseKey.public).equals(oldNoiseKey), 'keys.clear() left the credentials');
    await reloaded.state.keys.set({ session: { b: randomBytes(8) } });
    reloaded.clear();
    assert.not.ok(Buffer.from(reloaded.state.creds.noiseKey.public).equals(oldNoiseKey), 'new credentials in memory');
    assert.is((db.prepare('SELECT COUNT(*) AS n FROM auth_state').get() as { n: number }).n, 0);
    db.close();
  }),
);

test(
  'an unreadable stored value is reported with its type, not silently dropped',
  withDataDir(async (dir) => {
    const db = openDatabase(dir);
    db.prepare("INSERT INTO auth_state (type, id, value) VALUES ('session', 'a', '{broken')").run();
    const { keys } = useSqliteAuthState(db, silent).state;
    let failure: unknown;
    try {
      await keys.get('session', ['a']);
    } catch (error) {
      failure = error;
    }
    assert.instance(failure, AuthStateCorruptError);
    assert.match((failure as Error).message, /'session' entry/);
    db.close();
  }),
);

test(
  "Baileys' LID pairs are read back from its key rows, and each committed write that stores new ones is announced",
  withDataDir(async (dir) => {
    const db = openDatabase(dir);
    try {
      const auth = useSqliteAuthState(db, silent);
      const announced: unknown[] = [];
      auth.onLidMappingsStored(() => {
        throw new Error('a broken listener');
      });
      const stop = auth.onLidMappingsStored((mappings) => announced.push(mappings));
      // The batch LIDMappingStore.storeLIDPNMappings writes (rc14 lib/Signal/lid-mapping.js), through Baileys' cache.
      const keys = makeCacheableSignalKeyStore(auth.state.keys, silent);
      await keys.set({ 'lid-mapping': { '491701234567': '123456789012345', '123456789012345_reverse': '491701234567' } });
      await keys.set({ session: { 'a.0': randomBytes(8) } });
      await keys.set({ 'lid-mapping': { '491701234567': null } });
      assert.equal(announced, [[{ phoneNumberUser: '491701234567', lidUser: '123456789012345' }]], 'only new forward pairs; a broken listener does not fail the write');
      await keys.set({ 'lid-mapping': { '4915112345678': '987654321098765', '987654321098765_reverse': '4915112345678' } });
      assert.equal(useSqliteAuthState(db, silent).readLidMappings(), [{ phoneNumberUser: '4915112345678', lidUser: '987654321098765' }]);
      stop();
      await keys.set({ 'lid-mapping': { '4930123456': '555555555555555' } });
      assert.is(announced.length, 2, 'unsubscribed');
    } finally {
      db.close();
    }
  }),
);

test.run();
