// Downloads one profile picture from WhatsApp's CDN. The URL comes from WhatsApp, but it is still
// input from the network: only WhatsApp's picture hosts over https (redirects included), a size
// cap enforced while streaming, timeouts and a total deadline per attempt, a JPEG structure check,
// and a few retries for failures that are likely to pass. The query string carries signed tokens,
// so it never reaches a log. An AbortSignal (the worker stopping) ends it at once.

import { createHash } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import got, { RequestError, type Got } from 'got';
import type { Logger } from 'pino';
import { checkJpegStructure } from '../avatars/jpeg-structure.js';
import { refusePictureUrl, validatePictureHostPolicy } from '../avatars/picture-hosts.js';
import type { DownloadFailureCause, DownloadResult, PictureDownloader } from '../avatars/ports.js';
import { clampRetryAfterMs, parseRetryAfterMs } from './retry-after.js';

export { looksLikeJpeg } from '../avatars/jpeg-structure.js';
export { isWhatsAppPictureHost, refusePictureUrl, WHATSAPP_PICTURE_HOST } from '../avatars/picture-hosts.js';

export interface DownloadSettings {
  /** Exact extra host names or IP literals trusted besides WhatsApp's picture hosts: tests only. */
  readonly allowedHosts: readonly string[];
  /** Explicit ports accepted for WhatsApp's host names: only the simulated CDN's loopback port. */
  readonly allowedPorts?: readonly number[];
  /** DNS lookup + TCP connect + TLS handshake, each. */
  readonly connectTimeoutMs: number;
  /** Waiting for the response headers, and for each chunk of the body after that. */
  readonly responseTimeoutMs: number;
  /** Everything one attempt may take, however the bytes trickle in. */
  readonly totalDeadlineMs: number;
  readonly maxBytes: number;
  /** Extra attempts after the first, only for 5xx, network errors and timeouts. */
  readonly retries: number;
  /** Wait before the n-th retry: n × this. */
  readonly retryDelayMs?: number;
  /** A CDN's `Retry-After` up to this long is waited out within the call; a longer one ends it. */
  readonly retryAfterWaitLimitMs?: number;
  /** A PEM CA to trust instead of the system's: only for the simulated CDN. */
  readonly certificateAuthority?: string;
  /** SIMULATION ONLY: resolves WhatsApp's host names to the simulated CDN on loopback. */
  readonly dnsLookup?: LookupFunction;
}

export const DEFAULT_DOWNLOAD_SETTINGS: DownloadSettings = {
  allowedHosts: [],
  // A CDN edge answers a handshake in well under a second; 10 s tolerates a slow home uplink.
  connectTimeoutMs: 10_000,
  // Pictures are small (≤ ~100 kB full size); 20 s without a byte means the transfer is stuck.
  responseTimeoutMs: 20_000,
  // 100 kB takes ~13 s even at 64 kbit/s; past 30 s a server is trickling bytes to hold us, and
  // one job (and `stop`) must not be held longer than this per attempt.
  totalDeadlineMs: 30_000,
  // WhatsApp's full-size pictures are far below this; anything larger is not a profile picture.
  maxBytes: 5 * 1024 * 1024,
  // Two retries ride out a CDN blip; more would only delay the queue, which retries later anyway.
  retries: 2,
  // Short enough not to stall the one-at-a-time queue, long enough for a CDN edge to recover.
  retryDelayMs: 1_000,
  // Holding the one-at-a-time queue for a few seconds is fine; a longer wait belongs to the job's backoff.
  retryAfterWaitLimitMs: 5_000,
};

export type { DownloadFailureCause, DownloadResult } from '../avatars/ports.js';

// WhatsApp's CDN does not redirect today; a few hops allow a CDN change without inviting loops.
const MAX_REDIRECTS = 3;

