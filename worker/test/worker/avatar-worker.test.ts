// The worker end to end on a real SQLite file, a real picture folder and a real HTTPS server on
// loopback, with WhatsApp scripted at the account boundary and every timing rule on a fake clock.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AvatarFiles } from '../../src/files/avatar-files.js';
import { cdnDownloader, DEFAULT_DOWNLOAD_SETTINGS, type DownloadSettings } from '../../src/cdn/download.js';
import { DEFAULT_RATE_SETTINGS, type RateSettings } from '../../src/avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS } from '../../src/avatars/transitions.js';
import { seededRandom } from '../../src/clock.js';
import { FakeClock } from '../support/fake-clock.js';
import { CallError } from '../../src/ha/port.js';
import { MAX_CONNECTION_DETAIL_LENGTH, type AvatarUpdate } from '../../src/ha/protocol.js';
import { generateLoopbackCertificate } from '../../src/sim/certificate.js';
import { renderPicture } from '../../src/sim/jpeg.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES, SQLITE_WAL_AUTOCHECKPOINT_PAGES } from '../../src/store/wal-checkpoints.js';
import { JobTable } from '../../src/store/job-table.js';
import { AvatarQueue } from '../../src/avatars/queue.js';
import type { AccountEvent } from '../../src/avatars/ports.js';
import { AvatarWorker } from '../../src/worker/avatar-worker.js';
import { WorkerService } from '../../src/ha/presenter.js';
import { responseSchemaProblem, upstreamSchemaProblem } from '../support/protocol-description.js';
import { ScriptedAccount } from '../support/scripted-account.js';
import { testJid } from '../support/jids.js';
import { PictureStorageTable } from '../../src/store/picture-storage.js';

const ALICE = testJid('491700000001@s.whatsapp.net');
const BOB = testJid('491700000002@s.whatsapp.net');
const CAROL = testJid('491700000003@s.whatsapp.net');
const GROUP = testJid('120363000000000001@g.us');
const RATE: RateSettings = { ...DEFAULT_RATE_SETTINGS, intervalMs: 3_000, quietPeriodMs: 60_000 };
const logger = pino({ level: 'silent' });

let cdn: Server;
let cdnBase = '';
let download: DownloadSettings;

function pictureUrl(jid: string, id: string): string {
  return `${cdnBase}/pic/${jid}/${id}.jpg?oe=6A000000`;
}

