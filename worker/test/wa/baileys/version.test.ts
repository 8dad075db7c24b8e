import type { WAVersion } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PINNED_WA_WEB_VERSION, resolveWaWebVersion } from '../../../src/wa/baileys/version.js';

const silent = pino({ level: 'silent' });

test('the looked-up version wins when the lookup works', async () => {
  const live: WAVersion = [2, 3000, PINNED_WA_WEB_VERSION[2] + 1];
  assert.equal(await resolveWaWebVersion(async () => live, silent), live);
});

test('a failed lookup falls back to the pinned version', async () => {
  const version = await resolveWaWebVersion(async () => {
    throw new Error('getaddrinfo ENOTFOUND web.whatsapp.com');
  }, silent);
  assert.equal(version, PINNED_WA_WEB_VERSION);
});

test('a lookup that returns nonsense falls back too', async () => {
  assert.equal(await resolveWaWebVersion(async () => [2, 3000] as unknown as WAVersion, silent), PINNED_WA_WEB_VERSION);
});

test('the pinned version is at least the one Baileys ships (never older)', async () => {
  const { DEFAULT_CONNECTION_CONFIG } = await import('@whiskeysockets/baileys');
  const shipped = DEFAULT_CONNECTION_CONFIG.version;
  assert.ok(PINNED_WA_WEB_VERSION[1] > shipped[1] || (PINNED_WA_WEB_VERSION[1] === shipped[1] && PINNED_WA_WEB_VERSION[2] >= shipped[2]));
});

test.run();
