// The worker's copy of the wire protocol against protocol/protocol.json, the one description both
// sides are checked against (tests/test_protocol.py checks the integration's): the version, the
// limits the worker enforces, the enums, the defaults and HA's error codes are equal; the JSON
// Schemas use exactly the description's limits; the golden fixtures are accepted or refused by the
// schemas, the worker's outgoing check and its parser of downstream messages as they say.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { malformedCallResult } from '../../src/ha/calls.js';
import { directoryTransfer, wireName } from '../../src/ha/directory-chunks.js';
import { parseDownstream } from '../../src/ha/downstream.js';
import { outgoingProblem, withinPictureCap } from '../../src/ha/outgoing.js';
import * as protocol from '../../src/ha/protocol.js';
import type { AvatarUpdate, DirectoryEntry, WorkerCommands } from '../../src/ha/protocol.js';
import {
  description,
  downstreamFixtures,
  downstreamSchemaProblem,
  entriesOf,
  upstreamFixtures,
  upstreamSchemaProblem,
} from '../support/protocol-description.js';

const exported = protocol as unknown as Record<string, unknown>;
const limit = (name: string): number => {
  const entry = description.limits[name];
  if (entry === undefined) throw new Error(`protocol.json has no limit ${name}`);
  return entry.value;
};
const base64Length = (bytes: number): number => 4 * Math.ceil(bytes / 3);

test('the protocol version is the description\'s', () => {
  assert.is(protocol.PROTOCOL_VERSION, description.protocol_version);
});

test('every limit the worker checks is exported under its name, with the description\'s value, and no other', () => {
  const workerLimits = Object.entries(description.limits).filter(([, entry]) => entry.checked_by.includes('worker'));
  assert.ok(workerLimits.length > 0);
  for (const [name, entry] of workerLimits) {
    assert.is(exported[name.toUpperCase()], entry.value, `protocol.ts ${name.toUpperCase()} (protocol.json limits.${name})`);
  }
  // A limit declared here but not in the description (or not marked as the worker's) is a copy
  // the other side does not know about.
  const declared = Object.keys(exported).filter((key) => key.startsWith('MAX_'));
  assert.equal(declared.sort(), workerLimits.map(([name]) => name.toUpperCase()).sort());
});

test('the enums are the description\'s', () => {
  const enumOf = (name: string): unknown => description.$defs[name]?.enum;
  assert.equal([...protocol.CONNECTION_STATES], enumOf('connection_state'));
  assert.equal([...protocol.AVATAR_STATES], enumOf('avatar_state'));
  assert.equal([...protocol.SUBJECT_KINDS], enumOf('subject_kind'));
  assert.equal([...protocol.REFRESH_SCOPES], enumOf('refresh_scope'));
  assert.equal([...protocol.CALL_ERROR_CODES], enumOf('call_error_code'));
  assert.equal([...protocol.SERVICES], enumOf('service'));
});

test('the call defaults are the description\'s', () => {
  assert.equal(protocol.CALL_DEFAULTS, description.defaults);
});

test('the worker knows every error code HA answers with, and no other', () => {
  assert.equal([...protocol.HA_ERROR_CODES].sort(), entriesOf(description.ha_errors).map(([code]) => code).sort());
});

