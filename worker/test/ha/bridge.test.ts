// The bridge against a fake Home Assistant on 127.0.0.1 that speaks HA's real websocket protocol.
// Network behaviour (restarts, retries) runs on the system clock with millisecond backoffs; the
// push schedule (status throttle, heartbeat) runs on a FakeClock. The frame (server, in-memory
// worker, bridge, log, final checks) is support/bridge-harness.ts; each test says what differs.

import { createServer, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AvatarUpdate, CallResult, DirectoryEntry, WorkerStatus } from '../../src/ha/protocol.js';
import { FakeClock } from '../support/fake-clock.js';
import { ALICE, BOB, catchUnhandled, GROUP, MemoryPort, testBridge, withBridge } from '../support/bridge-harness.js';

test('handshake: hello, subscribe, then status, directory and the favourites with bytes', () =>
  withBridge({ favourites: [ALICE, GROUP] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 2, 'both favourites pushed');
    assert.ok(h.bridge.connected);
    assert.equal(h.server.authAttempts, ['ok']);
    assert.equal(h.server.whatsappCommandTypes().slice(0, 4), ['whatsapp/hello', 'whatsapp/subscribe', 'whatsapp/status', 'whatsapp/directory']);
    assert.equal(h.sent('whatsapp/hello'), [{ protocol_version: 1, worker_version: '0.1.0-test' }]);
    assert.equal(h.port.favouritesReceived, [[ALICE, GROUP]], 'the favourites from HA reached the worker');
    const [directory] = h.sent<{ entries: DirectoryEntry[] }>('whatsapp/directory');
    assert.equal(
      directory!.entries.map((entry) => entry.jid),
      [ALICE, BOB, GROUP],
    );
    const avatars = h.sent<AvatarUpdate>('whatsapp/avatar');
    assert.equal(avatars.map((avatar) => avatar.jid).sort(), [ALICE, GROUP].sort());
    for (const avatar of avatars) assert.is(Buffer.from(avatar.image!, 'base64').toString(), `jpeg of ${avatar.jid}`);
  }));

test('a favourites change reaches the worker and sends the new favourite with bytes', () =>
  withBridge({ favourites: [ALICE] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 1, 'the first favourite pushed');
    h.server.setFavourites([ALICE, BOB]);
    await h.waitForSent('whatsapp/avatar', 2, 'the new favourite pushed');
    assert.equal(h.port.favouritesReceived, [[ALICE], [ALICE, BOB]]);
    const bob = h.sent<AvatarUpdate>('whatsapp/avatar')[1]!;
    assert.is(bob.jid, BOB);
    assert.ok(bob.image !== null, 'a new favourite gets its bytes');
  }));

test('avatar changes go up as the worker pushed them (bytes only for favourites), never read back', () =>
  withBridge({ favourites: [ALICE] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 1, 'the favourite pushed');
    const readsOnSubscribe = [...h.port.avatarReads];
    h.port.avatarChanged(BOB);
    h.port.avatarChanged(ALICE, Buffer.from('new jpeg of alice').toString('base64'));
    await h.waitForSent('whatsapp/avatar', 3, 'both changes pushed');
    const byJid = new Map(h.sent<AvatarUpdate>('whatsapp/avatar').slice(1).map((update) => [update.jid, update]));
    assert.is(byJid.get(BOB)?.image, null, 'no bytes for a non-favourite');
    assert.is(Buffer.from(byJid.get(ALICE)!.image!, 'base64').toString(), 'new jpeg of alice', 'the bytes the change carried');
    assert.equal(h.port.avatarReads, readsOnSubscribe, 'a change is sent as it came, not read back');
  }));

test('changes that come while a push is in flight collapse into the newest, keeping the bytes of a new picture', () =>
  withBridge({ favourites: [ALICE] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 1, 'the favourite pushed');
    const newBytes = Buffer.from('new jpeg of alice').toString('base64');
    h.port.avatarChanged(ALICE, 'AAAA'); // goes up at once
    h.port.avatarChanged(ALICE, newBytes); // a new picture while that push runs…
    h.port.avatarChanged(ALICE, null); // …then an unchanged check of it: one push, with the bytes
    await h.waitForSent('whatsapp/avatar', 3, 'the push in flight and the collapsed one');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const pushed = h.sent<AvatarUpdate>('whatsapp/avatar').slice(1);
    assert.equal(pushed.map((update) => update.image), ['AAAA', newBytes]);
  }));

