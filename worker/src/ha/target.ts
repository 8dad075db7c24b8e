// Where the worker finds Home Assistant and which token it presents. Inside the add-on the
// Supervisor proxies the websocket and hands us SUPERVISOR_TOKEN; elsewhere the user gives a URL
// and a long-lived access token.

export const SUPERVISOR_WEBSOCKET_URL = 'ws://supervisor/core/websocket';

/** The path of Home Assistant's websocket API under its base URL. */
const WEBSOCKET_API_PATH = '/api/websocket';

export type HomeAssistantTarget = { url: string; token: string } | { error: string };

/**
 * Decides the websocket URL and token. With SUPERVISOR_TOKEN and no explicit URL: the Supervisor
 * proxy. Otherwise the given URL, normalised to the websocket endpoint, with a long-lived token
 * from `options.token` or WHATSAPP_HA_TOKEN. Missing or malformed pieces give an error naming them.
 */
export function homeAssistantTarget(
  env: NodeJS.ProcessEnv,
  options: { url?: string; token?: string },
): HomeAssistantTarget {
  const explicitUrl = nonEmpty(options.url);
  const supervisorToken = nonEmpty(env.SUPERVISOR_TOKEN);
  if (explicitUrl === undefined && supervisorToken !== undefined) {
    return { url: SUPERVISOR_WEBSOCKET_URL, token: supervisorToken };
  }
  const token = nonEmpty(options.token) ?? nonEmpty(env.WHATSAPP_HA_TOKEN);
  if (explicitUrl === undefined) {
    return {
      error:
        token === undefined
          ? 'no Home Assistant URL and no access token: give the URL (e.g. http://homeassistant.local:8123) and a long-lived access token (WHATSAPP_HA_TOKEN), or run as the add-on'
          : 'no Home Assistant URL: give it, e.g. http://homeassistant.local:8123, or run as the add-on',
    };
  }
  const url = websocketUrl(explicitUrl);
  if ('error' in url) return url;
  if (token === undefined) {
    return {
      error: `no access token for ${url.url}: create a long-lived access token in your Home Assistant profile and pass it (WHATSAPP_HA_TOKEN)`,
    };
  }
  return { url: url.url, token };
}

/** Turns `http(s)://host:8123[/prefix]` or a `ws(s)://…/api/websocket` URL into the websocket URL. */
export function websocketUrl(input: string): { url: string } | { error: string } {
  let parsed: URL;
  try {
    parsed = new URL(input.trim());
  } catch {
    // The URL constructor's own message does not say which setting was wrong; ours does.
    return { error: `the Home Assistant URL '${input}' is not a valid URL; expected e.g. http://homeassistant.local:8123` };
  }
  const schemes: Readonly<Record<string, string>> = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' };
  const scheme = schemes[parsed.protocol];
  if (scheme === undefined) {
    return {
      error: `the Home Assistant URL '${input}' uses ${parsed.protocol.replace(/:$/, '')}; expected http, https, ws or wss`,
    };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { error: 'the Home Assistant URL must not contain a user name or password; use an access token' };
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    return { error: `the Home Assistant URL '${input}' must not have a query or fragment` };
  }
  let path = parsed.pathname.replace(/\/+$/, '');
  if (!path.endsWith(WEBSOCKET_API_PATH)) path += WEBSOCKET_API_PATH;
  return { url: `${scheme}//${parsed.host}${path}` };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
