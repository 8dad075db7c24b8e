import { Boom } from '@hapi/boom';
import { assertNodeErrorFree, decodeBinaryNode, DisconnectReason, encodeBinaryNode, type BinaryNode } from '@whiskeysockets/baileys';
import { buildProfilePictureQueryContent } from '@whiskeysockets/baileys/lib/Socket/chats.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PictureQueryOutcome } from '../../../src/avatars/ports.js';
import {
  buildPictureQuery,
  classifyPictureAnswer,
  PictureQueryInputError,
  queryPicture,
  type PictureQueryRequest,
  type PictureQuerySocket,
} from '../../../src/wa/baileys/picture-query.js';

const CONTACT = '491701234567@s.whatsapp.net';
const GROUP = '120363025246125486@g.us';
const TIMEOUT_MS = 15_000;

/** Sends the node through Baileys' real encoder and decoder, as it would cross the wire. */
async function overTheWire(node: BinaryNode): Promise<BinaryNode> {
  return decodeBinaryNode(encodeBinaryNode(node));
}

/** A socket whose `query` behaves like Baileys': error children are raised as Boom. */
function answering(answer: BinaryNode | undefined): PictureQuerySocket & { sent: { node: BinaryNode; timeoutMs?: number }[] } {
  const sent: { node: BinaryNode; timeoutMs?: number }[] = [];
  return {
    sent,
    async query(node, timeoutMs) {
      sent.push({ node: await overTheWire(node), timeoutMs });
      if (answer === undefined) return undefined;
      const received = await overTheWire(answer);
      assertNodeErrorFree(received);
      return received;
    },
  };
}

function failing(error: unknown): PictureQuerySocket {
  return {
    async query() {
      throw error;
    },
  };
}

function result(attrs: Record<string, string>, children: BinaryNode[] = []): BinaryNode {
  return { tag: 'iq', attrs: { from: 's.whatsapp.net', type: 'result', id: '1.2-3', ...attrs }, content: children };
}

const request = (extra: Partial<PictureQueryRequest> = {}): PictureQueryRequest => ({ jid: CONTACT, pictureType: 'image', ...extra });

test('the IQ is the one profilePictureUrl sends, plus the known id on <picture>', async () => {
  const sent = await overTheWire(buildPictureQuery(request({ knownPictureId: '1718000000' })));
  assert.equal(sent, {
    tag: 'iq',
    // Baileys addresses the server as '@s.whatsapp.net' (S_WHATSAPP_NET); a leaf has no content.
    attrs: { target: CONTACT, to: '@s.whatsapp.net', type: 'get', xmlns: 'w:profile:picture' },
    content: [{ tag: 'picture', attrs: { type: 'image', query: 'url', id: '1718000000' }, content: undefined }],
  });
});

test("without a known id the <picture> child equals Baileys' own buildProfilePictureQueryContent", async () => {
  for (const pictureType of ['image', 'preview'] as const) {
    const ours = await overTheWire(buildPictureQuery({ jid: GROUP, pictureType }));
    const theirs = await overTheWire({ tag: 'iq', attrs: { target: GROUP, to: '@s.whatsapp.net', type: 'get', xmlns: 'w:profile:picture' }, content: buildProfilePictureQueryContent(pictureType, undefined) });
    assert.equal(ours, theirs, pictureType);
  }
});

test('a privacy token rides inside <picture> as Baileys sends it', async () => {
  const token: BinaryNode = { tag: 'tctoken', attrs: { t: '1767225600' }, content: Buffer.from('token-bytes') };
  const ours = await overTheWire(buildPictureQuery(request({ privacyToken: [token] })));
  const theirs = await overTheWire({ tag: 'iq', attrs: { target: CONTACT, to: '@s.whatsapp.net', type: 'get', xmlns: 'w:profile:picture' }, content: buildProfilePictureQueryContent('image', [token]) });
  assert.equal(ours, theirs);
});

test('an empty known id is not sent', async () => {
  const sent = await overTheWire(buildPictureQuery(request({ knownPictureId: '' })));
  assert.equal((sent.content as BinaryNode[])[0]!.attrs, { type: 'image', query: 'url' });
});

test('the query always goes out with the timeout', async () => {
  const socket = answering(result({}, [{ tag: 'picture', attrs: { id: '5', url: 'https://pps.whatsapp.net/v/t61/a.jpg?oe=6A' } }]));
  await queryPicture(socket, request(), TIMEOUT_MS);
  assert.is(socket.sent.length, 1);
  assert.is(socket.sent[0]!.timeoutMs, TIMEOUT_MS);
});

test('a missing, zero or negative timeout is refused before anything is sent', async () => {
  for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const socket = answering(undefined);
    let failure: unknown;
    try {
      await queryPicture(socket, request(), timeoutMs);
    } catch (error) {
      failure = error;
    }
    assert.instance(failure, PictureQueryInputError, String(timeoutMs));
    assert.is(socket.sent.length, 0);
  }
});

