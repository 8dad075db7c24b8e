import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DOWNLOAD_SETTINGS, downloadPicture, redactUrl, validateDownloadSettings, type DownloadSettings } from '../../src/cdn/download.js';
import { MAX_RETRY_AFTER_MS } from '../../src/cdn/retry-after.js';
import { generateLoopbackCertificate } from '../../src/sim/certificate.js';
import { renderPicture } from '../../src/sim/jpeg.js';
import { loopbackLookup } from '../../src/sim/loopback-dns.js';
import type { PictureServerCount, PictureServerReady } from '../support/picture-server-child.js';

const PICTURE = renderPicture('491701234567@s.whatsapp.net', '1700000001');
const SECRET_TOKEN = 'oh=01_SECRETSIGNATURE';
// WhatsApp's own names, resolved to the loopback test server through the injected lookup.
const PPS = 'pps.whatsapp.net';
const REGIONAL = 'media-gru1-2.cdn.whatsapp.net';
// A JFIF shell (APP0, a comment, the end marker): right magic bytes and end, no frame, no scan; the old check passed it.
const FAKE_JPEG_44_BYTES = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]),
  Buffer.from([0xff, 0xfe, 0x00, 0x14]),
  Buffer.alloc(18, 0x20),
  Buffer.from([0xff, 0xd9]),
]);

let server: Server;
let base = '';
let port = 0;
let certificateAuthority = '';
const drips = new Set<NodeJS.Timeout>();
const hits = new Map<string, number>();
let logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });

function settings(overrides: Partial<DownloadSettings> = {}): DownloadSettings {
  return {
    ...DEFAULT_DOWNLOAD_SETTINGS,
    allowedHosts: ['127.0.0.1'],
    certificateAuthority,
    connectTimeoutMs: 2_000,
    responseTimeoutMs: 2_000,
    retryDelayMs: 1,
    ...overrides,
  };
}

function url(path: string): string {
  return `${base}${path}?oe=6A1B2C3D&${SECRET_TOKEN}`;
}

/** The same server under one of WhatsApp's names, as the real rule (no extra hosts) sees it. */
function whatsappUrl(host: string, path: string): string {
  return `https://${host}:${port}${path}?oe=6A1B2C3D&${SECRET_TOKEN}`;
}

function whatsappSettings(overrides: Partial<DownloadSettings> = {}): DownloadSettings {
  return settings({ allowedHosts: [], allowedPorts: [port], dnsLookup: loopbackLookup([PPS, REGIONAL, 'cdn.whatsapp.net.evil.example']), ...overrides });
}

/** Writes the start of a picture, then one byte every `everyMs`, for as long as the client stays. */
function drip(response: import('node:http').ServerResponse, everyMs: number): void {
  response.writeHead(200, { 'content-type': 'image/jpeg' });
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= PICTURE.length) return void response.end();
    response.write(PICTURE.subarray(sent, sent + 1));
    sent++;
  }, everyMs);
  drips.add(timer);
  response.on('close', () => {
    clearInterval(timer);
    drips.delete(timer);
  });
}

