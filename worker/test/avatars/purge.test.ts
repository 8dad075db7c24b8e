// The picture purge on a real SQLite file and a real avatars folder, on a fake clock: what goes
// (unused files), what stays (used, favourite, queued), the grace period across a restart, and
// what a kill between two removals leaves.

import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PicturePurge, type PurgeFiles } from '../../src/avatars/purge.js';
import { AvatarFiles } from '../../src/files/avatar-files.js';
import { purgeFiles } from '../../src/files/purge-files.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { PictureStorageTable } from '../../src/store/picture-storage.js';
import { FakeClock } from '../support/fake-clock.js';

const DAY = 24 * 60 * 60 * 1000;
const USED = '491700000001@s.whatsapp.net';
const GONE = '491700000002@s.whatsapp.net';
const FAVOURITE = '491700000003@s.whatsapp.net';
const QUEUED = '491700000004@s.whatsapp.net';
const GROUP_GONE = '120363000000000001@g.us';

interface Rig {
  readonly dir: string;
  readonly db: SqliteDatabase;
  readonly files: AvatarFiles;
  readonly clock: FakeClock;
  purge(files?: PurgeFiles): PicturePurge;
  close(): void;
}

async function rig(): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'purge-'));
  const db = openDatabase(dir);
  const files = new AvatarFiles(join(dir, 'avatars'));
  const clock = new FakeClock();
  for (const [jid, size] of [[USED, 100], [GONE, 200], [FAVOURITE, 300], [QUEUED, 400], [GROUP_GONE, 500]] as const) {
    await files.write(jid, Buffer.alloc(size, 0xff));
  }
  const now = clock.now();
  db.prepare('INSERT INTO contacts (jid, picture_state, profile_picture, picture_size, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    USED, 'fetched', files.pathFor(USED), 100, now, now,
  );
  const storage = new PictureStorageTable(db);
  const used = new Set([USED]);
  return {
    dir,
    db,
    files,
    clock,
    purge: (purgeFilesPort = purgeFiles(files)) =>
      new PicturePurge({
        files: purgeFilesPort,
        inUse: (jid) => used.has(jid),
        isProtected: (jid) => jid === FAVOURITE || jid === QUEUED,
        sightings: storage.sightings(),
        clock,
        graceDays: 30,
        logger: pino({ level: 'silent' }),
      }),
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('purgeNow removes every unused picture at once and reports files and bytes; used, favourite and queued stay', async () => {
  const r = await rig();
  try {
    assert.equal(await r.purge().purgeNow(), { files: 2, bytes: 700 });
    assert.equal(await r.files.listJids(), [USED, FAVOURITE, QUEUED].sort());
    assert.equal(await r.purge().purgeNow(), { files: 0, bytes: 0 }, 'nothing left to remove');
  } finally {
    r.close();
  }
});

test('the daily pass waits 30 days from the first sighting, and a restart does not reset it', async () => {
  const r = await rig();
  try {
    const first = r.purge();
    assert.equal(await first.purgeExpired(), { files: 0, bytes: 0 }, 'first seen unused: kept');
    r.clock.advance(29 * DAY);
    // A restart: a new purge over the same database.
    assert.equal(await r.purge().purgeExpired(), { files: 0, bytes: 0 }, 'day 29: kept');
    assert.ok(existsSync(r.files.pathFor(GONE)));
    r.clock.advance(DAY);
    assert.equal(await r.purge().purgeExpired(), { files: 2, bytes: 700 }, 'day 30: removed');
    assert.equal(await r.files.listJids(), [USED, FAVOURITE, QUEUED].sort());
  } finally {
    r.close();
  }
});

test('start runs a pass at once and then daily on the clock; stop ends it', async () => {
  const r = await rig();
  try {
    const purge = r.purge();
    purge.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let day = 0; day < 30; day++) r.clock.advance(DAY);
    await new Promise((resolve) => setTimeout(resolve, 100));
    purge.stop();
    assert.equal(await r.files.listJids(), [USED, FAVOURITE, QUEUED].sort(), 'the 30th daily pass removed the unused ones');
  } finally {
    r.close();
  }
});

test('a kill between two removals: the database never pointed at them, the next pass finishes the job', async () => {
  const r = await rig();
  try {
    let removals = 0;
    const real = purgeFiles(r.files);
    const dying: PurgeFiles = {
      ...real,
      async remove(jid) {
        if (++removals > 1) throw new Error('killed');
        return real.remove(jid);
      },
    };
    await r.purge(dying).purgeNow().then(
      () => assert.unreachable('the kill ends the pass'),
      (error: Error) => assert.is(error.message, 'killed'),
    );
    assert.is((await r.files.listJids()).length, 4, 'one removed before the kill');
    const row = r.db.prepare('SELECT profile_picture FROM contacts WHERE jid = ?').get(USED) as { profile_picture: string };
    assert.ok(existsSync(row.profile_picture), 'the file the database points at is there');
    assert.equal(await r.purge().purgeNow(), { files: 1, bytes: 200 }, 'the group went before the kill, the contact now');
  } finally {
    r.close();
  }
});

test('storage counts the pictures the database keeps, contacts and groups', async () => {
  const r = await rig();
  try {
    const now = r.clock.now();
    r.db.prepare(`INSERT INTO chats (jid, kind, picture_state, profile_picture, picture_size, created_at, updated_at) VALUES (?, 'group', 'fetched', ?, 500, ?, ?)`).run(
      GROUP_GONE, r.files.pathFor(GROUP_GONE), now, now,
    );
    assert.equal(new PictureStorageTable(r.db).storage(), { files: 2, bytes: 600 });
    writeFileSync(join(r.dir, 'unrelated'), 'x');
  } finally {
    r.close();
  }
});

test.run();