test.before(async () => {
  const tls = await generateLoopbackCertificate();
  cdn = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    const match = /^\/pic\/([^/]+)\/([^/]+)\.jpg/.exec(new URL(request.url ?? '/', 'https://x').pathname);
    if (match === null) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'image/jpeg' }).end(renderPicture(match[1]!, match[2]!));
  });
  await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
  cdnBase = `https://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  download = { ...DEFAULT_DOWNLOAD_SETTINGS, allowedHosts: ['127.0.0.1'], certificateAuthority: tls.cert };
});

test.after(() => new Promise<void>((resolve) => cdn.close(() => resolve())));

interface Rig {
  dir: string;
  db: SqliteDatabase;
  clock: FakeClock;
  account: ScriptedAccount;
  files: AvatarFiles;
  worker: AvatarWorker;
}

const SYNC: AccountEvent[] = [
  { type: 'connection', state: 'open' },
  { type: 'contacts', contacts: [{ jid: ALICE, name: 'Alice' }, { jid: BOB, name: 'Bob' }, { jid: CAROL, notify: 'Carol' }] },
  { type: 'chats', chats: [{ jid: GROUP, kind: 'group', name: 'Family' }] },
  { type: 'history-synced' },
];

// Long runs on the fake clock: an idle worker need not look for other processes' jobs every second.
const LONG_RUN_POLL_MS = 10 * 60_000;

function rig(
  events: AccountEvent[] = SYNC,
  dir = mkdtempSync(join(tmpdir(), 'avatar-worker-')),
  clock = new FakeClock(),
  externalJobPollMs?: number,
): Rig {
  const db = openDatabase(dir);
  const account = new ScriptedAccount(clock, events);
  const files = new AvatarFiles(join(dir, 'avatars'));
  const worker = new AvatarWorker({
    db,
    account,
    files,
    downloadPicture: cdnDownloader(download, logger),
    rate: RATE,
    ttl: DEFAULT_TTL_SETTINGS,
    clock,
    random: seededRandom(7),
    logger,
    externalJobPollMs,
  });
  return { dir, db, clock, account, files, worker };
}

async function dispose(r: Rig): Promise<void> {
  await r.worker.stop();
  r.db.close();
  rmSync(r.dir, { recursive: true, force: true });
}

/** Lets real I/O (downloads, file writes) finish between fake-clock steps. */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Advances the fake clock timer by timer until `done` holds (the worker's own timers only). */
async function runUntil(r: Rig, done: () => boolean, limitMs = 48 * 3_600_000): Promise<void> {
  const deadline = r.clock.now() + limitMs;
  for (let step = 0; step < 100_000 && !done(); step++) {
    await settleIo();
    if (done()) return;
    if ((r.worker as unknown as { scheduler: { busy: boolean } }).scheduler.busy) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      continue;
    }
    const next = r.clock.nextTimerAt();
    if (next === undefined || next > deadline) break;
    r.clock.advance(Math.max(0, next - r.clock.now()));
  }
  assert.ok(done(), 'condition not reached');
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

test('every outcome of the state machine lands in the store and on disk', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') });
  r.account.script(BOB, { kind: 'none' });
  r.account.script(CAROL, { kind: 'hidden' });
  r.account.script(GROUP, { kind: 'picture', pictureId: 'g1', url: pictureUrl(GROUP, 'g1') });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);

  const alice = r.worker.subjects.get(ALICE)!;
  assert.is(alice.state, 'fetched');
  assert.is(alice.pictureId, 'a1');
  assert.is(alice.sha256, sha256(readFileSync(alice.path!)));
  assert.equal(readFileSync(alice.path!), renderPicture(ALICE, 'a1'));
  assert.is(r.worker.subjects.get(BOB)!.state, 'none');
  assert.is(r.worker.subjects.get(CAROL)!.state, 'hidden');
  assert.is(r.worker.subjects.get(GROUP)!.state, 'fetched');
  assert.is(r.worker.subjects.get(GROUP)!.kind, 'group');
  assert.is(new JobTable(r.db).count(), 0);
  assert.equal(r.worker.subjects.totals().contact, { unknown: 0, fetched: 1, none: 1, hidden: 1 });
  await dispose(r);
});

test('queries wait for the quiet period after connect and keep the interval minus jitter apart', async () => {
  const r = rig();
  const connectedAt = r.clock.now();
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const times = r.account.queries.map((query) => query.at);
  assert.is(times.length, 4);
  assert.ok(times[0]! >= connectedAt + RATE.quietPeriodMs, 'first query inside the quiet period');
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i]! - times[i - 1]! >= RATE.intervalMs * (1 - RATE.jitterRatio), `gap ${i} too short`);
  }
  await dispose(r);
});

test('an unchanged picture is not downloaded again, and a stored id is sent with the query', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') }, { kind: 'unchanged', pictureId: 'a1' });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const firstChangedAt = r.worker.subjects.get(ALICE)!.changedAt;
  r.account.emit({ type: 'picture-changed', jid: ALICE, removed: false });
  await runUntil(r, () => r.worker.idle && r.account.queries.filter((q) => q.jid === ALICE).length === 2);
  const second = r.account.queries.filter((query) => query.jid === ALICE)[1]!;
  assert.is(second.knownPictureId, 'a1');
  const alice = r.worker.subjects.get(ALICE)!;
  assert.is(alice.state, 'fetched');
  assert.is(alice.changedAt, firstChangedAt);
  assert.ok(alice.checkedAt! > firstChangedAt!);
  await dispose(r);
});

test('none deletes the stored file; hidden keeps the last good one', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') }, { kind: 'none' });
  r.account.script(BOB, { kind: 'picture', pictureId: 'b1', url: pictureUrl(BOB, 'b1') }, { kind: 'hidden' });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const alicePath = r.worker.subjects.get(ALICE)!.path!;
  const bobPath = r.worker.subjects.get(BOB)!.path!;
  assert.ok(existsSync(alicePath) && existsSync(bobPath));
  r.account.emit({ type: 'picture-changed', jid: ALICE, removed: true });
  r.account.emit({ type: 'picture-changed', jid: BOB, removed: false });
  await runUntil(r, () => r.worker.idle && r.account.queries.length === 6);
  assert.is(r.worker.subjects.get(ALICE)!.state, 'none');
  assert.is(r.worker.subjects.get(ALICE)!.path, undefined);
  assert.not.ok(existsSync(alicePath));
  const bob = r.worker.subjects.get(BOB)!;
  assert.is(bob.state, 'hidden');
  assert.is(bob.path, bobPath);
  assert.equal(readFileSync(bobPath), renderPicture(BOB, 'b1'));
  await dispose(r);
});

test('a transient error is retried later and never recorded as none or hidden', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'transient', cause: 'timeout', detail: '408' }, { kind: 'transient', cause: 'socket-closed', detail: '428' }, {
    kind: 'picture',
    pictureId: 'a1',
    url: pictureUrl(ALICE, 'a1'),
  });
  r.account.script(BOB, { kind: 'picture', pictureId: 'b-missing', url: `${cdnBase}/nothing-here.jpg` }, { kind: 'unchanged', pictureId: 'b1' });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  assert.is(r.worker.subjects.get(ALICE)!.state, 'fetched');
  assert.is(r.account.queries.filter((q) => q.jid === ALICE).length, 3);
  // The CDN's 404 was a failed download, not a verdict: Bob was asked again.
  assert.ok(r.account.queries.filter((q) => q.jid === BOB).length >= 2);
  assert.is.not(r.worker.subjects.get(BOB)!.state, 'none');
  await dispose(r);
});

test('rate-overlimit pauses the whole queue, and no query falls inside the pause', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'rate-limited' }, { kind: 'none' });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const limited = r.account.queries.find((query) => query.jid === ALICE)!;
  const after = r.account.queries.filter((query) => query.at > limited.at);
  assert.ok(after.length >= 1);
  for (const query of after) assert.ok(query.at >= limited.at + RATE.rateLimitPauseMs, 'a query inside the pause');
  assert.is(r.account.queries.filter((q) => q.jid === ALICE).length, 2);
  await dispose(r);
});

test('no query while disconnected; the queue waits instead of failing', async () => {
  const r = rig([...SYNC, { type: 'connection', state: 'closed', detail: 'offline' }]);
  await r.worker.start();
  for (let i = 0; i < 20; i++) {
    await settleIo();
    r.clock.advance(10 * 60_000);
  }
  assert.is(r.account.queries.length, 0);
  assert.is(r.worker.queue.memory.size, 4);
  r.account.emit({ type: 'connection', state: 'open' });
  await runUntil(r, () => r.worker.idle);
  assert.is(r.account.queries.length, 4);
  await dispose(r);
});

test('the status tells Home Assistant why WhatsApp is not connected, when the worker tries again, and where it runs', async () => {
  const r = rig([...SYNC, { type: 'connection', state: 'closed', detail: 'cannot reach WhatsApp (connect ECONNREFUSED 127.0.0.1:1)', retryAt: Date.UTC(2026, 10, 1, 10, 5) }]);
  const service = new WorkerService(r.worker, r.files, r.clock, true);
  await r.worker.start();
  await settleIo();
  assert.equal(
    { connection: service.status().connection, detail: service.status().connection_detail, at: service.status().reconnect_at, app: service.status().runs_in_app },
    { connection: 'closed', detail: 'cannot reach WhatsApp (connect ECONNREFUSED 127.0.0.1:1)', at: '2026-11-01T10:05:00.000Z', app: true },
  );
  r.account.emit({ type: 'connection', state: 'connecting' });
  assert.equal([service.status().connection_detail, service.status().reconnect_at], ['cannot reach WhatsApp (connect ECONNREFUSED 127.0.0.1:1)', null], 'the reason stays through the attempt');
  r.account.emit({ type: 'connection', state: 'closed', detail: 'x'.repeat(MAX_CONNECTION_DETAIL_LENGTH + 50) });
  assert.is(service.status().connection_detail?.length, MAX_CONNECTION_DETAIL_LENGTH, 'cut to what HA accepts');
  r.account.emit({ type: 'connection', state: 'open' });
  assert.equal([service.status().connection_detail, service.status().reconnect_at], [null, null]);
  assert.is(new WorkerService(r.worker, r.files, r.clock).status().runs_in_app, false, 'standalone unless told');
  await dispose(r);
});

test('a crash mid-query loses no job: the row stays until the outcome is stored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'avatar-worker-crash-'));
  const first = rig(SYNC, dir);
  for (const jid of [ALICE, BOB, CAROL, GROUP]) first.account.hanging.add(jid);
  await first.worker.start();
  await runUntil(first, () => first.account.queries.length === 1);
  assert.is(first.account.queries.length, 1);
  // "Crash": abandon the worker without stopping it and close the database under it.
  first.db.close();
  const second = rig([{ type: 'connection', state: 'open' }, { type: 'history-synced' }], dir);
  // Building reads nothing; loading the stored queue finds every job the crash left.
  assert.is(second.worker.queue.memory.size, 0);
  second.worker.load();
  assert.is(second.worker.queue.memory.size, 4);
  await second.worker.start();
  await runUntil(second, () => second.worker.idle);
  assert.is(second.worker.subjects.get(ALICE)!.state, 'none');
  assert.equal(readdirSync(join(dir, 'avatars')).filter((name) => name.endsWith('.tmp')), []);
  await dispose(second);
});

test("a worker holds SQLite's checkpoint threshold up from its start until the history is in, then gives SQLite its own back", async () => {
  const r = rig(SYNC.filter((event) => event.type !== 'history-synced'));
  const threshold = (): number => r.db.pragma('wal_autocheckpoint', { simple: true }) as number;
  assert.is(threshold(), SQLITE_WAL_AUTOCHECKPOINT_PAGES);
  await r.worker.start();
  assert.is(threshold(), HISTORY_SYNC_WAL_AUTOCHECKPOINT_PAGES, 'raised while the history arrives');
  r.account.emit({ type: 'history-synced' });
  assert.is(threshold(), SQLITE_WAL_AUTOCHECKPOINT_PAGES, 'back once it is in');
  await dispose(r);
});

test('jobs queued by another process on the same folder are picked up', async () => {
  const r = rig();
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const other = openDatabase(r.dir);
  const table = new JobTable(other);
  const queue = new AvatarQueue(table.loadAll());
  table.save([queue.enqueue({ jid: ALICE, kind: 'contact', reason: 'explicit', force: true }, r.clock.now()).job]);
  other.close();
  const before = r.account.queries.length;
  await runUntil(r, () => r.account.queries.length === before + 1 && r.worker.idle);
  assert.is(r.account.queries.at(-1)!.jid, ALICE);
  assert.is(r.account.queries.at(-1)!.knownPictureId, undefined);
  await dispose(r);
});

test('explicit refreshes jump the queue; bad JIDs are refused; a waiting call gets the outcome', async () => {
  const r = rig();
  const service = new WorkerService(r.worker, r.files, r.clock);
  await r.worker.start();
  const refused = await service.refreshAvatar({ jid: '../etc/passwd', force: false, wait: 0 }).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.instance(refused, CallError);
  assert.is((refused as CallError).code, 'invalid_jid');
  assert.is(r.worker.queue.memory.size, 4, 'nothing queued for the bad JID');
  r.account.script(GROUP, { kind: 'picture', pictureId: 'g9', url: pictureUrl(GROUP, 'g9') });
  const answer = service.refreshAvatar({ jid: GROUP, force: false, wait: 120 });
  await runUntil(r, () => r.account.queries.length >= 1);
  assert.is(r.account.queries[0]!.jid, GROUP, 'the explicit call ran first');
  await runUntil(r, () => r.worker.idle);
  const response = await answer;
  assert.is(response.jid, GROUP);
  assert.is(response.timed_out, false);
  assert.is(response.outcome?.state, 'fetched');
  assert.is(response.outcome?.picture_id, 'g9');
  assert.is(response.position, null);
  assert.is(responseSchemaProblem('refresh_avatar', response), undefined, 'the response fits protocol.json');
  const status = service.status();
  assert.is(upstreamSchemaProblem('whatsapp/status', status), undefined, 'the status fits protocol.json');
  assert.is(status.queue_length, 0);
  assert.is(status.counts.group.fetched, 1);
  assert.is(responseSchemaProblem('refresh_avatars', await service.refreshAvatars({ scope: 'all', force: false })), undefined);
  await dispose(r);
});

test('favourites come first and carry their picture bytes to Home Assistant', async () => {
  const r = rig();
  const service = new WorkerService(r.worker, r.files, r.clock);
  service.setFavourites([CAROL]);
  r.account.script(CAROL, { kind: 'picture', pictureId: 'c1', url: pictureUrl(CAROL, 'c1') });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  assert.is(r.account.queries[0]!.jid, CAROL);
  const update = await service.avatarUpdate(CAROL, true);
  assert.equal(Buffer.from(update!.image!, 'base64'), renderPicture(CAROL, 'c1'));
  assert.is(upstreamSchemaProblem('whatsapp/avatar', update), undefined, 'the update fits protocol.json');
  assert.is((await service.avatarUpdate(CAROL, false))!.image, null);
  assert.is(service.directory().length, 4);
  await dispose(r);
});

test('a worker event listener that throws breaks neither the jobs nor the other listeners', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') });
  let thrown = 0;
  r.worker.onEvent(() => {
    thrown += 1;
    throw new Error('a bug in a listener');
  });
  const finished: string[] = [];
  r.worker.onEvent((event) => {
    if (event.type === 'job-finished') finished.push(event.jid);
  });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  assert.ok(thrown > 0, 'the bad listener heard the events');
  assert.equal(finished.sort(), [ALICE, BOB, CAROL, GROUP].sort(), 'every job finished and was heard');
  assert.is(r.worker.subjects.get(ALICE)!.state, 'fetched');
  assert.is(r.worker.queue.memory.size, 0);
  await dispose(r);
});

test('a finished job reaches the HA presenter as a push: the update comes from the event, nothing is read back', async () => {
  const r = rig();
  const service = new WorkerService(r.worker, r.files, r.clock);
  service.setFavourites([CAROL]);
  r.account.script(CAROL, { kind: 'picture', pictureId: 'c1', url: pictureUrl(CAROL, 'c1') });
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') });
  // Armed from the bus's job-finished (heard first) to the presenter's change: any store or file
  // read in between is the presenter reading back what the event already carried.
  let armed = false;
  const readBacks: string[] = [];
  const spy = <T extends object>(target: T, name: keyof T & string, label: string): void => {
    const original = (target[name] as (...args: unknown[]) => unknown).bind(target);
    (target as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (armed) readBacks.push(label);
      return original(...args);
    };
  };
  spy(r.worker.subjects, 'get', 'subjects.get');
  spy(r.worker.subjects, 'resolve', 'subjects.resolve');
  spy(r.worker.subjects, 'all', 'subjects.all');
  spy(r.files, 'read', 'files.read');
  spy(r.files, 'exists', 'files.exists');
  r.worker.onEvent((event) => {
    if (event.type === 'job-finished') armed = true;
  });
  const updates = new Map<string, AvatarUpdate>();
  service.onChange((change) => {
    if (change.type !== 'avatar') return;
    armed = false;
    updates.set(change.jid, change.update);
  });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  assert.equal(readBacks, [], 'no read-back between the event and the update');
  const carol = updates.get(CAROL)!;
  assert.equal(Buffer.from(carol.image!, 'base64'), renderPicture(CAROL, 'c1'), 'a favourite gets the bytes its job downloaded');
  assert.is(carol.picture_id, 'c1');
  assert.is(carol.sha256, sha256(renderPicture(CAROL, 'c1')));
  const alice = updates.get(ALICE)!;
  assert.is(alice.state, 'fetched');
  assert.is(alice.name, 'Alice');
  assert.is(alice.image, null, 'no bytes for a subject that is not a favourite');
  // An unchanged answer downloads nothing: the favourite's update carries no bytes, HA keeps its own.
  r.account.rescript(CAROL, { kind: 'unchanged', pictureId: 'c1' });
  r.worker.enqueue([{ jid: CAROL, kind: 'contact', reason: 'explicit' }]);
  await runUntil(r, () => r.worker.idle);
  assert.equal(readBacks, []);
  assert.is(updates.get(CAROL)!.image, null);
  assert.is(updates.get(CAROL)!.picture_id, 'c1');
  await dispose(r);
});

test('pairing reaches Home Assistant as text, code and a QR picture, and clears once linked', async () => {
  const r = rig([{ type: 'connection', state: 'pairing' }]);
  const service = new WorkerService(r.worker, r.files, r.clock);
  await r.worker.start();
  r.account.emit({ type: 'pairing', qr: '2@abcdefghijklmnopqrstuvwxyz,0123456789', code: 'ABCD1234' });
  assert.equal(service.status().pairing, { qr: '2@abcdefghijklmnopqrstuvwxyz,0123456789', qr_image: null, code: 'ABCD1234' });
  for (let i = 0; i < 200 && service.status().pairing?.qr_image === null; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  const png = Buffer.from(service.status().pairing!.qr_image!, 'base64');
  assert.is(upstreamSchemaProblem('whatsapp/status', service.status()), undefined, 'a pairing status fits protocol.json');
  assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  r.account.emit({ type: 'pairing' });
  r.account.emit({ type: 'connection', state: 'open' });
  assert.is(service.status().pairing, null);
  assert.is(service.status().connection, 'open');
  await dispose(r);
});

test('a LID merged into its phone-number contact mid-query leaves one contact and no stray file', async () => {
  const lid = testJid('123456789012345@lid');
  const r = rig([
    { type: 'connection', state: 'open' },
    { type: 'contacts', contacts: [{ jid: ALICE, name: 'Alice' }, { jid: lid, notify: 'Alice' }] },
    { type: 'history-synced' },
  ]);
  r.account.script(lid, { kind: 'picture', pictureId: 'l1', url: pictureUrl(lid, 'l1') });
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') });
  r.account.duringQuery = (jid) => {
    if (jid === lid) r.account.emit({ type: 'contacts', contacts: [{ jid: ALICE, alternateJid: lid }] });
  };
  await r.worker.start();
  await runUntil(r, () => r.worker.idle && r.account.queries.some((query) => query.jid === lid));
  assert.is(r.worker.subjects.get(lid), undefined);
  assert.is(r.worker.subjects.resolve(lid), ALICE);
  assert.is(r.worker.subjects.get(ALICE)!.state, 'fetched');
  assert.equal(await r.files.listJids(), [ALICE]);
  assert.is(new JobTable(r.db).count(), 0);
  await dispose(r);
});


test('a poison answer or a throwing adapter backs its job off and the queue moves on', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const aliceBefore = r.worker.subjects.get(ALICE)!;
  const aliceBytes = readFileSync(aliceBefore.path!);
  // Now ALICE's answers carry an empty picture id, and the adapter throws for BOB.
  r.account.rescript(ALICE, { kind: 'picture', pictureId: '', url: pictureUrl(ALICE, 'evil') });
  r.account.script(BOB, { kind: 'throw', error: new TypeError("Cannot read properties of undefined (reading 'attrs')") });
  r.account.script(CAROL, { kind: 'picture', pictureId: 'c1', url: pictureUrl(CAROL, 'c1') });
  const phaseStart = r.clock.now();
  const before = r.account.queries.length;
  const doneBefore = r.worker.state.get<{ done: number }>('progress')!.done;
  for (const jid of [ALICE, BOB, CAROL]) r.account.emit({ type: 'picture-changed', jid, removed: false });
  await runUntil(r, () => r.worker.idle && r.account.queries.length > before);
  // Before this fix: 179 queries in 540 s for one contact. Now a few tries with growing gaps.
  const alice = r.account.queriesFor(ALICE).filter((query) => query.at >= phaseStart);
  const bob = r.account.queriesFor(BOB).filter((query) => query.at >= phaseStart);
  assert.is(alice.length, DEFAULT_TTL_SETTINGS.refusedMaxAttempts);
  assert.is(bob.length, DEFAULT_TTL_SETTINGS.maxAttempts);
  for (const tries of [alice, bob]) {
    for (let i = 2; i < tries.length; i++) {
      assert.ok(tries[i]!.at - tries[i - 1]!.at > tries[i - 1]!.at - tries[i - 2]!.at, 'the delay between tries grows');
    }
  }
  assert.is(r.worker.subjects.get(CAROL)!.state, 'fetched', 'the rest of the queue was served');
  assert.ok(r.account.queriesFor(CAROL).at(-1)!.at < bob.at(-1)!.at, 'CAROL did not wait for BOB to give up');
  // ALICE's stored picture survived the unreadable answers: same file, same id and sha.
  const aliceAfter = r.worker.subjects.get(ALICE)!;
  assert.equal(readFileSync(aliceAfter.path!), aliceBytes);
  assert.equal([aliceAfter.state, aliceAfter.pictureId, aliceAfter.sha256], ['fetched', 'a1', aliceBefore.sha256]);
  assert.equal([aliceAfter.failureKind, aliceAfter.failureStreak], ['refused', 1]);
  assert.match(aliceAfter.failureDetail!, /unreadable-answer: a picture answer without a picture id/);
  assert.ok(aliceAfter.nextCheckAt! >= r.clock.now() + 2.5 * 24 * 3_600_000, 'refused: days of backoff');
  const bobAfter = r.worker.subjects.get(BOB)!;
  assert.equal([bobAfter.failureKind, bobAfter.failureStreak], ['failing', 1]);
  assert.match(bobAfter.failureDetail!, /unexpected failure: TypeError: Cannot read properties/);
  assert.is(new JobTable(r.db).count(), 0);
  // Given-up jobs count as done in the stored progress, so a batch can reach 100 %. The work came
  // within minutes of the first drain, so the batch went on from the first phase's count.
  const progress = r.worker.state.get<{ done: number; total: number }>('progress')!;
  assert.is(progress.done, progress.total);
  assert.is(progress.done, doneBefore + 3);
  await dispose(r);
});

test('a failing subject is asked less and less often; a good answer ends the streak', async () => {
  const r = rig(SYNC, undefined, undefined, LONG_RUN_POLL_MS);
  r.account.script(ALICE, { kind: 'transient', cause: 'timeout', detail: '408' });
  await r.worker.start();
  const start = r.clock.now();
  await runUntil(r, () => r.clock.now() >= start + 24 * 3_600_000, 25 * 3_600_000);
  const tries = r.account.queriesFor(ALICE);
  assert.ok(tries.length <= 12, `${tries.length} queries in a day for one failing subject`);
  assert.ok(tries.length >= 10, `only ${tries.length} tries: the subject was given up on for good`);
  const alice = r.worker.subjects.get(ALICE)!;
  assert.is(alice.failureKind, 'failing');
  assert.ok(alice.failureStreak >= 4);
  assert.is(alice.state, 'unknown', 'never recorded as none or hidden');
  r.account.rescript(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') });
  await runUntil(r, () => r.worker.subjects.get(ALICE)!.state === 'fetched', 3 * 24 * 3_600_000);
  assert.equal([r.worker.subjects.get(ALICE)!.failureStreak, r.worker.subjects.get(ALICE)!.failureKind], [0, undefined]);
  await dispose(r);
});

test('a wait the other side asked for is honoured', async () => {
  const r = rig();
  const waitMs = 2 * 3_600_000;
  r.account.script(ALICE, { kind: 'transient', cause: 'server-error', detail: 'HTTP 503', retryAfterMs: waitMs }, { kind: 'none' });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const [first, second] = r.account.queriesFor(ALICE);
  assert.ok(second!.at - first!.at >= waitMs, `asked again after ${second!.at - first!.at} ms`);
  await dispose(r);
});

test('a store that fails holds the job back in memory, longer each time, and nothing is lost', async () => {
  const r = rig(SYNC, undefined, undefined, LONG_RUN_POLL_MS);
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const subjects = r.worker.subjects;
  const applyPatch = subjects.applyPatch.bind(subjects);
  subjects.applyPatch = () => {
    throw new Error('SQLITE_IOERR: disk I/O error');
  };
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a2', url: pictureUrl(ALICE, 'a2') });
  const start = r.clock.now();
  r.account.emit({ type: 'picture-changed', jid: ALICE, removed: false });
  await runUntil(r, () => r.clock.now() >= start + 2 * 3_600_000, 3 * 3_600_000);
  const tries = r.account.queriesFor(ALICE).filter((query) => query.at >= start);
  assert.ok(tries.length >= 3 && tries.length <= 10, `${tries.length} tries in 2 h with a broken store`);
  for (let i = 2; i < tries.length; i++) assert.ok(tries[i]!.at - tries[i - 1]!.at > tries[i - 1]!.at - tries[i - 2]!.at, 'the hold-back grows');
  assert.is(new JobTable(r.db).count(), 1, 'the job row stays until an outcome is stored');
  subjects.applyPatch = applyPatch;
  await runUntil(r, () => r.worker.idle, 2 * 24 * 3_600_000);
  assert.is(r.worker.subjects.get(ALICE)!.pictureId, 'a2');
  assert.is(new JobTable(r.db).count(), 0);
  await dispose(r);
});

test('a restart keeps a failing job backed off: its tries and wait live in its row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'avatar-worker-restart-'));
  const clock = new FakeClock();
  const first = rig(SYNC, dir, clock);
  first.account.script(BOB, { kind: 'throw', error: new Error('adapter bug') });
  await first.worker.start();
  await runUntil(first, () => first.account.queriesFor(BOB).length === 3);
  await settleIo();
  const row = new JobTable(first.db).loadAll().find((job) => job.jid === BOB)!;
  assert.is(row.attempts, 3);
  assert.ok(row.notBefore > clock.now());
  await first.worker.stop();
  first.db.close();
  const second = rig([{ type: 'connection', state: 'open' }, { type: 'history-synced' }], dir, clock);
  second.account.script(BOB, { kind: 'throw', error: new Error('adapter bug') });
  await second.worker.start();
  await runUntil(second, () => second.account.queriesFor(BOB).length >= 1);
  assert.ok(second.account.queriesFor(BOB)[0]!.at >= row.notBefore, 'the restarted worker asked before the stored backoff ended');
  await runUntil(second, () => second.worker.idle);
  assert.is(second.account.queriesFor(BOB).length, DEFAULT_TTL_SETTINGS.maxAttempts - 3, 'the restart did not reset the tries');
  await dispose(second);
});

test('a restart with work left goes on with the progress of the batch instead of starting from 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'avatar-worker-progress-'));
  const clock = new FakeClock();
  const first = rig(SYNC, dir, clock);
  first.account.script(BOB, { kind: 'throw', error: new Error('adapter bug') });
  await first.worker.start();
  await runUntil(first, () => first.account.queriesFor(BOB).length === 3 && first.worker.queue.memory.size === 1);
  await settleIo();
  // As stored with the last completed job (BOB's failed tries are not completions).
  const before = first.worker.state.get<{ done: number; total: number; batchStartedAt: number; observedMs: number }>('progress')!;
  assert.ok(before.done >= 3, `done before the restart: ${before.done}`);
  await first.worker.stop();
  first.db.close();
  clock.advance(30 * 60_000);
  const second = rig([{ type: 'connection', state: 'open' }, { type: 'history-synced' }], dir, clock);
  second.worker.load();
  const after = second.worker.progressSnapshot();
  assert.is(after.done, before.done);
  assert.is(after.total, before.total);
  assert.is(after.batchStartedAt, before.batchStartedAt);
  // The half hour it was down is not time spent on the batch.
  assert.is(after.observedMs, before.observedMs);
  second.db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a CDN that keeps refusing is counted as refused and keeps the last good picture', async () => {
  const r = rig();
  r.account.script(BOB, { kind: 'picture', pictureId: 'b1', url: pictureUrl(BOB, 'b1') }, { kind: 'picture', pictureId: 'b2', url: `${cdnBase}/gone.jpg` });
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const before = r.worker.subjects.get(BOB)!;
  const bytes = readFileSync(before.path!);
  r.account.emit({ type: 'picture-changed', jid: BOB, removed: false });
  await runUntil(r, () => r.worker.idle && r.worker.subjects.get(BOB)!.failureKind !== undefined);
  const after = r.worker.subjects.get(BOB)!;
  assert.equal(readFileSync(after.path!), bytes);
  assert.equal([after.state, after.pictureId, after.sha256, after.failureKind], ['fetched', 'b1', before.sha256, 'refused']);
  assert.match(after.failureDetail!, /^cdn: download failed: HTTP 404/);
  assert.is(r.account.queriesFor(BOB).length, 1 + DEFAULT_TTL_SETTINGS.refusedMaxAttempts);
  await dispose(r);
});

test('picture answers one known subject\'s bytes on request (not hidden, not unknown); status carries the storage', async () => {
  const r = rig();
  r.account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: pictureUrl(ALICE, 'a1') });
  r.account.script(BOB, { kind: 'picture', pictureId: 'b1', url: pictureUrl(BOB, 'b1') }, { kind: 'hidden' });
  const storage = new PictureStorageTable(r.db);
  let purges = 0;
  const service = new WorkerService(r.worker, r.files, r.clock, false, {
    storage: () => storage.storage(),
    purgeNow: async () => ({ files: ++purges, bytes: 10 }),
  });
  const changes = service.onChange(() => undefined);
  await r.worker.start();
  await runUntil(r, () => r.worker.idle);
  const picture = await service.picture({ jid: ALICE });
  assert.is(responseSchemaProblem('picture', picture), undefined);
  assert.equal(Buffer.from(picture.image, 'base64'), readFileSync(r.worker.subjects.get(ALICE)!.path!));
  assert.is(picture.sha256, createHash('sha256').update(Buffer.from(picture.image, 'base64')).digest('hex'));
  const sizes = [ALICE, BOB].map((jid) => readFileSync(r.worker.subjects.get(jid)!.path!).length);
  assert.equal(service.status().storage, { files: 2, bytes: sizes[0]! + sizes[1]! });
  r.account.emit({ type: 'picture-changed', jid: BOB, removed: false });
  await runUntil(r, () => r.worker.idle && r.worker.subjects.get(BOB)!.state === 'hidden');
  const codeOf = (call: Promise<unknown>): Promise<string | undefined> =>
    call.then(
      () => undefined,
      (error: unknown) => (error instanceof CallError ? error.code : String(error)),
    );
  assert.is(await codeOf(service.picture({ jid: BOB })), 'no_picture', 'a hidden picture is not shown');
  assert.is(await codeOf(service.picture({ jid: CAROL })), 'no_picture', 'no picture yet');
  assert.is(await codeOf(service.picture({ jid: '491799999999@s.whatsapp.net' })), 'unknown_jid');
  assert.is(await codeOf(service.picture({ jid: '../etc/passwd' })), 'invalid_jid');
  assert.equal(await service.purgeAvatars(), { files_removed: 1, bytes_removed: 10 });
  assert.is(await codeOf(new WorkerService(r.worker, r.files, r.clock).purgeAvatars()), 'internal_error', 'no purge without a picture folder');
  assert.is(new WorkerService(r.worker, r.files, r.clock).status().storage, null);
  changes();
  await dispose(r);
});

test.run();