test.before(async () => {
  const tls = await generateLoopbackCertificate([PPS, REGIONAL]);
  certificateAuthority = tls.cert;
  server = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    const path = new URL(request.url ?? '/', 'https://127.0.0.1').pathname;
    const count = (hits.get(path) ?? 0) + 1;
    hits.set(path, count);
    if (path === '/ok.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': PICTURE.length }).end(PICTURE);
    } else if (path.startsWith('/flaky/')) {
      if (count <= 2) response.writeHead(503).end('busy');
      else response.writeHead(200, { 'content-type': 'image/jpeg' }).end(PICTURE);
    } else if (path.startsWith('/down/')) {
      response.writeHead(502).end('bad gateway');
    } else if (path.startsWith('/silent/')) {
      // Never answers: the client's response timeout must fire.
    } else if (path === '/big-declared.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 10_000 });
      response.end(Buffer.concat([PICTURE, Buffer.alloc(10_000 - PICTURE.length)]));
    } else if (path === '/big-streamed.jpg') {
      // No content-length: only counting the streamed bytes catches it.
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.write(PICTURE);
      response.end(Buffer.alloc(10_000));
    } else if (path === '/text.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg' }).end('<html>not a picture</html>');
    } else if (path === '/truncated.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg' }).end(PICTURE.subarray(0, PICTURE.length - 200));
    } else if (path === '/redirect-off-list') {
      const port = (server.address() as AddressInfo).port;
      response.writeHead(302, { location: `https://localhost:${port}/ok.jpg?oe=1&${SECRET_TOKEN}` }).end();
    } else if (path === '/redirect-on-list') {
      response.writeHead(301, { location: `/ok.jpg?oe=1&${SECRET_TOKEN}` }).end();
    } else if (path.startsWith('/drip/')) {
      drip(response, 100);
    } else if (path.startsWith('/retry-after-short/')) {
      if (count === 1) response.writeHead(503, { 'retry-after': '0' }).end('busy');
      else response.writeHead(200, { 'content-type': 'image/jpeg' }).end(PICTURE);
    } else if (path.startsWith('/retry-after-one/')) {
      if (count === 1) response.writeHead(429, { 'retry-after': '1' }).end('slow down');
      else response.writeHead(200, { 'content-type': 'image/jpeg' }).end(PICTURE);
    } else if (path.startsWith('/retry-after-long/')) {
      response.writeHead(429, { 'retry-after': '120' }).end('slow down');
    } else if (path.startsWith('/retry-after-date/')) {
      response.writeHead(503, { 'retry-after': new Date(Date.now() + 10 * 60_000).toUTCString() }).end('busy');
    } else if (path.startsWith('/retry-after-huge/')) {
      response.writeHead(503, { 'retry-after': '999999999' }).end('busy');
    } else if (path.startsWith('/retry-after-garbage/')) {
      response.writeHead(503, { 'retry-after': 'soon-ish' }).end('busy');
    } else if (path.startsWith('/retry-after-always-zero/')) {
      response.writeHead(503, { 'retry-after': '0' }).end('busy');
    } else if (path.startsWith('/retry-after-three/')) {
      response.writeHead(503, { 'retry-after': '3' }).end('busy');
    } else if (path.startsWith('/too-many/')) {
      response.writeHead(429).end('slow down');
    } else if (path === '/forbidden.jpg') {
      response.writeHead(403).end('URL signature expired');
    } else if (path === '/removed.jpg') {
      response.writeHead(410).end('gone');
    } else if (path === '/fake.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg' }).end(FAKE_JPEG_44_BYTES);
    } else if (path === '/redirect-regional') {
      response.writeHead(302, { location: `https://${REGIONAL}:${port}/ok.jpg?oe=1&${SECRET_TOKEN}` }).end();
    } else if (path === '/redirect-look-alike') {
      response.writeHead(302, { location: `https://cdn.whatsapp.net.evil.example:${port}/ok.jpg?oe=1` }).end();
    } else if (path === '/redirect-http') {
      const port = (server.address() as AddressInfo).port;
      response.writeHead(302, { location: `http://127.0.0.1:${port}/ok.jpg` }).end();
    } else {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `https://127.0.0.1:${port}`;
});

