// Which URLs a profile picture may be fetched from. The URL comes from WhatsApp's answer, but it
// is still input from the network: the rule is exact (no suffix matching), so no look-alike host,
// no plain http, no credentials, no unexpected port gets a request from us.

/**
 * WhatsApp's answer to a `w:profile:picture` IQ carries a signed URL whose path starts
 * `/v/t61.24694-24/` (the profile-picture media type). Those URLs point at two kinds of host:
 * - `pps.whatsapp.net`, the long-standing one;
 * - regional edges `media-<pop><n>-<n>.cdn.whatsapp.net`, where `<pop>` is a three-letter airport
 *   code: public repositories that embedded URLs they had received show `media-gru1-2`,
 *   `media-gru2-2`, `media-bog2-1`, `media-bog2-2`, `media-los2-1`, `media-maa2-2`,
 *   `media-bom1-1`, `media-bom2-1`, `media-blr1-2`, `media-hel3-1`, `media-ist1-1`,
 *   `media-mrs2-1` (GitHub code search for "cdn.whatsapp.net/v/t61.24694-24", checked 2026-12).
 * Baileys 7.0.0-rc14 (lib/Socket/chats.js `profilePictureUrl`: `child?.attrs?.url`) and whatsmeow
 * (types/user.go `ProfilePictureInfo.URL`, "can be downloaded with a simple HTTP request", commit
 * 33cfac51) hand the URL on as WhatsApp sent it and check nothing, so the host rule is ours. Chat media hosts (`mmg.whatsapp.net`) never
 * carry profile pictures and stay out.
 */
export const WHATSAPP_PICTURE_HOST = 'pps.whatsapp.net';
// One label directly under cdn.whatsapp.net, in the shape every observed edge has; nothing nested.
const REGIONAL_PICTURE_HOST = /^media-[a-z]{3}[0-9]{1,2}-[0-9]{1,2}\.cdn\.whatsapp\.net$/;

export interface PictureHostPolicy {
  /** Exact extra host names or IP literals trusted on any port: for tests only, empty in production. */
  readonly allowedHosts: readonly string[];
  /** Explicit ports accepted for WhatsApp's own host names (the simulated CDN's loopback port). */
  readonly allowedPorts?: readonly number[];
}

/** True for `pps.whatsapp.net` and the regional `media-…cdn.whatsapp.net` edges (lower case, no trailing dot). */
export function isWhatsAppPictureHost(host: string): boolean {
  return host === WHATSAPP_PICTURE_HOST || REGIONAL_PICTURE_HOST.test(host);
}

/** Why a URL may not be fetched, or undefined when it may. */
export function refusePictureUrl(url: string, policy: PictureHostPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'the picture URL is not a valid URL';
  }
  if (parsed.protocol !== 'https:') return `only https is allowed, not ${parsed.protocol.replace(/:$/, '')}`;
  if (parsed.username !== '' || parsed.password !== '') return 'the picture URL carries credentials';
  // The WHATWG parser has already lower-cased the name and decoded percent escapes; IPv6
  // literals keep their brackets, which the extra hosts list without.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (policy.allowedHosts.includes(host)) return undefined;
  if (!isWhatsAppPictureHost(host)) return `host ${host} is not a WhatsApp picture host`;
  // `URL` drops the scheme's default port, so only an explicit other port reaches this check.
  if (parsed.port !== '' && !(policy.allowedPorts ?? []).includes(Number(parsed.port))) {
    return `port ${parsed.port} is not a WhatsApp picture port`;
  }
  return undefined;
}

/** Throws a RangeError naming the first entry that cannot be a host name, IP literal or port. */
export function validatePictureHostPolicy(policy: PictureHostPolicy): void {
  const bad = policy.allowedHosts.find((host) => !/^[0-9a-z:-]+(\.[0-9a-z:-]+)*$/.test(host));
  if (bad !== undefined) throw new RangeError(`download setting allowedHosts has an invalid entry '${bad}' (exact lower-case host names or IP literals only)`);
  const port = (policy.allowedPorts ?? []).find((value) => !Number.isInteger(value) || value < 1 || value > 65_535);
  if (port !== undefined) throw new RangeError(`download setting allowedPorts has an invalid port ${port}`);
}
