// The conditional profile-picture query. Baileys' `profilePictureUrl` sends the same
// `w:profile:picture` IQ but drops the picture id of the answer and cannot send the id we already
// have. whatsmeow's `GetProfilePictureInfo` shows the protocol: the known id goes in the `id`
// attribute of `<picture>` (whatsmeow's `ExistingID`), and then
//   - an answer with `<picture id url>` is a (possibly new) picture,
//   - an answer without `<picture>`, or `<picture status="304">`, means "unchanged",
//   - `<picture status="204">` means the subject has no picture.
// Errors come back as `<error code text>` children, which Baileys' `query` raises as a Boom whose
// `data` is the numeric code (its `output.statusCode` is always 500).
//
// Read in whatsmeow user.go `GetProfilePictureInfo` (commit 33cfac5116293e4cb86f8e4099e8eaf6de7ebc08):
//   - a community's parent group is asked in namespace `w:g2`, addressed `to` the community with no
//     `target`, the `<picture>` wrapped in `<pictures>` and carrying `parent_group_jid`; the answer
//     is wrapped in `<pictures>` too. The plain query "may get a 401" (its doc comment), which
//     would store a community as hidden for good.
//   - no `<picture>` in the answer is "unchanged" only when an id was sent; without one it is an
//     error (ElementMissingError), and a `<picture>` without `id` or `url` fails its attribute
//     getter: both are unreadable answers here, never "no picture".

import { getBinaryNodeChild, S_WHATSAPP_NET, type BinaryNode } from '@whiskeysockets/baileys';
import type { PictureQueryOutcome } from '../../avatars/ports.js';
import { isBoom } from './boom.js';

/** Full size or WhatsApp's small preview: the `type` of the picture IQ. */
export const PICTURE_TYPES = ['image', 'preview'] as const;
export type PictureType = (typeof PICTURE_TYPES)[number];

export interface PictureQueryRequest {
  /** A normalised, validated contact or group JID (see parseJid). */
  readonly jid: string;
  readonly pictureType: PictureType;
  /** The picture id we stored; omitted when we have none or a forced refresh wants a URL. */
  readonly knownPictureId?: string;
  /** `<tctoken>` nodes WhatsApp Web adds for user JIDs (see privacy-token.ts). */
  readonly privacyToken?: readonly BinaryNode[];
  /** The group is a community's parent group: asked the `w:g2` way (whatsmeow `IsCommunity`). */
  readonly community?: boolean;
}

/** The one call of Baileys' socket the query needs. */
export interface PictureQuerySocket {
  query(node: BinaryNode, timeoutMs?: number): Promise<unknown>;
}

// WhatsApp's codes, as whatsmeow names them (ErrIQNotAuthorized, ErrIQNotFound, …).
const CODE_NOT_AUTHORIZED = 401;
const CODE_FORBIDDEN = 403;
const CODE_NOT_FOUND = 404;
const CODE_TIMEOUT = 408;
const CODE_RATE_OVERLIMIT = 429;
const CODE_CONNECTION_CLOSED = 428;
const STATUS_NO_PICTURE = '204';
const STATUS_NOT_MODIFIED = '304';
const SERVER_ERROR_CODES = { min: 500, max: 599 } as const;

export class PictureQueryInputError extends Error {
  override readonly name = 'PictureQueryInputError';
}

/** Builds the IQ exactly as Baileys' profilePictureUrl does, plus the known picture id; communities as whatsmeow asks them. */
export function buildPictureQuery(request: PictureQueryRequest): BinaryNode {
  if (request.pictureType !== 'image' && request.pictureType !== 'preview') {
    throw new PictureQueryInputError(`picture type must be 'image' or 'preview', not '${String(request.pictureType)}'`);
  }
  const pictureAttrs: Record<string, string> = { type: request.pictureType, query: 'url' };
  if (request.knownPictureId !== undefined && request.knownPictureId !== '') pictureAttrs.id = request.knownPictureId;
  if (request.community === true) {
    if (!request.jid.endsWith('@g.us')) throw new PictureQueryInputError(`only a group can be a community, not '${request.jid}'`);
    pictureAttrs.parent_group_jid = request.jid;
    return {
      tag: 'iq',
      attrs: { to: request.jid, type: 'get', xmlns: 'w:g2' },
      content: [{ tag: 'pictures', attrs: {}, content: [{ tag: 'picture', attrs: pictureAttrs }] }],
    };
  }
  const picture: BinaryNode = { tag: 'picture', attrs: pictureAttrs };
  if (request.privacyToken !== undefined && request.privacyToken.length > 0) picture.content = [...request.privacyToken];
  return {
    tag: 'iq',
    attrs: { target: request.jid, to: S_WHATSAPP_NET, type: 'get', xmlns: 'w:profile:picture' },
    content: [picture],
  };
}

function isBinaryNode(value: unknown): value is BinaryNode {
  return typeof value === 'object' && value !== null && typeof (value as BinaryNode).tag === 'string' && typeof (value as BinaryNode).attrs === 'object';
}

/** Classifies a WhatsApp error code (from `<error code>`, a Boom's `data`, or a `status`). */
export function classifyWhatsAppCode(code: number, text: string): PictureQueryOutcome {
  const detail = `WhatsApp answered ${Number.isFinite(code) ? code : 'an error without a code'}${text ? ` (${text})` : ''}`;
  switch (code) {
    case CODE_NOT_FOUND:
      return { kind: 'none' };
    // whatsmeow maps 401 to ErrProfilePictureUnauthorized; 403 (forbidden) is the same verdict:
    // the subject's privacy settings or a block keep the picture from us.
    case CODE_NOT_AUTHORIZED:
    case CODE_FORBIDDEN:
      return { kind: 'hidden' };
    case CODE_RATE_OVERLIMIT:
      return { kind: 'rate-limited' };
    case CODE_TIMEOUT:
      return { kind: 'transient', cause: 'timeout', detail };
    case CODE_CONNECTION_CLOSED:
      return { kind: 'transient', cause: 'socket-closed', detail };
    default:
      if (code >= SERVER_ERROR_CODES.min && code <= SERVER_ERROR_CODES.max) return { kind: 'transient', cause: 'server-error', detail };
      // 400 bad-request, 406 not-acceptable and codes nobody documents: asking again soon gets the
      // same answer, so the state machine gives them a few tries, then a long rest.
      return { kind: 'refused', reason: 'fixed-error', detail };
  }
}