test('the JSON Schemas use exactly the description\'s limits and enums', () => {
  const up = (type: string): Record<string, any> => (description.upstream[type] as { request: Record<string, any> }).request;
  const defs = description.$defs as Record<string, any>;
  const pairs: [string, unknown, number][] = [
    ['names', defs.optional_name.maxLength, limit('max_name_length')],
    ['picture base64', up('whatsapp/avatar').properties.image.maxLength, base64Length(limit('max_picture_bytes'))],
    ['pairing QR base64', up('whatsapp/status').properties.pairing.oneOf[1].properties.qr_image.maxLength, base64Length(limit('max_pairing_qr_bytes'))],
    ['pairing QR text', up('whatsapp/status').properties.pairing.oneOf[1].properties.qr.maxLength, limit('max_pairing_qr_text_length')],
    ['pairing code', up('whatsapp/status').properties.pairing.oneOf[1].properties.code.maxLength, limit('max_pairing_code_length')],
    ['connection reason', up('whatsapp/status').properties.connection_detail.maxLength, limit('max_connection_detail_length')],
    ['worker version', up('whatsapp/hello').properties.worker_version.maxLength, limit('max_worker_version_length')],
    ['worker id', up('whatsapp/hello').properties.worker_id.maxLength, limit('max_worker_id_length')],
    ['call error message', up('whatsapp/call_result').oneOf[1].properties.error.properties.message.maxLength, limit('max_call_error_message_length')],
    ['chunk entries', up('whatsapp/directory').properties.entries.maxItems, limit('max_directory_chunk_entries')],
    ['chunks', up('whatsapp/directory').properties.chunks.maximum, limit('max_directory_chunks')],
    ['chunk index', up('whatsapp/directory').properties.chunk.maximum, limit('max_directory_chunks') - 1],
  ];
  for (const [what, inSchema, expected] of pairs) assert.is(inSchema, expected, what);
  const call = (description.downstream.call as { message: Record<string, any> }).message;
  assert.is(call.oneOf[0].properties.data.properties.wait.maximum, limit('max_wait_seconds'));
  for (const name of ['connection_state', 'avatar_state', 'subject_kind', 'refresh_scope', 'call_error_code', 'service']) {
    assert.ok(Array.isArray(defs[name].enum), name);
  }
});

test('valid upstream fixtures fit the schemas and pass the worker\'s outgoing check', () => {
  assert.ok(upstreamFixtures.valid.length >= 10);
  for (const fixture of upstreamFixtures.valid) {
    assert.is(upstreamSchemaProblem(fixture.type, fixture.payload), undefined, fixture.name);
    const type = fixture.type as keyof WorkerCommands;
    assert.is(outgoingProblem(type, fixture.payload as unknown as WorkerCommands[typeof type]['request']), undefined, fixture.name);
  }
});

test('invalid upstream fixtures: the schemas refuse those the integration refuses by shape, and accept those it refuses by content', () => {
  assert.ok(upstreamFixtures.invalid.length >= 20);
  for (const fixture of upstreamFixtures.invalid) {
    const problem = upstreamSchemaProblem(fixture.type, fixture.payload);
    if (fixture.schema_valid === true) {
      assert.is(problem, undefined, `${fixture.name}: only the integration's content or state checks refuse it`);
      assert.is.not(fixture.error, 'invalid_format', `${fixture.name}: a refusal by shape is the schema's too`);
    } else {
      assert.type(problem, 'string', `${fixture.name}: the schema refuses it`);
    }
    assert.ok((protocol.HA_ERROR_CODES as readonly string[]).includes(fixture.error!), `${fixture.name}: ${fixture.error} is a known code`);
  }
});

test('valid downstream fixtures fit the schemas and parse into what they say, defaults filled in', () => {
  for (const fixture of downstreamFixtures.valid) {
    assert.is(downstreamSchemaProblem(fixture.message), undefined, fixture.name);
    assert.equal(parseDownstream(fixture.message), { ok: true, message: fixture.parsed }, fixture.name);
  }
});

test('invalid downstream fixtures are refused by the schemas and by the parser, a call answered with its code', () => {
  for (const fixture of downstreamFixtures.invalid) {
    assert.type(downstreamSchemaProblem(fixture.message), 'string', fixture.name);
    const parsed = parseDownstream(fixture.message);
    assert.ok(!parsed.ok, fixture.name);
    if (parsed.ok) continue;
    assert.ok(parsed.reason.includes(fixture.reason!), `${fixture.name}: ${parsed.reason}`);
    if (fixture.answer === undefined) {
      assert.is(parsed.callId, undefined, fixture.name);
      continue;
    }
    const answer = malformedCallResult(parsed.callId!, parsed.reason, parsed.badJid === true);
    assert.equal(answer.ok ? undefined : answer.error.code, fixture.answer, fixture.name);
    assert.is(upstreamSchemaProblem('whatsapp/call_result', answer), undefined, `${fixture.name}: the answer fits`);
  }
});

function entry(index: number, name: string | null = `Contact ${index}`): DirectoryEntry {
  return { jid: `49170${String(index).padStart(7, '0')}@s.whatsapp.net`, kind: 'contact', name, state: 'unknown' };
}

