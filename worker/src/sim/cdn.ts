// SIMULATION ONLY: a stand-in for WhatsApp's picture CDN on 127.0.0.1, over real TLS with a
// throwaway certificate, so the demo exercises the real download code. It answers for the names
// WhatsApp really hands out (pps.whatsapp.net and regional media-…cdn.whatsapp.net edges, see
// avatars/picture-hosts.ts), which the demo's and tests' DNS lookup resolves to loopback. It
// serves `/v/t61/<jid>/<pictureId>.jpg?oe=<hex expiry>&oh=<signature>` like those hosts do, and
// answers a small, deterministic share of first requests with 503 so the retry path runs too.

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { generateLoopbackCertificate } from './certificate.js';
import { LOOPBACK_ADDRESS, loopbackLookup } from './loopback-dns.js';
import type { SimulatedPopulation } from './population.js';

export const SIMULATED_CDN_HOST = LOOPBACK_ADDRESS;
/**
 * The host names subjects' picture URLs use, a realistic mix: the long-standing host and regional
 * edges with names seen in real URLs (avatars/picture-hosts.ts lists the evidence).
 */
export const SIMULATED_PICTURE_HOSTS: readonly string[] = [
  'pps.whatsapp.net',
  'media-gru1-2.cdn.whatsapp.net',
  'media-gru2-2.cdn.whatsapp.net',
  'media-bom1-1.cdn.whatsapp.net',
  'media-hel3-1.cdn.whatsapp.net',
  'media-ist1-1.cdn.whatsapp.net',
];
// A blip now and then, like a real CDN edge; only a URL's first request can get it, so a retry passes.
const DEFAULT_SERVER_ERROR_SHARE = 0.03;
const PICTURE_PATH = /^\/v\/t61\/([^/]+)\/([0-9]+)\.jpg$/;

export interface SimulatedCdnOptions {
  /** Share of first requests per URL answered 503. */
  readonly serverErrorShare?: number;
}

export interface SimulatedCdnAddress {
  /** `https://127.0.0.1:<port>`, with no trailing slash: for raw clients that resolve nothing. */
  readonly baseUrl: string;
  /** The PEM certificate a client must trust (DownloadSettings.certificateAuthority). */
  readonly certificateAuthority: string;
  /** The loopback address it listens on. */
  readonly host: string;
  /** The loopback port: DownloadSettings.allowedPorts. */
  readonly port: number;
  /** The WhatsApp host names it answers for (all in its certificate). */
  readonly hostNames: readonly string[];
  /** Resolves `hostNames` to loopback: DownloadSettings.dnsLookup, in the demo and tests only. */
  readonly dnsLookup: LookupFunction;
  /** The `https://host:port` a subject's picture URLs start with (no trailing slash). */
  pictureOrigin(jid: string): string;
}

/** The host a subject's pictures come from: a pure function of seed and JID, spread over the mix. */
export function simulatedPictureHost(seed: number, jid: string): string {
  const digest = createHash('sha256').update(`host\n${seed}\n${jid}`).digest();
  return SIMULATED_PICTURE_HOSTS[digest.readUInt32BE(0) % SIMULATED_PICTURE_HOSTS.length]!;
}

/** The path (no query) of a picture version on the simulated CDN. */
export function simulatedPicturePath(jid: string, pictureId: string): string {
  return `/v/t61/${encodeURIComponent(jid)}/${pictureId}.jpg`;
}

/** A picture URL as WhatsApp hands it out: the subject's host, `oe=` (expiry, hex seconds) and `oh=` (the signature this CDN checks). */
export function signedPictureUrl(
  population: Pick<SimulatedPopulation, 'signature'>,
  cdn: Pick<SimulatedCdnAddress, 'pictureOrigin'>,
  jid: string,
  pictureId: string,
  expiresAtMs: number,
): string {
  const path = simulatedPicturePath(jid, pictureId);
  const expiry = Math.floor(expiresAtMs / 1000)
    .toString(16)
    .toUpperCase();
  return `${cdn.pictureOrigin(jid)}${path}?oe=${expiry}&oh=${population.signature(path, expiry)}`;
}

