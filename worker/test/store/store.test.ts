// The SQLite store on a real database file: migrations, subjects, identities, jobs, worker state.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AvatarQueue } from '../../src/avatars/queue.js';
import { DatabaseMissingError, DatabaseVersionError, openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { JobTable } from '../../src/store/job-table.js';
import { SubjectStore } from '../../src/store/subjects.js';
import { FavouriteTable } from '../../src/store/favourites.js';
import { STATE_KEYS, WorkerState } from '../../src/store/worker-state.js';
import { RateStateTable } from '../../src/store/rate-state.js';
import { DEFAULT_RATE_SETTINGS, RatePolicy } from '../../src/avatars/rate-policy.js';
import { seededRandom } from '../../src/clock.js';
import { testJid } from '../support/jids.js';

const NOW = Date.UTC(2026, 10, 1);
const PHONE = testJid('491701112222@s.whatsapp.net');
const LID = testJid('123456789012345@lid');

function withDatabase(run: (db: SqliteDatabase, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'store-'));
  const db = openDatabase(dir);
  try {
    run(db, dir);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a new database is migrated to the latest version in WAL mode', () => {
  withDatabase((db) => {
    assert.is(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.is(db.pragma('journal_mode', { simple: true }), 'wal');
  });
});

test('a database from a newer worker is refused, and mustExist creates nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-version-'));
  try {
    let error: unknown;
    try {
      openDatabase(dir, { mustExist: true });
    } catch (caught) {
      error = caught;
    }
    assert.instance(error, DatabaseMissingError);
    const raw = new Database(join(dir, 'whatsapp.db'));
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    try {
      openDatabase(dir);
      assert.unreachable('opened a newer database');
    } catch (caught) {
      assert.instance(caught, DatabaseVersionError);
      assert.match((caught as Error).message, /newer than this worker/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('contacts and chats are upserted without losing known names; groups carry their own picture', () => {
  withDatabase((db) => {
    const store = new SubjectStore(db);
    store.upsertContacts([{ jid: PHONE, name: 'Ada', notify: 'A' }], NOW);
    store.upsertContacts([{ jid: PHONE, notify: 'Ada L.' }], NOW + 1);
    store.upsertChats(
      [
        { jid: PHONE, kind: 'contact', lastActivityAt: NOW - 5 },
        { jid: testJid('120363000000000009@g.us'), kind: 'group', name: 'Choir', lastActivityAt: NOW - 9 },
      ],
      NOW + 2,
    );
    const ada = store.get(PHONE)!;
    assert.is(ada.name, 'Ada');
    assert.is(ada.lastActivityAt, NOW - 5);
    assert.is(ada.kind, 'contact');
    const group = store.get('120363000000000009@g.us')!;
    assert.is(group.kind, 'group');
    assert.is(group.name, 'Choir');
    assert.equal(store.totals().contact.unknown, 1);
    assert.equal(store.totals().group.unknown, 1);
    store.applyPatch(group, { state: 'none', checkedAt: NOW, nextCheckAt: NOW + 10 }, NOW);
    assert.is(store.get('120363000000000009@g.us')!.state, 'none');
    assert.equal(store.due(NOW + 5, 10).map((record) => record.jid), [PHONE]);
    assert.equal(store.due(NOW + 10, 10).map((record) => record.jid).sort(), ['120363000000000009@g.us', PHONE]);
  });
});

test('a LID and its phone number stay one contact; two rows joined by a mapping merge', () => {
  withDatabase((db) => {
    const store = new SubjectStore(db);
    store.upsertContacts([{ jid: PHONE, name: 'Ada' }], NOW);
    const viaLid = store.upsertContacts([{ jid: LID, alternateJid: PHONE }], NOW);
    assert.equal(viaLid.jids, [PHONE]);
    assert.is(store.resolve(LID), PHONE);
    assert.is(store.totals().contact.unknown, 1);

    const other = testJid('491703334444@s.whatsapp.net');
    const otherLid = testJid('999888777666555@lid');
    store.upsertContacts([{ jid: other }, { jid: otherLid, notify: 'Bo' }], NOW);
    const merged = store.upsertContacts([{ jid: other, alternateJid: otherLid }], NOW);
    assert.equal(merged.mergedAway, [otherLid]);
    assert.is(store.get(otherLid), undefined);
    assert.is(store.resolve(otherLid), other);
    assert.is(store.totals().contact.unknown, 2);
  });
});

test('one batch holding a LID and then its phone number stores one contact, returned once', () => {
  withDatabase((db) => {
    const store = new SubjectStore(db);
    const stored = store.upsertContacts([{ jid: LID, alternateJid: PHONE, notify: 'A' }, { jid: PHONE, name: 'Ada' }], NOW);
    assert.equal(stored.jids, [LID, LID], 'the phone number lands on the row its LID just made');
    assert.equal(stored.records.map((record) => record.jid), [LID]);
    assert.is(store.resolve(PHONE), LID);
    assert.is(store.get(LID)!.name, 'Ada');
    assert.is(store.totals().contact.unknown, 1);
    const chats = store.storeChats([{ jid: PHONE, kind: 'contact', lastActivityAt: NOW - 3 }], NOW);
    assert.equal(chats.records, [{ jid: LID, kind: 'contact', lastActivityAt: NOW - 3 }], "a one-to-one chat under the phone number returns its contact's row");
  });
});

test('identity pairs join known contacts and never add strangers', () => {
  withDatabase((db) => {
    const store = new SubjectStore(db);
    const other = testJid('491703334444@s.whatsapp.net');
    const otherLid = testJid('999888777666555@lid');
    store.upsertContacts([{ jid: PHONE, name: 'Ada' }, { jid: other }, { jid: otherLid, notify: 'Bo' }], NOW);
    const stranger = { jid: testJid('491705556666@s.whatsapp.net'), alternateJid: testJid('111222333444555@lid') };
    const linked = store.linkIdentities([{ jid: PHONE, alternateJid: LID }, stranger, { jid: other, alternateJid: otherLid }], NOW);
    assert.equal(linked.jids, [PHONE, other]);
    assert.equal(linked.mergedAway, [otherLid]);
    assert.is(store.resolve(LID), PHONE);
    assert.is(store.resolve(stranger.jid), undefined);
    assert.is(store.resolve(stranger.alternateJid), undefined);
    assert.is(store.totals().contact.unknown, 2);
  });
});

test('a group stored as hidden before it was known as a community is named for a new query, once', () => {
  withDatabase((db) => {
    const store = new SubjectStore(db);
    const community = testJid('120363000000000002@g.us');
    const plain = testJid('120363000000000003@g.us');
    store.upsertChats([{ jid: community, kind: 'group' }, { jid: plain, kind: 'group' }], 1);
    store.applyPatch({ jid: community, kind: 'group' }, { state: 'hidden', hiddenCount: 1 }, 1);
    store.applyPatch({ jid: plain, kind: 'group' }, { state: 'hidden', hiddenCount: 1 }, 1);
    const batch = [{ jid: community, kind: 'group' as const, community: true }, { jid: plain, kind: 'group' as const }];
    assert.equal(store.communitiesAskedWrongly(batch), [community]);
    store.upsertChats(batch, 2);
    assert.equal(store.communitiesAskedWrongly(batch), [], 'the flag is stored: no second time');
  });
});

test('a community flag is stored with its group and not lost to a later update without it', () => {
  withDatabase((db) => {
    const store = new SubjectStore(db);
    const community = testJid('120363000000000001@g.us');
    store.upsertChats([{ jid: community, kind: 'group', name: 'Street', community: true }, { jid: testJid('120363025246125486@g.us'), kind: 'group' }], 1);
    store.upsertChats([{ jid: community, kind: 'group', name: 'Street 2' }], 2);
    assert.is(store.get(community)?.community, true);
    assert.is(store.get(community)?.name, 'Street 2');
    assert.is(store.get('120363025246125486@g.us')?.community, undefined);
  });
});

test('picture hints for unknown JIDs are kept until the subject arrives', () => {
  withDatabase((db) => {
    const store = new SubjectStore(db);
    store.keepHint(PHONE, false, NOW);
    assert.ok(store.takeHint(PHONE));
    assert.not.ok(store.takeHint(PHONE));
  });
});

test("the rate state saved from the policy's newer starts alone keeps the whole hour across a restart", () => {
  withDatabase((db, dir) => {
    const rate = new RateStateTable(db);
    const policy = new RatePolicy({ ...DEFAULT_RATE_SETTINGS, quietPeriodMs: 0 }, seededRandom(1));
    policy.connectionChanged(true, NOW);
    for (let i = 0; i < 5; i++) {
      policy.queryStarted(NOW + i * 3000);
      rate.save(policy.snapshot(rate.startsSavedThrough), NOW + i * 3000);
    }
    assert.is(rate.startsSavedThrough, NOW + 12_000);
    const second = openDatabase(dir);
    assert.equal(new RateStateTable(second).load(NOW + 12_000), { pauseLevel: 0, recentStarts: [0, 1, 2, 3, 4].map((i) => NOW + i * 3000) });
    second.close();
  });
});

test('the rate state keeps the last hour of query starts and the pause across a restart, and takes an older whole snapshot', () => {
  withDatabase((db, dir) => {
    const HOUR = 3_600_000;
    const rate = new RateStateTable(db);
    assert.is(rate.load(NOW), undefined);
    rate.save({ pauseLevel: 0, recentStarts: [NOW - HOUR - 1, NOW - 10] }, NOW);
    rate.save({ pauseLevel: 1, pausedUntil: NOW + 60_000, recentStarts: [NOW - HOUR - 1, NOW - 10, NOW] }, NOW);
    const second = openDatabase(dir);
    assert.equal(new RateStateTable(second).load(NOW), { pauseLevel: 1, pausedUntil: NOW + 60_000, recentStarts: [NOW - 10, NOW] });
    second.close();
    // An older worker stored the starts inside the JSON value: they still count, and move to the table.
    new WorkerState(db).set(STATE_KEYS.ratePolicy, { pauseLevel: 0, recentStarts: [NOW - 5] });
    db.prepare('DELETE FROM rate_query_starts').run();
    const upgraded = new RateStateTable(db);
    assert.equal(upgraded.load(NOW), { pauseLevel: 0, recentStarts: [NOW - 5] });
    upgraded.save({ pauseLevel: 0, recentStarts: [NOW - 5, NOW + 1] }, NOW + 1);
    assert.equal(new RateStateTable(db).load(NOW + 1), { pauseLevel: 0, recentStarts: [NOW - 5, NOW + 1] });
  });
});

test('job rows round-trip and every write gets a newer revision, from any connection', () => {
  withDatabase((db, dir) => {
    const table = new JobTable(db);
    const queue = new AvatarQueue();
    const { job } = queue.enqueue({ jid: PHONE, kind: 'contact', reason: 'never-fetched' }, NOW);
    table.save([job]);
    assert.equal(table.loadAll(), [job]);
    const seen = table.currentRevision();
    const second = openDatabase(dir);
    const otherTable = new JobTable(second);
    const raised = new AvatarQueue(otherTable.loadAll()).enqueue({ jid: PHONE, kind: 'contact', reason: 'explicit', force: true }, NOW + 1).job;
    otherTable.save([raised]);
    second.close();
    const changed = table.changedSince(seen);
    assert.equal(changed.jobs, [raised]);
    assert.ok(changed.revision > seen);
    table.remove(PHONE);
    assert.is(table.count(), 0);
  });
});

test('migration 3 adds the failure streak to existing rows, and failures round-trip and count', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-migrate-'));
  try {
    const raw = new Database(join(dir, 'whatsapp.db'));
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.prepare(`INSERT INTO contacts (jid, picture_state, picture_id, created_at, updated_at) VALUES (?, 'fetched', 'p1', 1, 1)`).run(PHONE);
    raw.close();
    const db = openDatabase(dir);
    try {
      assert.is(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      const store = new SubjectStore(db);
      const before = store.get(PHONE)!;
      assert.is(before.failureStreak, 0);
      assert.is(before.failureKind, undefined);
      assert.is(before.pictureId, 'p1');
      store.upsertChats([{ jid: testJid('120363000000000009@g.us'), kind: 'group' }], NOW);
      store.upsertContacts([{ jid: LID }], NOW);
      store.applyPatch(before, { failureStreak: 2, failureKind: 'refused', failureDetail: 'fixed-error: 406', nextCheckAt: NOW }, NOW);
      store.applyPatch({ jid: testJid('120363000000000009@g.us'), kind: 'group' }, { failureStreak: 1, failureKind: 'failing', failureDetail: 'timeout' }, NOW);
      store.applyPatch({ jid: LID, kind: 'contact' }, { failureStreak: 1, failureKind: 'failing' }, NOW);
      const after = store.get(PHONE)!;
      assert.equal([after.failureStreak, after.failureKind, after.failureDetail, after.pictureId], [2, 'refused', 'fixed-error: 406', 'p1']);
      assert.equal(store.failureTotals(), { contact: { refused: 1, failing: 1 }, group: { refused: 0, failing: 1 } });
      assert.is(store.uncheckedGivenUp(), 2, 'the LID and the group were never answered well');
      store.applyPatch(after, { failureStreak: 0, failureKind: null, failureDetail: null }, NOW);
      assert.equal([store.get(PHONE)!.failureStreak, store.get(PHONE)!.failureKind], [0, undefined]);
      assert.throws(() => db.prepare(`UPDATE contacts SET failure_kind = 'odd' WHERE jid = ?`).run(PHONE), /CHECK constraint/);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker state and favourites persist', () => {
  withDatabase((db) => {
    const state = new WorkerState(db);
    state.set('progress', { done: 3 });
    assert.equal(state.get('progress'), { done: 3 });
    assert.is(state.get('missing'), undefined);
    const favourites = new FavouriteTable(db);
    favourites.replace([PHONE, LID]);
    favourites.replace([PHONE]);
    assert.equal(favourites.list(), [PHONE]);
  });
});

test('a damaged database file is refused with an error, not silently replaced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-damaged-'));
  try {
    writeFileSync(join(dir, 'whatsapp.db'), 'this is not a database');
    assert.throws(() => openDatabase(dir), /not a database|file is not a database/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
