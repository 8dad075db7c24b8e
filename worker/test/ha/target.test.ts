import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { homeAssistantTarget, SUPERVISOR_WEBSOCKET_URL, websocketUrl } from '../../src/ha/target.js';

test('inside the add-on the Supervisor proxy and its token are used', () => {
  assert.equal(homeAssistantTarget({ SUPERVISOR_TOKEN: 'sup' }, {}), { url: SUPERVISOR_WEBSOCKET_URL, token: 'sup' });
  assert.equal(homeAssistantTarget({ SUPERVISOR_TOKEN: 'sup', WHATSAPP_HA_TOKEN: 'lt' }, { token: 'x' }), {
    url: 'ws://supervisor/core/websocket',
    token: 'sup',
  });
});

test('an explicit URL wins over the Supervisor and takes a long-lived token', () => {
  assert.equal(homeAssistantTarget({ SUPERVISOR_TOKEN: 'sup', WHATSAPP_HA_TOKEN: 'env' }, { url: 'http://ha.local:8123' }), {
    url: 'ws://ha.local:8123/api/websocket',
    token: 'env',
  });
  assert.equal(homeAssistantTarget({ WHATSAPP_HA_TOKEN: 'env' }, { url: 'https://ha.example.org', token: 'option' }), {
    url: 'wss://ha.example.org/api/websocket',
    token: 'option',
  });
});

test('URLs are normalised to the websocket endpoint', () => {
  const cases: [string, string][] = [
    ['http://192.168.1.5:8123', 'ws://192.168.1.5:8123/api/websocket'],
    ['http://192.168.1.5:8123/', 'ws://192.168.1.5:8123/api/websocket'],
    ['https://example.org/ha/', 'wss://example.org/ha/api/websocket'],
    ['ws://ha.local:8123/api/websocket', 'ws://ha.local:8123/api/websocket'],
    ['wss://ha.local/api/websocket/', 'wss://ha.local/api/websocket'],
    ['ws://ha.local:8123', 'ws://ha.local:8123/api/websocket'],
    ['http://[::1]:8123', 'ws://[::1]:8123/api/websocket'],
  ];
  for (const [input, expected] of cases) assert.equal(websocketUrl(input), { url: expected }, input);
});

test('missing pieces give an error naming them', () => {
  const nothing = homeAssistantTarget({}, {});
  assert.ok('error' in nothing && /URL/.test(nothing.error) && /token/.test(nothing.error), JSON.stringify(nothing));
  const noUrl = homeAssistantTarget({ WHATSAPP_HA_TOKEN: 't' }, {});
  assert.ok('error' in noUrl && /no Home Assistant URL/.test(noUrl.error) && !/token/.test(noUrl.error), JSON.stringify(noUrl));
  const noToken = homeAssistantTarget({ WHATSAPP_HA_TOKEN: '  ' }, { url: 'http://ha:8123' });
  assert.ok('error' in noToken && /no access token/.test(noToken.error) && /WHATSAPP_HA_TOKEN/.test(noToken.error), JSON.stringify(noToken));
});

test('malformed URLs are refused with the reason', () => {
  for (const [input, pattern] of [
    ['not a url', /not a valid URL/],
    ['ftp://ha:8123', /uses ftp/],
    ['http://user:pw@ha:8123', /user name or password/],
    ['http://ha:8123/?x=1', /query/],
  ] as const) {
    const result = homeAssistantTarget({}, { url: input, token: 't' });
    assert.ok('error' in result && pattern.test(result.error), `${input}: ${JSON.stringify(result)}`);
  }
});

test('the token never appears in an error', () => {
  const result = homeAssistantTarget({}, { url: 'gopher://ha', token: 'secret-token-value' });
  assert.ok('error' in result && !result.error.includes('secret-token-value'));
});

test.run();
