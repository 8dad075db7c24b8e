import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isWhatsAppPictureHost, refusePictureUrl, validatePictureHostPolicy } from '../../src/avatars/picture-hosts.js';

const NONE = { allowedHosts: [] } as const;
const PATH = '/v/t61.24694-24/1_2_n.jpg?ccb=11-4&oh=01_x&oe=6A1B2C3D';

test('pps.whatsapp.net and regional media edges seen in real URLs are picture hosts', () => {
  for (const host of ['pps.whatsapp.net', 'media-gru1-2.cdn.whatsapp.net', 'media-bog2-1.cdn.whatsapp.net', 'media-hel3-1.cdn.whatsapp.net', 'media-mrs2-1.cdn.whatsapp.net']) {
    assert.ok(isWhatsAppPictureHost(host), host);
    assert.is(refusePictureUrl(`https://${host}${PATH}`, NONE), undefined, host);
  }
});

test('look-alikes, nesting, other WhatsApp hosts and IP literals are not', () => {
  for (const host of [
    'cdn.whatsapp.net',
    'cdn.whatsapp.net.evil.example',
    'media-gru1-2.cdn.whatsapp.net.evil.example',
    'evilcdn.whatsapp.net',
    'x.media-gru1-2.cdn.whatsapp.net',
    'media-gru1-2.x.cdn.whatsapp.net',
    'media-.cdn.whatsapp.net',
    'media-gru.cdn.whatsapp.net',
    'media-gru1-2-3.cdn.whatsapp.net',
    'media-gru1-2.cdn.whatsapp.com',
    'evil-pps.whatsapp.net',
    'pps.whatsapp.net.evil.com',
    'ppswhatsapp.net',
    'mmg.whatsapp.net',
    'whatsapp.net',
    '157.240.0.53',
  ]) {
    assert.not.ok(isWhatsAppPictureHost(host), host);
    assert.is(refusePictureUrl(`https://${host}${PATH}`, NONE), `host ${host} is not a WhatsApp picture host`, host);
  }
});

test('URL tricks are refused with a reason', () => {
  const reasons: [string, string][] = [
    [`http://pps.whatsapp.net${PATH}`, 'only https is allowed, not http'],
    [`ftp://pps.whatsapp.net${PATH}`, 'only https is allowed, not ftp'],
    [`https://pps.whatsapp.net@evil.example${PATH}`, 'the picture URL carries credentials'],
    [`https://user:pw@pps.whatsapp.net${PATH}`, 'the picture URL carries credentials'],
    [`https://pps.whatsapp.net.${PATH}`, 'host pps.whatsapp.net. is not a WhatsApp picture host'],
    [`https://pps.whatsapp.net:8443${PATH}`, 'port 8443 is not a WhatsApp picture port'],
    [`https://[::1]${PATH}`, 'host ::1 is not a WhatsApp picture host'],
    [`https://127.0.0.1${PATH}`, 'host 127.0.0.1 is not a WhatsApp picture host'],
    // A Cyrillic "ѕ" becomes punycode, which matches nothing.
    [`https://ppѕ.whatsapp.net${PATH}`, 'host xn--pp-foc.whatsapp.net is not a WhatsApp picture host'],
    ['not a url', 'the picture URL is not a valid URL'],
  ];
  for (const [url, reason] of reasons) assert.is(refusePictureUrl(url, NONE), reason, url);
});

test('case and the default port are the same host, as the URL parser says', () => {
  assert.is(refusePictureUrl(`https://PPS.WhatsApp.NET${PATH}`, NONE), undefined);
  assert.is(refusePictureUrl(`https://media-gru1-2.cdn.whatsapp.net:443${PATH}`, NONE), undefined);
});

test('tests extend the set with exact hosts (any port) and ports for WhatsApp names', () => {
  assert.is(refusePictureUrl(`https://127.0.0.1:4443${PATH}`, { allowedHosts: ['127.0.0.1'] }), undefined);
  assert.is(refusePictureUrl(`https://[::1]:4443${PATH}`, { allowedHosts: ['::1'] }), undefined);
  assert.is(refusePictureUrl(`https://127.0.0.2${PATH}`, { allowedHosts: ['127.0.0.1'] }), 'host 127.0.0.2 is not a WhatsApp picture host');
  assert.is(refusePictureUrl(`https://pps.whatsapp.net:4443${PATH}`, { allowedHosts: [], allowedPorts: [4443] }), undefined);
  assert.is(refusePictureUrl(`https://pps.whatsapp.net:4444${PATH}`, { allowedHosts: [], allowedPorts: [4443] }), 'port 4444 is not a WhatsApp picture port');
  // An extra port never widens the host rule.
  assert.is(refusePictureUrl(`https://evil.example:4443${PATH}`, { allowedHosts: [], allowedPorts: [4443] }), 'host evil.example is not a WhatsApp picture host');
});

test('a policy entry that is not an exact host or a port is refused by name', () => {
  assert.throws(() => validatePictureHostPolicy({ allowedHosts: ['.whatsapp.net'] }), /invalid entry '.whatsapp.net'/);
  assert.throws(() => validatePictureHostPolicy({ allowedHosts: ['PPS.whatsapp.net'] }), /invalid entry 'PPS.whatsapp.net'/);
  assert.throws(() => validatePictureHostPolicy({ allowedHosts: ['a..b'] }), /invalid entry 'a..b'/);
  assert.throws(() => validatePictureHostPolicy({ allowedHosts: [], allowedPorts: [0] }), /invalid port 0/);
  assert.throws(() => validatePictureHostPolicy({ allowedHosts: [], allowedPorts: [1.5] }), /invalid port 1.5/);
  validatePictureHostPolicy({ allowedHosts: ['127.0.0.1', '::1', 'localhost'], allowedPorts: [443, 65_535] });
});

test.run();
