// A property over simulated days: the real AvatarWorker on a real SQLite file, a real picture
// folder and a real HTTPS CDN on loopback, with WhatsApp scripted at the account boundary to
// answer as badly as it can (empty picture ids, empty answers, fixed and unknown error codes,
// 403, adapter throws, timeouts, dropped sockets, 429 bursts, CDNs that always fail or refuse),
// every timing rule on a fake clock. For several seeds:
//   (a) no JID is queried more than PER_SUBJECT_DAILY_QUERY_BOUND times in any 24 hours;
//   (b) the worker never breaks its rate budget: the minimum gap, the hourly cap, and no query
//       inside a 429 pause (which doubles while 429s follow each other);
//   (c) the queue keeps moving: every healthy subject gets its new picture;
//   (d) no stored picture is lost to an error: every file still holds the picture its row names.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AvatarFiles } from '../../src/files/avatar-files.js';
import { cdnDownloader, DEFAULT_DOWNLOAD_SETTINGS, type DownloadSettings } from '../../src/cdn/download.js';
import { DEFAULT_RATE_SETTINGS, HOUR_MS, type RateSettings } from '../../src/avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS, PER_SUBJECT_DAILY_QUERY_BOUND } from '../../src/avatars/transitions.js';
import { seededRandom, type Random } from '../../src/clock.js';
import { FakeClock } from '../support/fake-clock.js';
import { generateLoopbackCertificate } from '../../src/sim/certificate.js';
import { renderPicture } from '../../src/sim/jpeg.js';
import { openDatabase } from '../../src/store/database.js';
import type { ContactInfo } from '../../src/avatars/ports.js';
import { AvatarWorker } from '../../src/worker/avatar-worker.js';
import { ScriptedAccount, type RecordedQuery, type ScriptedAnswer } from '../support/scripted-account.js';
import { testJid } from '../support/jids.js';

const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60_000;
// A small hourly cap, so the cap really binds while the whole population comes due at once.
const RATE: RateSettings = { ...DEFAULT_RATE_SETTINGS, intervalMs: 3_000, hourlyCap: 30, quietPeriodMs: 60_000 };
// Long enough to cover the hostile day and the sliding 24-hour windows that overlap its end.
const HOSTILE_RUN_MS = 36 * HOUR_MS;
const SEEDS = [1, 2, 3, 4];
const logger = pino({ level: 'silent' });

type Category = 'healthy' | 'mixed' | 'cdn-failing' | 'cdn-refusing' | 'throwing';

let cdn: Server;
let cdnBase = '';
let download: DownloadSettings;

