// Contacts and groups with their picture state. A contact's picture lives on its `contacts` row,
// a group's on its `chats` row; a one-to-one chat only contributes its last activity.

import type { AvatarPatch } from '../avatars/transitions.js';
import type { AvatarRecord, AvatarState, FailureKind } from '../avatars/model.js';
import { storedPictureId } from '../avatars/picture-id.js';
import { parseJid, storedJid, type Jid, type SubjectKind } from '../jid.js';
import type { ChatInfo, ContactInfo } from '../avatars/ports.js';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

const TABLE: Readonly<Record<SubjectKind, 'contacts' | 'chats'>> = { contact: 'contacts', group: 'chats' };
const STATES: readonly AvatarState[] = ['unknown', 'fetched', 'none', 'hidden'];

type Totals = Record<SubjectKind, Record<AvatarState, number>>;
type FailureTotals = Record<SubjectKind, Record<FailureKind, number>>;

export interface SubjectCounts {
  readonly totals: Totals;
  readonly failures: FailureTotals;
  /** Subjects never answered well whose jobs gave up: tried, so processed, though still `unknown`. */
  readonly uncheckedGivenUp: number;
}

interface SubjectRow {
  jid: string;
  name: string | null;
  notify?: string | null;
  /** Only on `contacts`. */
  alternate_jid?: string | null;
  last_activity_at: number | null;
  picture_state: AvatarState;
  picture_id: string | null;
  picture_sha256: string | null;
  picture_size: number | null;
  profile_picture: string | null;
  profile_picture_timestamp: number | null;
  picture_changed_at: number | null;
  next_check_at: number | null;
  hidden_count: number;
  /** Only on `chats` (migration 2). */
  community?: number;
  failure_streak: number;
  failure_kind: FailureKind | null;
  failure_detail: string | null;
}

function toRecord(row: SubjectRow, kind: SubjectKind): AvatarRecord {
  const optional = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);
  return {
    jid: storedJid(row.jid),
    kind,
    name: optional(row.name) ?? optional(row.notify),
    state: row.picture_state,
    pictureId: row.picture_id === null ? undefined : storedPictureId(row.picture_id),
    sha256: optional(row.picture_sha256),
    size: optional(row.picture_size),
    path: optional(row.profile_picture),
    checkedAt: optional(row.profile_picture_timestamp),
    changedAt: optional(row.picture_changed_at),
    nextCheckAt: optional(row.next_check_at),
    hiddenCount: row.hidden_count,
    failureStreak: row.failure_streak,
    failureKind: optional(row.failure_kind),
    failureDetail: optional(row.failure_detail),
    lastActivityAt: optional(row.last_activity_at),
    ...(row.community === 1 ? { community: true } : {}),
  };
}

/** What a stored row says about whether to queue it: all a batch's upsert returns. */
export type StoredSubject = Pick<AvatarRecord, 'jid' | 'kind' | 'nextCheckAt' | 'checkedAt' | 'lastActivityAt'>;

// The columns a StoredSubject is read from.
const ARRIVAL_COLUMNS = 'jid, next_check_at, profile_picture_timestamp, last_activity_at';

interface ArrivalRow {
  jid: string;
  next_check_at: number | null;
  profile_picture_timestamp: number | null;
  last_activity_at: number | null;
}

function toStoredSubject(row: ArrivalRow, kind: SubjectKind): StoredSubject {
  const subject: { -readonly [K in keyof StoredSubject]: StoredSubject[K] } = { jid: storedJid(row.jid), kind };
  if (row.next_check_at !== null) subject.nextCheckAt = row.next_check_at;
  if (row.profile_picture_timestamp !== null) subject.checkedAt = row.profile_picture_timestamp;
  if (row.last_activity_at !== null) subject.lastActivityAt = row.last_activity_at;
  return subject;
}