type Attempt =
  | { kind: 'ok'; bytes: Buffer }
  | { kind: 'redirect'; location: string; status: number }
  | { kind: 'aborted' }
  | {
      kind: 'failed';
      cause: DownloadFailureCause;
      detail: string;
      retryable: boolean;
      httpStatus?: number;
      /** The server's Retry-After, unclamped; `asksToWait`: a 429/503 that wants us to slow down. */
      retryAfterMs?: number;
      asksToWait?: boolean;
    };

/** Throws a RangeError naming the first setting that cannot work; call it when loading configuration. */
export function validateDownloadSettings(settings: DownloadSettings): void {
  const positive: (keyof DownloadSettings)[] = ['connectTimeoutMs', 'responseTimeoutMs', 'totalDeadlineMs', 'maxBytes'];
  for (const key of positive) {
    const value = settings[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`download setting ${key} must be a positive number, not ${String(value)}`);
  }
  if (!Number.isInteger(settings.retries) || settings.retries < 0) throw new RangeError(`download setting retries must be a whole number ≥ 0, not ${settings.retries}`);
  for (const key of ['retryDelayMs', 'retryAfterWaitLimitMs'] as const) {
    const value = settings[key];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) throw new RangeError(`download setting ${key} must be ≥ 0, not ${value}`);
  }
  validatePictureHostPolicy(settings);
}