test.after(async () => {
  for (const timer of drips) clearInterval(timer);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test.before.each(() => {
  logLines = [];
});

test('downloads a JPEG and returns its sha256', async () => {
  const result = await downloadPicture(url('/ok.jpg'), settings(), logger);
  assert.ok(result.ok);
  if (!result.ok) return;
  assert.ok(result.bytes.equals(PICTURE));
  assert.is(result.sha256, createHash('sha256').update(PICTURE).digest('hex'));
});

test('retries a 5xx and succeeds', async () => {
  const result = await downloadPicture(url('/flaky/a.jpg'), settings({ retries: 2 }), logger);
  assert.ok(result.ok);
  assert.is(hits.get('/flaky/a.jpg'), 3);
});

test('a persistent 5xx is a server-error after the allowed retries', async () => {
  const result = await downloadPicture(url('/down/a.jpg'), settings({ retries: 2 }), logger);
  assert.equal(result.ok ? undefined : [result.cause, result.httpStatus], ['server-error', 502]);
  assert.is(hits.get('/down/a.jpg'), 3);
});

test('a server that never answers is a timeout, retried within the limit', async () => {
  const result = await downloadPicture(url('/silent/a.jpg'), settings({ responseTimeoutMs: 150, retries: 1 }), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'timeout');
  assert.is(hits.get('/silent/a.jpg'), 2);
});

test('one settings object, as the worker holds it, serves download after download with its own limits', async () => {
  // The downloader merges a settings object into got once and reuses it (issue 11): the second
  // and third download must still get the certificate, the response timeout and the retry limit.
  const shared = settings({ responseTimeoutMs: 150, retries: 0 });
  const first = await downloadPicture(url('/ok.jpg'), shared, logger);
  assert.ok(first.ok);
  const stuck = await downloadPicture(url('/silent/shared-settings.jpg'), shared, logger);
  assert.is(stuck.ok ? 'ok' : stuck.cause, 'timeout');
  assert.is(hits.get('/silent/shared-settings.jpg'), 1);
  const again = await downloadPicture(url('/ok.jpg'), shared, logger);
  assert.ok(again.ok && again.bytes.equals(PICTURE));
});

test('a download with settings that cannot work throws the setting\'s name, every time', async () => {
  const broken = settings({ maxBytes: 0 });
  const hitsBefore = hits.get('/ok.jpg');
  for (let call = 0; call < 2; call++) {
    let thrown: unknown;
    try {
      await downloadPicture(url('/ok.jpg'), broken, logger);
    } catch (error) {
      thrown = error;
    }
    assert.instance(thrown, RangeError);
    assert.match(String(thrown), /maxBytes must be a positive number/);
  }
  assert.is(hits.get('/ok.jpg'), hitsBefore);
});

test('a refused connection is a network failure', async () => {
  // Port 9 (discard) on loopback: nothing listens there in the test environment.
  const result = await downloadPicture('https://127.0.0.1:9/x.jpg?oe=1', settings({ retries: 0 }), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'network');
});

test('a declared size over the cap is rejected', async () => {
  const result = await downloadPicture(url('/big-declared.jpg'), settings({ maxBytes: 5_000 }), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
  assert.is(hits.get('/big-declared.jpg'), 1);
});

test('streamed bytes over the cap are rejected without a content-length', async () => {
  const result = await downloadPicture(url('/big-streamed.jpg'), settings({ maxBytes: 5_000 }), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
  assert.match(result.ok ? '' : result.detail, /exceeds/);
});

test('a body that is not a JPEG is rejected', async () => {
  const result = await downloadPicture(url('/text.jpg'), settings(), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
  assert.match(result.ok ? '' : result.detail, /not a JPEG/);
});

test('a JPEG cut short is rejected', async () => {
  const result = await downloadPicture(url('/truncated.jpg'), settings(), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
});

test('http:// is rejected without a request', async () => {
  const result = await downloadPicture(url('/ok.jpg').replace('https:', 'http:'), settings(), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.detail], ['refused', 'only https is allowed, not http']);
});

test('a host outside the allow-list is rejected without a request', async () => {
  const before = hits.get('/ok.jpg') ?? 0;
  const result = await downloadPicture(url('/ok.jpg').replace('127.0.0.1', 'localhost'), settings(), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
  assert.match(result.ok ? '' : result.detail, /localhost is not a WhatsApp picture host/);
  assert.is(hits.get('/ok.jpg') ?? 0, before);
});

test('a redirect to a host outside the allow-list is rejected', async () => {
  const before = hits.get('/ok.jpg') ?? 0;
  const result = await downloadPicture(url('/redirect-off-list'), settings(), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
  assert.match(result.ok ? '' : result.detail, /^redirected: host localhost/);
  assert.is(hits.get('/ok.jpg') ?? 0, before);
});

test('a redirect to plain http is rejected', async () => {
  const result = await downloadPicture(url('/redirect-http'), settings(), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
});

test('a redirect within the allow-list is followed', async () => {
  const result = await downloadPicture(url('/redirect-on-list'), settings(), logger);
  assert.ok(result.ok);
});

test('a 404 is rejected with its status', async () => {
  const result = await downloadPicture(url('/gone.jpg'), settings(), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.httpStatus], ['refused', 404]);
  assert.is(hits.get('/gone.jpg'), 1);
});

test('an untrusted certificate is a network failure', async () => {
  const result = await downloadPicture(url('/ok.jpg'), settings({ certificateAuthority: undefined, retries: 2 }), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'network');
});

test('WhatsApp\'s own hosts are fetched with no extra host allowed', async () => {
  for (const host of [PPS, REGIONAL]) {
    const result = await downloadPicture(whatsappUrl(host, '/ok.jpg'), whatsappSettings(), logger);
    assert.ok(result.ok, `${host}: ${result.ok ? '' : result.detail}`);
  }
});

test('an explicit port on a WhatsApp host is refused unless allowed', async () => {
  const before = hits.get('/ok.jpg') ?? 0;
  const result = await downloadPicture(whatsappUrl(REGIONAL, '/ok.jpg'), whatsappSettings({ allowedPorts: [] }), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.detail], ['refused', `port ${port} is not a WhatsApp picture port`]);
  assert.is(hits.get('/ok.jpg') ?? 0, before);
});

test('a redirect from pps to a regional host is followed; one to a look-alike is refused', async () => {
  assert.ok((await downloadPicture(whatsappUrl(PPS, '/redirect-regional'), whatsappSettings(), logger)).ok);
  const before = hits.get('/ok.jpg') ?? 0;
  const refused = await downloadPicture(whatsappUrl(PPS, '/redirect-look-alike'), whatsappSettings(), logger);
  assert.equal(refused.ok ? 'ok' : [refused.cause, refused.detail], ['refused', 'redirected: host cdn.whatsapp.net.evil.example is not a WhatsApp picture host']);
  assert.is(hits.get('/ok.jpg') ?? 0, before);
});

test('403 and 410 on a fresh URL are refused with their status, asked once', async () => {
  for (const [path, status] of [['/forbidden.jpg', 403], ['/removed.jpg', 410]] as const) {
    const result = await downloadPicture(url(path), settings({ retries: 2 }), logger);
    assert.equal(result.ok ? 'ok' : [result.cause, result.httpStatus], ['refused', status]);
    assert.is(hits.get(path), 1);
  }
});

test('a 44-byte JFIF shell is refused as not a JPEG, naming the problem', async () => {
  const result = await downloadPicture(url('/fake.jpg'), settings(), logger);
  assert.is(result.ok ? 'ok' : result.cause, 'refused');
  assert.match(result.ok ? '' : result.detail, /\(44 bytes\) is not a JPEG: it ends before a frame header and a scan/);
  assert.is(hits.get('/fake.jpg'), 1);
});

test('a slow drip ends at the total deadline as a timeout, retried within the limit', async () => {
  const started = Date.now();
  // One byte per 100 ms never trips the 2 s idle timeouts; only the total deadline ends it.
  const result = await downloadPicture(url('/drip/a.jpg'), settings({ totalDeadlineMs: 300, retries: 1 }), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.detail], ['timeout', 'the attempt took longer than its 300 ms deadline']);
  assert.is(hits.get('/drip/a.jpg'), 2);
  assert.ok(Date.now() - started < 10_000, 'the drip held the download far past its deadlines');
});

test('aborting ends a download mid-drip at once, with no retry', async () => {
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 300);
  const result = await downloadPicture(url('/drip/b.jpg'), settings({ retries: 2 }), logger, controller.signal);
  assert.equal(result.ok ? 'ok' : [result.cause, result.aborted], ['network', true]);
  assert.is(hits.get('/drip/b.jpg'), 1);
  // The default deadline is 30 s; ending far below it shows the abort, not the deadline, ended it.
  assert.ok(Date.now() - started < 10_000, 'the abort did not end the download');
});

test('an aborted signal sends no request', async () => {
  const controller = new AbortController();
  controller.abort();
  const result = await downloadPicture(url('/ok.jpg?never'), settings(), logger, controller.signal);
  assert.equal(result.ok ? 'ok' : result.aborted, true);
  const before = hits.get('/ok.jpg') ?? 0;
  await downloadPicture(url('/ok.jpg'), settings(), logger, controller.signal);
  assert.is(hits.get('/ok.jpg') ?? 0, before);
});

test('aborting ends a Retry-After wait at once', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const started = Date.now();
  const result = await downloadPicture(url('/retry-after-three/a.jpg'), settings({ retries: 2 }), logger, controller.signal);
  assert.equal(result.ok ? 'ok' : result.aborted, true);
  assert.is(hits.get('/retry-after-three/a.jpg'), 1);
  assert.ok(Date.now() - started < 2_500, 'the 3 s wait was not cut short');
});

test('a short Retry-After is waited out and retried', async () => {
  assert.ok((await downloadPicture(url('/retry-after-short/a.jpg'), settings(), logger)).ok);
  assert.is(hits.get('/retry-after-short/a.jpg'), 2);
  const started = Date.now();
  assert.ok((await downloadPicture(url('/retry-after-one/a.jpg'), settings(), logger)).ok);
  assert.is(hits.get('/retry-after-one/a.jpg'), 2);
  assert.ok(Date.now() - started >= 900, 'Retry-After: 1 was not waited');
});

test('a long Retry-After ends the call with the wait for the caller, no retry', async () => {
  const result = await downloadPicture(url('/retry-after-long/a.jpg'), settings({ retries: 2 }), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.httpStatus, result.retryAfterMs], ['server-error', 429, 120_000]);
  assert.is(hits.get('/retry-after-long/a.jpg'), 1);
  const dated = await downloadPicture(url('/retry-after-date/a.jpg'), settings({ retries: 2 }), logger);
  const wait = dated.ok ? 0 : dated.retryAfterMs ?? 0;
  assert.ok(wait > 9 * 60_000 && wait <= 10 * 60_000, `HTTP-date Retry-After gave ${wait} ms`);
  assert.is(hits.get('/retry-after-date/a.jpg'), 1);
});

test('a huge Retry-After is clamped to the longest pause', async () => {
  const result = await downloadPicture(url('/retry-after-huge/a.jpg'), settings({ retries: 2 }), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.retryAfterMs], ['server-error', MAX_RETRY_AFTER_MS]);
  assert.is(hits.get('/retry-after-huge/a.jpg'), 1);
});

test('an unreadable Retry-After on a 503 is ignored: ordinary retries, no wait passed on', async () => {
  const result = await downloadPicture(url('/retry-after-garbage/a.jpg'), settings({ retries: 2 }), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.httpStatus, result.retryAfterMs], ['server-error', 503, undefined]);
  assert.is(hits.get('/retry-after-garbage/a.jpg'), 3);
});