test('service calls round-trip to the worker and back as call results', () =>
  withBridge({}, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the subscription');
    const single = await h.server.call('refresh_avatar', { jid: ALICE, force: true, wait: 0 });
    assert.equal(single, {
      call_id: 'call-1',
      ok: true,
      response: { jid: ALICE, queued: true, position: 1, eta_seconds: 3, outcome: null, timed_out: false },
    });
    assert.equal(h.port.refreshCalls, [{ jid: ALICE, force: true, wait: 0 }]);
    const all = await h.server.call('refresh_avatars', { scope: 'missing', force: false });
    assert.equal(all.ok, true);
    assert.equal(h.port.refreshAllCalls, [{ scope: 'missing', force: false }]);
  }));

test('a CallError keeps its code; any other failure is internal_error; malformed calls are answered', () =>
  withBridge({}, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the subscription');
    const errorOf = (result: CallResult): { code: string; message: string } => {
      assert.is(result.ok, false);
      return (result as Extract<CallResult, { ok: false }>).error;
    };
    const invalid = errorOf(await h.server.call('refresh_avatar', { jid: 'nonsense', force: false, wait: 0 }));
    assert.is(invalid.code, 'invalid_jid');
    const unknown = errorOf(await h.server.call('refresh_avatar', { jid: '4911@s.whatsapp.net', force: false, wait: 0 }));
    assert.equal(unknown, { code: 'unknown_jid', message: '4911@s.whatsapp.net is not a known contact or group' });
    const internal = errorOf(await h.server.call('refresh_avatar', { jid: 'explode@s.whatsapp.net', force: false, wait: 0 }));
    assert.is(internal.code, 'internal_error');
    assert.match(internal.message, /database is locked/);
    assert.ok(h.logs.some((entry) => entry.level >= 50 && /service call failed/.test(entry.msg)), 'the internal error is logged');
    const malformed = errorOf(await h.server.call('refresh_avatars', { scope: 'everything' }));
    assert.is(malformed.code, 'internal_error');
    assert.match(malformed.message, /'scope' must be one of/);
    assert.ok(h.bridge.connected, 'bad calls do not disturb the connection');
  }));

test('status pushes are throttled to one per second with the trailing change kept', () => {
  const clock = new FakeClock();
  return withBridge({ clock, favourites: [] }, async (h) => {
    await h.waitForSent('whatsapp/directory', 1, 'the initial pushes');
    const statusCount = (): number => h.server.commandsOfType('whatsapp/status').length;
    assert.is(statusCount(), 1);
    // An avatar push goes out after any status sent before it, so its arrival shows what was sent.
    let fences = 0;
    const fence = async (): Promise<void> => {
      fences += 1;
      h.port.avatarChanged(BOB);
      await h.waitForSent('whatsapp/avatar', fences, 'the fence');
    };
    clock.advance(1_000);
    for (let change = 1; change <= 5; change++) {
      h.port.queueLength = change;
      h.port.emit({ type: 'status' });
      clock.advance(100);
    }
    await fence();
    assert.is(statusCount(), 2, 'the first change goes at once, the rest wait');
    clock.advance(499);
    await fence();
    assert.is(statusCount(), 2, 'still inside the second');
    clock.advance(1);
    await h.waitForSent('whatsapp/status', 3, 'the trailing status');
    assert.is(h.sent<WorkerStatus>('whatsapp/status')[2]!.queue_length, 5, 'the trailing push carries the latest state');
    clock.advance(5_000);
    await fence();
    assert.is(statusCount(), 3, 'nothing more without changes');
  });
});