/** The URL without its signed query values: safe for logs and error details. */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '<unparseable URL>';
  }
  const keys = [...new Set(parsed.searchParams.keys())];
  const query = keys.length === 0 ? '' : `?${keys.map((key) => `${key}=…`).join('&')}`;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query}`;
}

/** Removes the URL's signed query string from an error text. */
function hideQuery(text: string, url: URL): string {
  return url.search === '' ? text : text.split(url.search).join('?…');
}

function classifyError(error: unknown, url: URL): Attempt {
  const hide = (text: string): string => hideQuery(text, url);
  if (error instanceof RequestError) {
    const detail = hide(`${error.code}: ${error.message}`);
    if (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT') return { kind: 'failed', cause: 'timeout', detail, retryable: true };
    // A certificate that does not verify will not verify on a second try either.
    const tls = /CERT|SSL|TLS|SELF_SIGNED/.test(error.code);
    return { kind: 'failed', cause: 'network', detail, retryable: !tls };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'failed', cause: 'network', detail: hide(message), retryable: true };
}

function classifyStatus(status: number, headers: Record<string, string | string[] | undefined>): Attempt | undefined {
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfterMs(headers['retry-after'], Date.now());
    // A 503 without a usable Retry-After is an ordinary blip; a 429 always means "slow down".
    const asksToWait = status === 429 || retryAfterMs !== undefined;
    return { kind: 'failed', cause: 'server-error', detail: `HTTP ${status}`, retryable: true, httpStatus: status, asksToWait, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (status >= 500) return { kind: 'failed', cause: 'server-error', detail: `HTTP ${status}`, retryable: true, httpStatus: status };
  // 403/404/410 on a URL WhatsApp just handed out: expired signature or a picture gone; asking the
  // CDN again will not change that, a fresh picture query might.
  if (status !== 200) return { kind: 'failed', cause: 'refused', detail: `HTTP ${status}`, retryable: false, httpStatus: status };
  return undefined;
}

/**
 * A got instance holding every fixed option of a picture download, made once per settings: got
 * builds and validates a request's options by merging what it is given into a copy of its
 * defaults, so fixed options passed per request cost that merge (objects and closures) on every
 * download; merged once here, a request passes only its abort signal (issue 11: it was the largest
 * allocation per job; the pipeline bench scavenged 29–31 times a run instead of 32–33).
 */
function pictureClient(settings: DownloadSettings): Got {
  return got.extend({
    followRedirect: false,
    throwHttpErrors: false,
    retry: { limit: 0 },
    headers: { accept: 'image/jpeg,image/*;q=0.8' },
    timeout: {
      lookup: settings.connectTimeoutMs,
      connect: settings.connectTimeoutMs,
      secureConnect: settings.connectTimeoutMs,
      response: settings.responseTimeoutMs,
      socket: settings.responseTimeoutMs,
    },
    https: settings.certificateAuthority === undefined ? {} : { certificateAuthority: settings.certificateAuthority },
    ...(settings.dnsLookup === undefined ? {} : { dnsLookup: settings.dnsLookup }),
  });
}

/** Settings already validated, with their got instance: each settings object is checked and merged once. */
const clients = new WeakMap<DownloadSettings, Got>();

function validatedClient(settings: DownloadSettings): Got {
  let client = clients.get(settings);
  if (client === undefined) {
    validateDownloadSettings(settings);
    client = pictureClient(settings);
    clients.set(settings, client);
  }
  return client;
}

async function attemptOnce(client: Got, url: URL, settings: DownloadSettings, logger: Logger, signal: AbortSignal | undefined): Promise<Attempt> {
  // One controller ends the attempt for either reason; which one fired decides the classification.
  const attemptController = new AbortController();
  let pastDeadline = false;
  const deadline = setTimeout(() => {
    pastDeadline = true;
    attemptController.abort();
  }, settings.totalDeadlineMs);
  const onCallerAbort = (): void => attemptController.abort();
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  const stream = client.stream(url, { signal: attemptController.signal });
  try {
    const response = await new Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined> }>(
      (resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      },
    );
    const status = response.statusCode;
    if (status >= 300 && status < 400) {
      const location = response.headers.location;
      if (typeof location !== 'string') {
        return { kind: 'failed', cause: 'refused', detail: `HTTP ${status} without a Location`, retryable: false, httpStatus: status };
      }
      return { kind: 'redirect', location, status };
    }
    const failed = classifyStatus(status, response.headers);
    if (failed !== undefined) return failed;
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > settings.maxBytes) {
      return { kind: 'failed', cause: 'refused', detail: `the server announced ${declared} bytes, more than the ${settings.maxBytes} allowed`, retryable: false };
    }
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > settings.maxBytes) {
        return { kind: 'failed', cause: 'refused', detail: `the picture exceeds the ${settings.maxBytes} bytes allowed`, retryable: false };
      }
      chunks.push(chunk);
    }
    return { kind: 'ok', bytes: Buffer.concat(chunks, received) };
  } catch (error) {
    if (pastDeadline) return { kind: 'failed', cause: 'timeout', detail: `the attempt took longer than its ${settings.totalDeadlineMs} ms deadline`, retryable: true };
    if (signal?.aborted === true) return { kind: 'aborted' };
    return classifyError(error, url);
  } finally {
    clearTimeout(deadline);
    signal?.removeEventListener('abort', onCallerAbort);
    // A late error (the socket closing after we stopped reading) must not crash the process.
    // got's errors carry the request options, URL included: log only code and redacted text.
    stream.on('error', (error: Error & { code?: string }) =>
      logger.debug({ code: error.code, detail: hideQuery(error.message, url) }, 'picture download stream failed after the attempt ended'),
    );
    // Only an attempt that stopped reading early ends its request here. Destroying a stream that
    // has delivered its last byte races Node handing the socket back to the keep-alive pool: about
    // one download in ten then paid a fresh TLS handshake (download.test.ts counts them).
    if (!stream.readableEnded) stream.destroy();
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Waits `ms` unless the signal fires first; true when it waited the whole time. */
async function waitUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted === true) return false;
  try {
    await sleep(ms, undefined, signal === undefined ? {} : { signal });
    return true;
  } catch (error) {
    // Checked through a call: TypeScript would keep the narrowing from the first line.
    if (isAborted(signal)) return false;
    throw error;
  }
}

const ABORTED: DownloadResult = { ok: false, cause: 'network', detail: 'the download was aborted (the worker is stopping)', aborted: true };

/**
 * Fetches a picture URL that a picture query returned. Never throws for network or content
 * problems; every failure comes back classified so the caller can decide when to try again.
 * `signal` ends the download at once, with no retry; the result then says `aborted`.
 */
export async function downloadPicture(url: string, settings: DownloadSettings, logger: Logger, signal?: AbortSignal): Promise<DownloadResult> {
  const client = validatedClient(settings);
  const shown = redactUrl(url);
  const retryDelayMs = settings.retryDelayMs ?? DEFAULT_DOWNLOAD_SETTINGS.retryDelayMs ?? 0;
  const waitLimitMs = settings.retryAfterWaitLimitMs ?? DEFAULT_DOWNLOAD_SETTINGS.retryAfterWaitLimitMs ?? 0;
  let current = url;
  let redirects = 0;
  let retries = 0;
  for (;;) {
    if (signal?.aborted === true) return ABORTED;
    const refusal = refusePictureUrl(current, settings);
    if (refusal !== undefined) {
      logger.warn({ url: redactUrl(current), reason: refusal, redirects }, 'refused a picture URL');
      return { ok: false, cause: 'refused', detail: redirects === 0 ? refusal : `redirected: ${refusal}` };
    }
    const attempt = await attemptOnce(client, new URL(current), settings, logger, signal);
    if (attempt.kind === 'aborted') {
      logger.debug({ url: shown, retries }, 'picture download aborted');
      return ABORTED;
    }
    if (attempt.kind === 'redirect') {
      redirects++;
      if (redirects > MAX_REDIRECTS) return { ok: false, cause: 'refused', detail: `more than ${MAX_REDIRECTS} redirects` };
      let next: URL;
      try {
        next = new URL(attempt.location, current);
      } catch {
        return { ok: false, cause: 'refused', detail: `HTTP ${attempt.status} to an invalid Location` };
      }
      logger.debug({ from: redactUrl(current), to: redactUrl(next), status: attempt.status }, 'picture download redirected');
      current = next.href;
      continue;
    }
    if (attempt.kind === 'ok') {
      const jpeg = checkJpegStructure(attempt.bytes);
      if (!jpeg.ok) {
        logger.warn({ url: shown, bytes: attempt.bytes.length, problem: jpeg.problem }, 'the downloaded picture is not a JPEG');
        return { ok: false, cause: 'refused', detail: `the response (${attempt.bytes.length} bytes) is not a JPEG: ${jpeg.problem}` };
      }
      const sha256 = createHash('sha256').update(attempt.bytes).digest('hex');
      logger.debug({ url: shown, bytes: attempt.bytes.length, sha256, retries, width: jpeg.width, height: jpeg.height }, 'downloaded a picture');
      return { ok: true, bytes: attempt.bytes, sha256 };
    }
    // Our own delay for the next retry; a Retry-After never shortens it.
    const ownDelayMs = (retries + 1) * retryDelayMs;
    const waitMs = attempt.retryAfterMs === undefined ? ownDelayMs : clampRetryAfterMs(attempt.retryAfterMs, ownDelayMs);
    // A server asking us to slow down for longer than we would hold the queue ends this call.
    const waitTooLong = attempt.asksToWait === true && (attempt.retryAfterMs === undefined || waitMs > waitLimitMs);
    if (!attempt.retryable || retries >= settings.retries || waitTooLong) {
      logger.warn({ url: shown, cause: attempt.cause, detail: attempt.detail, retries, retryAfterMs: attempt.retryAfterMs }, 'picture download failed');
      return {
        ok: false,
        cause: attempt.cause,
        detail: attempt.detail,
        ...(attempt.httpStatus === undefined ? {} : { httpStatus: attempt.httpStatus }),
        ...(attempt.retryAfterMs === undefined ? {} : { retryAfterMs: waitMs }),
      };
    }
    retries++;
    logger.debug({ url: shown, cause: attempt.cause, detail: attempt.detail, retry: retries, waitMs }, 'picture download failed; retrying');
    if (!(await waitUnlessAborted(waitMs, signal))) return ABORTED;
  }
}

/** The downloader port for the core: these settings and this logger, for every download. */
export function cdnDownloader(settings: DownloadSettings, logger: Logger): PictureDownloader {
  return (url, signal) => downloadPicture(url, settings, logger, signal);
}
