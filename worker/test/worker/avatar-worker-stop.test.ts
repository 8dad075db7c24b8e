// `stop()` during a download that trickles bytes: the worker's stop aborts the download in flight
// instead of waiting out its deadline, and the job is kept for the next run. WhatsApp is scripted
// at the account boundary; the CDN is a real HTTPS server on loopback that drips one byte at a time.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AvatarFiles } from '../../src/files/avatar-files.js';
import { cdnDownloader, DEFAULT_DOWNLOAD_SETTINGS } from '../../src/cdn/download.js';
import { DEFAULT_RATE_SETTINGS } from '../../src/avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS } from '../../src/avatars/transitions.js';
import { seededRandom } from '../../src/clock.js';
import { FakeClock } from '../support/fake-clock.js';
import { generateLoopbackCertificate } from '../../src/sim/certificate.js';
import { renderPicture } from '../../src/sim/jpeg.js';
import { loopbackLookup } from '../../src/sim/loopback-dns.js';
import { openDatabase } from '../../src/store/database.js';
import { JobTable } from '../../src/store/job-table.js';
import { AvatarWorker } from '../../src/worker/avatar-worker.js';
import { ScriptedAccount } from '../support/scripted-account.js';
import { testJid } from '../support/jids.js';

const ALICE = testJid('491700000001@s.whatsapp.net');
const HOST = 'media-gru1-2.cdn.whatsapp.net';
const logger = pino({ level: 'silent' });

test('stop() aborts a slowly dripping download and keeps the job', async () => {
  const tls = await generateLoopbackCertificate([HOST]);
  const picture = renderPicture(ALICE, 'a1');
  let requests = 0;
  let dripping: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (dripping = resolve));
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (_request, response) => {
    requests++;
    response.writeHead(200, { 'content-type': 'image/jpeg' });
    let sent = 0;
    const timer = setInterval(() => {
      response.write(picture.subarray(sent, ++sent));
      dripping();
    }, 100);
    timers.add(timer);
    response.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'avatar-worker-stop-'));
  const db = openDatabase(dir);
  const clock = new FakeClock();
  const account = new ScriptedAccount(clock, [
    { type: 'connection', state: 'open' },
    { type: 'contacts', contacts: [{ jid: ALICE, name: 'Alice' }] },
    { type: 'history-synced' },
  ]);
  account.script(ALICE, { kind: 'picture', pictureId: 'a1', url: `https://${HOST}:${port}/v/t61.24694-24/a1_n.jpg?oe=6A000000&oh=x` });
  const files = new AvatarFiles(join(dir, 'avatars'));
  const worker = new AvatarWorker({
    db,
    account,
    files,
    // The production deadline (30 s) and retries: only the abort can end this download quickly.
    downloadPicture: cdnDownloader({ ...DEFAULT_DOWNLOAD_SETTINGS, allowedPorts: [port], dnsLookup: loopbackLookup([HOST]), certificateAuthority: tls.cert }, logger),
    rate: { ...DEFAULT_RATE_SETTINGS, intervalMs: 3_000, quietPeriodMs: 60_000 },
    ttl: DEFAULT_TTL_SETTINGS,
    clock,
    random: seededRandom(7),
    logger,
  });
  try {
    await worker.start();
    // Past the quiet period after connecting, the one job starts and its download begins to drip.
    for (let step = 0; step < 1_000 && account.queries.length === 0; step++) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = clock.nextTimerAt();
      if (next !== undefined) clock.advance(Math.max(0, next - clock.now()));
    }
    assert.is(account.queries.length, 1, 'the picture query did not start');
    await started;
    const stopping = Date.now();
    await worker.stop();
    const stopMs = Date.now() - stopping;
    // Generous: far below the 30 s deadline, which is what stop waited for before.
    assert.ok(stopMs < 5_000, `stop() took ${stopMs} ms during a drip`);
    assert.is(requests, 1, 'the aborted download was retried');
    assert.is(await files.read(ALICE), undefined, 'a partial picture was stored');
    assert.is(new JobTable(db).count(), 1, 'the job was lost');
  } finally {
    for (const timer of timers) clearInterval(timer);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
