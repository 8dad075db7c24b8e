// The WhatsApp Web version the socket claims to be. WhatsApp refuses stale versions (405), so ask
// web.whatsapp.com for the current one with a short timeout and fall back to a pinned recent one.

import { fetchLatestWaWebVersion, type WAVersion } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';

// The newest WhatsApp Web build known when this worker was released (the one Baileys
// 7.0.0-rc14 ships). Bump it with each release; the live lookup normally replaces it.
export const PINNED_WA_WEB_VERSION: WAVersion = [2, 3000, 1043857760];

// web.whatsapp.com answers in well under a second; a hung lookup must not delay connecting.
export const VERSION_LOOKUP_TIMEOUT_MS = 5_000;

export type VersionFetcher = () => Promise<WAVersion>;

function isVersion(value: unknown): value is WAVersion {
  return Array.isArray(value) && value.length === 3 && value.every((part) => Number.isInteger(part) && part >= 0);
}

/** Asks WhatsApp Web for its current build; throws when that fails (Baileys itself returns a stale default then). */
export const fetchCurrentWaWebVersion: VersionFetcher = async () => {
  const result = await fetchLatestWaWebVersion({ signal: AbortSignal.timeout(VERSION_LOOKUP_TIMEOUT_MS) });
  if (!result.isLatest || !isVersion(result.version)) {
    const error = (result as { error?: unknown }).error;
    const reason = error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String((error as { message?: unknown } | undefined)?.message ?? error);
    throw new Error(`could not read the current WhatsApp Web version (${reason})`);
  }
  return result.version;
};

/** The version to connect with: the live one, or the pinned one when the lookup fails. */
export async function resolveWaWebVersion(fetchVersion: VersionFetcher, logger: Logger): Promise<WAVersion> {
  try {
    const version = await fetchVersion();
    if (!isVersion(version)) throw new Error(`the lookup returned ${JSON.stringify(version)}, which is not a version`);
    logger.debug({ version: version.join('.') }, 'using the current WhatsApp Web version');
    return version;
  } catch (error) {
    logger.info(
      { reason: (error as Error).message, version: PINNED_WA_WEB_VERSION.join('.') },
      'could not look up the current WhatsApp Web version; using the pinned one',
    );
    return PINNED_WA_WEB_VERSION;
  }
}
