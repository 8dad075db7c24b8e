// `status` on a real database file: totals by state and kind, and the refused and failing counts
// beside them (a failure never changes a subject's state), in JSON and in text.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatReport, readStatus } from '../../src/cli/status.js';
import { openDatabase } from '../../src/store/database.js';
import { SubjectStore } from '../../src/store/subjects.js';
import type { Jid } from '../../src/jid.js';
import { testJid } from '../support/jids.js';
import { testPictureId } from '../support/picture-ids.js';

const NOW = Date.UTC(2026, 10, 1);

test('status counts refused and failing subjects on their own, beside the states', () => {
  const dir = mkdtempSync(join(tmpdir(), 'status-'));
  try {
    const db = openDatabase(dir);
    const store = new SubjectStore(db);
    const contacts = ['491700000001', '491700000002', '491700000003', '491700000004'].map((n) => testJid(`${n}@s.whatsapp.net`));
    store.upsertContacts(contacts.map((jid) => ({ jid })), NOW);
    store.upsertChats([{ jid: testJid('120363000000000001@g.us'), kind: 'group' }], NOW);
    const contact = (jid: Jid) => ({ jid, kind: 'contact' as const });
    store.applyPatch(contact(contacts[0]!), { state: 'fetched', pictureId: testPictureId('p'), failureStreak: 1, failureKind: 'refused', failureDetail: 'fixed-error: 406' }, NOW);
    store.applyPatch(contact(contacts[1]!), { failureStreak: 2, failureKind: 'refused' }, NOW);
    store.applyPatch(contact(contacts[2]!), { state: 'hidden', failureStreak: 0 }, NOW);
    store.applyPatch({ jid: testJid('120363000000000001@g.us'), kind: 'group' }, { failureStreak: 3, failureKind: 'failing' }, NOW);
    db.close();

    const report = readStatus(dir, join(dir, 'media', 'avatars'), NOW);
    assert.equal(report.totals.contact, { unknown: 2, fetched: 1, none: 0, hidden: 1, total: 4, refused: 2, failing: 0 });
    assert.equal(report.totals.group, { unknown: 1, fetched: 0, none: 0, hidden: 0, total: 1, refused: 0, failing: 1 });
    // Tried and given up counts as processed; the one never asked does not.
    assert.is(report.processed, 4);
    assert.is(report.subjects, 5);
    const text = formatReport(report);
    assert.match(text, /contacts\s+4 total: 1 fetched, 0 no picture, 1 hidden, 2 not checked yet; 2 refused, 0 failing/);
    assert.match(text, /groups\s+1 total: .*; 0 refused, 1 failing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
