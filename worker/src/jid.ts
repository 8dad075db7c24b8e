// WhatsApp JIDs: the one place that decides which addresses the worker accepts, how they are
// normalised, and whether they have a profile picture at all. A JID later becomes a file name, so
// everything that reaches the disk or the queue passes through `parseJid` first.

import { phoneNumberDigits } from './phone-number.js';

export type SubjectKind = 'contact' | 'group';

declare const JID_BRAND: unique symbol;
/**
 * A JID that passed `parseJid`: normalised, a contact or a group, safe as a file name. Only
 * `parseJid` (and the store, reading back what it wrote) makes one, so the core never re-parses.
 */
export type Jid = string & { readonly [JID_BRAND]: true };

export type ParsedJid =
  | { readonly ok: true; readonly jid: Jid; readonly kind: SubjectKind }
  | { readonly ok: false; readonly reason: string };

// Longer than any real JID (a group id is ~30 characters) but short enough for every file system.
export const MAX_JID_LENGTH = 100;

// Servers whose JIDs have a profile picture: phone-number users, LID users (WhatsApp's privacy
// identities), and groups. `c.us` is the legacy spelling of `s.whatsapp.net`.
const PICTURE_SERVERS: Readonly<Record<string, SubjectKind>> = {
  's.whatsapp.net': 'contact',
  'c.us': 'contact',
  lid: 'contact',
  'g.us': 'group',
};

// Real WhatsApp addresses that never have a picture worth asking for; the queue skips them.
const PICTURELESS_SERVERS = new Set(['broadcast', 'newsletter', 'call', 'bot']);
const PICTURELESS_JIDS = new Set(['0@s.whatsapp.net', 'status@broadcast']);

// The only characters allowed in a file name (the avatars folder may be browsed over Samba).
const SAFE_CHARACTERS = /^[0-9A-Za-z._@-]+$/;
const USER_PART: Readonly<Record<SubjectKind, RegExp>> = {
  contact: /^[0-9]{1,20}$/,
  // Old groups are `<creator>-<timestamp>`, new ones a long number.
  group: /^[0-9]{1,20}(-[0-9]{1,12})?$/,
};

function describeCharacter(character: string): string {
  if (character === ' ') return 'a space';
  if (character === '/' || character === '\\') return `'${character}' (a path separator)`;
  const code = character.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f ? `a control character (U+${code.toString(16).padStart(4, '0')})` : `'${character}'`;
}

/**
 * Validates and normalises a JID: drops a device (`:12`) or agent (`_1`) suffix and maps `c.us`
 * to `s.whatsapp.net`. Refuses anything that is not a contact or group JID, with a reason that
 * names the problem.
 */
export function parseJid(input: unknown): ParsedJid {
  if (typeof input !== 'string') return { ok: false, reason: 'a JID must be a string' };
  const raw = input.trim();
  if (raw.length === 0) return { ok: false, reason: 'the JID is empty' };
  const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
  if (raw.length > MAX_JID_LENGTH) {
    return { ok: false, reason: `JID '${shown}' is ${raw.length} characters long; at most ${MAX_JID_LENGTH} are allowed` };
  }
  const unsafe = [...raw].find((character) => !SAFE_CHARACTERS.test(character) && character !== ':');
  if (unsafe !== undefined) {
    return { ok: false, reason: `JID '${shown}' contains ${describeCharacter(unsafe)}, which is not allowed` };
  }
  if (raw.includes('..')) return { ok: false, reason: `JID '${shown}' contains '..', which is not allowed` };
  const at = raw.indexOf('@');
  if (at <= 0 || at !== raw.lastIndexOf('@')) {
    return { ok: false, reason: `'${shown}' is not a JID: expected <number>@s.whatsapp.net, <id>@lid or <id>@g.us` };
  }
  const server = raw.slice(at + 1).toLowerCase();
  const user = raw.slice(0, at).replace(/[:_][0-9]+$/, '');
  if (PICTURELESS_SERVERS.has(server)) {
    return { ok: false, reason: `JID '${shown}' is a @${server} address, which has no profile picture` };
  }
  const kind = PICTURE_SERVERS[server];
  if (kind === undefined) {
    return {
      ok: false,
      reason: `JID '${shown}' has an unknown server '@${server}'; expected @s.whatsapp.net, @lid or @g.us`,
    };
  }
  if (!USER_PART[kind].test(user)) {
    return { ok: false, reason: `JID '${shown}' has a malformed ${kind === 'group' ? 'group id' : 'number'} '${user}'` };
  }
  const normalisedServer = server === 'c.us' ? 's.whatsapp.net' : server;
  const jid = `${user}@${normalisedServer}` as Jid;
  if (PICTURELESS_JIDS.has(jid)) return { ok: false, reason: `JID '${jid}' has no profile picture` };
  return { ok: true, jid, kind };
}

/**
 * What a person typed to name a subject: a JID, or a phone number as people write it
 * (`+49 170 1234567`, phone-number.ts), which names that number's contact. The integration's
 * refresh_avatar action reads its `jid` field the same way (services.py `normalise_jid`).
 */
export function parseJidOrPhoneNumber(input: string): ParsedJid {
  if (input.includes('@')) return parseJid(input);
  const digits = phoneNumberDigits(input.trim());
  if (digits !== undefined) return parseJid(`${digits}@s.whatsapp.net`);
  const shown = input.length > 40 ? `${input.slice(0, 40)}…` : input;
  return {
    ok: false,
    reason:
      `'${shown}' is neither a JID (491701234567@s.whatsapp.net, <id>@lid, <id>@g.us) nor a phone number ` +
      '(7 to 15 digits, country code first, no leading 0, e.g. +49 170 1234567)',
  };
}

/** True for a JID that is worth a picture query; used to skip broadcast lists, channels and the like. */
export function hasProfilePicture(jid: string): boolean {
  return parseJid(jid).ok;
}

/** The kind of an already-validated JID, without parsing it again. */
export function jidKind(jid: Jid): SubjectKind {
  return jid.endsWith('@g.us') ? 'group' : 'contact';
}

/**
 * A JID read back from the worker's own database: it was a `Jid` when written. The one cast
 * outside `parseJid`, kept here so a search for `as Jid` finds only trusted places.
 */
export function storedJid(value: string): Jid {
  return value as Jid;
}

/** Parses a JID that must be valid, or throws an error naming the problem. */
export function requireJid(input: unknown): { jid: Jid; kind: SubjectKind } {
  const parsed = parseJid(input);
  if (!parsed.ok) throw new InvalidJidError(parsed.reason);
  return { jid: parsed.jid, kind: parsed.kind };
}

export class InvalidJidError extends Error {
  override readonly name = 'InvalidJidError';
}
