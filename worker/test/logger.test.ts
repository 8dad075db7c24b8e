// One logging policy: whatever a log call passes (a JID in a field, in the message, in a child's
// bindings, in an error), the line that leaves the logger shows only the last digits.

import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/logger.js';
import { prettyLogLine } from '../src/log-format.js';
import { maskLogLine } from '../src/log-redaction.js';

function capturedLogger(format: 'json' | 'pretty' = 'json') {
  const lines: string[] = [];
  return { logger: createLogger('debug', 'test', { write: (line: string) => lines.push(line) }, format, { timeZone: 'UTC' }), lines };
}

const SECRETS = ['491701234567', '491701234568', '123456789012345', '491701234569', '1617000000', '491701234570', '1234571'];

function logEverySecretKind(logger: ReturnType<typeof createLogger>): void {
  logger.child({ subject: '491701234567@s.whatsapp.net' }).info(
    { jid: '491701234568@s.whatsapp.net', lid: '123456789012345@lid', group: '491701234569-1617000000@g.us', queued: 123456, err: new Error('no answer for 491701234570') },
    'picture checked for +49 170 1234571',
  );
}

test('JIDs and phone numbers are masked in every part of a line; numbers that are not text stay', () => {
  const { logger, lines } = capturedLogger();
  logEverySecretKind(logger);
  assert.is(lines.length, 1);
  const line = lines[0]!;
  for (const secret of SECRETS) assert.not.ok(line.includes(secret), `${secret} leaked: ${line}`);
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.is(parsed.subject, '…567@s.whatsapp.net');
  assert.is(parsed.jid, '…568@s.whatsapp.net');
  assert.is(parsed.lid, '…345@lid');
  assert.is(parsed.group, '…569-…000@g.us');
  assert.is(parsed.queued, 123456, 'a count is a number, not a phone number');
  assert.type(parsed.time, 'number');
  assert.ok(String(parsed.msg).endsWith('+49 170 …571'), String(parsed.msg));
});

test('pretty: one readable line per event, masked as the JSON line is', () => {
  const { logger, lines } = capturedLogger('pretty');
  logEverySecretKind(logger);
  assert.is(lines.length, 1);
  const line = lines[0]!;
  for (const secret of SECRETS) assert.not.ok(line.includes(secret), `${secret} leaked: ${line}`);
  assert.ok(line.endsWith('\n') && line.indexOf('\n') === line.length - 1, 'exactly one line');
  assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO  picture checked for \+49 170 …571  /);
  assert.match(line, /  subject=…567@s\.whatsapp\.net  jid=…568@s\.whatsapp\.net  lid=…345@lid  group=…569-…000@g\.us  queued=123456  /);
  // The error by its message only: a stack belongs in the JSON lines.
  assert.match(line, /  err="no answer for …570"\n$/);
  assert.not.ok(line.includes('"level"') || line.includes('test'), line);
});

test('pretty: time in the given zone, level words, the component in brackets, newlines kept inside the line', () => {
  const line = prettyLogLine('{"level":40,"time":1764633220123,"name":"whatsapp-worker","component":"whatsapp","msg":"connection closed\\nreconnecting","retryInMs":5000,"reason":"stream errored"}', { timeZone: 'UTC' });
  assert.is(line, '2025-12-01 23:53:40.123 WARN  [whatsapp] connection closed\\nreconnecting  retryInMs=5000  reason="stream errored"\n');
  assert.is(prettyLogLine('{"level":50,"time":1764633220123,"msg":"x"}', { timeZone: 'Europe/Berlin' }), '2025-12-02 00:53:40.123 ERROR x\n');
  assert.is(prettyLogLine('not json\n'), 'not json\n', 'what is not a pino line passes as it is');
});

test('the line formatter masks inside JSON strings only, escaped quotes included', () => {
  assert.is(maskLogLine('{"time":1767225600000,"msg":"a \\"491701234567\\" b"}'), '{"time":1767225600000,"msg":"a \\"…567\\" b"}');
});

test('an unmasked pino logger would have leaked the JID (the check can fail)', () => {
  const lines: string[] = [];
  pino({ base: undefined }, { write: (line: string) => lines.push(line) }).info({ jid: '491701234567@s.whatsapp.net' }, 'x');
  assert.ok(lines[0]!.includes('491701234567'));
});

test.run();
