import { createHash } from 'node:crypto';
import got from 'got';
import jpeg from 'jpeg-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_DOWNLOAD_SETTINGS, downloadPicture, type DownloadSettings } from '../../src/cdn/download.js';
import { isWhatsAppPictureHost } from '../../src/avatars/picture-hosts.js';
import { FakeClock } from '../support/fake-clock.js';
import { SimulatedAccount } from '../../src/sim/account.js';
import { SIMULATED_PICTURE_HOSTS, SimulatedCdn, simulatedPictureHost, simulatedPicturePath, type SimulatedCdnAddress } from '../../src/sim/cdn.js';
import { loopbackLookup } from '../../src/sim/loopback-dns.js';
import { renderPicture } from '../../src/sim/jpeg.js';
import { createPopulation, type SimulatedPopulation } from '../../src/sim/population.js';

const logger = pino({ level: 'silent' });

async function withCdn(
  population: SimulatedPopulation,
  serverErrorShare: number,
  run: (address: SimulatedCdnAddress, cdn: SimulatedCdn) => Promise<void>,
): Promise<void> {
  const cdn = new SimulatedCdn(population, logger, { serverErrorShare });
  const address = await cdn.start();
  try {
    await run(address, cdn);
  } finally {
    await cdn.stop();
  }
}

/** WhatsApp's real host rule, no extra host: the names reach loopback only through the lookup. */
function settingsFor(address: SimulatedCdnAddress): DownloadSettings {
  return { ...DEFAULT_DOWNLOAD_SETTINGS, allowedHosts: [], allowedPorts: [address.port], dnsLookup: address.dnsLookup, certificateAuthority: address.certificateAuthority, retryDelayMs: 1 };
}

async function openAccount(population: SimulatedPopulation, address: Pick<SimulatedCdnAddress, 'pictureOrigin'>): Promise<SimulatedAccount> {
  const clock = new FakeClock();
  const account = new SimulatedAccount({ population, cdn: address, clock, logger, behaviour: { timeoutShare: 0, rateLimitEveryQueries: 0 } });
  await account.start();
  clock.advance(60_000);
  return account;
}

/** `origin`: the CDN's raw loopback base for plain clients, or a subject's picture origin for the downloader. */
function signedUrl(population: SimulatedPopulation, origin: string, jid: string, pictureId: string): string {
  const path = simulatedPicturePath(jid, pictureId);
  return `${origin}${path}?oe=6A000000&oh=${population.signature(path, '6A000000')}`;
}

test('serves each subject a valid, distinct JPEG that the real downloader accepts', async () => {
  const population = createPopulation({ seed: 21, subjects: 60 });
  await withCdn(population, 0, async (address) => {
    const account = await openAccount(population, address);
    const hashes = new Set<string>();
    const hosts = new Set<string>();
    let pictures = 0;
    for (const subject of population.subjects) {
      const outcome = await account.queryPicture(subject.jid, undefined, 5_000);
      if (outcome.kind !== 'picture') continue;
      pictures++;
      hosts.add(new URL(outcome.url).hostname);
      const result = await downloadPicture(outcome.url, settingsFor(address), logger);
      assert.ok(result.ok, `download of ${subject.jid} failed`);
      if (!result.ok) continue;
      assert.is(result.sha256, createHash('sha256').update(renderPicture(subject.jid, outcome.pictureId)).digest('hex'));
      assert.is(jpeg.decode(result.bytes).width, 96);
      hashes.add(result.sha256);
    }
    assert.ok(pictures > 20, `only ${pictures} pictures`);
    assert.is(hashes.size, pictures);
    assert.ok(hosts.size >= 3, `pictures came from ${[...hosts].join(', ')}`);
    await account.stop();
  });
});

test('picture origins are a deterministic mix of WhatsApp\'s real host names on the CDN\'s port', async () => {
  const population = createPopulation({ seed: 25, subjects: 200 });
  await withCdn(population, 0, async (address) => {
    const hosts = new Map<string, number>();
    for (const subject of population.subjects) {
      const origin = new URL(address.pictureOrigin(subject.jid));
      assert.is(origin.protocol, 'https:');
      assert.is(Number(origin.port), address.port);
      assert.ok(isWhatsAppPictureHost(origin.hostname), origin.hostname);
      assert.is(origin.hostname, simulatedPictureHost(population.seed, subject.jid));
      hosts.set(origin.hostname, (hosts.get(origin.hostname) ?? 0) + 1);
    }
    // Every name in the mix is used, the long-standing host and at least two regional edges.
    assert.equal([...hosts.keys()].sort(), [...SIMULATED_PICTURE_HOSTS].sort());
    assert.ok(hosts.has('pps.whatsapp.net'));
    assert.ok([...hosts.keys()].filter((host) => host.endsWith('.cdn.whatsapp.net')).length >= 2);
    assert.equal(address.hostNames, SIMULATED_PICTURE_HOSTS);
  });
  // The same subject keeps its host across runs, whatever the port.
  assert.is(simulatedPictureHost(25, population.subjects[0]!.jid), simulatedPictureHost(25, population.subjects[0]!.jid));
  const spread = new Set(population.subjects.map((subject) => simulatedPictureHost(26, subject.jid) === simulatedPictureHost(25, subject.jid)));
  assert.ok(spread.has(false), 'another seed should give another mix');
});

