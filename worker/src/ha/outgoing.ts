// The worker's check of what it sends Home Assistant, before it goes on the wire: HA closes the
// whole connection on a message over its 4 MiB limit, and refuses a picture over its cap again
// and again if the worker keeps sending it. The shapes themselves are checked in the tests, against
// protocol/protocol.json's JSON Schemas.

import { MAX_DIRECTORY_CHUNK_ENTRIES, MAX_PICTURE_BYTES, MAX_UPSTREAM_MESSAGE_BYTES, type AvatarUpdate, type WorkerCommands } from './protocol.js';

type UpstreamCommand = keyof WorkerCommands;

/** UTF-8 bytes of the message as it goes on the wire (`id` as a generous 10 digits). */
export function upstreamMessageBytes<K extends UpstreamCommand>(type: K, request: WorkerCommands[K]['request']): number {
  return Buffer.byteLength(JSON.stringify({ id: 9_999_999_999, ...request, type }), 'utf8');
}

/** Bytes a base64 text decodes to (no decoding needed). */
export function base64DecodedBytes(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}

/** Why HA would refuse (or drop the connection over) this message, or undefined when it may go. */
export function outgoingProblem<K extends UpstreamCommand>(type: K, request: WorkerCommands[K]['request']): string | undefined {
  if (type === 'whatsapp/avatar') {
    const image = (request as AvatarUpdate).image;
    if (image !== null && base64DecodedBytes(image) > MAX_PICTURE_BYTES) {
      return `the picture is ${base64DecodedBytes(image)} bytes, over the ${MAX_PICTURE_BYTES} bytes Home Assistant accepts`;
    }
  }
  if (type === 'whatsapp/directory') {
    const entries = (request as WorkerCommands['whatsapp/directory']['request']).entries.length;
    if (entries > MAX_DIRECTORY_CHUNK_ENTRIES) return `the directory chunk has ${entries} entries, over ${MAX_DIRECTORY_CHUNK_ENTRIES}`;
  }
  const bytes = upstreamMessageBytes(type, request);
  if (bytes > MAX_UPSTREAM_MESSAGE_BYTES) {
    return `${type} is ${bytes} bytes, over the ${MAX_UPSTREAM_MESSAGE_BYTES} bytes Home Assistant's websocket takes in one message`;
  }
  return undefined;
}

/**
 * The update as it may go up: a picture over HA's cap (or one that would push the message over
 * the limit) goes without its bytes, so HA keeps the state and the last picture it has.
 */
export function withinPictureCap(update: AvatarUpdate): { update: AvatarUpdate; dropped?: string } {
  if (update.image === null) return { update };
  const problem = outgoingProblem('whatsapp/avatar', update);
  return problem === undefined ? { update } : { update: { ...update, image: null }, dropped: problem };
}