test('Retry-After: 0 never makes us retry sooner than our own delay', async () => {
  const started = Date.now();
  const result = await downloadPicture(url('/retry-after-always-zero/a.jpg'), settings({ retries: 2, retryDelayMs: 150 }), logger);
  // Our delays are 150 ms then 300 ms; the server's "0" must not shorten them.
  assert.ok(Date.now() - started >= 400, `retried after ${Date.now() - started} ms`);
  assert.is(hits.get('/retry-after-always-zero/a.jpg'), 3);
  assert.equal(result.ok ? 'ok' : [result.cause, result.retryAfterMs], ['server-error', 450]);
});

test('a 429 without Retry-After is not retried within the call', async () => {
  const result = await downloadPicture(url('/too-many/a.jpg'), settings({ retries: 2 }), logger);
  assert.equal(result.ok ? 'ok' : [result.cause, result.httpStatus, result.retryAfterMs], ['server-error', 429, undefined]);
  assert.is(hits.get('/too-many/a.jpg'), 1);
});

test('the signed query string never reaches the log or the result', async () => {
  const results = [
    await downloadPicture(url('/ok.jpg'), settings(), logger),
    await downloadPicture(url('/flaky/b.jpg'), settings({ retries: 2 }), logger),
    await downloadPicture(url('/silent/b.jpg'), settings({ responseTimeoutMs: 100, retries: 0 }), logger),
    await downloadPicture(url('/text.jpg'), settings(), logger),
    await downloadPicture(url('/redirect-off-list'), settings(), logger),
    await downloadPicture(url('/drip/c.jpg'), settings({ totalDeadlineMs: 150, retries: 0 }), logger),
    await downloadPicture(url('/retry-after-long/b.jpg'), settings(), logger),
    await downloadPicture(whatsappUrl(PPS, '/fake.jpg'), whatsappSettings(), logger),
    await downloadPicture(url('/drip/d.jpg'), settings(), logger, AbortSignal.timeout(150)),
  ];
  assert.ok(logLines.length > 0, 'expected log lines');
  for (const line of logLines) assert.not.match(line, 'SECRETSIGNATURE');
  for (const result of results) if (!result.ok) assert.not.match(result.detail, 'SECRETSIGNATURE');
});

