// A contact's privacy token (`<tctoken>`) for the picture query, read from our own stored key rows
// only. Baileys' `buildTcTokenFromJid` resolves a phone-number JID through `getLIDForPN`, which for
// an unknown mapping sends a USync IQ of its own with a 60 s timeout (rc14 lib/Signal/lid-mapping.js
// `_getLIDsForPNsImpl` → `pnToLIDFunc`, wired in lib/Socket/socket.js), outside our rate policy.
// Unreleased Baileys PR #2614 ("avoid triggering PN→LID USync while only checking for a
// profile-picture tctoken (probably a ban vector)") and whatsmeow (its store's LID map) read the
// mapping locally instead; so does this module. Without a known mapping or token the query simply
// goes out without one, as WhatsApp Web does for a chat without a token.

import type { BinaryNode } from '@whiskeysockets/baileys';

/** The read half of Baileys' key store (the raw SQLite store or Baileys' cached wrapper). */
export interface TokenKeyReader {
  get(type: 'lid-mapping' | 'tctoken', ids: string[]): Promise<{ [id: string]: unknown }> | { [id: string]: unknown };
}

// Baileys 7.0.0-rc14 lib/Utils/tc-token-utils.js: tokens live in 7-day buckets and stay valid for a
// rolling window of 4 of them (`TC_TOKEN_BUCKET_DURATION`, `TC_TOKEN_NUM_BUCKETS`, `isTcTokenExpired`).
// The rule is repeated here with our clock, because Baileys' version reads Date.now().
export const TC_TOKEN_BUCKET_SECONDS = 7 * 24 * 60 * 60;
export const TC_TOKEN_VALID_BUCKETS = 4;
const MS_PER_SECOND = 1000;

/** Baileys' `isTcTokenExpired`, at `nowMs`. */
export function isPrivacyTokenExpired(timestamp: unknown, nowMs: number): boolean {
  const seconds = typeof timestamp === 'string' ? Number.parseInt(timestamp, 10) : typeof timestamp === 'number' ? timestamp : Number.NaN;
  if (!Number.isFinite(seconds)) return true;
  const currentBucket = Math.floor(nowMs / MS_PER_SECOND / TC_TOKEN_BUCKET_SECONDS);
  const cutoffSeconds = (currentBucket - (TC_TOKEN_VALID_BUCKETS - 1)) * TC_TOKEN_BUCKET_SECONDS;
  return seconds < cutoffSeconds;
}

/**
 * The LID stored for a phone-number JID, or undefined. Key format as LIDMappingStore writes it
 * (rc14 lib/Signal/lid-mapping.js `storeLIDPNMappings`): id = the phone number's user part, value =
 * the LID's user part; the reverse row is `<lidUser>_reverse` → phone number.
 */
export async function storedLidForPhoneNumber(keys: TokenKeyReader, phoneNumberJid: string): Promise<string | undefined> {
  const user = phoneNumberJid.split('@')[0] ?? '';
  if (user === '') return undefined;
  const stored = await keys.get('lid-mapping', [user]);
  const lidUser = stored[user];
  return typeof lidUser === 'string' && lidUser !== '' ? `${lidUser}@lid` : undefined;
}

/**
 * The `<tctoken>` node for a normalised contact JID, or undefined: WhatsApp Web stores tokens under
 * the LID (rc14 tc-token-utils.js `resolveTcTokenJid`), falling back to the JID itself. Read only:
 * never sends anything, never writes.
 */
export async function storedPrivacyToken(keys: TokenKeyReader, jid: string, nowMs: number): Promise<BinaryNode[] | undefined> {
  const storageJid = jid.endsWith('@lid') ? jid : ((await storedLidForPhoneNumber(keys, jid)) ?? jid);
  const stored = await keys.get('tctoken', [storageJid]);
  const entry = stored[storageJid] as { token?: unknown; timestamp?: unknown } | undefined;
  const token = entry?.token;
  if (!(token instanceof Uint8Array) || token.length === 0) return undefined;
  if (entry?.timestamp === undefined || isPrivacyTokenExpired(entry.timestamp, nowMs)) return undefined;
  return [{ tag: 'tctoken', attrs: { t: String(entry.timestamp) }, content: token }];
}
