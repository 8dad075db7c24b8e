// Downloads one profile picture from WhatsApp's CDN. The URL comes from WhatsApp, but it is still
// input from the network: only https, only allow-listed hosts (redirects included), a size cap
// enforced while streaming, timeouts, a JPEG check, and a few retries for failures that are
// likely to pass. The query string carries signed tokens, so it never reaches a log.

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import got, { RequestError } from 'got';
import type { Logger } from 'pino';

/**
 * WhatsApp serves profile pictures from `pps.whatsapp.net` (`/v/t61.24694-24/…_n.jpg?…&oh=…&oe=…`):
 * every URL `profilePictureUrl` returns in Baileys' issues and in projects using it, and the host
 * blocklist maintainers name as "profile pictures". Chat media use `mmg.whatsapp.net` and
 * `media-*.cdn.whatsapp.net`; no evidence shows pictures served from there or from `fbcdn.net`,
 * so the list stays exact. Tests and the simulation extend it through `allowedHosts`.
 */
export const WHATSAPP_PICTURE_HOSTS: readonly string[] = ['pps.whatsapp.net'];

export interface DownloadSettings {
  /** Exact host names, or `.suffix` entries that match any subdomain (`.whatsapp.net`). */
  readonly allowedHosts: readonly string[];
  /** DNS lookup + TCP connect + TLS handshake, each. */
  readonly connectTimeoutMs: number;
  /** Waiting for the response headers, and for each chunk of the body after that. */
  readonly responseTimeoutMs: number;
  readonly maxBytes: number;
  /** Extra attempts after the first, only for 5xx, network errors and timeouts. */
  readonly retries: number;
  /** Wait before the n-th retry: n × this. */
  readonly retryDelayMs?: number;
  /** A PEM CA to trust instead of the system's: only for the simulated CDN. */
  readonly certificateAuthority?: string;
}

export const DEFAULT_DOWNLOAD_SETTINGS: DownloadSettings = {
  allowedHosts: WHATSAPP_PICTURE_HOSTS,
  // A CDN edge answers a handshake in well under a second; 10 s tolerates a slow home uplink.
  connectTimeoutMs: 10_000,
  // Pictures are small (≤ ~100 kB full size); 20 s without a byte means the transfer is stuck.
  responseTimeoutMs: 20_000,
  // WhatsApp's full-size pictures are far below this; anything larger is not a profile picture.
  maxBytes: 5 * 1024 * 1024,
  // Two retries ride out a CDN blip; more would only delay the queue, which retries later anyway.
  retries: 2,
  // Short enough not to stall the one-at-a-time queue, long enough for a CDN edge to recover.
  retryDelayMs: 1_000,
};

/** `refused`: an answer that asking again soon will not fix (a host we do not trust, 4xx, too big, not a JPEG). */
export type DownloadFailureCause = 'timeout' | 'server-error' | 'network' | 'refused';

export type DownloadResult =
  | { ok: true; bytes: Buffer; sha256: string }
  /** `retryAfterMs`: the wait a 429/503 asked for in `Retry-After`. */
  | { ok: false; cause: DownloadFailureCause; detail: string; httpStatus?: number; retryAfterMs?: number };

// WhatsApp's CDN does not redirect today; a few hops allow a CDN change without inviting loops.
const MAX_REDIRECTS = 3;
// A JPEG may carry a few padding bytes after its end-of-image marker.
const JPEG_TRAILER_WINDOW_BYTES = 64;
const JPEG_START = [0xff, 0xd8, 0xff] as const;

type Attempt =
  | { kind: 'ok'; bytes: Buffer }
  | { kind: 'redirect'; location: string; status: number }
  | { kind: 'failed'; cause: DownloadFailureCause; detail: string; retryable: boolean; httpStatus?: number };

