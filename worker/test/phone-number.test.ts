// The phone-number rule against the cases the integration's suite checks too
// (tests/fixtures/phone-numbers.json, tests/test_services.py): one rule for the CLI, the app's
// pairing number and the refresh_avatar action.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseJidOrPhoneNumber } from '../src/jid.js';
import { phoneNumberDigits } from '../src/phone-number.js';

const CASES = JSON.parse(readFileSync(fileURLToPath(new URL('../../../tests/fixtures/phone-numbers.json', import.meta.url)), 'utf8')) as {
  numbers: Record<string, string>;
  not_numbers: string[];
};

test('a number as people write it gives its digits; the shared cases agree', () => {
  assert.ok(Object.keys(CASES.numbers).length > 0);
  for (const [typed, digits] of Object.entries(CASES.numbers)) assert.is(phoneNumberDigits(typed), digits, JSON.stringify(typed));
});

test('what is not a phone number gives none; the shared cases agree', () => {
  assert.ok(CASES.not_numbers.length > 0);
  for (const typed of CASES.not_numbers) assert.is(phoneNumberDigits(typed), undefined, JSON.stringify(typed));
});

test('a subject typed as a JID or a number: the number names its contact, anything else is refused by name', () => {
  assert.equal(parseJidOrPhoneNumber('+49 170 1234567'), { ok: true, jid: '491701234567@s.whatsapp.net', kind: 'contact' });
  assert.equal(parseJidOrPhoneNumber('120363012345678901@g.us'), { ok: true, jid: '120363012345678901@g.us', kind: 'group' });
  const refused = parseJidOrPhoneNumber('Anna');
  assert.ok(!refused.ok && /'Anna' is neither a JID .* nor a phone number/.test(refused.reason));
  // A JID keeps the JID's own reasons, which say more than "neither".
  const badJid = parseJidOrPhoneNumber('491701234567@example.com');
  assert.ok(!badJid.ok && /unknown server/.test(badJid.reason));
});

test.run();