const answers: [string, BinaryNode, string | undefined, PictureQueryOutcome][] = [
  [
    'a picture with url and id',
    result({}, [{ tag: 'picture', attrs: { id: '1718000001', url: 'https://pps.whatsapp.net/v/t61/b.jpg?oe=6A', type: 'image', direct_path: '/v/t61/b.jpg' } }]),
    '1718000000',
    { kind: 'picture', pictureId: '1718000001', url: 'https://pps.whatsapp.net/v/t61/b.jpg?oe=6A' },
  ],
  ['a picture when we knew none', result({}, [{ tag: 'picture', attrs: { id: '9', url: 'https://pps.whatsapp.net/c.jpg' } }]), undefined, { kind: 'picture', pictureId: '9', url: 'https://pps.whatsapp.net/c.jpg' }],
  ['the same id again, even with a url', result({}, [{ tag: 'picture', attrs: { id: '7', url: 'https://pps.whatsapp.net/d.jpg' } }]), '7', { kind: 'unchanged', pictureId: '7' }],
  ['no <picture> after sending an id', result({}), '7', { kind: 'unchanged', pictureId: '7' }],
  ['status 304', result({}, [{ tag: 'picture', attrs: { status: '304' } }]), '7', { kind: 'unchanged', pictureId: '7' }],
  ['the same id without a url', result({}, [{ tag: 'picture', attrs: { id: '7', type: 'image' } }]), '7', { kind: 'unchanged', pictureId: '7' }],
  ['status 204', result({}, [{ tag: 'picture', attrs: { status: '204' } }]), '7', { kind: 'none' }],
];

for (const [name, answer, known, expected] of answers) {
  test(`answer: ${name}`, async () => {
    assert.equal(await queryPicture(answering(answer), request({ knownPictureId: known }), TIMEOUT_MS), expected);
  });
}

// whatsmeow user.go GetProfilePictureInfo (33cfac51): without an id sent, a missing <picture> is
// an ElementMissingError, and `id`/`url` are required attributes. None of these is "no picture".
const unreadableAnswers: [string, BinaryNode, string | undefined][] = [
  ['an empty answer to a query that sent no id', result({}), undefined],
  ['a url with an empty id', result({}, [{ tag: 'picture', attrs: { id: '', url: 'https://pps.whatsapp.net/e.jpg' } }]), '7'],
  ['a url without an id', result({}, [{ tag: 'picture', attrs: { url: 'https://pps.whatsapp.net/e.jpg' } }]), undefined],
  ['a new id without a url', result({}, [{ tag: 'picture', attrs: { id: '8' } }]), '7'],
  ['304 to a query that sent no id', result({}, [{ tag: 'picture', attrs: { status: '304' } }]), undefined],
  ['a <picture> with neither id nor url, no id sent', result({}, [{ tag: 'picture', attrs: { type: 'image' } }]), undefined],
];

for (const [name, answer, known] of unreadableAnswers) {
  test(`answer: ${name} is refused as unreadable, never none`, async () => {
    const outcome = await queryPicture(answering(answer), request({ knownPictureId: known }), TIMEOUT_MS);
    assert.is(outcome.kind, 'refused');
    assert.is(outcome.kind === 'refused' && outcome.reason, 'unreadable-answer');
    assert.ok(outcome.kind === 'refused' && outcome.detail.length > 0, 'the detail says what was wrong');
  });
}

const errorNodes: [string, string, PictureQueryOutcome['kind'], string?][] = [
  ['404', 'item-not-found', 'none'],
  ['401', 'not-authorized', 'hidden'],
  ['403', 'forbidden', 'hidden'],
  ['429', 'rate-overlimit', 'rate-limited'],
  ['408', 'timeout', 'transient', 'timeout'],
  ['500', 'internal-server-error', 'transient', 'server-error'],
  ['503', 'service-unavailable', 'transient', 'server-error'],
  ['400', 'bad-request', 'refused', 'fixed-error'],
  ['406', 'not-acceptable', 'refused', 'fixed-error'],
  ['419', 'something-new', 'refused', 'fixed-error'],
];

for (const [code, text, kind, cause] of errorNodes) {
  test(`an <error code="${code}"> answer, raised by Baileys' assertNodeErrorFree, is ${kind}`, async () => {
    const answer = result({ type: 'error' }, [{ tag: 'error', attrs: { code, text } }]);
    const outcome = await queryPicture(answering(answer), request(), TIMEOUT_MS);
    assert.is(outcome.kind, kind);
    if (cause !== undefined) {
      const actual = outcome.kind === 'transient' ? outcome.cause : outcome.kind === 'refused' ? outcome.reason : undefined;
      assert.is(actual, cause);
      assert.match(outcome.kind === 'transient' || outcome.kind === 'refused' ? outcome.detail : '', code);
    }
  });
}

test('an <error> child handed back unraised is classified the same way', () => {
  assert.equal(classifyPictureAnswer(result({ type: 'error' }, [{ tag: 'error', attrs: { code: '429', text: 'rate-overlimit' } }]), undefined), { kind: 'rate-limited' });
});