test('settings that cannot work are refused with the name of the setting', () => {
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, maxBytes: 0 }), /maxBytes must be a positive number/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, retries: -1 }), /retries must be a whole number/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, totalDeadlineMs: 0 }), /totalDeadlineMs must be a positive number/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, retryAfterWaitLimitMs: -1 }), /retryAfterWaitLimitMs must be ≥ 0/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, allowedHosts: ['pps.whatsapp.net/x'] }), /invalid entry 'pps.whatsapp.net\/x'/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, allowedHosts: ['.whatsapp.net'] }), /invalid entry '.whatsapp.net'/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, allowedPorts: [70_000] }), /allowedPorts has an invalid port 70000/);
  // Production trusts no extra host: WhatsApp's rule alone.
  assert.equal(DEFAULT_DOWNLOAD_SETTINGS.allowedHosts, []);
  validateDownloadSettings(DEFAULT_DOWNLOAD_SETTINGS);
});

test('redactUrl keeps the path and drops query values', () => {
  assert.is(
    redactUrl('https://pps.whatsapp.net/v/t61.24694-24/1_2_n.jpg?ccb=11-4&oh=01_abc&oe=6A1B2C3D'),
    'https://pps.whatsapp.net/v/t61.24694-24/1_2_n.jpg?ccb=…&oh=…&oe=…',
  );
});