function unreadable(detail: string): PictureQueryOutcome {
  return { kind: 'refused', reason: 'unreadable-answer', detail };
}

/** Classifies what `sock.query` resolved to. `community` unwraps the `<pictures>` of a w:g2 answer. */
export function classifyPictureAnswer(answer: unknown, knownPictureId: string | undefined, timeoutMs?: number, community = false): PictureQueryOutcome {
  if (answer === undefined || answer === null) {
    // Baileys 7 resolves `undefined` when its wait for the answer times out.
    const within = timeoutMs === undefined ? '' : ` within ${timeoutMs} ms`;
    return { kind: 'transient', cause: 'timeout', detail: `no answer from WhatsApp${within}` };
  }
  if (!isBinaryNode(answer)) {
    return unreadable(`unexpected answer of type ${typeof answer}`);
  }
  const error = getBinaryNodeChild(answer, 'error');
  if (error !== undefined) return classifyWhatsAppCode(Number(error.attrs.code), error.attrs.text ?? '');
  let container: BinaryNode = answer;
  if (community) {
    const wrapped = getBinaryNodeChild(answer, 'pictures');
    if (wrapped === undefined) return unreadable('WhatsApp answered a community picture query without <pictures>');
    container = wrapped;
  }
  const known = knownPictureId === '' ? undefined : knownPictureId;
  const picture = getBinaryNodeChild(container, 'picture');
  if (picture === undefined) {
    // whatsmeow: no <picture> after sending an id means "unchanged"; without an id it is an error.
    return known !== undefined ? { kind: 'unchanged', pictureId: known } : unreadable('WhatsApp answered without a <picture> to a query that sent no picture id');
  }
  const { status, id, url } = picture.attrs;
  if (status === STATUS_NOT_MODIFIED) {
    return known !== undefined ? { kind: 'unchanged', pictureId: known } : unreadable('WhatsApp answered 304 (not modified) to a query without a picture id');
  }
  if (status === STATUS_NO_PICTURE) return { kind: 'none' };
  if (status !== undefined && status !== '200') return classifyWhatsAppCode(Number(status), 'picture status');
  const hasId = id !== undefined && id !== '';
  if (url !== undefined && url !== '') {
    if (!hasId) return unreadable('WhatsApp named a picture URL without a picture id');
    if (id === known) return { kind: 'unchanged', pictureId: id };
    return { kind: 'picture', pictureId: id, url };
  }
  if (!hasId) {
    return known !== undefined ? { kind: 'unchanged', pictureId: known } : unreadable('WhatsApp answered a <picture> with neither id nor URL');
  }
  if (id === known) return { kind: 'unchanged', pictureId: id };
  return unreadable(`WhatsApp named a new picture id '${id}' without a URL`);
}


/** Classifies what `sock.query` rejected with. Never throws. */
export function classifyPictureError(error: unknown): PictureQueryOutcome {
  if (typeof error === 'number') {
    // The socket's `close` event hands its WebSocket close code to every pending query.
    return { kind: 'transient', cause: 'socket-closed', detail: `the connection closed (code ${error}) before WhatsApp answered` };
  }
  if (isBoom(error)) {
    if (typeof error.data === 'number') return classifyWhatsAppCode(error.data, error.message);
    const statusCode = error.output?.statusCode;
    if (statusCode === CODE_TIMEOUT) return { kind: 'transient', cause: 'timeout', detail: `${error.message} (408)` };
    const cause = (error.data as { code?: unknown } | undefined)?.code;
    if (typeof cause === 'string') return { kind: 'transient', cause: 'network', detail: error.message };
    // A Boom without a WhatsApp code comes from the socket (Connection Closed 428, Connection
    // Lost, Stream Errored, Query Cancelled …): the query never got its answer.
    return { kind: 'transient', cause: 'socket-closed', detail: `${error.message} (${statusCode ?? 'no code'})` };
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return { kind: 'transient', cause: 'network', detail: `${error.message}` };
    return { kind: 'transient', cause: 'server-error', detail: `${error.name}: ${error.message}` };
  }
  return { kind: 'transient', cause: 'server-error', detail: `unexpected failure: ${String(error)}` };
}

/**
 * Sends one picture query with a timeout and classifies the outcome. Resolves for every answer
 * WhatsApp or the socket can give; throws only for bad input (a missing or silly timeout).
 */
export async function queryPicture(
  socket: PictureQuerySocket,
  request: PictureQueryRequest,
  timeoutMs: number,
  querySent?: () => void,
): Promise<PictureQueryOutcome> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    // Without a timeout Baileys 7 can wait forever (or resolve undefined): always pass one.
    throw new PictureQueryInputError(`a picture query needs a positive timeout in ms, not ${timeoutMs}`);
  }
  const node = buildPictureQuery(request);
  let answer: unknown;
  try {
    querySent?.();
    answer = await socket.query(node, timeoutMs);
  } catch (error) {
    return classifyPictureError(error);
  }
  return classifyPictureAnswer(answer, request.knownPictureId, timeoutMs, request.community === true);
}