const thrown: [string, unknown, PictureQueryOutcome['kind'], string?][] = [
  ['Boom with data 404', new Boom('item-not-found', { data: 404 }), 'none'],
  ['Boom with data 401', new Boom('not-authorized', { data: 401 }), 'hidden'],
  ['Boom with data 429', new Boom('rate-overlimit', { data: 429 }), 'rate-limited'],
  ['Boom with data 408', new Boom('timeout', { data: 408 }), 'transient', 'timeout'],
  ['Boom with data 503', new Boom('service-unavailable', { data: 503 }), 'transient', 'server-error'],
  ['Boom with data 403', new Boom('forbidden', { data: 403 }), 'hidden'],
  ['Boom with data 406', new Boom('not-acceptable', { data: 406 }), 'refused'],
  ["Baileys' own 'Timed Out'", new Boom('Timed Out', { statusCode: DisconnectReason.timedOut, data: { stack: 'at …' } }), 'transient', 'timeout'],
  ['a bare close code', 1006, 'transient', 'socket-closed'],
  ["'Connection Closed' (428)", new Boom('Connection Closed', { statusCode: DisconnectReason.connectionClosed }), 'transient', 'socket-closed'],
  ["'Query Cancelled'", new Boom('Query Cancelled'), 'transient', 'socket-closed'],
  ['a Node network error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'transient', 'network'],
  ['an unknown error', new TypeError('cannot read properties of undefined'), 'transient', 'server-error'],
  ['a thrown string', 'boom', 'transient', 'server-error'],
];

for (const [name, error, kind, cause] of thrown) {
  test(`a rejection with ${name} is ${kind}${cause ? ` (${cause})` : ''}`, async () => {
    const outcome = await queryPicture(failing(error), request(), TIMEOUT_MS);
    assert.is(outcome.kind, kind);
    if (cause !== undefined) {
      assert.is(outcome.kind === 'transient' && outcome.cause, cause);
      assert.ok(outcome.kind === 'transient' && outcome.detail.length > 0, 'a detail says what happened');
    }
  });
}

test('an undefined resolution (Baileys 7 timing out) is a transient timeout, never none', async () => {
  const outcome = await queryPicture(answering(undefined), request({ knownPictureId: '7' }), TIMEOUT_MS);
  assert.is(outcome.kind, 'transient');
  assert.is(outcome.kind === 'transient' && outcome.cause, 'timeout');
  assert.match(outcome.kind === 'transient' ? outcome.detail : '', String(TIMEOUT_MS));
});

test("a community's parent group is asked the w:g2 way whatsmeow uses, with no privacy token", async () => {
  const token: BinaryNode = { tag: 'tctoken', attrs: { t: '1767225600' }, content: Buffer.from('t') };
  const sent = await overTheWire(buildPictureQuery({ jid: GROUP, pictureType: 'preview', knownPictureId: '3', community: true, privacyToken: [token] }));
  assert.equal(sent, {
    tag: 'iq',
    attrs: { to: GROUP, type: 'get', xmlns: 'w:g2' },
    content: [{ tag: 'pictures', attrs: {}, content: [{ tag: 'picture', attrs: { type: 'preview', query: 'url', id: '3', parent_group_jid: GROUP }, content: undefined }] }],
  });
  assert.throws(() => buildPictureQuery({ jid: CONTACT, pictureType: 'image', community: true }), (error: Error) => error instanceof PictureQueryInputError);
});

test('a community answer is read inside <pictures>; without it the answer is unreadable', async () => {
  const wrapped = result({}, [{ tag: 'pictures', attrs: {}, content: [{ tag: 'picture', attrs: { id: '4', url: 'https://pps.whatsapp.net/g.jpg' } }] }]);
  assert.equal(await queryPicture(answering(wrapped), { jid: GROUP, pictureType: 'image', community: true }, TIMEOUT_MS), { kind: 'picture', pictureId: '4', url: 'https://pps.whatsapp.net/g.jpg' });
  const bare = result({}, [{ tag: 'picture', attrs: { id: '4', url: 'https://pps.whatsapp.net/g.jpg' } }]);
  const outcome = await queryPicture(answering(bare), { jid: GROUP, pictureType: 'image', community: true }, TIMEOUT_MS);
  assert.is(outcome.kind === 'refused' && outcome.reason, 'unreadable-answer');
  const denied = result({ type: 'error' }, [{ tag: 'error', attrs: { code: '401', text: 'not-authorized' } }]);
  assert.is((await queryPicture(answering(denied), { jid: GROUP, pictureType: 'image', community: true }, TIMEOUT_MS)).kind, 'hidden');
});

test('a picture type other than image or preview is refused', () => {
  assert.throws(() => buildPictureQuery({ jid: CONTACT, pictureType: 'large' as 'image' }), (error: Error) => error instanceof PictureQueryInputError && /large/.test(error.message));
});

test.run();
