// The bridge against a fake Home Assistant on 127.0.0.1 that speaks HA's real websocket protocol.
// Network behaviour (restarts, retries) runs on the system clock with millisecond backoffs; the
// push schedule (status throttle, heartbeat) runs on a FakeClock. The frame (server, in-memory
// worker, bridge, log, final checks) is support/bridge-harness.ts; each test says what differs.

import { createServer, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import WebSocket from 'ws';
import { MAX_PICTURE_BYTES, type AvatarUpdate, type CallResult, type WorkerStatus } from '../../src/ha/protocol.js';
import { FakeClock } from '../support/fake-clock.js';
import { HA_MAX_MESSAGE_BYTES, type CommandHandler, type FakeHomeAssistant } from '../support/fake-ha-server.js';
import { upstreamFixtures } from '../support/protocol-description.js';
import { ALICE, BOB, catchUnhandled, GROUP, MemoryPort, testBridge, TOKEN, withBridge, type Harness } from '../support/bridge-harness.js';
import { DEFAULT_BRIDGE_TIMING } from '../../src/ha/bridge.js';

test('handshake: hello, subscribe, then status, directory and the favourites with bytes', () =>
  withBridge({ favourites: [ALICE, GROUP] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 2, 'both favourites pushed');
    assert.ok(h.bridge.connected);
    assert.equal(h.server.authAttempts, ['ok']);
    assert.equal(h.server.whatsappCommandTypes().slice(0, 4), ['whatsapp/hello', 'whatsapp/subscribe', 'whatsapp/status', 'whatsapp/directory']);
    assert.equal(h.sent('whatsapp/hello'), [{ protocol_version: 1, worker_version: '0.1.0-test', worker_id: 'worker-under-test' }]);
    assert.equal(h.port.favouritesReceived, [[ALICE, GROUP]], 'the favourites from HA reached the worker');
    await h.server.waitFor(() => h.server.directory !== undefined, 'the directory');
    assert.equal(
      h.server.directory?.map(([jid]) => jid),
      [ALICE, BOB, GROUP],
    );
    assert.equal(h.server.refusals, [], 'HA accepted everything: every message fits protocol.json');
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

test('a favourite dropped and picked again gets its bytes again (HA deleted them)', () =>
  withBridge({ favourites: [ALICE, BOB] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 2, 'both favourites pushed');
    h.server.setFavourites([ALICE]);
    h.server.setFavourites([ALICE, BOB]);
    await h.waitForSent('whatsapp/avatar', 3, 'the re-picked favourite pushed');
    const again = h.sent<AvatarUpdate>('whatsapp/avatar')[2]!;
    assert.is(again.jid, BOB);
    assert.is(Buffer.from(again.image!, 'base64').toString(), `jpeg of ${BOB}`);
    // Alice stayed a favourite all along: HA still has her bytes.
    assert.is(h.sent<AvatarUpdate>('whatsapp/avatar').filter((update) => update.jid === ALICE).length, 1);
  }));

test('resend: status, directory and every favourite with bytes go up again on the same subscription', () =>
  withBridge({ favourites: [ALICE, GROUP] }, async (h) => {
    await h.waitForSent('whatsapp/avatar', 2, 'both favourites pushed');
    const subscribes = h.server.commandsOfType('whatsapp/subscribe').length;
    const statuses = h.server.commandsOfType('whatsapp/status').length;
    const directories = h.server.commandsOfType('whatsapp/directory').length;
    h.server.sendDownstream({ type: 'resend' });
    await h.waitForSent('whatsapp/avatar', 4, 'both favourites pushed again');
    assert.is(h.server.commandsOfType('whatsapp/status').length, statuses + 1, 'the status again');
    assert.is(h.server.commandsOfType('whatsapp/directory').length, directories + 1, 'the directory again');
    assert.is(h.server.commandsOfType('whatsapp/subscribe').length, subscribes, 'no new subscription');
    const again = h.sent<AvatarUpdate>('whatsapp/avatar').slice(2);
    assert.equal(again.map((avatar) => avatar.jid).sort(), [ALICE, GROUP].sort());
    for (const avatar of again) assert.ok(avatar.image !== null, `${avatar.jid} with its bytes`);
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

test('picture and purge_avatars calls round-trip: the bytes of one known subject on request, the purge report', () =>
  withBridge({}, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the subscription');
    const picture = await h.server.call('picture', { jid: BOB });
    assert.is(picture.ok, true);
    const response = (picture as Extract<CallResult, { ok: true }>).response as { jid: string; image: string; sha256: string };
    assert.is(response.jid, BOB);
    assert.is(Buffer.from(response.image, 'base64').toString(), `jpeg of ${BOB}`);
    assert.equal(h.port.pictureCalls, [BOB]);
    const unknown = await h.server.call('picture', { jid: '4911@s.whatsapp.net' });
    assert.equal((unknown as Extract<CallResult, { ok: false }>).error.code, 'unknown_jid');
    h.port.purged = { files: 3, bytes: 4096 };
    assert.equal(await h.server.call('purge_avatars', {}), { call_id: 'call-3', ok: true, response: { files_removed: 3, bytes_removed: 4096 } });
  }));

test('a pairing_code call reaches the port with its number and answers with the code', () =>
  withBridge({}, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the subscription');
    const answer = await h.server.call('pairing_code', { phone_number: '491701234567' });
    assert.equal(answer, { call_id: 'call-1', ok: true, response: { code: 'ABCD2345' } });
    assert.equal(h.port.pairingCodeCalls, ['491701234567']);
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

test('an incompatible integration: one clear error, and no more tries on this connection', () => {
  const clock = new FakeClock();
  return withBridge({ clock, startBridge: false }, async (h) => {
    h.server.setHandler('whatsapp/hello', () => ({ error: { code: 'unsupported_version', message: 'this integration speaks protocol 2, the worker 1' } }));
    await h.bridge.start();
    await h.server.waitFor(() => /cannot talk protocol version 1/.test(h.bridge.lastProblem ?? ''), 'the refusal');
    clock.advance(60 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(h.server.commandsOfType('whatsapp/hello').length, 1, 'an hour later: still one hello');
    const errors = h.logs.filter((entry) => entry.level === 50 && /protocol version 1/.test(entry.msg));
    assert.is(errors.length, 1);
    assert.match(errors[0]!.msg, /update the integration and the worker/);
    // A new connection (HA or the worker restarted, e.g. after an update) tries again.
    h.server.setHandler('whatsapp/hello', undefined);
    h.server.dropConnections();
    await h.server.waitFor(() => clock.nextTimerAt() !== undefined && h.server.subscriberCount === 0, 'the reconnect timer');
    clock.advance(1_000);
    await h.server.waitFor(() => h.bridge.connected, 'the subscription after the update');
  });
});

test('a non-admin token is logged as an error and retried slowly', () =>
  withBridge({ startBridge: false }, async (h) => {
    h.server.setHandler('whatsapp/subscribe', () => ({ error: { code: 'unauthorized', message: 'Unauthorized' } }));
    await h.bridge.start();
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/subscribe').length >= 2, 'the subscribe retried');
    assert.match(h.bridge.lastProblem ?? '', /must belong to an administrator/);
    assert.ok(h.logs.some((entry) => entry.level === 50 && /administrator/.test(entry.msg)));
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

test("a picture over HA's 2 MiB cap goes up without its bytes and a clear log line, and HA never refuses it", () =>
  withBridge({ favourites: [ALICE], startBridge: false }, async (h) => {
    h.port.imageFor = () => Buffer.alloc(MAX_PICTURE_BYTES + 1, 0xff).toString('base64');
    await h.bridge.start();
    await h.waitForSent('whatsapp/avatar', 1, 'the favourite');
    assert.is(h.sent<AvatarUpdate>('whatsapp/avatar')[0]!.image, null);
    assert.equal(h.server.refusals, []);
    assert.ok(h.logs.some((entry) => entry.level === 40 && /without its bytes: the picture is 2097153 bytes, over the 2097152/.test(entry.msg)));
  }));

test('a picture HA refuses (sha256_mismatch, invalid_image, image_too_large) is not sent again on that connection', async () => {
  for (const code of ['sha256_mismatch', 'invalid_image', 'image_too_large']) {
    await withBridge({ favourites: [ALICE], startBridge: false }, async (h) => {
      h.server.setHandler('whatsapp/avatar', (message) =>
        message.image === null ? { result: null } : { error: { code, message: 'the picture is refused' } },
      );
      await h.bridge.start();
      await h.waitForSent('whatsapp/avatar', 2, 'the refused picture and its state');
      for (let change = 0; change < 3; change++) h.port.avatarChanged(ALICE);
      h.port.avatarChanged(BOB);
      await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').some((command) => command.message.jid === BOB), 'a fence');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const withBytes = h.server.commandsOfType('whatsapp/avatar').filter((command) => command.message.image !== null);
      assert.is(withBytes.length, 1, `${code}: the bytes went up once`);
      assert.ok(h.bridge.connected);
      assert.is(h.logs.filter((entry) => /refused the picture; it is not sent again/.test(entry.msg)).length, 1, code);
    });
  }
});

const HELLO_ACCEPTED = { result: { protocol_version: 1, integration_version: 't' } };

/** A hello handler that refuses the first `times` hellos with `error`, then accepts; `refused()` counts the refusals. */
function refusingHellos(times: number, error: { code: string; message: string }): { handler: CommandHandler; refused(): number } {
  let refused = 0;
  return {
    handler: () => {
      if (refused === times) return HELLO_ACCEPTED;
      refused++;
      return { error };
    },
    refused: () => refused,
  };
}

/**
 * Starts the bridge against an HA that refuses its first `times` hellos with `error`. After each
 * refusal `untilNextHello` moves the fake clock on until the worker says hello again; resolves
 * once the worker is subscribed.
 */
async function subscribedAfterRefusedHellos(
  h: Harness,
  times: number,
  error: { code: string; message: string },
  untilNextHello: (hello: number) => Promise<void>,
): Promise<void> {
  const hellos = refusingHellos(times, error);
  h.server.setHandler('whatsapp/hello', hellos.handler);
  await h.bridge.start();
  for (let hello = 1; hello <= times; hello++) {
    await h.server.waitFor(() => hellos.refused() === hello, `refusal ${hello}`);
    await untilNextHello(hello);
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/hello').length === hello + 1, `hello ${hello + 1}`);
  }
  await h.server.waitFor(() => h.bridge.connected, 'the subscription once HA accepts the hello');
}

test('an entry that is not loaded: one warning, then quiet retries until it is', () =>
  withBridge({ startBridge: false }, async (h) => {
    const notLoaded = refusingHellos(8, { code: 'not_loaded', message: 'the WhatsApp integration is not set up or not loaded' });
    h.server.setHandler('whatsapp/hello', notLoaded.handler);
    await h.bridge.start();
    await h.server.waitFor(() => h.bridge.connected, 'the subscription once loaded');
    const warnings = h.logs.filter((entry) => entry.level >= 40 && /not loaded/.test(entry.msg));
    assert.is(warnings.length, 1, 'one line says so');
    assert.ok(h.logs.filter((entry) => entry.level === 20 && /still not loaded/.test(entry.msg)).length >= 6, 'the retries are debug lines');
  }));

test('while the integration is not installed yet, the worker asks again at least every 12 s (the add dialog waits for it)', () => {
  const clock = new FakeClock();
  const { setupRetry } = DEFAULT_BRIDGE_TIMING;
  return withBridge({ clock, startBridge: false, timing: { setupRetry } }, async (h) => {
    // Other timers run too (the socket's own): step the clock and see when each hello comes.
    const STEP_MS = 250;
    const waits: number[] = [];
    await subscribedAfterRefusedHellos(h, 8, { code: 'unknown_command', message: 'Unknown command.' }, async (hello) => {
      const refusedAt = clock.now();
      while (h.server.commandsOfType('whatsapp/hello').length === hello && clock.now() - refusedAt < 120_000) {
        clock.advance(STEP_MS);
        await new Promise((resolve) => setImmediate(resolve));
      }
      waits.push(clock.now() - refusedAt);
    });
    // The promise the add dialog relies on, not the constant read back: 12 s at the most.
    assert.ok(waits.every((waitMs) => waitMs <= 12_000 + STEP_MS), `waits ${waits.join(', ')} ms`);
    assert.ok(waits.at(-1)! >= 8_000, `still a backoff, not a poll: ${waits.join(', ')} ms`);
  });
});

test('a worker HA has no entry for yet says hello every 2 s, not with a growing backoff, until it is set up', () => {
  const clock = new FakeClock();
  // A backoff this long would show: the 2 s rule is not the backoff's.
  const setupRetry = { initialMs: 30_000, maxMs: 60_000, factor: 2, jitterRatio: 0 };
  return withBridge({ clock, startBridge: false, timing: { setupRetry } }, async (h) => {
    const REFUSALS = 5;
    const notSetUp = { code: 'not_set_up', message: 'this worker is not set up yet: add it in Settings → Devices & services' };
    await subscribedAfterRefusedHellos(h, REFUSALS, notSetUp, async (hello) => {
      await h.server.waitFor(() => clock.nextTimerAt() === clock.now() + 2_000, `the hello after refusal ${hello} due in 2 s`);
      clock.advance(2_000);
    });
    const warnings = h.logs.filter((entry) => entry.level >= 40 && /not set up in Home Assistant/.test(entry.msg));
    assert.is(warnings.length, 1, 'one line says so');
    assert.match(warnings[0]!.msg, /Settings → Devices & services/);
    assert.is(h.logs.filter((entry) => entry.level === 20 && /still not set up/.test(entry.msg)).length, REFUSALS - 1, 'the retries are debug lines');
  });
});

test('not_loaded or hello_required on a push: the worker says hello and subscribes again', async () => {
  for (const code of ['not_loaded', 'hello_required']) {
    await withBridge({ favourites: [] }, async (h) => {
      await h.server.waitFor(() => h.bridge.connected && h.server.directory !== undefined, 'the first subscription');
      let refused = false;
      h.server.setHandler('whatsapp/status', () => {
        if (refused) return { result: null };
        refused = true;
        return { error: { code, message: 'refused' } };
      });
      h.port.emit({ type: 'status' });
      await h.server.waitFor(() => h.server.commandsOfType('whatsapp/hello').length === 2 && h.bridge.connected, `${code}: hello again`);
      assert.is(h.server.commandsOfType('whatsapp/subscribe').length, 2, code);
      assert.ok(h.server.commands.every((command) => command.connection === 1), `${code}: on the same connection`);
    });
  }
});

test('a directory chunk HA refuses ends that transfer; the next push sends a whole new one', () => {
  const clock = new FakeClock();
  return withBridge({ clock, favourites: [] }, async (h) => {
    await h.server.waitFor(() => h.server.directory !== undefined, 'the first directory');
    h.server.directory = undefined;
    h.server.setHandler('whatsapp/directory', () => ({ error: { code: 'invalid_chunk', message: 'out of order' } }));
    h.port.emit({ type: 'directory' });
    clock.advance(2_000);
    await h.server.waitFor(() => h.server.refusals.length === 1, 'the refusal');
    h.server.setHandler('whatsapp/directory', undefined);
    h.port.emit({ type: 'directory' });
    clock.advance(2_000);
    await h.server.waitFor(() => h.server.directory !== undefined, 'the next whole directory');
    // Read through the type: TypeScript narrowed `directory` to undefined at the assignment above.
    assert.is((h.server as FakeHomeAssistant).directory?.length, 3);
  });
});

test('a directory of 200,000 contacts and groups reaches HA whole, in chunks under its 4 MiB limit, on one connection', () =>
  withBridge({ favourites: [], startBridge: false }, async (h) => {
    h.port.directoryEntries = [
      ...Array.from({ length: 190_000 }, (_, n) => ({ jid: `4917${String(n).padStart(8, '0')}@s.whatsapp.net`, kind: 'contact' as const, name: `Person ${n}`, state: 'unknown' as const })),
      ...Array.from({ length: 10_000 }, (_, n) => ({ jid: `1203630${String(n).padStart(11, '0')}@g.us`, kind: 'group' as const, name: `Group ${n}`, state: 'fetched' as const })),
    ];
    await h.bridge.start();
    await h.server.waitFor(() => h.server.directory !== undefined, 'the whole directory', 3_000);
    assert.is(h.server.directory?.length, 200_000);
    assert.is(h.server.oversizedMessages, 0, "no message over HA's limit");
    assert.equal(h.server.refusals, []);
    assert.ok(h.server.commands.every((command) => command.connection === 1), 'the connection was never dropped');
    assert.ok(h.server.commandsOfType('whatsapp/directory').length >= 40);
  }));

test('the fake HA, like HA, drops a connection whose message passes 4 MiB (what the chunks avoid)', () =>
  withBridge({ favourites: [] }, async (h) => {
    await h.server.waitFor(() => h.bridge.connected, 'the session');
    const client = new WebSocket(h.server.url);
    await new Promise((resolve) => client.once('open', resolve));
    client.send(JSON.stringify({ type: 'auth', access_token: TOKEN }));
    client.send('x'.repeat(HA_MAX_MESSAGE_BYTES + 1));
    await new Promise((resolve) => client.once('close', resolve));
    await h.server.waitFor(() => h.server.oversizedMessages === 1, 'the oversized message');
  }));

test('the fake HA, like the integration, refuses a hello that changes the worker its connection speaks for (the after_hello fixtures)', () =>
  withBridge({ favourites: [] }, async (h) => {
    const fixtures = upstreamFixtures.invalid.filter((fixture) => fixture.after_hello === true);
    assert.ok(fixtures.length >= 2);
    const hello = upstreamFixtures.valid.find((fixture) => fixture.type === 'whatsapp/hello' && 'worker_id' in fixture.payload)!;
    const client = new WebSocket(h.server.url);
    const answers = new Map<number, { success: boolean; error?: { code: string } }>();
    client.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; type: string; success: boolean; error?: { code: string } };
      if (message.type === 'result' && message.id !== undefined) answers.set(message.id, message);
    });
    await new Promise((resolve) => client.once('open', resolve));
    client.send(JSON.stringify({ type: 'auth', access_token: TOKEN }));
    let id = 0;
    const command = async (type: string, payload: Record<string, unknown>) => {
      const sent = ++id;
      client.send(JSON.stringify({ id: sent, type, ...payload }));
      await h.server.waitFor(() => answers.has(sent), `the answer to ${type} ${sent}`);
      return answers.get(sent)!;
    };
    try {
      assert.ok((await command(hello.type, hello.payload)).success);
      for (const fixture of fixtures) assert.is((await command(fixture.type, fixture.payload)).error?.code, fixture.error, fixture.name);
      assert.ok((await command(hello.type, hello.payload)).success, 'the same worker may say hello again');
    } finally {
      client.close();
    }
  }));

test('a second worker is refused: it logs the error naming the first, retries slowly, and takes over once the first is gone', () =>
  withBridge({ favourites: [ALICE], workerId: 'first-worker' }, async (h) => {
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push((JSON.parse(line) as { msg: string }).msg) });
    const second = testBridge(h.server.url, new MemoryPort(), { logger, workerId: 'second-worker', seed: 7 });
    try {
      await h.server.waitFor(() => h.bridge.connected, 'the first worker');
      await second.start();
      await h.server.waitFor(() => h.server.refusals.filter((refusal) => refusal.code === 'already_subscribed').length >= 2, 'the second refused, then retried');
      assert.not.ok(second.connected);
      assert.ok(h.bridge.connected, 'the first keeps the link');
      assert.match(second.lastProblem ?? '', /another worker is connected .*id first-worker/);
      assert.ok(logs.some((message) => /another worker is connected .*id first-worker.*stop the other one/.test(message)));
      await h.bridge.stop();
      await h.server.waitFor(() => second.connected, 'the second worker taking over');
    } finally {
      await second.stop();
    }
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