// AvatarPatch field → column; `null` in a patch clears the column, `undefined` leaves it.
const PATCH_COLUMNS: Readonly<Record<keyof AvatarPatch, string>> = {
  state: 'picture_state',
  pictureId: 'picture_id',
  sha256: 'picture_sha256',
  size: 'picture_size',
  path: 'profile_picture',
  checkedAt: 'profile_picture_timestamp',
  changedAt: 'picture_changed_at',
  nextCheckAt: 'next_check_at',
  hiddenCount: 'hidden_count',
  failureStreak: 'failure_streak',
  failureKind: 'failure_kind',
  failureDetail: 'failure_detail',
};

export class SubjectStore {
  private readonly statements;
  private readonly patchStatements = new Map<string, Database.Statement>();

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      // A batch's upserts are one statement each over a JSON array of rows (`WHERE true` keeps
      // SQLite from reading ON CONFLICT as a join constraint): binding 300 rows one statement at a
      // time cost the history sync most of its time (issue 11). jsonb_each, not json_each: each
      // `value ->> n` reads the row's array on its own, from text it parses every time, from
      // JSONB it only walks (the jobs' INSERT, ten fields a row, 12,000 rows: 137–190 → 104–147 ms).
      upsertContacts: db.prepare(`
        INSERT INTO contacts (jid, name, notify, alternate_jid, created_at, updated_at)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, @now, @now FROM jsonb_each(@rows) WHERE true
        ON CONFLICT (jid) DO UPDATE SET
          name = COALESCE(excluded.name, name),
          notify = COALESCE(excluded.notify, notify),
          alternate_jid = COALESCE(excluded.alternate_jid, alternate_jid),
          updated_at = excluded.updated_at
        RETURNING ${ARRIVAL_COLUMNS}`),
      touchContactsActivity: db.prepare(`
        INSERT INTO contacts (jid, last_activity_at, created_at, updated_at)
        SELECT value ->> 0, value ->> 1, @now, @now FROM jsonb_each(@rows) WHERE true
        ON CONFLICT (jid) DO UPDATE SET
          last_activity_at = MAX(COALESCE(last_activity_at, 0), COALESCE(excluded.last_activity_at, 0)),
          updated_at = excluded.updated_at
        RETURNING ${ARRIVAL_COLUMNS}`),
      upsertChats: db.prepare(`
        INSERT INTO chats (jid, kind, name, last_activity_at, community, created_at, updated_at)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, @now, @now FROM jsonb_each(@rows) WHERE true
        ON CONFLICT (jid) DO UPDATE SET
          name = COALESCE(excluded.name, name),
          community = MAX(community, excluded.community),
          last_activity_at = MAX(COALESCE(last_activity_at, 0), COALESCE(excluded.last_activity_at, 0)),
          updated_at = excluded.updated_at
        RETURNING kind, ${ARRIVAL_COLUMNS}`),
      // Every stored contact a batch touches, in one statement: the contacts under a batch JID or
      // having one as their alternate. @jids is a JSON array of contact JIDs: a batch's JIDs and
      // alternates are contacts' (the Baileys adapter drops the groups a history sync lists among
      // its contacts) and a chat batch asks only for its one-to-one chats, so no group can answer.
      // UNION ALL: a contact found by both its JID and its alternate comes twice, which
      // BatchIdentities takes as once, and SQLite skips the de-duplicating sort.
      identities: db.prepare(`
        SELECT jid, alternate_jid AS alternate FROM contacts WHERE jid IN (SELECT value FROM json_each(@jids))
        UNION ALL
        SELECT jid, alternate_jid AS alternate FROM contacts WHERE alternate_jid IN (SELECT value FROM json_each(@jids))`),
      contact: db.prepare('SELECT * FROM contacts WHERE jid = ?'),
      deleteContact: db.prepare('DELETE FROM contacts WHERE jid = ?'),
      group: db.prepare(`SELECT * FROM chats WHERE jid = ? AND kind = 'group'`),
      contactByAlternate: db.prepare('SELECT jid FROM contacts WHERE alternate_jid = ?'),
      exists: db.prepare(`SELECT 1 FROM contacts WHERE jid = @jid UNION ALL SELECT 1 FROM chats WHERE jid = @jid AND kind = 'group'`),
      allContacts: db.prepare('SELECT * FROM contacts ORDER BY jid'),
      allGroups: db.prepare(`SELECT * FROM chats WHERE kind = 'group' ORDER BY jid`),
      dueContacts: db.prepare(`SELECT ${ARRIVAL_COLUMNS} FROM contacts WHERE next_check_at IS NULL OR next_check_at <= ? LIMIT ?`),
      dueGroups: db.prepare(`SELECT ${ARRIVAL_COLUMNS} FROM chats WHERE kind = 'group' AND (next_check_at IS NULL OR next_check_at <= ?) LIMIT ?`),
      // One pass per table yields the state totals, the failure totals and the unchecked give-ups.
      countsContacts: db.prepare('SELECT picture_state AS state, failure_kind AS failure, COUNT(*) AS count FROM contacts GROUP BY picture_state, failure_kind'),
      countsGroups: db.prepare(
        `SELECT picture_state AS state, failure_kind AS failure, COUNT(*) AS count FROM chats WHERE kind = 'group' GROUP BY picture_state, failure_kind`,
      ),
      addHint: db.prepare(`INSERT INTO picture_hints (jid, removed, received_at) VALUES (?, ?, ?)
        ON CONFLICT (jid) DO UPDATE SET removed = excluded.removed, received_at = excluded.received_at`),
      takeHint: db.prepare('DELETE FROM picture_hints WHERE jid = ? RETURNING removed'),
      takeHints: db.prepare('DELETE FROM picture_hints WHERE jid IN (SELECT value FROM json_each(?)) RETURNING jid'),
    };
  }

  /**
   * Stores contacts from a history sync or an upsert, in one transaction. A contact that arrives
   * under its LID while we know its phone number (or the other way round) updates the known row:
   * one person, one picture. When a LID ↔ phone-number mapping joins two rows we already had, the
   * phone-number row stays and the other goes; the caller removes its file and job. `records`
   * holds each stored row as the upsert returned it (no read per record).
   */
  upsertContacts(contacts: readonly ContactInfo[], now: number): StoredContacts {
    return this.storeContacts(contacts, now);
  }

  /**
   * Applies LID ↔ phone-number pairs to the contacts we already store (one of the two addresses is
   * known); a pair of two strangers is ignored, so a big group's members never become subjects.
   */
  linkIdentities(pairs: readonly ContactInfo[], now: number): StoredContacts {
    return this.db.transaction(() => {
      const known = pairs.filter((pair) => this.resolve(pair.jid) !== undefined || (pair.alternateJid !== undefined && this.resolve(pair.alternateJid) !== undefined));
      return this.storeContacts(known, now);
    })();
  }

  private storeContacts(contacts: readonly ContactInfo[], now: number): StoredContacts {
    if (contacts.length === 0) return { jids: [], mergedAway: [], records: [] };
    const mergedAway: Jid[] = [];
    return this.db.transaction(() => {
      const identities = this.identitiesOf(contacts.flatMap((contact) => (contact.alternateJid === undefined ? [contact.jid] : [contact.jid, contact.alternateJid])));
      // The batch's rows, one per stored JID, merged as the upserts one after another would merge
      // them (a later non-null field wins), in the order of each JID's last record.
      const rows = new Map<Jid, [Jid, string | null, string | null, string | null]>();
      const jids = contacts.map((contact) => {
        const duplicate = identities.duplicate(contact);
        if (duplicate !== undefined) {
          this.statements.deleteContact.run(duplicate);
          identities.forget(duplicate);
          rows.delete(duplicate);
          mergedAway.push(duplicate);
        }
        const jid = identities.canonical(contact);
        const earlier = rows.get(jid);
        const alternate = (jid === contact.jid ? contact.alternateJid : contact.jid) ?? earlier?.[3] ?? identities.alternateOf(jid) ?? null;
        rows.delete(jid);
        rows.set(jid, [jid, contact.name ?? earlier?.[1] ?? null, contact.notify ?? earlier?.[2] ?? null, alternate]);
        identities.storedContact(jid, alternate);
        return jid;
      });
      const stored = this.runUpsert(this.statements.upsertContacts, [...rows.values()], now);
      const records = [...rows.keys()].map((jid) => toStoredSubject(stored.get(jid)!, 'contact'));
      return { jids, mergedAway, records };
    })();
  }

  /** Runs one of the JSON-array upserts; the stored rows by JID. */
  private runUpsert(statement: Database.Statement, rows: readonly unknown[][], now: number): Map<string, ArrivalRow & { kind?: string }> {
    const stored = new Map<string, ArrivalRow & { kind?: string }>();
    if (rows.length === 0) return stored;
    for (const row of statement.all({ rows: JSON.stringify(rows), now }) as (ArrivalRow & { kind?: string })[]) stored.set(row.jid, row);
    return stored;
  }

  /** Stores chats; a one-to-one chat makes sure its contact exists and carries the last activity. */
  upsertChats(chats: readonly ChatInfo[], now: number): Jid[] {
    return this.storeChats(chats, now).jids;
  }

  /** As `upsertChats`, with each subject's row as stored (a group's, or a one-to-one chat's contact's). */
  storeChats(chats: readonly ChatInfo[], now: number): { jids: Jid[]; records: StoredSubject[] } {
    if (chats.length === 0) return { jids: [], records: [] };
    return this.db.transaction(() => {
      const identities = this.identitiesOf(chats.filter((chat) => chat.kind !== 'group').map((chat) => chat.jid));
      // As in storeContacts: one merged row per JID, as the upserts in turn would leave it.
      const chatRows = new Map<string, [string, string, string | null, number | null, number]>();
      const contactRows = new Map<Jid, [Jid, number | null]>();
      const order = new Map<Jid, SubjectKind>();
      const jids = chats.map((chat) => {
        const activity = chat.lastActivityAt ?? null;
        const earlierChat = chatRows.get(chat.jid);
        chatRows.set(chat.jid, [
          chat.jid,
          earlierChat?.[1] ?? chat.kind,
          chat.name ?? earlierChat?.[2] ?? null,
          earlierChat === undefined ? activity : Math.max(earlierChat[3] ?? 0, activity ?? 0),
          Math.max(earlierChat?.[4] ?? 0, chat.kind === 'group' && chat.community === true ? 1 : 0),
        ]);
        const jid = chat.kind === 'group' ? chat.jid : (identities.resolve(chat.jid) ?? chat.jid);
        if (chat.kind !== 'group') {
          const earlier = contactRows.get(jid);
          contactRows.set(jid, [jid, earlier === undefined ? activity : Math.max(earlier[1] ?? 0, activity ?? 0)]);
          identities.storedContact(jid, identities.alternateOf(jid) ?? null);
        }
        order.delete(jid);
        order.set(jid, chat.kind === 'group' ? 'group' : 'contact');
        return jid;
      });
      const storedChats = this.runUpsert(this.statements.upsertChats, [...chatRows.values()], now);
      const storedContacts = this.runUpsert(this.statements.touchContactsActivity, [...contactRows.values()], now);
      const records: StoredSubject[] = [];
      for (const [jid, kind] of order) {
        if (kind === 'contact') records.push(toStoredSubject(storedContacts.get(jid)!, 'contact'));
        else if (storedChats.get(jid)?.kind === 'group') records.push(toStoredSubject(storedChats.get(jid)!, 'group'));
      }
      return { jids, records };
    })();
  }

  /** The stored contacts behind these contact JIDs, read in one statement, kept current as a batch is stored. */
  private identitiesOf(jids: readonly Jid[]): BatchIdentities {
    const rows = this.statements.identities.all({ jids: JSON.stringify([...new Set(jids)]) }) as { jid: string; alternate: string | null }[];
    return new BatchIdentities(rows);
  }

  /**
   * Groups this batch reveals as communities whose last answer was `hidden`: asked the plain way
   * before the flag was known, a community's parent answers 401 (whatsmeow user.go), which says
   * nothing about its picture. Call before `upsertChats` stores the flag.
   */
  communitiesAskedWrongly(chats: readonly ChatInfo[]): Jid[] {
    return chats
      .filter((chat) => chat.kind === 'group' && chat.community === true)
      .filter((chat) => {
        const row = this.statements.group.get(chat.jid) as SubjectRow | undefined;
        return row !== undefined && row.community !== 1 && row.picture_state === 'hidden';
      })
      .map((chat) => chat.jid);
  }

  /** The stored JID of a subject known under `jid` or under its alternate (LID ↔ phone number). */
  resolve(jid: string): Jid | undefined {
    if (this.statements.exists.get({ jid }) !== undefined) return storedJid(jid);
    const row = this.statements.contactByAlternate.get(jid) as { jid: string } | undefined;
    return row === undefined ? undefined : storedJid(row.jid);
  }

  get(jid: string): AvatarRecord | undefined {
    const contact = this.statements.contact.get(jid) as SubjectRow | undefined;
    if (contact !== undefined) return toRecord(contact, 'contact');
    const group = this.statements.group.get(jid) as SubjectRow | undefined;
    return group === undefined ? undefined : toRecord(group, 'group');
  }

  /** Makes sure a subject row exists (a refresh may name a JID no sync has delivered yet). */
  ensure(jid: string, now: number): AvatarRecord {
    const known = this.get(jid);
    if (known !== undefined) return known;
    const parsed = parseJid(jid);
    if (!parsed.ok) throw new Error(`cannot store subject: ${parsed.reason}`);
    if (parsed.kind === 'group') this.upsertChats([{ jid: parsed.jid, kind: 'group' }], now);
    else this.upsertContacts([{ jid: parsed.jid }], now);
    return this.get(parsed.jid)!;
  }

  applyPatch(record: Pick<AvatarRecord, 'jid' | 'kind'>, patch: AvatarPatch, now: number): void {
    const entries = Object.entries(patch).filter(([, value]) => value !== undefined) as [keyof AvatarPatch, unknown][];
    const fields = entries.map(([field]) => field);
    this.patchStatement(record.kind, fields).run({ ...Object.fromEntries(entries), now, jid: record.jid });
  }

  /** The UPDATE for one table and set of fields, compiled once: a job's outcome touches one of a few shapes. */
  private patchStatement(kind: SubjectKind, fields: readonly (keyof AvatarPatch)[]): Database.Statement {
    const key = `${kind}:${fields.join(',')}`;
    let statement = this.patchStatements.get(key);
    if (statement === undefined) {
      const assignments = fields.map((field) => `${PATCH_COLUMNS[field]} = @${field}`);
      statement = this.db.prepare(`UPDATE ${TABLE[kind]} SET ${[...assignments, 'updated_at = @now'].join(', ')} WHERE jid = @jid`);
      this.patchStatements.set(key, statement);
    }
    return statement;
  }

  *all(): Generator<AvatarRecord> {
    for (const row of this.statements.allContacts.iterate() as Iterable<SubjectRow>) yield toRecord(row, 'contact');
    for (const row of this.statements.allGroups.iterate() as Iterable<SubjectRow>) yield toRecord(row, 'group');
  }

  /** Subjects never checked or due for a check, at most `limit` of each kind. */
  due(now: number, limit: number): StoredSubject[] {
    return [
      ...(this.statements.dueContacts.all(now, limit) as ArrivalRow[]).map((row) => toStoredSubject(row, 'contact')),
      ...(this.statements.dueGroups.all(now, limit) as ArrivalRow[]).map((row) => toStoredSubject(row, 'group')),
    ];
  }

  totals(): Totals {
    return this.counts().totals;
  }

  /**
   * Subjects whose last job gave up, by why: `refused` and `failing`. They overlap the state
   * totals (a refused subject keeps its state and its last good picture).
   */
  failureTotals(): FailureTotals {
    return this.counts().failures;
  }

  /** Subjects never answered well whose jobs gave up: tried, so processed, though still `unknown`. */
  uncheckedGivenUp(): number {
    return this.counts().uncheckedGivenUp;
  }

  /** `totals`, `failureTotals` and `uncheckedGivenUp` at once, from one pass over each table. */
  counts(): SubjectCounts {
    const empty = (): Record<AvatarState, number> =>
      Object.fromEntries(STATES.map((state) => [state, 0])) as Record<AvatarState, number>;
    const totals: Totals = { contact: empty(), group: empty() };
    const failures: FailureTotals = { contact: { refused: 0, failing: 0 }, group: { refused: 0, failing: 0 } };
    let uncheckedGivenUp = 0;
    for (const [kind, statement] of [
      ['contact', this.statements.countsContacts],
      ['group', this.statements.countsGroups],
    ] as const) {
      for (const row of statement.all() as { state: AvatarState; failure: FailureKind | null; count: number }[]) {
        totals[kind][row.state] += row.count;
        if (row.failure === null) continue;
        failures[kind][row.failure] += row.count;
        if (row.state === 'unknown') uncheckedGivenUp += row.count;
      }
    }
    return { totals, failures, uncheckedGivenUp };
  }

  /** A picture change for a JID we do not know yet: kept until the subject arrives. */
  keepHint(jid: string, removed: boolean, now: number): void {
    this.statements.addHint.run(jid, removed ? 1 : 0, now);
  }

  /** Returns and forgets a kept hint for a subject that just arrived. */
  takeHint(jid: string): boolean {
    return this.statements.takeHint.get(jid) !== undefined;
  }

  /** As `takeHint` for a whole batch in one statement: the JIDs among `jids` that had a hint. */
  takeHints(jids: readonly string[]): Set<string> {
    if (jids.length === 0) return new Set();
    return new Set((this.statements.takeHints.all(JSON.stringify(jids)) as { jid: string }[]).map((row) => row.jid));
  }
}