/** Throws a RangeError naming the first setting that cannot work; call it when loading configuration. */
export function validateDownloadSettings(settings: DownloadSettings): void {
  const positive: (keyof DownloadSettings)[] = ['connectTimeoutMs', 'responseTimeoutMs', 'maxBytes'];
  for (const key of positive) {
    const value = settings[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`download setting ${key} must be a positive number, not ${String(value)}`);
  }
  if (!Number.isInteger(settings.retries) || settings.retries < 0) throw new RangeError(`download setting retries must be a whole number ≥ 0, not ${settings.retries}`);
  const delay = settings.retryDelayMs;
  if (delay !== undefined && (!Number.isFinite(delay) || delay < 0)) throw new RangeError(`download setting retryDelayMs must be ≥ 0, not ${delay}`);
  if (settings.allowedHosts.length === 0) throw new RangeError('download setting allowedHosts is empty: no picture could ever be downloaded');
  const bad = settings.allowedHosts.find((host) => !/^\.?[0-9A-Za-z.:-]+$/.test(host) || host === '.');
  if (bad !== undefined) throw new RangeError(`download setting allowedHosts has an invalid entry '${bad}'`);
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

/** True when `host` is listed exactly or falls under a `.suffix` entry. */
export function isAllowedHost(host: string, allowedHosts: readonly string[]): boolean {
  const normalised = host.toLowerCase().replace(/\.$/, '');
  return allowedHosts.some((entry) => {
    const allowed = entry.toLowerCase();
    return allowed.startsWith('.') ? normalised.endsWith(allowed) && normalised.length > allowed.length : normalised === allowed;
  });
}

/** Why a URL may not be fetched, or undefined when it may. */
export function refuseUrl(url: string, allowedHosts: readonly string[]): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the picture URL is not a valid URL';
  }
  if (parsed.protocol !== 'https:') return `only https is allowed, not ${parsed.protocol.replace(/:$/, '')}`;
  if (parsed.username !== '' || parsed.password !== '') return 'the picture URL carries credentials';
  // URL keeps IPv6 literals in brackets; the allow-list names them without.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!isAllowedHost(host, allowedHosts)) return `host ${host} is not a WhatsApp picture host`;
  return undefined;
}

/** JPEG magic bytes at the start and an end-of-image marker at (or just before) the end. */
export function looksLikeJpeg(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || JPEG_START.some((value, index) => bytes[index] !== value)) return false;
  const from = Math.max(2, bytes.length - JPEG_TRAILER_WINDOW_BYTES);
  for (let index = bytes.length - 2; index >= from; index--) {
    if (bytes[index] === 0xff && bytes[index + 1] === 0xd9) return true;
  }
  return false;
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

async function attemptOnce(url: URL, settings: DownloadSettings, logger: Logger): Promise<Attempt> {
  const stream = got.stream(url, {
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
  });
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
    if (status >= 500) return { kind: 'failed', cause: 'server-error', detail: `HTTP ${status}`, retryable: true, httpStatus: status };
    if (status !== 200) {
      // 403/404/410: the signed URL expired or the picture is gone; a fresh query gives a new URL.
      return { kind: 'failed', cause: 'refused', detail: `HTTP ${status}`, retryable: false, httpStatus: status };
    }
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
    return classifyError(error, url);
  } finally {
    // A late error (the socket closing after we stopped reading) must not crash the process.
    // got's errors carry the request options, URL included: log only code and redacted text.
    stream.on('error', (error: Error & { code?: string }) =>
      logger.debug({ code: error.code, detail: hideQuery(error.message, url) }, 'picture download stream failed after the attempt ended'),
    );
    stream.destroy();
  }
}

/**
 * Fetches a picture URL that a picture query returned. Never throws for network or content
 * problems; every failure comes back classified so the caller can decide when to try again.
 */
export async function downloadPicture(url: string, settings: DownloadSettings, logger: Logger): Promise<DownloadResult> {
  validateDownloadSettings(settings);
  const shown = redactUrl(url);
  let current = url;
  let redirects = 0;
  let retries = 0;
  for (;;) {
    const refusal = refuseUrl(current, settings.allowedHosts);
    if (refusal !== undefined) {
      logger.warn({ url: redactUrl(current), reason: refusal, redirects }, 'refused a picture URL');
      return { ok: false, cause: 'refused', detail: redirects === 0 ? refusal : `redirected: ${refusal}` };
    }
    const attempt = await attemptOnce(new URL(current), settings, logger);
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
      if (!looksLikeJpeg(attempt.bytes)) {
        logger.warn({ url: shown, bytes: attempt.bytes.length }, 'the downloaded picture is not a JPEG');
        return { ok: false, cause: 'refused', detail: `the response (${attempt.bytes.length} bytes) is not a JPEG` };
      }
      const sha256 = createHash('sha256').update(attempt.bytes).digest('hex');
      logger.debug({ url: shown, bytes: attempt.bytes.length, sha256, retries }, 'downloaded a picture');
      return { ok: true, bytes: attempt.bytes, sha256 };
    }
    if (!attempt.retryable || retries >= settings.retries) {
      logger.warn({ url: shown, cause: attempt.cause, detail: attempt.detail, retries }, 'picture download failed');
      const failure: DownloadResult = { ok: false, cause: attempt.cause, detail: attempt.detail };
      return attempt.httpStatus === undefined ? failure : { ...failure, httpStatus: attempt.httpStatus };
    }
    retries++;
    logger.debug({ url: shown, cause: attempt.cause, detail: attempt.detail, retry: retries }, 'picture download failed; retrying');
    await sleep(retries * (settings.retryDelayMs ?? DEFAULT_DOWNLOAD_SETTINGS.retryDelayMs ?? 0));
  }
}