test('sequential downloads from one host reuse one connection: a finished response goes back to the keep-alive pool', async () => {
  // A refresh of a thousand contacts is a thousand downloads from the same few CDN hosts; a new TLS
  // handshake for each would cost the CDN and us a round trip and a key exchange every time.
  const child = fork(fileURLToPath(new URL('../support/picture-server-child.js', import.meta.url)), [PPS], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await new Promise<PictureServerReady>((resolve, reject) => {
      child.once('message', (message) => resolve(message as PictureServerReady));
      // A server that fails to start fails the test instead of leaving it waiting.
      child.once('exit', (code) => reject(new Error(`the picture server exited (code ${code}) before it listened`)));
    });
    const pooled: DownloadSettings = {
      ...DEFAULT_DOWNLOAD_SETTINGS,
      certificateAuthority: ready.certificateAuthority,
      allowedPorts: [ready.port],
      dnsLookup: loopbackLookup([PPS]),
    };
    for (let index = 0; index < 200; index++) {
      const result = await downloadPicture(`https://${PPS}:${ready.port}/v/${index}.jpg?oe=6A1B2C3D`, pooled, logger);
      assert.ok(result.ok, result.ok ? '' : result.detail);
      // A pause between jobs, as the queue's rate interval makes: the event loop runs between two downloads.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const counted = new Promise<PictureServerCount>((resolve) => child.once('message', (message) => resolve(message as PictureServerCount)));
    child.send('count');
    assert.is((await counted).handshakes, 1);
  } finally {
    child.disconnect();
  }
});

test.run();
