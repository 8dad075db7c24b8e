// The owner account and tokens without a browser, the way HA's own onboarding page does it:
// create the user (which answers with an auth code), trade the code for an access token, finish
// the integration step, then ask for a long-lived token over the websocket.

import type { HaRest } from './ha-rest.js';
import { HaWebSocket } from './ha-websocket.js';

export interface Owner {
  readonly name: string;
  readonly username: string;
  readonly password: string;
}

export const E2E_OWNER: Owner = { name: 'E2E Owner', username: 'owner', password: 'e2e-owner-password-1' };

// Long enough for the slowest run; the token dies with the temp config folder anyway.
const LONG_LIVED_TOKEN_DAYS = 1;

interface TokenAnswer {
  access_token: string;
  token_type: string;
}

/** Creates the owner, finishes onboarding, and returns a long-lived access token. */
export async function onboardOwner(rest: HaRest, owner: Owner): Promise<string> {
  // The client id of HA's own frontend at this address, as the onboarding page sends it.
  const clientId = `${rest.baseUrl}/`;
  const { auth_code: authCode } = await rest.postJson<{ auth_code: string }>('/api/onboarding/users', {
    client_id: clientId,
    name: owner.name,
    username: owner.username,
    password: owner.password,
    language: 'en',
  });
  const tokens = await rest.postForm<TokenAnswer>('/auth/token', { grant_type: 'authorization_code', code: authCode, client_id: clientId });
  const authed = rest.withToken(tokens.access_token);
  await authed.postJson('/api/onboarding/integration', { client_id: clientId, redirect_uri: `${clientId}?auth_callback=1` });
  const onboarding = await rest.getJson<{ step: string; done: boolean }[]>('/api/onboarding').catch(() => []);
  const open = onboarding.filter((step) => !step.done).map((step) => step.step);
  if (open.length > 0) throw new Error(`onboarding is not finished: ${open.join(', ')} still open`);

  const socket = await HaWebSocket.connect(rest.baseUrl, tokens.access_token);
  try {
    return await socket.command<string>({ type: 'auth/long_lived_access_token', client_name: 'whatsapp-e2e', lifespan: LONG_LIVED_TOKEN_DAYS });
  } finally {
    await socket.close();
  }
}