export interface SimulatedCdnStats {
  readonly served: number;
  readonly serverErrors: number;
  readonly refused: number;
}

export class SimulatedCdn {
  private server: Server | undefined;
  private address: SimulatedCdnAddress | undefined;
  private readonly seenUrls = new Set<string>();
  private readonly pictureCache = new Map<string, Buffer>();
  private counters = { served: 0, serverErrors: 0, refused: 0 };
  private readonly serverErrorShare: number;

  constructor(
    private readonly population: SimulatedPopulation,
    private readonly logger: Logger,
    options: SimulatedCdnOptions = {},
  ) {
    this.serverErrorShare = options.serverErrorShare ?? DEFAULT_SERVER_ERROR_SHARE;
  }

  async start(): Promise<SimulatedCdnAddress> {
    if (this.address !== undefined) return this.address;
    const tls = await generateLoopbackCertificate(SIMULATED_PICTURE_HOSTS);
    const server = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
      const { status, body } = this.answer(request.method ?? 'GET', request.url ?? '/');
      response.writeHead(status, status === 200 ? { 'content-type': 'image/jpeg', 'content-length': body.length, 'cache-control': 'max-age=1209600' } : { 'content-type': 'text/plain' });
      response.end(request.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, SIMULATED_CDN_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    const baseUrl = `https://${SIMULATED_CDN_HOST}:${port}`;
    const seed = this.population.seed;
    this.address = {
      baseUrl,
      certificateAuthority: tls.cert,
      host: SIMULATED_CDN_HOST,
      port,
      hostNames: SIMULATED_PICTURE_HOSTS,
      dnsLookup: loopbackLookup(SIMULATED_PICTURE_HOSTS),
      pictureOrigin: (jid) => `https://${simulatedPictureHost(seed, jid)}:${port}`,
    };
    this.logger.info({ baseUrl, hostNames: SIMULATED_PICTURE_HOSTS }, 'simulated picture CDN listening');
    return this.address;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.address = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  stats(): SimulatedCdnStats {
    return { ...this.counters };
  }

  private answer(method: string, rawUrl: string): { status: number; body: Buffer } {
    const text = (status: number, message: string) => ({ status, body: Buffer.from(message) });
    if (method !== 'GET' && method !== 'HEAD') return text(405, 'method not allowed');
    const url = new URL(rawUrl, 'https://cdn.invalid');
    const match = PICTURE_PATH.exec(url.pathname);
    if (match === null) return this.refuse(404, url.pathname, 'unknown path');
    let jid: string;
    try {
      jid = decodeURIComponent(match[1]!);
    } catch {
      return this.refuse(404, url.pathname, 'undecodable JID');
    }
    const pictureId = match[2]!;
    const expiry = url.searchParams.get('oe') ?? '';
    if (url.searchParams.get('oh') !== this.population.signature(url.pathname, expiry)) return this.refuse(403, url.pathname, 'bad signature');
    if (this.population.pictureVersion(jid, pictureId) === undefined) return this.refuse(404, url.pathname, 'unknown picture');
    const firstRequest = !this.seenUrls.has(url.href);
    this.seenUrls.add(url.href);
    if (firstRequest && this.isUnlucky(url.href)) {
      this.counters.serverErrors++;
      this.logger.debug({ path: url.pathname }, 'simulated CDN: 503 blip');
      return text(503, 'service unavailable');
    }
    let bytes = this.pictureCache.get(url.pathname);
    if (bytes === undefined) {
      bytes = this.population.pictureBytes(jid, pictureId);
      this.pictureCache.set(url.pathname, bytes);
    }
    this.counters.served++;
    return { status: 200, body: bytes };
  }

  private refuse(status: number, path: string, reason: string): { status: number; body: Buffer } {
    this.counters.refused++;
    this.logger.debug({ path, status, reason }, 'simulated CDN refused a request');
    return { status, body: Buffer.from(reason) };
  }

  private isUnlucky(href: string): boolean {
    const digest = createHash('sha256').update(`${this.population.seed}\n${href}`).digest();
    return digest.readUInt32BE(0) / 0x1_0000_0000 < this.serverErrorShare;
  }
}