test('the certificate covers every simulated host name; other names do not resolve', async () => {
  const population = createPopulation({ seed: 27, subjects: 10 });
  await withCdn(population, 0, async (address) => {
    for (const host of SIMULATED_PICTURE_HOSTS) {
      // A wrong path is fine: a 404 proves DNS, TCP and the TLS name check all passed.
      const result = await downloadPicture(`https://${host}:${address.port}/nothing.jpg`, settingsFor(address), logger);
      assert.equal(result.ok ? 'ok' : [result.cause, result.httpStatus], ['refused', 404], host);
    }
    const strayName = await downloadPicture(`https://media-ams9-9.cdn.whatsapp.net:${address.port}/x.jpg`, { ...settingsFor(address), retries: 0 }, logger);
    assert.is(strayName.ok ? 'ok' : strayName.cause, 'network');
    assert.match(strayName.ok ? '' : strayName.detail, /ENOTFOUND/);
  });
});

test('the loopback lookup answers both lookup shapes and refuses unknown names', async () => {
  const lookup = loopbackLookup(['pps.whatsapp.net']);
  const single = await new Promise<unknown[]>((resolve) => lookup('PPS.whatsapp.net', {}, (...args) => resolve(args)));
  assert.equal(single, [null, '127.0.0.1', 4]);
  const all = await new Promise<unknown[]>((resolve) => lookup('pps.whatsapp.net', { all: true }, (...args) => resolve(args)));
  assert.equal(all, [null, [{ address: '127.0.0.1', family: 4 }]]);
  const unknown = await new Promise<unknown[]>((resolve) => lookup('evil.example', {}, (...args) => resolve(args)));
  assert.is((unknown[0] as NodeJS.ErrnoException).code, 'ENOTFOUND');
});

test('unknown pictures are 404, bad signatures 403', async () => {
  const population = createPopulation({ seed: 22, subjects: 40 });
  const subject = population.subjects.find((candidate) => candidate.timeline[0]!.kind === 'picture')!;
  const first = subject.timeline[0]!;
  const pictureId = first.kind === 'picture' ? first.pictureId : '';
  await withCdn(population, 0, async (address, cdn) => {
    const client = got.extend({ https: { certificateAuthority: address.certificateAuthority }, throwHttpErrors: false, retry: { limit: 0 } });
    const good = await client(signedUrl(population, address.baseUrl, subject.jid, pictureId), { responseType: 'buffer' });
    assert.is(good.statusCode, 200);
    assert.is(good.headers['content-type'], 'image/jpeg');
    assert.is((await client(signedUrl(population, address.baseUrl, subject.jid, '1234567890'))).statusCode, 404);
    assert.is((await client(signedUrl(population, address.baseUrl, '999999999999@s.whatsapp.net', pictureId))).statusCode, 404);
    assert.is((await client(`${address.baseUrl}${simulatedPicturePath(subject.jid, pictureId)}?oe=6A000000&oh=forged`)).statusCode, 403);
    assert.is((await client(`${address.baseUrl}/elsewhere`)).statusCode, 404);
    assert.equal(cdn.stats(), { served: 1, serverErrors: 0, refused: 4 });
  });
});

test('a 503 blip hits only a first request, so a retry gets the picture', async () => {
  const population = createPopulation({ seed: 23, subjects: 40 });
  const subject = population.subjects.find((candidate) => candidate.timeline[0]!.kind === 'picture')!;
  const first = subject.timeline[0]!;
  const pictureId = first.kind === 'picture' ? first.pictureId : '';
  await withCdn(population, 1, async (address, cdn) => {
    const url = signedUrl(population, address.pictureOrigin(subject.jid), subject.jid, pictureId);
    const once = await downloadPicture(url, { ...settingsFor(address), retries: 0 }, logger);
    assert.equal(once.ok ? 'ok' : [once.cause, once.httpStatus], ['server-error', 503]);
    const again = await downloadPicture(url, { ...settingsFor(address), retries: 0 }, logger);
    assert.ok(again.ok);
    assert.equal(cdn.stats(), { served: 1, serverErrors: 1, refused: 0 });
  });
});

test('the default share of 503s is small and the same for the same URLs', async () => {
  const population = createPopulation({ seed: 24, subjects: 300 });
  const urls = population.subjects.flatMap((subject) => {
    const first = subject.timeline[0]!;
    return first.kind === 'picture' ? [subject.jid + ' ' + first.pictureId] : [];
  });
  const countErrors = async (): Promise<number> => {
    let errors = 0;
    await withCdn(population, 0.03, async (address) => {
      const client = got.extend({ https: { certificateAuthority: address.certificateAuthority }, throwHttpErrors: false, retry: { limit: 0 } });
      for (const entry of urls) {
        const [jid, pictureId] = entry.split(' ') as [string, string];
        const response = await client(signedUrl(population, address.baseUrl, jid, pictureId));
        if (response.statusCode === 503) errors++;
      }
    });
    return errors;
  };
  assert.ok(urls.length > 150);
  const first = await countErrors();
  assert.ok(first > 0 && first / urls.length < 0.1, `${first} of ${urls.length} were 503`);
  // A fresh server (another port) blips on exactly the same paths: the share depends on the seed only.
  assert.is(await countErrors(), first);
});

test.run();
