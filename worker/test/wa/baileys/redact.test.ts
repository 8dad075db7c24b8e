import { Writable } from 'node:stream';
import { Curve, initAuthCreds } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeBaileysLogger, maskJid, maskPhoneNumber, redactForLog } from '../../../src/wa/baileys/redact.js';

function capture(level = 'trace') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

test('phone numbers keep only their last three digits', () => {
  assert.is(maskPhoneNumber('+49 170 1234567'), '…567');
  assert.is(maskJid('491701234567:12@s.whatsapp.net'), '…567:12@s.whatsapp.net');
  assert.is(maskJid('491701234567-1617000000@g.us'), '…567-…000@g.us', 'old group ids embed the creator’s number');
  assert.is(maskJid('status code 428'), 'status code 428', 'short numbers stay');
});

test('redactForLog masks numbers, hides bytes and secret fields, and cuts deep nesting', () => {
  const safe = redactForLog({
    jid: '491701234567@s.whatsapp.net',
    creds: initAuthCreds(),
    noiseKey: Curve.generateKeyPair(),
    payload: Buffer.from('abc'),
    nested: { a: { b: { c: { d: { e: 1 } } } } },
    err: Object.assign(new Error('connect ECONNREFUSED to 491701234567'), { code: 'ECONNREFUSED' }),
  }) as Record<string, unknown>;
  assert.is(safe.jid, '…567@s.whatsapp.net');
  assert.is(safe.creds, '[redacted]');
  assert.is(safe.noiseKey, '[redacted]');
  assert.is(safe.payload, '[3 bytes]');
  assert.equal(safe.err, { type: 'Error', message: 'connect ECONNREFUSED to …567', code: 'ECONNREFUSED' });
  assert.ok(JSON.stringify(safe.nested).includes('[object]'));
});

test("Baileys' logger is quiet and masks what it logs", () => {
  const { logger, lines } = capture();
  const baileys = makeBaileysLogger(logger, 'warn');
  baileys.info({ me: { id: '491701234567:3@s.whatsapp.net' } }, 'pairing configured successfully');
  assert.is(lines.length, 0, 'info is below the quiet level');
  const creds = initAuthCreds();
  baileys.child({ class: 'baileys' }).warn({ lid: '123456789012345@lid', pn: '491701234567@s.whatsapp.net', creds }, 'Failed to store LID-PN mapping for 491701234567');
  assert.is(lines.length, 1);
  const line = lines[0]!;
  assert.not.match(line, '491701234567');
  assert.not.match(line, '123456789012345');
  assert.not.match(line, creds.advSecretKey);
  assert.not.match(line, Buffer.from(creds.noiseKey.private).toString('base64'));
  const parsed = JSON.parse(line) as Record<string, unknown>;
  assert.is(parsed.module, 'baileys');
  assert.is(parsed.pn, '…567@s.whatsapp.net');
  assert.is(parsed.msg, 'Failed to store LID-PN mapping for …567');
});

test("the LID store's warning about the USync lookup this worker switched off stays at debug", () => {
  const { logger, lines } = capture();
  const baileys = makeBaileysLogger(logger, 'warn');
  baileys.warn('USync fetch yielded no results for pending PNs');
  assert.is(lines.length, 0, 'expected on every message from an unknown phone number: not a warning');
  baileys.warn('some other trouble');
  assert.is(lines.length, 1, 'other warnings still show');
});

test.run();