export interface StoredContacts {
  /** The stored JID of each contact, in order (a LID may land on its phone number's row). */
  readonly jids: Jid[];
  /** Rows dropped because a mapping joined them to another: their files and jobs must go. */
  readonly mergedAway: Jid[];
  /** Each stored row once, as it stands after the batch. */
  readonly records: StoredSubject[];
}

/**
 * The contacts a batch touches, read once and updated as the batch is stored, so the identity
 * rules (which row a LID or a phone number lands on) cost no statement per record.
 */
class BatchIdentities {
  private readonly contacts = new Map<string, string | null>();
  private readonly byAlternate = new Map<string, string>();

  constructor(rows: readonly { jid: string; alternate: string | null }[]) {
    for (const row of rows) this.storedContact(row.jid, row.alternate);
  }

  storedContact(jid: string, alternate: string | null): void {
    this.contacts.set(jid, alternate);
    if (alternate !== null && !this.byAlternate.has(alternate)) this.byAlternate.set(alternate, jid);
  }

  /** The alternate stored (or stored earlier in the batch) for a known contact. */
  alternateOf(jid: string): string | undefined {
    return this.contacts.get(jid) ?? undefined;
  }

  forget(jid: string): void {
    const alternate = this.contacts.get(jid);
    this.contacts.delete(jid);
    if (alternate !== undefined && alternate !== null && this.byAlternate.get(alternate) === jid) this.byAlternate.delete(alternate);
  }

  /** The stored JID of a contact known under `jid` or under its alternate (LID ↔ phone number). */
  resolve(jid: string): Jid | undefined {
    if (this.contacts.has(jid)) return storedJid(jid);
    const owner = this.byAlternate.get(jid);
    return owner === undefined ? undefined : storedJid(owner);
  }

  /** With both addresses stored as separate rows, the one to drop: the LID, keeping the phone number. */
  duplicate(contact: ContactInfo): Jid | undefined {
    const other = contact.alternateJid;
    if (other === undefined || other === contact.jid) return undefined;
    if (!this.contacts.has(contact.jid) || !this.contacts.has(other)) return undefined;
    return contact.jid.endsWith('@lid') ? contact.jid : other.endsWith('@lid') ? other : undefined;
  }

  canonical(contact: ContactInfo): Jid {
    if (this.contacts.has(contact.jid)) return contact.jid;
    if (contact.alternateJid !== undefined && this.contacts.has(contact.alternateJid)) return contact.alternateJid;
    return this.resolve(contact.jid) ?? contact.jid;
  }
}
