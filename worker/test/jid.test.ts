// JID validation: the gate between WhatsApp's addresses and file names on disk.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hasProfilePicture, InvalidJidError, parseJid, requireJid } from '../src/jid.js';

test('contact, LID and group JIDs are accepted and normalised', () => {
  assert.equal(parseJid('491701234567@s.whatsapp.net'), { ok: true, jid: '491701234567@s.whatsapp.net', kind: 'contact' });
  assert.equal(parseJid('491701234567:12@s.whatsapp.net'), { ok: true, jid: '491701234567@s.whatsapp.net', kind: 'contact' });
  assert.equal(parseJid('491701234567@c.us'), { ok: true, jid: '491701234567@s.whatsapp.net', kind: 'contact' });
  assert.equal(parseJid(' 123456789012345@lid '), { ok: true, jid: '123456789012345@lid', kind: 'contact' });
  assert.equal(parseJid('120363012345678901@g.us'), { ok: true, jid: '120363012345678901@g.us', kind: 'group' });
  assert.equal(parseJid('491701234567-1600000000@g.us'), { ok: true, jid: '491701234567-1600000000@g.us', kind: 'group' });
});

const refusals: [unknown, RegExp][] = [
  [42, /must be a string/],
  ['', /empty/],
  ['4917/01234@s.whatsapp.net', /'\/' \(a path separator\)/],
  ['4917\\01234@s.whatsapp.net', /path separator/],
  ['..@s.whatsapp.net', /'\.\.'/],
  ['4917 01234@s.whatsapp.net', /a space/],
  ['4917\u000001234@s.whatsapp.net', /control character/],
  [`${'1'.repeat(300)}@s.whatsapp.net`, /315 characters long; at most 100 are allowed/],
  ['491701234@example.com', /unknown server '@example.com'/],
  ['491701234', /not a JID/],
  ['a@b@s.whatsapp.net', /not a JID/],
  ['abc@s.whatsapp.net', /malformed number 'abc'/],
  ['status@broadcast', /no profile picture/],
  ['12345@newsletter', /no profile picture/],
  ['0@s.whatsapp.net', /no profile picture/],
  ['4917012345é@s.whatsapp.net', /not allowed/],
];

for (const [input, reason] of refusals) {
  test(`refuses ${JSON.stringify(String(input)).slice(0, 40)} with a reason`, () => {
    const parsed = parseJid(input);
    assert.is(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.reason, reason);
  });
}

test('requireJid throws InvalidJidError; hasProfilePicture skips broadcast addresses', () => {
  assert.throws(() => requireJid('x/y@g.us'), (error: unknown) => error instanceof InvalidJidError);
  assert.equal(requireJid('1@lid'), { jid: '1@lid', kind: 'contact' });
  assert.not.ok(hasProfilePicture('status@broadcast'));
  assert.ok(hasProfilePicture('120363012345678901@g.us'));
});

test.run();
