import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AvatarFiles } from '../../src/files/avatar-files.js';
import { InvalidJidError } from '../../src/jid.js';

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

function withFolder(run: (folder: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'avatar-files-'));
    try {
      await run(join(root, 'media', 'avatars'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

test(
  'pathFor normalises the JID into <folder>/<jid>.jpg',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    assert.is(files.pathFor('491701234567:12@s.whatsapp.net'), join(folder, '491701234567@s.whatsapp.net.jpg'));
    assert.is(files.pathFor('491701234567@c.us'), join(folder, '491701234567@s.whatsapp.net.jpg'));
    assert.is(files.pathFor('120363012345678901@g.us'), join(folder, '120363012345678901@g.us.jpg'));
  }),
);

test(
  'pathFor refuses anything that could escape the folder or is not a JID',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    for (const bad of ['../../etc/passwd', '..@s.whatsapp.net', 'a/b@s.whatsapp.net', 'C:\\x@s.whatsapp.net', 'status@broadcast', '', '12 3@s.whatsapp.net']) {
      assert.throws(() => files.pathFor(bad), (error: unknown) => error instanceof InvalidJidError, `accepted ${JSON.stringify(bad)}`);
    }
  }),
);

test(
  'write creates the folder, stores the bytes and leaves no temp file',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    const path = await files.write('491701234567@s.whatsapp.net', JPEG);
    assert.is(path, join(folder, '491701234567@s.whatsapp.net.jpg'));
    assert.equal([...((await files.read('491701234567@s.whatsapp.net')) ?? [])], [...JPEG]);
    assert.equal(readdirSync(folder), ['491701234567@s.whatsapp.net.jpg']);
  }),
);

test(
  'a folder deleted by hand after a write is made again by the next one',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    await files.write('491701234567@s.whatsapp.net', JPEG);
    rmSync(folder, { recursive: true });
    await files.write('491709876543@s.whatsapp.net', JPEG);
    assert.equal(readdirSync(folder), ['491709876543@s.whatsapp.net.jpg']);
  }),
);

test(
  'write replaces an existing picture',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    await files.write('491701234567@s.whatsapp.net', JPEG);
    const second = Uint8Array.from([0xff, 0xd8, 0xff, 0xdb, 9, 9, 0xff, 0xd9]);
    await files.write('491701234567@s.whatsapp.net', second);
    assert.equal([...((await files.read('491701234567@s.whatsapp.net')) ?? [])], [...second]);
    assert.equal(readdirSync(folder), ['491701234567@s.whatsapp.net.jpg']);
  }),
);

test(
  'a failed write removes its temp file and keeps nothing partial',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    // A directory where the final file should go makes the rename fail after the temp file is written.
    mkdirSync(join(folder, '491701234567@s.whatsapp.net.jpg'), { recursive: true });
    let failed = false;
    try {
      await files.write('491701234567@s.whatsapp.net', JPEG);
    } catch (error) {
      failed = true;
      assert.ok(error instanceof Error);
    }
    assert.ok(failed, 'the write should have failed');
    assert.equal(readdirSync(folder), ['491701234567@s.whatsapp.net.jpg']);
  }),
);

test(
  'write refuses empty bytes and invalid JIDs without touching the disk',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    let emptyRefused = false;
    await files.write('491701234567@s.whatsapp.net', new Uint8Array()).catch(() => (emptyRefused = true));
    assert.ok(emptyRefused);
    let invalidRefused = false;
    await files.write('../x@s.whatsapp.net', JPEG).catch((error: unknown) => (invalidRefused = error instanceof InvalidJidError));
    assert.ok(invalidRefused);
    assert.not.ok(existsSync(folder));
  }),
);

test(
  'remove deletes the file and is fine when it is missing',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    await files.write('491701234567@s.whatsapp.net', JPEG);
    assert.is(await files.remove('491701234567@s.whatsapp.net'), true);
    assert.is(await files.remove('491701234567@s.whatsapp.net'), false);
    assert.is(await files.read('491701234567@s.whatsapp.net'), undefined);
  }),
);

test(
  'sweepTemporaryFiles creates the folder and removes only leftover temp files',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    assert.is(await files.sweepTemporaryFiles(), 0);
    assert.ok(existsSync(folder));
    await files.write('491701234567@s.whatsapp.net', JPEG);
    writeFileSync(join(folder, '.491701234567@s.whatsapp.net.jpg.a1b2c3d4e5f6.tmp'), 'partial');
    writeFileSync(join(folder, '.120363012345678901@g.us.jpg.00ff.tmp'), 'partial');
    writeFileSync(join(folder, 'notes.txt'), 'not ours');
    assert.is(await files.sweepTemporaryFiles(), 2);
    assert.equal(readdirSync(folder).sort(), ['491701234567@s.whatsapp.net.jpg', 'notes.txt']);
  }),
);

test(
  'list returns the final files of valid JIDs, sorted',
  withFolder(async (folder) => {
    const files = new AvatarFiles(folder);
    assert.equal(await files.list(), []);
    await files.write('491701234567@s.whatsapp.net', JPEG);
    await files.write('120363012345678901@g.us', JPEG);
    writeFileSync(join(folder, '.491709999999@s.whatsapp.net.jpg.abcd.tmp'), 'partial');
    writeFileSync(join(folder, 'holiday.jpg'), 'not a JID');
    assert.equal(await files.list(), [join(folder, '120363012345678901@g.us.jpg'), join(folder, '491701234567@s.whatsapp.net.jpg')]);
    assert.equal(await files.listJids(), ['120363012345678901@g.us', '491701234567@s.whatsapp.net']);
  }),
);

test.run();
