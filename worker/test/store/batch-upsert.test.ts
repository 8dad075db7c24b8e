// A batch's upserts run as one statement per table over the batch's merged rows (issue 11). They
// must leave the database, and return, exactly what storing the same records one at a time does:
// a JID twice in a batch, a LID and its phone number, null fields, activities and awkward text included.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChatInfo, ContactInfo } from '../../src/avatars/ports.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { SubjectStore } from '../../src/store/subjects.js';
import { testJid } from '../support/jids.js';

const NOW = Date.UTC(2026, 10, 1);
const PHONE = testJid('491701112222@s.whatsapp.net');
const LID = testJid('123456789012345@lid');
const OTHER = testJid('491709998888@s.whatsapp.net');
const THIRD = testJid('491705554444@s.whatsapp.net');
const GROUP = testJid('120363000000000001@g.us');
const COMMUNITY = testJid('120363000000000002@g.us');

function withTwoDatabases(run: (batched: SqliteDatabase, oneByOne: SqliteDatabase) => void): void {
  const dirs = [mkdtempSync(join(tmpdir(), 'batch-')), mkdtempSync(join(tmpdir(), 'single-'))];
  const [batched, oneByOne] = dirs.map((dir) => openDatabase(dir)) as [SqliteDatabase, SqliteDatabase];
  try {
    run(batched, oneByOne);
  } finally {
    batched.close();
    oneByOne.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

function rows(db: SqliteDatabase): unknown {
  return {
    contacts: db.prepare('SELECT * FROM contacts ORDER BY jid').all(),
    chats: db.prepare('SELECT * FROM chats ORDER BY jid').all(),
  };
}

// Stored before the batch, so the batch meets rows it must update and identities it must join.
const EARLIER_CONTACTS: ContactInfo[] = [{ jid: PHONE, name: 'Ada' }, { jid: LID }, { jid: THIRD, notify: 'Third' }];
const EARLIER_CHATS: ChatInfo[] = [{ jid: GROUP, kind: 'group', name: 'Old name', lastActivityAt: NOW - 50 }];

// Text the batch's JSON array must carry intact: quotes, backslashes, emoji, a NUL.
const AWKWARD_NAME = 'Fi"rst \\ 🙂 \u0000 end';
const SECOND_NAME = 'Zoë "Second" \\n';
const COMMUNITY_NAME = 'Parents 👪 "Année" \\';

const CONTACT_BATCH: ContactInfo[] = [
  { jid: OTHER, name: 'First' },
  { jid: OTHER, notify: 'Push name' },
  // The LID meets its phone number: the two stored rows become one.
  { jid: LID, alternateJid: PHONE, notify: 'Ada (push)' },
  { jid: OTHER, name: SECOND_NAME },
  { jid: THIRD, name: AWKWARD_NAME },
  { jid: PHONE, name: 'Ada Lovelace' },
];

const CHAT_BATCH: ChatInfo[] = [
  { jid: GROUP, kind: 'group', lastActivityAt: NOW - 10 },
  { jid: OTHER, kind: 'contact' },
  { jid: COMMUNITY, kind: 'group', name: COMMUNITY_NAME },
  { jid: LID, kind: 'contact', lastActivityAt: NOW - 5 },
  { jid: OTHER, kind: 'contact', lastActivityAt: NOW - 20 },
  { jid: COMMUNITY, kind: 'group', community: true },
  { jid: GROUP, kind: 'group', name: 'New name', lastActivityAt: NOW - 30 },
  { jid: testJid('491700000001@s.whatsapp.net'), kind: 'contact' },
  { jid: testJid('491700000001@s.whatsapp.net'), kind: 'contact' },
];

test('a contact batch stores and returns what the same contacts stored one at a time do', () => {
  withTwoDatabases((batched, oneByOne) => {
    const [inOne, single] = [new SubjectStore(batched), new SubjectStore(oneByOne)];
    for (const store of [inOne, single]) store.upsertContacts(EARLIER_CONTACTS, NOW - 100);
    const result = inOne.upsertContacts(CONTACT_BATCH, NOW);
    const results = CONTACT_BATCH.map((contact) => single.upsertContacts([contact], NOW));
    assert.equal(rows(batched), rows(oneByOne));
    assert.equal(result.jids, results.flatMap((each) => each.jids));
    assert.equal(result.mergedAway, [LID]);
    assert.equal(results.flatMap((each) => each.mergedAway), [LID]);
    // Each stored subject once, as it stands after the batch, in the order of its last record.
    assert.equal(result.records.map((record) => record.jid), [OTHER, THIRD, PHONE]);
    const stored = rows(batched) as { contacts: { jid: string; name: string | null; notify: string | null; alternate_jid: string | null }[] };
    assert.equal(
      stored.contacts.map(({ jid, name, notify, alternate_jid }) => ({ jid, name, notify, alternate_jid })),
      [
        { jid: PHONE, name: 'Ada Lovelace', notify: 'Ada (push)', alternate_jid: LID },
        { jid: THIRD, name: AWKWARD_NAME, notify: 'Third', alternate_jid: null },
        { jid: OTHER, name: SECOND_NAME, notify: 'Push name', alternate_jid: null },
      ].sort((a, b) => (a.jid < b.jid ? -1 : 1)),
    );
  });
});

test('a chat batch stores and returns what the same chats stored one at a time do', () => {
  withTwoDatabases((batched, oneByOne) => {
    const [inOne, single] = [new SubjectStore(batched), new SubjectStore(oneByOne)];
    for (const store of [inOne, single]) {
      store.upsertContacts([{ jid: PHONE, alternateJid: LID }, { jid: OTHER }], NOW - 100);
      store.storeChats(EARLIER_CHATS, NOW - 100);
    }
    const result = inOne.storeChats(CHAT_BATCH, NOW);
    const results = CHAT_BATCH.map((chat) => single.storeChats([chat], NOW));
    assert.equal(rows(batched), rows(oneByOne));
    // A one-to-one chat under the LID lands on the phone number's contact.
    assert.equal(result.jids, results.flatMap((each) => each.jids));
    assert.ok(result.jids.includes(PHONE) && !result.jids.includes(LID));
    const lastRecordOf = new Map(results.flatMap((each) => each.records).map((record) => [record.jid, record]));
    assert.equal(
      [...result.records].sort((a, b) => (a.jid < b.jid ? -1 : 1)),
      [...lastRecordOf.values()].sort((a, b) => (a.jid < b.jid ? -1 : 1)),
    );
    const group = (rows(batched) as { chats: { jid: string; name: string | null; last_activity_at: number | null; community: number }[] }).chats;
    assert.equal(
      group.filter((chat) => chat.jid === GROUP || chat.jid === COMMUNITY).map(({ jid, name, last_activity_at, community }) => ({ jid, name, last_activity_at, community })),
      [
        { jid: GROUP, name: 'New name', last_activity_at: NOW - 10, community: 0 },
        { jid: COMMUNITY, name: COMMUNITY_NAME, last_activity_at: 0, community: 1 },
      ].sort((a, b) => (a.jid < b.jid ? -1 : 1)),
    );
  });
});

test.run();