test('directory changes are debounced into one push', () => {
  const clock = new FakeClock();
  return withBridge({ clock, favourites: [], timing: { directoryQuietMs: 2_000, directoryMaxWaitMs: 30_000 } }, async (h) => {
    await h.waitForSent('whatsapp/directory', 1, 'the initial directory');
    for (let change = 0; change < 10; change++) {
      h.port.emit({ type: 'directory' });
      clock.advance(500);
    }
    clock.advance(2_000);
    await h.waitForSent('whatsapp/directory', 2, 'the debounced directory');
    h.port.avatarChanged(BOB);
    await h.waitForSent('whatsapp/avatar', 1, 'a fence');
    assert.is(h.server.commandsOfType('whatsapp/directory').length, 2, 'ten changes, one push');
  });
});

test('HA restart: the bridge reconnects and subscribes again, with no unhandled rejection', () =>
  withBridge({ favourites: [ALICE] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 1, 'the first session');
    await h.server.stop();
    await h.server.waitFor(() => !h.bridge.connected, 'the bridge noticing');
    // Let a few reconnects fail against the closed port.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await h.server.restart();
    await h.waitForSent('whatsapp/avatar', 2, 'the second session');
    assert.ok(h.bridge.connected);
    const second = h.server.commands.filter((command) => command.connection > 1 && command.type.startsWith('whatsapp/'));
    assert.equal(
      second.map((command) => command.type),
      ['whatsapp/hello', 'whatsapp/subscribe', 'whatsapp/status', 'whatsapp/directory', 'whatsapp/avatar'],
    );
    assert.ok(h.logs.some((entry) => /lost the connection/.test(entry.msg)));
  }));

test('HA restarting before the integration loads: unknown_command is retried until it loads', () =>
  withBridge({}, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the first session');
    h.server.integrationLoaded = false;
    h.server.dropConnections();
    await h.server.waitFor(() => h.server.commands.filter((command) => command.connection > 1 && command.type === 'whatsapp/hello').length >= 3, 'hello retried');
    assert.not.ok(h.bridge.connected);
    assert.ok(h.logs.some((entry) => entry.level === 40 && /not loaded/.test(entry.msg)), 'the wait is explained once');
    assert.match(h.bridge.lastProblem ?? '', /not loaded/);
    h.server.integrationLoaded = true;
    await h.server.waitFor(() => h.bridge.connected, 'the subscription after the integration loaded');
    assert.is(h.server.subscriberCount, 1);
  }));

test('a subscribe rejected with unknown_command is retried on the same connection until accepted', () =>
  withBridge({ startBridge: false }, async (h) => {
    let refusals = 0;
    h.server.setHandler('whatsapp/subscribe', () => {
      if (refusals < 3) {
        refusals += 1;
        return { error: { code: 'unknown_command', message: 'Unknown command.' } };
      }
      return { result: null };
    });
    await h.bridge.start();
    await h.server.waitFor(() => h.bridge.connected, 'the bridge subscribed');
    assert.is(h.server.commandsOfType('whatsapp/subscribe').length, 4);
    assert.is(refusals, 3);
    assert.ok(h.server.commands.every((command) => command.connection === 1), 'no reconnect was needed');
    assert.equal(h.server.commandsOfType('whatsapp/hello').length, 4, 'each retry repeats the handshake');
  }));

test('an incompatible integration or a non-admin token is logged as an error and retried slowly', () =>
  withBridge({ startBridge: false }, async (h) => {
    h.server.setHandler('whatsapp/hello', () => ({ error: { code: 'unsupported_version', message: 'protocol version 1 is not supported' } }));
    await h.bridge.start();
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/hello').length >= 2, 'a slow retry');
    assert.match(h.bridge.lastProblem ?? '', /cannot talk protocol version 1/);
    h.server.setHandler('whatsapp/hello', undefined);
    h.server.setHandler('whatsapp/subscribe', () => ({ error: { code: 'unauthorized', message: 'Unauthorized' } }));
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/subscribe').length >= 2, 'the subscribe retried');
    assert.match(h.bridge.lastProblem ?? '', /must belong to an administrator/);
    assert.ok(h.logs.some((entry) => entry.level === 50 && /protocol version/.test(entry.msg)));
    h.server.setHandler('whatsapp/subscribe', undefined);
    await h.server.waitFor(() => h.bridge.connected, 'the subscription once fixed');
    assert.is(h.bridge.lastProblem, undefined);
  }));