test('a directory of 200,000 goes up in chunks that fit the schema and stay far below HA\'s message limit', () => {
  const entries = Array.from({ length: 200_000 }, (_, index) => entry(index));
  const { chunks, leftOut } = directoryTransfer(entries, 'transfer-1');
  assert.is(leftOut, 0);
  assert.ok(chunks.length >= 40, `${chunks.length} chunks`);
  assert.equal(
    chunks.map((chunk) => chunk.chunk),
    chunks.map((_, index) => index),
  );
  assert.ok(chunks.every((chunk) => chunk.chunks === chunks.length && chunk.transfer_id === 'transfer-1'));
  assert.is(chunks.reduce((sum, chunk) => sum + chunk.entries.length, 0), 200_000);
  for (const chunk of [chunks[0]!, chunks.at(-1)!]) {
    assert.is(upstreamSchemaProblem('whatsapp/directory', chunk), undefined);
    assert.is(outgoingProblem('whatsapp/directory', chunk), undefined);
  }
});

test('long names are cut to the limit and chunks stay under the byte budget whatever the names', () => {
  const longest = '😀'.repeat(400);
  const cut = wireName(longest)!;
  assert.ok(cut.length <= limit('max_name_length'));
  assert.not.match(cut, /[\uD800-\uDBFF]$/, 'no half of a surrogate pair');
  const entries = Array.from({ length: 20_000 }, (_, index) => entry(index, longest));
  const { chunks } = directoryTransfer(entries, 't');
  for (const chunk of chunks) {
    assert.ok(Buffer.byteLength(JSON.stringify(chunk.entries)) <= limit('max_directory_chunk_bytes') + 2);
    assert.is(outgoingProblem('whatsapp/directory', chunk), undefined);
  }
  assert.is(upstreamSchemaProblem('whatsapp/directory', chunks[0]), undefined);
});

test('a directory over HA\'s maximum sends the first entries and says how many it left out', () => {
  const max = limit('max_directory_entries');
  const { chunks, leftOut } = directoryTransfer(
    Array.from({ length: max + 3 }, (_, index) => entry(index, null)),
    't',
  );
  assert.is(leftOut, 3);
  assert.is(chunks.reduce((sum, chunk) => sum + chunk.entries.length, 0), max);
});

test('an empty directory is one empty chunk, so HA learns the directory is empty', () => {
  const { chunks } = directoryTransfer([], 't');
  assert.equal(chunks, [{ transfer_id: 't', chunk: 0, chunks: 1, entries: [] }]);
});

function update(imageBytes: number): AvatarUpdate {
  return {
    jid: '491701234567@s.whatsapp.net',
    kind: 'contact',
    name: 'Anna',
    state: 'fetched',
    picture_id: '1',
    sha256: 'a'.repeat(64),
    checked_at: null,
    changed_at: null,
    image: Buffer.alloc(imageBytes, 0xff).toString('base64'),
  };
}

test('a picture at the cap goes with its bytes; one byte over goes without them, with the reason', () => {
  const max = limit('max_picture_bytes');
  assert.equal(withinPictureCap(update(max)), { update: update(max) });
  const over = withinPictureCap(update(max + 1));
  assert.is(over.update.image, null);
  assert.match(over.dropped ?? '', `over the ${max} bytes Home Assistant accepts`);
  assert.is(upstreamSchemaProblem('whatsapp/avatar', update(max)), undefined, 'the schema takes a picture at the cap');
  assert.type(upstreamSchemaProblem('whatsapp/avatar', update(max + 3)), 'string', 'and refuses one a base64 group over it');
});

test('a message over HA\'s limit is caught before it is sent', () => {
  const status = { ...(upstreamFixtures.valid.find((fixture) => fixture.type === 'whatsapp/status')!.payload as object) };
  const huge = { ...status, pairing: { qr: null, qr_image: 'A'.repeat(limit('max_upstream_message_bytes')), code: null } };
  assert.match(outgoingProblem('whatsapp/status', huge as never) ?? '', /over the \d+ bytes Home Assistant's websocket takes/);
});

test.run();
