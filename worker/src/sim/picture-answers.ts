// SIMULATION ONLY: what WhatsApp answers to a picture IQ, as a BinaryNode, for a seeded population.
// Pure: the subject's plan, the query number's luck and the clock decide everything.
//
// Shapes, from whatsmeow user.go GetProfilePictureInfo (commit 33cfac5116293e4cb86f8e4099e8eaf6de7ebc08):
//   - `<iq type=result><picture id url type direct_path/></iq>` for a picture;
//   - `<picture status="304"/>`, or no <picture> at all, when the id sent (`ExistingID`) is current;
//   - `<picture status="204"/>` for no picture, as well as the error 404 item-not-found;
//   - `<error code text/>` children for errors (401 not-authorized …), which Baileys 7.0.0-rc14
//     WABinary/generic-utils.js assertNodeErrorFree turns into `Boom(text, { data: code })`;
//   - a community's parent group asked with `w:g2` (`to` = the group, <pictures><picture
//     parent_group_jid/></pictures>) answers wrapped in <pictures>; asked with the plain
//     `w:profile:picture` it answers 401 (user.go: "otherwise you may get a 401 error").

import { createHash } from 'node:crypto';
import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys';
import { signedPictureUrl, type SimulatedCdnAddress } from './cdn.js';
import type { QueryLuck } from './luck.js';
import type { OddAnswer, SimulatedPopulation } from './population.js';

/** What the simulated WhatsApp answered, as the query log records it. */
export type SimulatedAnswerKind = 'picture' | 'unchanged' | 'none' | 'hidden' | 'rate-limited' | 'timeout' | 'community-needs-w:g2' | 'not-a-community' | OddAnswer;

export type PictureAnswer =
  | { readonly kind: Exclude<SimulatedAnswerKind, 'timeout'>; readonly node: BinaryNode; readonly host?: string }
  /** WhatsApp stays silent; the socket's own timeout ends the query. */
  | { readonly kind: 'timeout' };

export interface PictureAnswerContext {
  readonly population: SimulatedPopulation;
  readonly luck: QueryLuck;
  readonly cdn: Pick<SimulatedCdnAddress, 'pictureOrigin'>;
  readonly nowMs: number;
  readonly urlLifetimeMs: number;
  readonly timeoutShare: number;
}

// The salt for QueryLuck.draw's unchanged-shape decision (0 is the timeout's, in luck.ts).
const SALT_UNCHANGED_SHAPE = 1;
// WhatsApp's error texts for its codes (whatsmeow errors.go names the same codes).
const ERROR_TEXT: Record<number, string> = {
  400: 'bad-request',
  401: 'not-authorized',
  403: 'forbidden',
  404: 'item-not-found',
  406: 'not-acceptable',
  429: 'rate-overlimit',
};
const ODD_ERROR_CODE: Partial<Record<OddAnswer, number>> = { forbidden: 403, 'bad-request': 400, 'not-acceptable': 406 };

interface PictureRequest {
  readonly jid: string;
  readonly knownId: string | undefined;
  readonly viaCommunityQuery: boolean;
}