test('HA unreachable at start: the bridge keeps trying and connects once HA is up', () =>
  withBridge({ startBridge: false }, async (h) => {
    await h.server.stop();
    await h.bridge.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.not.ok(h.bridge.connected);
    assert.match(h.bridge.lastProblem ?? '', /cannot reach Home Assistant/);
    await h.server.restart();
    await h.server.waitFor(() => h.bridge.connected, 'the connection once HA is up');
    assert.is(h.bridge.lastProblem, undefined);
  }));

test('a bad token is logged clearly, never crashes, and is retried slowly', () =>
  withBridge({ token: 'wrong-token-1234567' }, async (h) => {
    await h.server.waitFor(() => h.server.authAttempts.length >= 3, 'three auth attempts');
    assert.ok(h.server.authAttempts.every((attempt) => attempt === 'invalid'));
    assert.not.ok(h.bridge.connected);
    assert.equal(h.server.whatsappCommandTypes(), []);
    const errors = h.logs.filter((entry) => entry.level === 50 && /refused the access token/.test(entry.msg));
    assert.ok(errors.length >= 2, 'each refusal is logged as an error');
    assert.match(h.bridge.lastProblem ?? '', /refused the access token/);
  }));

test('an unanswered ping cuts the connection and the bridge reconnects', () => {
  const clock = new FakeClock();
  const timing = { heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000, reconnect: { initialMs: 1_000, maxMs: 1_000, factor: 2, jitterRatio: 0 } };
  return withBridge({ clock, favourites: [], timing }, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the first session');
    h.server.setHandler('ping', () => 'no-answer');
    clock.advance(30_000);
    await h.waitForSent('ping', 1, 'the ping');
    clock.advance(10_000);
    await h.server.waitFor(() => !h.bridge.connected, 'the cut');
    h.server.setHandler('ping', undefined);
    await h.server.waitFor(() => clock.nextTimerAt() !== undefined && h.server.subscriberCount === 0, 'the reconnect timer');
    clock.advance(1_000);
    await h.server.waitFor(() => h.bridge.connected, 'the reconnect');
    assert.ok(h.logs.some((entry) => /did not answer a ping/.test(entry.msg)));
  });
});

test('a picture too large for HA goes up without its bytes', () =>
  withBridge({ favourites: [ALICE], startBridge: false }, async (h) => {
    h.port.imageFor = () => 'A'.repeat(4 * 1024 * 1024);
    await h.bridge.start();
    await h.waitForSent('whatsapp/avatar', 1, 'the favourite');
    const [update] = h.sent<AvatarUpdate>('whatsapp/avatar');
    assert.is(update!.image, null);
    assert.is(update!.jid, ALICE);
    assert.ok(h.bridge.connected, 'HA did not have to drop the connection');
  }));

test('stop closes the connection, unsubscribes from the worker, and does not reconnect', () =>
  withBridge({}, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the session');
    await h.bridge.stop();
    assert.not.ok(h.bridge.connected);
    assert.is(h.port.listenerCount, 0);
    await h.server.waitFor(() => h.server.subscriberCount === 0, 'the server seeing the close');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(h.server.authAttempts.length, 1, 'no reconnect after stop');
  }));

test('stop while a connection attempt hangs ends it at once, without a rejection', async () => {
  // A server that accepts TCP connections and never answers the websocket upgrade.
  const held: Socket[] = [];
  const silentServer = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
  const address = silentServer.address() as { port: number };
  const unhandled = catchUnhandled();
  const port = new MemoryPort();
  const bridge = testBridge(`ws://127.0.0.1:${address.port}/api/websocket`, port, { clock: new FakeClock() });
  try {
    await bridge.start();
    for (let attempt = 0; attempt < 500 && held.length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.is(held.length, 1, 'the bridge is connecting');
    await bridge.stop();
    assert.not.ok(bridge.connected);
    assert.is(port.listenerCount, 0);
    assert.equal(await unhandled.stop(), []);
  } finally {
    await unhandled.stop();
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silentServer.close(() => resolve()));
  }
});

test.run();
