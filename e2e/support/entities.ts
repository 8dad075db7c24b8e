// Finding the integration's entities the way a user's automation would not have to guess them:
// by unique id in the entity registry (the integration derives unique ids from the entry id and
// from JIDs), and checking the pictures they serve.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { E2eEnvironment } from './environment.js';
import type { HaWebSocket } from './ha-websocket.js';
import { waitFor } from './wait.js';

interface RegistryEntry {
  entity_id: string;
  unique_id: string;
  platform: string;
}

// The registry and the states machine update within one event loop turn; a second covers a busy
// machine.
const REGISTRY_TIMEOUT_MS = 15_000;
// A picture reaches HA right after the worker wrote it; this covers a reconnect in between.
const PICTURE_TIMEOUT_MS = 30_000;

export async function whatsappEntities(ws: HaWebSocket): Promise<RegistryEntry[]> {
  const entries = await ws.command<RegistryEntry[]>({ type: 'config/entity_registry/list' });
  return entries.filter((entry) => entry.platform === 'whatsapp');
}

/** Waits for the entity with `uniqueId` to be registered and returns its entity id. */
export async function entityIdOf(ws: HaWebSocket, uniqueId: string): Promise<string> {
  return waitFor(
    `an entity with unique id ${uniqueId}`,
    async () => (await whatsappEntities(ws)).find((entry) => entry.unique_id === uniqueId)?.entity_id,
    { timeoutMs: REGISTRY_TIMEOUT_MS },
  );
}

export const pictureUniqueId = (jid: string): string => `${jid}_picture`;

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The bytes behind the entity's `entity_picture` URL, fetched as a browser would (token in the URL). */
export async function servedPicture(env: E2eEnvironment, entityId: string): Promise<{ bytes: Buffer; contentType: string | null }> {
  const state = await env.state(entityId);
  const url = state?.attributes.entity_picture;
  if (typeof url !== 'string') throw new Error(`${entityId} has no entity_picture (state ${JSON.stringify(state?.state)})`);
  const answer = await env.rest.getBytes(url);
  if (answer.status !== 200) throw new Error(`GET ${url} answered HTTP ${answer.status}`);
  return answer;
}

/**
 * Waits until the entity serves exactly the bytes of `file` (the worker may still be sending a
 * picture it just wrote) and returns them, so the caller asserts on what was served.
 */
export async function waitForServedFile(env: E2eEnvironment, entityId: string, file: string): Promise<{ served: Buffer; stored: Buffer; contentType: string | null }> {
  return waitFor(
    `${entityId} to serve the bytes of ${file}`,
    async () => {
      const stored = readFileSync(file);
      const { bytes, contentType } = await servedPicture(env, entityId);
      if (!bytes.equals(stored)) {
        throw new Error(`served ${bytes.length} bytes (sha256 ${sha256(bytes).slice(0, 12)}), stored ${stored.length} (sha256 ${sha256(stored).slice(0, 12)})`);
      }
      return { served: bytes, stored, contentType };
    },
    { timeoutMs: PICTURE_TIMEOUT_MS },
  );
}