function readRequest(node: BinaryNode): PictureRequest | undefined {
  if (node.attrs.xmlns === 'w:profile:picture') {
    const picture = getBinaryNodeChild(node, 'picture');
    const target = node.attrs.target;
    if (target === undefined || picture === undefined) return undefined;
    return { jid: target, knownId: nonEmpty(picture.attrs.id), viaCommunityQuery: false };
  }
  const picture = getBinaryNodeChild(getBinaryNodeChild(node, 'pictures'), 'picture');
  const parent = picture?.attrs.parent_group_jid;
  if (picture === undefined || parent === undefined) return undefined;
  return { jid: parent, knownId: nonEmpty(picture.attrs.id), viaCommunityQuery: true };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

/** An `<iq type=error>` reply carrying WhatsApp's code and text. */
export function errorReply(request: BinaryNode, code: number): BinaryNode {
  return {
    tag: 'iq',
    attrs: { id: request.attrs.id ?? '', type: 'error', from: request.attrs.to ?? 's.whatsapp.net' },
    content: [{ tag: 'error', attrs: { code: String(code), text: ERROR_TEXT[code] ?? 'unknown' } }],
  };
}

function resultReply(request: BinaryNode, content: BinaryNode[], wrapped: boolean): BinaryNode {
  return {
    tag: 'iq',
    attrs: { id: request.attrs.id ?? '', type: 'result', from: request.attrs.target ?? request.attrs.to ?? 's.whatsapp.net' },
    content: wrapped ? [{ tag: 'pictures', attrs: {}, content }] : content,
  };
}

/** Answers one picture IQ (either form); `query` is the 1-based number of this picture query. */
export function answerPictureIq(context: PictureAnswerContext, node: BinaryNode, query: number): PictureAnswer {
  const { population, luck } = context;
  const failure = luck.failure(query, context.timeoutShare);
  if (failure === 'rate-limited') return { kind: 'rate-limited', node: errorReply(node, 429) };
  if (failure === 'timeout') return { kind: 'timeout' };
  const request = readRequest(node);
  // A query WhatsApp cannot parse is a bad request.
  if (request === undefined) return { kind: 'bad-request', node: errorReply(node, 400) };
  const subject = population.subject(request.jid);
  const picture = population.pictureAfterQueries(request.jid, query);
  if (subject === undefined || picture === undefined) return { kind: 'none', node: errorReply(node, 404) };
  const wrapped = request.viaCommunityQuery;
  if (subject.community === true && !wrapped) return { kind: 'community-needs-w:g2', node: errorReply(node, 401) };
  // Not confirmed from source: whatsmeow only sends the w:g2 form for communities. Refusing it
  // elsewhere shows an adapter that uses it for every group.
  if (subject.community !== true && wrapped) return { kind: 'not-a-community', node: errorReply(node, 400) };
  const odd = subject.oddAnswer;
  if (odd !== undefined) {
    const code = ODD_ERROR_CODE[odd];
    if (code !== undefined) return { kind: odd, node: errorReply(node, code) };
    if (odd === 'empty-answer') return { kind: odd, node: resultReply(node, [], false) };
  }
  if (picture.kind === 'hidden') return { kind: 'hidden', node: errorReply(node, 401) };
  if (picture.kind === 'none') {
    // Both shapes exist (whatsmeow handles 404 and status 204); which one a subject gets is fixed.
    return stableShare(request.jid) < 0.5
      ? { kind: 'none', node: errorReply(node, 404) }
      : { kind: 'none', node: resultReply(node, [{ tag: 'picture', attrs: { status: '204' } }], wrapped) };
  }
  if (odd !== 'empty-id' && request.knownId === picture.pictureId) {
    // whatsmeow: status 304, or no <picture> at all, both mean "the id you sent is current".
    const content: BinaryNode[] = luck.draw(query, SALT_UNCHANGED_SHAPE) < 0.5 ? [] : [{ tag: 'picture', attrs: { status: '304' } }];
    return { kind: 'unchanged', node: resultReply(node, content, wrapped) };
  }
  const url = signedPictureUrl(population, context.cdn, request.jid, picture.pictureId, context.nowMs + context.urlLifetimeMs);
  const attrs = {
    id: odd === 'empty-id' ? '' : picture.pictureId,
    url,
    type: node.attrs.xmlns === 'w:profile:picture' ? (getBinaryNodeChild(node, 'picture')?.attrs.type ?? 'image') : 'image',
    direct_path: new URL(url).pathname,
  };
  return { kind: odd === 'empty-id' ? 'empty-id' : 'picture', node: resultReply(node, [{ tag: 'picture', attrs }], wrapped), host: new URL(url).hostname };
}

/** A fixed number in [0, 1) per JID. */
function stableShare(jid: string): number {
  return createHash('sha256').update(jid).digest().readUInt32BE(0) / 0x1_0000_0000;
}
