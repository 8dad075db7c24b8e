import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEFAULT_DOWNLOAD_SETTINGS,
  downloadPicture,
  isAllowedHost,
  looksLikeJpeg,
  redactUrl,
  validateDownloadSettings,
  WHATSAPP_PICTURE_HOSTS,
  type DownloadSettings,
} from '../src/avatars/download.js';
import { generateLoopbackCertificate } from '../src/sim/certificate.js';
import { renderPicture } from '../src/sim/jpeg.js';

const PICTURE = renderPicture('491701234567@s.whatsapp.net', '1700000001');
const SECRET_TOKEN = 'oh=01_SECRETSIGNATURE';

let server: Server;
let base = '';
let certificateAuthority = '';
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

test.before(async () => {
  const tls = await generateLoopbackCertificate();
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
    } else if (path === '/redirect-http') {
      const port = (server.address() as AddressInfo).port;
      response.writeHead(302, { location: `http://127.0.0.1:${port}/ok.jpg` }).end();
    } else {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
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

test('the signed query string never reaches the log or the result', async () => {
  const results = [
    await downloadPicture(url('/ok.jpg'), settings(), logger),
    await downloadPicture(url('/flaky/b.jpg'), settings({ retries: 2 }), logger),
    await downloadPicture(url('/silent/b.jpg'), settings({ responseTimeoutMs: 100, retries: 0 }), logger),
    await downloadPicture(url('/text.jpg'), settings(), logger),
    await downloadPicture(url('/redirect-off-list'), settings(), logger),
  ];
  assert.ok(logLines.length > 0, 'expected log lines');
  for (const line of logLines) assert.not.match(line, 'SECRETSIGNATURE');
  for (const result of results) if (!result.ok) assert.not.match(result.detail, 'SECRETSIGNATURE');
});

test('allow-list entries match exactly or as a .suffix', () => {
  assert.ok(isAllowedHost('pps.whatsapp.net', WHATSAPP_PICTURE_HOSTS));
  assert.ok(isAllowedHost('PPS.WhatsApp.net.', WHATSAPP_PICTURE_HOSTS));
  assert.not.ok(isAllowedHost('evil-pps.whatsapp.net', WHATSAPP_PICTURE_HOSTS));
  assert.not.ok(isAllowedHost('pps.whatsapp.net.evil.com', WHATSAPP_PICTURE_HOSTS));
  assert.ok(isAllowedHost('media-ams2-1.cdn.whatsapp.net', ['.whatsapp.net']));
  assert.not.ok(isAllowedHost('whatsapp.net', ['.whatsapp.net']));
  assert.not.ok(isAllowedHost('notwhatsapp.net', ['.whatsapp.net']));
});

test('settings that cannot work are refused with the name of the setting', () => {
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, maxBytes: 0 }), /maxBytes must be a positive number/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, retries: -1 }), /retries must be a whole number/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, allowedHosts: [] }), /allowedHosts is empty/);
  assert.throws(() => validateDownloadSettings({ ...DEFAULT_DOWNLOAD_SETTINGS, allowedHosts: ['pps.whatsapp.net/x'] }), /invalid entry 'pps.whatsapp.net\/x'/);
  validateDownloadSettings(DEFAULT_DOWNLOAD_SETTINGS);
});

test('redactUrl keeps the path and drops query values', () => {
  assert.is(
    redactUrl('https://pps.whatsapp.net/v/t61.24694-24/1_2_n.jpg?ccb=11-4&oh=01_abc&oe=6A1B2C3D'),
    'https://pps.whatsapp.net/v/t61.24694-24/1_2_n.jpg?ccb=…&oh=…&oe=…',
  );
});

test('looksLikeJpeg wants the magic bytes and an end marker', () => {
  assert.ok(looksLikeJpeg(PICTURE));
  assert.ok(looksLikeJpeg(Buffer.concat([PICTURE, Buffer.alloc(16)])));
  assert.not.ok(looksLikeJpeg(PICTURE.subarray(0, PICTURE.length - 100)));
  assert.not.ok(looksLikeJpeg(Buffer.from('GIF89a....')));
  assert.not.ok(looksLikeJpeg(Buffer.from([0xff, 0xd8])));
});

test.run();