test.before(async () => {
  const tls = await generateLoopbackCertificate();
  cdn = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    const path = new URL(request.url ?? '/', 'https://x').pathname;
    const picture = /^\/pic\/([^/]+)\/([^/]+)\.jpg$/.exec(path);
    if (picture !== null) return void response.writeHead(200, { 'content-type': 'image/jpeg' }).end(renderPicture(picture[1]!, picture[2]!));
    if (path.startsWith('/fail/')) return void response.writeHead(500).end();
    if (path.startsWith('/busy/')) return void response.writeHead(503, { 'retry-after': '3600' }).end();
    if (path.startsWith('/gone/')) return void response.writeHead(410).end();
    if (path.startsWith('/forbidden/')) return void response.writeHead(403).end();
    // Starts like a JPEG and is not one: a 44-byte non-image must never replace a picture.
    if (path.startsWith('/not-a-picture/')) return void response.writeHead(200, { 'content-type': 'image/jpeg' }).end(Buffer.alloc(44, 0xff));
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
  cdnBase = `https://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  // No in-download retries: they sleep in real time, and the queue's own retries are under test.
  download = { ...DEFAULT_DOWNLOAD_SETTINGS, allowedHosts: ['127.0.0.1'], certificateAuthority: tls.cert, retries: 0 };
});

test.after(() => new Promise<void>((resolve) => cdn.close(() => resolve())));

const picture = (jid: string, id: string): ScriptedAnswer => ({ kind: 'picture', pictureId: id, url: `${cdnBase}/pic/${jid}/${id}.jpg?oe=6A000000` });
const cdnUrl = (kind: string, jid: string, id: string): ScriptedAnswer => ({ kind: 'picture', pictureId: id, url: `${cdnBase}/${kind}/${jid}.jpg` });

/** One answer from the hostile mix; a good picture only now and then. */
function hostileAnswer(jid: string, random: Random): ScriptedAnswer {
  const answers: (() => ScriptedAnswer)[] = [
    () => ({ kind: 'picture', pictureId: '', url: `${cdnBase}/pic/${jid}/evil.jpg` }),
    () => ({ kind: 'refused', reason: 'unreadable-answer', detail: 'no picture node and no error in the answer' }),
    () => ({ kind: 'refused', reason: 'fixed-error', detail: '400 bad-request' }),
    () => ({ kind: 'refused', reason: 'fixed-error', detail: '406 not-acceptable' }),
    () => ({ kind: 'refused', reason: 'fixed-error', detail: 'unknown error code 999' }),
    () => ({ kind: 'hidden' }),
    () => ({ kind: 'throw', error: new TypeError("Cannot read properties of undefined (reading 'attrs')") }),
    () => ({ kind: 'transient', cause: 'timeout', detail: '408 timed out' }),
    () => ({ kind: 'transient', cause: 'socket-closed', detail: '428 connection closed' }),
    () => cdnUrl('fail', jid, 'v2'),
    () => cdnUrl('busy', jid, 'v2'),
    () => cdnUrl('forbidden', jid, 'v2'),
    () => cdnUrl('gone', jid, 'v2'),
    () => cdnUrl('not-a-picture', jid, 'v2'),
  ];
  if (random() < 0.08) return picture(jid, 'v2');
  return answers[Math.floor(random() * answers.length)]!();
}

interface World {
  readonly categories: Map<string, Category>;
  /** Subjects that had a picture before the hostile day, with its bytes. */
  readonly before: Map<string, Buffer>;
  /** Subjects the hostile day ever answered with a good new picture. */
  readonly answeredWell: Set<string>;
  readonly queries: RecordedQuery[];
  readonly burstsAt: number[];
  readonly hostileFrom: number;
}

async function settleIo(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Advances the fake clock timer by timer, letting real I/O finish while a job is in flight. */
async function runUntil(clock: FakeClock, worker: AvatarWorker, until: number): Promise<void> {
  const scheduler = (worker as unknown as { scheduler: { busy: boolean } }).scheduler;
  for (let step = 0; step < 200_000; step++) {
    await settleIo();
    if (scheduler.busy) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    const next = clock.nextTimerAt();
    if (next === undefined || next > until) break;
    clock.advance(Math.max(0, next - clock.now()));
  }
  assert.ok(!scheduler.busy, 'a job was still running at the end of the run');
  if (clock.now() < until) clock.advance(until - clock.now());
}

async function hostileRun(seed: number, check: (world: World, worker: AvatarWorker) => void): Promise<void> {
  const random = seededRandom(seed);
  const dir = mkdtempSync(join(tmpdir(), `hostile-day-${seed}-`));
  const clock = new FakeClock();
  const db = openDatabase(dir);
  const contacts: ContactInfo[] = Array.from({ length: 30 }, (_, i) => ({ jid: testJid(`4917${String(seed).padStart(2, '0')}${String(i).padStart(6, '0')}@s.whatsapp.net`), name: `C${i}` }));
  const groups = Array.from({ length: 4 }, (_, i) => ({ jid: testJid(`12036300000${seed}00000${i}@g.us`), kind: 'group' as const, name: `G${i}` }));
  const newcomers: ContactInfo[] = Array.from({ length: 8 }, (_, i) => ({ jid: testJid(`4915${String(seed).padStart(2, '0')}${String(i).padStart(6, '0')}@s.whatsapp.net`) }));
  const everyone = [...contacts.map((c) => c.jid), ...groups.map((g) => g.jid), ...newcomers.map((c) => c.jid)];
  const order: Category[] = ['healthy', 'mixed', 'mixed', 'cdn-failing', 'healthy', 'mixed', 'cdn-refusing', 'throwing', 'mixed'];
  const categories = new Map<string, Category>(everyone.map((jid, i) => [jid, order[(i + seed) % order.length]!]));
  const account = new ScriptedAccount(clock, [
    { type: 'connection', state: 'open' },
    { type: 'contacts', contacts },
    { type: 'chats', chats: groups },
    { type: 'history-synced' },
  ]);
  const files = new AvatarFiles(join(dir, 'avatars'));
  const worker = new AvatarWorker({
    db, account, files, downloadPicture: cdnDownloader(download, logger), rate: RATE, ttl: DEFAULT_TTL_SETTINGS, clock, random: seededRandom(seed + 100), logger,
    externalJobPollMs: 10 * MINUTE_MS,
  });
  try {
    // Before: every known subject gets a good picture.
    account.responder = (jid) => picture(jid, 'v1');
    await worker.start();
    await runUntil(clock, worker, clock.now() + DAY_MS);
    assert.ok(worker.idle, 'the healthy first day did not finish');
    const before = new Map<string, Buffer>();
    for (const record of worker.subjects.all()) {
      assert.is(record.state, 'fetched', `${record.jid} before the hostile day`);
      before.set(record.jid, readFileSync(record.path!));
    }
    const favourites = everyone.filter((_, i) => i % 5 === 0);
    worker.setFavourites(favourites);

    // The hostile day: every subject comes due at once, newcomers arrive, and WhatsApp misbehaves.
    const hostileFrom = clock.now();
    // Three 429 bursts of 25 minutes, each starting with the first query after a random moment
    // (the hourly cap makes the queue bursty, so a fixed time could fall where nothing is asked).
    const burstTriggers = [random() * 2, 8 + random() * 8, 18 + random() * 8].map((hours) => hostileFrom + Math.floor(hours * HOUR_MS));
    const burstsAt: number[] = [];
    const inBurst = (at: number): boolean => {
      if (burstsAt.length < burstTriggers.length && at >= burstTriggers[burstsAt.length]!) burstsAt.push(at);
      return burstsAt.some((start) => at >= start && at < start + 25 * MINUTE_MS);
    };
    const answeredWell = new Set<string>();
    account.responder = (jid, at, known) => {
      if (inBurst(at)) return { kind: 'rate-limited' };
      const category = categories.get(jid)!;
      let answer: ScriptedAnswer;
      if (category === 'healthy') answer = known === 'v2' ? { kind: 'unchanged', pictureId: 'v2' } : picture(jid, 'v2');
      else if (category === 'cdn-failing') answer = cdnUrl('fail', jid, 'v2');
      else if (category === 'cdn-refusing') answer = cdnUrl(random() < 0.5 ? 'gone' : 'not-a-picture', jid, 'v2');
      else if (category === 'throwing') answer = { kind: 'throw', error: new Error('the adapter failed') };
      else answer = hostileAnswer(jid, random);
      if (answer.kind === 'picture' && answer.url.includes('/pic/') && answer.pictureId !== '') answeredWell.add(jid);
      return answer;
    };
    db.prepare('UPDATE contacts SET next_check_at = ?').run(hostileFrom);
    db.prepare('UPDATE chats SET next_check_at = ?').run(hostileFrom);
    account.emit({ type: 'contacts', contacts: newcomers });
    const queriesBefore = account.queries.length;
    await runUntil(clock, worker, hostileFrom + HOSTILE_RUN_MS);
    check({ categories, before, answeredWell, queries: account.queries.slice(queriesBefore), burstsAt, hostileFrom }, worker);
  } finally {
    await worker.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

test('a hostile day: per-JID bound, rate budget, a moving queue, no picture lost', async () => {
  for (const seed of SEEDS) {
    await hostileRun(seed, (world, worker) => {
      const { queries } = world;
      assert.ok(queries.length > 150, `seed ${seed}: only ${queries.length} queries; the mix was not exercised`);
      assert.is(world.burstsAt.length, 3, `seed ${seed}: a 429 burst found no query to answer`);
      assert.ok(queries.every((query) => query.at >= world.hostileFrom), 'a query from before the hostile day was counted');
      const answered = new Set(queries.map((query) => query.answer));
      for (const kind of ['rate-limited', 'throw', 'refused', 'transient', 'hidden', 'picture', 'unchanged']) {
        assert.ok(answered.has(kind as RecordedQuery['answer']), `seed ${seed}: no ${kind} answer in the run`);
      }

      // (a) Per JID, in every 24 hours.
      const byJid = new Map<string, number[]>();
      for (const query of queries) byJid.set(query.jid, [...(byJid.get(query.jid) ?? []), query.at]);
      let busiest = 0;
      for (const [jid, times] of byJid) {
        for (let i = 0; i < times.length; i++) {
          const inDay = times.filter((at) => at >= times[i]! && at < times[i]! + DAY_MS).length;
          busiest = Math.max(busiest, inDay);
          assert.ok(inDay <= PER_SUBJECT_DAILY_QUERY_BOUND, `seed ${seed}: ${jid} (${world.categories.get(jid)}) asked ${inDay} times in 24 h`);
        }
      }
      assert.ok(busiest >= 6, `seed ${seed}: no subject was retried at all (busiest ${busiest})`);

      // (b) The rate budget of the whole worker.
      const minimumGapMs = RATE.intervalMs * (1 - RATE.jitterRatio);
      let consecutive429 = 0;
      for (let i = 0; i < queries.length; i++) {
        const query = queries[i]!;
        const inHour = queries.filter((other) => other.at >= query.at && other.at < query.at + HOUR_MS).length;
        assert.ok(inHour <= RATE.hourlyCap, `seed ${seed}: ${inHour} queries in the hour from ${i}`);
        const next = queries[i + 1];
        if (next === undefined) continue;
        assert.ok(next.at - query.at >= minimumGapMs - 1, `seed ${seed}: queries ${i} and ${i + 1} ${next.at - query.at} ms apart`);
        if (query.answer === 'rate-limited') {
          const pauseMs = Math.min(RATE.rateLimitPauseMs * 2 ** consecutive429, RATE.rateLimitPauseMaxMs);
          assert.ok(next.at - query.at >= pauseMs, `seed ${seed}: a query ${next.at - query.at} ms into a ${pauseMs} ms pause`);
          consecutive429++;
        } else {
          consecutive429 = 0;
        }
      }

      // (c) Every healthy subject got its new picture, newcomers included.
      for (const [jid, category] of world.categories) {
        if (category !== 'healthy') continue;
        const record = worker.subjects.get(jid)!;
        assert.is(record.state, 'fetched', `seed ${seed}: healthy ${jid}`);
        assert.is(record.pictureId, 'v2', `seed ${seed}: healthy ${jid} kept its old picture`);
        assert.equal(readFileSync(record.path!), renderPicture(jid, 'v2'));
      }

      // (d) No picture lost: every stored file is the picture its row names, byte for byte.
      for (const [jid, bytes] of world.before) {
        const record = worker.subjects.get(jid)!;
        assert.ok(record.state === 'fetched' || record.state === 'hidden', `seed ${seed}: ${jid} is ${record.state}`);
        assert.ok(record.path !== undefined && existsSync(record.path), `seed ${seed}: the file of ${jid} is gone`);
        const onDisk = readFileSync(record.path);
        assert.is(sha256(onDisk), record.sha256, `seed ${seed}: ${jid}'s file does not match its row`);
        if (!world.answeredWell.has(jid)) {
          assert.equal(onDisk, bytes, `seed ${seed}: ${jid}'s picture changed without a good answer`);
          assert.is(record.pictureId, 'v1');
        } else {
          assert.equal(onDisk, renderPicture(jid, record.pictureId!));
        }
      }
    });
  }
});

test.run();
