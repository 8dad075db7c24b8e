import { isTcTokenExpired } from '@whiskeysockets/baileys/lib/Utils/tc-token-utils.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isPrivacyTokenExpired, storedLidForPhoneNumber, storedPrivacyToken, TC_TOKEN_BUCKET_SECONDS, type TokenKeyReader } from '../../../src/wa/baileys/privacy-token.js';

const PN = '491701234567@s.whatsapp.net';
const LID = '123456789012345@lid';

function rows(data: Record<string, Record<string, unknown>>): TokenKeyReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    get(type, ids) {
      reads.push(type);
      const found: Record<string, unknown> = {};
      for (const id of ids) if (data[type]?.[id] !== undefined) found[id] = data[type]![id];
      return found;
    },
  };
}

test("the expiry rule is Baileys' own isTcTokenExpired, on our clock", () => {
  const nowMs = Date.now();
  const nowSeconds = Math.floor(nowMs / 1000);
  for (const ageBuckets of [0, 1, 2, 2.9, 3, 3.5, 4, 10]) {
    const timestamp = String(Math.floor(nowSeconds - ageBuckets * TC_TOKEN_BUCKET_SECONDS));
    assert.is(isPrivacyTokenExpired(timestamp, nowMs), isTcTokenExpired(timestamp), `${ageBuckets} buckets old`);
  }
  assert.is(isPrivacyTokenExpired('not a number', nowMs), true);
  assert.is(isPrivacyTokenExpired(undefined, nowMs), true);
});

test('a phone number is looked up in the stored lid-mapping row; nothing stored means no LID', async () => {
  assert.is(await storedLidForPhoneNumber(rows({ 'lid-mapping': { '491701234567': '123456789012345' } }), PN), LID);
  assert.is(await storedLidForPhoneNumber(rows({}), PN), undefined);
});

test('the token is found under the LID, under a LID JID directly, or under the phone number without a mapping', async () => {
  const nowMs = Date.UTC(2026, 0, 1);
  const t = String(Math.floor(nowMs / 1000));
  const token = { token: Buffer.from('tc'), timestamp: t };
  const viaMapping = await storedPrivacyToken(rows({ 'lid-mapping': { '491701234567': '123456789012345' }, tctoken: { [LID]: token } }), PN, nowMs);
  assert.equal(viaMapping, [{ tag: 'tctoken', attrs: { t }, content: Buffer.from('tc') }]);
  assert.ok(await storedPrivacyToken(rows({ tctoken: { [LID]: token } }), LID, nowMs));
  assert.ok(await storedPrivacyToken(rows({ tctoken: { [PN]: token } }), PN, nowMs));
  assert.is(await storedPrivacyToken(rows({ tctoken: { [LID]: { token: Buffer.alloc(0), timestamp: t } } }), LID, nowMs), undefined, 'an emptied token');
  assert.is(await storedPrivacyToken(rows({ tctoken: { [LID]: { token: Buffer.from('tc') } } }), LID, nowMs), undefined, 'a token without time');
});

test.run();
