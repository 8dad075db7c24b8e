// The bridge against a fake Home Assistant on 127.0.0.1 that speaks HA's real websocket protocol.
// Network behaviour (restarts, retries) runs on the system clock with millisecond backoffs; the
// push schedule (status throttle, heartbeat) runs on a FakeClock.

import { createServer, type Socket } from 'node:net';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { FakeClock, seededRandom, systemClock, type Clock } from '../../src/clock.js';
import { HomeAssistantBridge, type BridgeTiming } from '../../src/ha/bridge.js';
import { CallError, type WorkerChange, type WorkerPort } from '../../src/ha/port.js';
import {
  MAX_PICTURE_BYTES,
  type AvatarUpdate,
  type CallResult,
  type DirectoryEntry,
  type RefreshAvatarCall,
  type RefreshAvatarResponse,
  type RefreshAvatarsCall,
  type RefreshAvatarsResponse,
  type WorkerStatus,
} from '../../src/ha/protocol.js';
import { FakeHomeAssistant, HA_MAX_MESSAGE_BYTES, type CommandHandler } from '../support/fake-ha-server.js';

const TOKEN = 'long-lived-token-4f9c2e';
const ALICE = '4915112345678@s.whatsapp.net';
const BOB = '4915187654321@s.whatsapp.net';
const GROUP = '120363025246125486@g.us';

// Short enough for a test to see several retries, long enough not to spin.
const FAST_TIMING: Partial<BridgeTiming> = {
  reconnect: { initialMs: 20, maxMs: 100, factor: 2, jitterRatio: 0.2 },
  setupRetry: { initialMs: 20, maxMs: 100, factor: 2, jitterRatio: 0.2 },
  refusedRetryMs: 40,
  connectTimeoutMs: 2_000,
  heartbeatIntervalMs: 60_000,
  heartbeatTimeoutMs: 10_000,
};

/** The worker side, in memory: records what HA asked and answers from fixed data. */
class MemoryPort implements WorkerPort {
  favouriteJids: string[] = [];
  readonly favouritesReceived: string[][] = [];
  readonly refreshCalls: RefreshAvatarCall[] = [];
  readonly refreshAllCalls: RefreshAvatarsCall[] = [];
  queueLength = 0;
  imageFor: (jid: string) => string = (jid) => Buffer.from(`jpeg of ${jid}`).toString('base64');
  private readonly listeners = new Set<(change: WorkerChange) => void>();
  private readonly known = new Map<string, { name: string; kind: 'contact' | 'group' }>([
    [ALICE, { name: 'Alice', kind: 'contact' }],
    [BOB, { name: 'Bob', kind: 'contact' }],
    [GROUP, { name: 'Family', kind: 'group' }],
  ]);

  async refreshAvatar(call: RefreshAvatarCall): Promise<RefreshAvatarResponse> {
    this.refreshCalls.push(call);
    if (call.jid === 'explode@s.whatsapp.net') throw new Error('database is locked');
    if (!call.jid.includes('@')) throw new CallError('invalid_jid', `'${call.jid}' is not a JID`);
    if (!this.known.has(call.jid)) throw new CallError('unknown_jid', `${call.jid} is not a known contact or group`);
    return { jid: call.jid, queued: true, position: 1, eta_seconds: 3, outcome: null, timed_out: false };
  }

  async refreshAvatars(call: RefreshAvatarsCall): Promise<RefreshAvatarsResponse> {
    this.refreshAllCalls.push(call);
    return { scope: call.scope, queued: this.known.size, matched: this.known.size, queue_length: this.known.size, eta_seconds: 9 };
  }

  setFavourites(jids: readonly string[]): void {
    this.favouritesReceived.push([...jids]);
    this.favouriteJids = [...jids];
  }

  status(): WorkerStatus {
    const zero = { unknown: 0, fetched: 0, none: 0, hidden: 0 };
    return {
      connection: 'open',
      pairing: null,
      queue_length: this.queueLength,
      progress: null,
      rate_limited_until: null,
      counts: { contact: { ...zero, fetched: 2 }, group: { ...zero, fetched: 1 } },
      connection_detail: null,
      reconnect_at: null,
      runs_in_app: false,
    };
  }

  /** Set to simulate a large account's directory. */
  directoryEntries: DirectoryEntry[] | undefined;

  directory(): DirectoryEntry[] {
    return this.directoryEntries ?? [...this.known].map(([jid, { name, kind }]) => ({ jid, kind, name, state: 'fetched' }));
  }

  async avatarUpdate(jid: string, withImage: boolean): Promise<AvatarUpdate | undefined> {
    const subject = this.known.get(jid);
    if (subject === undefined) return undefined;
    return {
      jid,
      kind: subject.kind,
      name: subject.name,
      state: 'fetched',
      picture_id: '1700000000',
      sha256: 'ab'.repeat(32),
      checked_at: '2026-01-01T00:00:00.000Z',
      changed_at: '2026-01-01T00:00:00.000Z',
      image: withImage ? this.imageFor(jid) : null,
    };
  }

  favourites(): readonly string[] {
    return this.favouriteJids;
  }

  onChange(listener: (change: WorkerChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(change: WorkerChange): void {
    for (const listener of this.listeners) listener(change);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

interface Harness {
  readonly server: FakeHomeAssistant;
  readonly port: MemoryPort;
  readonly bridge: HomeAssistantBridge;
  readonly logs: { level: number; msg: string; line: string }[];
  readonly unhandled: unknown[];
  close(): Promise<void>;
}

async function harness(
  options: {
    clock?: Clock;
    token?: string;
    favourites?: string[];
    integrationLoaded?: boolean;
    timing?: Partial<BridgeTiming>;
    startBridge?: boolean;
    workerId?: string;
  } = {},
): Promise<Harness> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  const server = await FakeHomeAssistant.start({
    token: TOKEN,
    favourites: options.favourites ?? [ALICE],
    integrationLoaded: options.integrationLoaded ?? true,
  });
  const logs: Harness['logs'] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const parsed = JSON.parse(line) as { level: number; msg: string };
        logs.push({ level: parsed.level, msg: parsed.msg, line });
      },
    },
  );
  const port = new MemoryPort();
  const bridge = new HomeAssistantBridge({
    url: server.url,
    token: options.token ?? TOKEN,
    port,
    logger,
    clock: options.clock ?? systemClock,
    random: seededRandom(42),
    workerVersion: '0.1.0-test',
    workerId: options.workerId ?? 'worker-under-test',
    timing: { ...FAST_TIMING, ...options.timing },
  });
  if (options.startBridge !== false) await bridge.start();
  return {
    server,
    port,
    bridge,
    logs,
    unhandled,
    async close() {
      await bridge.stop();
      await server.stop();
      // Give late rejections a turn to surface before the listener goes.
      await new Promise((resolve) => setTimeout(resolve, 20));
      process.off('unhandledRejection', onUnhandled);
      const tokenLeaks = logs.filter((entry) => entry.line.includes(options.token ?? TOKEN));
      assert.equal(tokenLeaks, [], 'the token must never be logged');
      assert.equal(unhandled, [], 'no unhandled rejection');
    },
  };
}

function payload(command: { message: Record<string, unknown> }): Record<string, unknown> {
  const { id: _id, type: _type, ...rest } = command.message;
  return rest;
}

test('handshake: hello, subscribe, then status, directory and the favourites with bytes', async () => {
  const h = await harness({ favourites: [ALICE, GROUP] });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 2, 'both favourites pushed');
    assert.ok(h.bridge.connected);
    assert.equal(h.server.authAttempts, ['ok']);
    assert.equal(h.server.whatsappCommandTypes().slice(0, 4), ['whatsapp/hello', 'whatsapp/subscribe', 'whatsapp/status', 'whatsapp/directory']);
    const [hello] = h.server.commandsOfType('whatsapp/hello');
    assert.equal(payload(hello!), { protocol_version: 1, worker_version: '0.1.0-test', worker_id: 'worker-under-test' });
    assert.equal(h.port.favouritesReceived, [[ALICE, GROUP]], 'the favourites from HA reached the worker');
    await h.server.waitFor(() => h.server.directory !== undefined, 'the directory');
    assert.equal(
      h.server.directory?.map(([jid]) => jid),
      [ALICE, BOB, GROUP],
    );
    assert.equal(h.server.refusals, [], 'HA accepted everything: every message fits protocol.json');
    const avatars = h.server.commandsOfType('whatsapp/avatar').map((command) => payload(command) as unknown as AvatarUpdate);
    assert.equal(avatars.map((avatar) => avatar.jid).sort(), [ALICE, GROUP].sort());
    for (const avatar of avatars) assert.is(Buffer.from(avatar.image!, 'base64').toString(), `jpeg of ${avatar.jid}`);
  } finally {
    await h.close();
  }
});

test('a favourites change reaches the worker and sends the new favourite with bytes', async () => {
  const h = await harness({ favourites: [ALICE] });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 1, 'the first favourite pushed');
    h.server.setFavourites([ALICE, BOB]);
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 2, 'the new favourite pushed');
    assert.equal(h.port.favouritesReceived, [[ALICE], [ALICE, BOB]]);
    const bob = payload(h.server.commandsOfType('whatsapp/avatar')[1]!) as unknown as AvatarUpdate;
    assert.is(bob.jid, BOB);
    assert.ok(bob.image !== null, 'a new favourite gets its bytes');
  } finally {
    await h.close();
  }
});

test('a favourite dropped and picked again gets its bytes again (HA deleted them)', async () => {
  const h = await harness({ favourites: [ALICE, BOB] });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 2, 'both favourites pushed');
    h.server.setFavourites([ALICE]);
    h.server.setFavourites([ALICE, BOB]);
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 3, 'the re-picked favourite pushed');
    const again = payload(h.server.commandsOfType('whatsapp/avatar')[2]!) as unknown as AvatarUpdate;
    assert.is(again.jid, BOB);
    assert.is(Buffer.from(again.image!, 'base64').toString(), `jpeg of ${BOB}`);
    // Alice stayed a favourite all along: HA still has her bytes.
    assert.is(h.server.commandsOfType('whatsapp/avatar').filter((command) => payload(command).jid === ALICE).length, 1);
  } finally {
    await h.close();
  }
});

test('resend: status, directory and every favourite with bytes go up again on the same subscription', async () => {
  const h = await harness({ favourites: [ALICE, GROUP] });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 2, 'both favourites pushed');
    const subscribes = h.server.commandsOfType('whatsapp/subscribe').length;
    const statuses = h.server.commandsOfType('whatsapp/status').length;
    const directories = h.server.commandsOfType('whatsapp/directory').length;
    h.server.sendDownstream({ type: 'resend' });
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 4, 'both favourites pushed again');
    assert.is(h.server.commandsOfType('whatsapp/status').length, statuses + 1, 'the status again');
    assert.is(h.server.commandsOfType('whatsapp/directory').length, directories + 1, 'the directory again');
    assert.is(h.server.commandsOfType('whatsapp/subscribe').length, subscribes, 'no new subscription');
    const again = h.server.commandsOfType('whatsapp/avatar').slice(2).map((command) => payload(command) as unknown as AvatarUpdate);
    assert.equal(again.map((avatar) => avatar.jid).sort(), [ALICE, GROUP].sort());
    for (const avatar of again) assert.ok(avatar.image !== null, `${avatar.jid} with its bytes`);
  } finally {
    await h.close();
  }
});

test('avatar changes go up with bytes only for favourites', async () => {
  const h = await harness({ favourites: [ALICE] });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 1, 'the favourite pushed');
    h.port.emit({ type: 'avatar', jid: BOB });
    h.port.emit({ type: 'avatar', jid: ALICE });
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 3, 'both changes pushed');
    const updates = h.server.commandsOfType('whatsapp/avatar').slice(1).map((command) => payload(command) as unknown as AvatarUpdate);
    const byJid = new Map(updates.map((update) => [update.jid, update]));
    assert.is(byJid.get(BOB)?.image, null, 'no bytes for a non-favourite');
    assert.ok(byJid.get(ALICE)?.image, 'bytes for a favourite');
  } finally {
    await h.close();
  }
});

test('service calls round-trip to the worker and back as call results', async () => {
  const h = await harness();
  try {
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
  } finally {
    await h.close();
  }
});

test('a CallError keeps its code; any other failure is internal_error; malformed calls are answered', async () => {
  const h = await harness();
  try {
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
  } finally {
    await h.close();
  }
});

test('status pushes are throttled to one per second with the trailing change kept', async () => {
  const clock = new FakeClock();
  const h = await harness({ clock, favourites: [] });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/directory').length === 1, 'the initial pushes');
    const statusCount = (): number => h.server.commandsOfType('whatsapp/status').length;
    assert.is(statusCount(), 1);
    // An avatar push goes out after any status sent before it, so its arrival shows what was sent.
    let fences = 0;
    const fence = async (): Promise<void> => {
      fences += 1;
      h.port.emit({ type: 'avatar', jid: BOB });
      await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === fences, 'the fence');
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
    await h.server.waitFor(() => statusCount() === 3, 'the trailing status');
    const last = payload(h.server.commandsOfType('whatsapp/status')[2]!) as unknown as WorkerStatus;
    assert.is(last.queue_length, 5, 'the trailing push carries the latest state');
    clock.advance(5_000);
    await fence();
    assert.is(statusCount(), 3, 'nothing more without changes');
  } finally {
    await h.close();
  }
});

test('directory changes are debounced into one push', async () => {
  const clock = new FakeClock();
  const h = await harness({ clock, favourites: [], timing: { directoryQuietMs: 2_000, directoryMaxWaitMs: 30_000 } });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/directory').length === 1, 'the initial directory');
    for (let change = 0; change < 10; change++) {
      h.port.emit({ type: 'directory' });
      clock.advance(500);
    }
    clock.advance(2_000);
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/directory').length === 2, 'the debounced directory');
    h.port.emit({ type: 'avatar', jid: BOB });
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 1, 'a fence');
    assert.is(h.server.commandsOfType('whatsapp/directory').length, 2, 'ten changes, one push');
  } finally {
    await h.close();
  }
});

test('HA restart: the bridge reconnects and subscribes again, with no unhandled rejection', async () => {
  const h = await harness({ favourites: [ALICE] });
  try {
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 1, 'the first session');
    await h.server.stop();
    await h.server.waitFor(() => !h.bridge.connected, 'the bridge noticing');
    // Let a few reconnects fail against the closed port.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await h.server.restart();
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 2, 'the second session');
    assert.ok(h.bridge.connected);
    const second = h.server.commands.filter((command) => command.connection > 1 && command.type.startsWith('whatsapp/'));
    assert.equal(
      second.map((command) => command.type),
      ['whatsapp/hello', 'whatsapp/subscribe', 'whatsapp/status', 'whatsapp/directory', 'whatsapp/avatar'],
    );
    assert.ok(h.logs.some((entry) => /lost the connection/.test(entry.msg)));
  } finally {
    await h.close();
  }
});

test('HA restarting before the integration loads: unknown_command is retried until it loads', async () => {
  const h = await harness();
  try {
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
  } finally {
    await h.close();
  }
});

test('a subscribe rejected with unknown_command is retried on the same connection until accepted', async () => {
  const h = await harness({ startBridge: false });
  try {
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
  } finally {
    await h.close();
  }
});

test('an incompatible integration: one clear error, and no more tries on this connection', async () => {
  const clock = new FakeClock();
  const h = await harness({ clock, startBridge: false });
  try {
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
  } finally {
    await h.close();
  }
});

test('a non-admin token is logged as an error and retried slowly', async () => {
  const h = await harness({ startBridge: false });
  try {
    h.server.setHandler('whatsapp/subscribe', () => ({ error: { code: 'unauthorized', message: 'Unauthorized' } }));
    await h.bridge.start();
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/subscribe').length >= 2, 'the subscribe retried');
    assert.match(h.bridge.lastProblem ?? '', /must belong to an administrator/);
    assert.ok(h.logs.some((entry) => entry.level === 50 && /administrator/.test(entry.msg)));
    h.server.setHandler('whatsapp/subscribe', undefined);
    await h.server.waitFor(() => h.bridge.connected, 'the subscription once fixed');
    assert.is(h.bridge.lastProblem, undefined);
  } finally {
    await h.close();
  }
});

test('HA unreachable at start: the bridge keeps trying and connects once HA is up', async () => {
  const h = await harness({ startBridge: false });
  try {
    await h.server.stop();
    await h.bridge.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.not.ok(h.bridge.connected);
    assert.match(h.bridge.lastProblem ?? '', /cannot reach Home Assistant/);
    await h.server.restart();
    await h.server.waitFor(() => h.bridge.connected, 'the connection once HA is up');
    assert.is(h.bridge.lastProblem, undefined);
  } finally {
    await h.close();
  }
});

test('a bad token is logged clearly, never crashes, and is retried slowly', async () => {
  const h = await harness({ token: 'wrong-token-1234567' });
  try {
    await h.server.waitFor(() => h.server.authAttempts.length >= 3, 'three auth attempts');
    assert.ok(h.server.authAttempts.every((attempt) => attempt === 'invalid'));
    assert.not.ok(h.bridge.connected);
    assert.equal(h.server.whatsappCommandTypes(), []);
    const errors = h.logs.filter((entry) => entry.level === 50 && /refused the access token/.test(entry.msg));
    assert.ok(errors.length >= 2, 'each refusal is logged as an error');
    assert.match(h.bridge.lastProblem ?? '', /refused the access token/);
  } finally {
    await h.close();
  }
});

test('an unanswered ping cuts the connection and the bridge reconnects', async () => {
  const clock = new FakeClock();
  const h = await harness({
    clock,
    favourites: [],
    timing: { heartbeatIntervalMs: 30_000, heartbeatTimeoutMs: 10_000, reconnect: { initialMs: 1_000, maxMs: 1_000, factor: 2, jitterRatio: 0 } },
  });
  try {
    await h.server.waitFor(() => h.bridge.connected, 'the first session');
    h.server.setHandler('ping', () => 'no-answer');
    clock.advance(30_000);
    await h.server.waitFor(() => h.server.commandsOfType('ping').length === 1, 'the ping');
    clock.advance(10_000);
    await h.server.waitFor(() => !h.bridge.connected, 'the cut');
    h.server.setHandler('ping', undefined);
    await h.server.waitFor(() => clock.nextTimerAt() !== undefined && h.server.subscriberCount === 0, 'the reconnect timer');
    clock.advance(1_000);
    await h.server.waitFor(() => h.bridge.connected, 'the reconnect');
    assert.ok(h.logs.some((entry) => /did not answer a ping/.test(entry.msg)));
  } finally {
    await h.close();
  }
});

test('a picture too large for HA goes up without its bytes', async () => {
  const h = await harness({ favourites: [ALICE], startBridge: false });
  try {
    h.port.imageFor = () => 'A'.repeat(4 * 1024 * 1024);
    await h.bridge.start();
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 1, 'the favourite');
    const update = payload(h.server.commandsOfType('whatsapp/avatar')[0]!) as unknown as AvatarUpdate;
    assert.is(update.image, null);
    assert.is(update.jid, ALICE);
    assert.ok(h.bridge.connected, 'HA did not have to drop the connection');
  } finally {
    await h.close();
  }
});

test('a picture over HA\'s 2 MiB cap goes up without its bytes and a clear log line, and HA never refuses it', async () => {
  const h = await harness({ favourites: [ALICE], startBridge: false });
  try {
    h.port.imageFor = () => Buffer.alloc(MAX_PICTURE_BYTES + 1, 0xff).toString('base64');
    await h.bridge.start();
    await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 1, 'the favourite');
    const update = payload(h.server.commandsOfType('whatsapp/avatar')[0]!) as unknown as AvatarUpdate;
    assert.is(update.image, null);
    assert.equal(h.server.refusals, []);
    assert.ok(h.logs.some((entry) => entry.level === 40 && /without its bytes: the picture is 2097153 bytes, over the 2097152/.test(entry.msg)));
  } finally {
    await h.close();
  }
});

test('a picture HA refuses (sha256_mismatch, invalid_image, image_too_large) is not sent again on that connection', async () => {
  for (const code of ['sha256_mismatch', 'invalid_image', 'image_too_large']) {
    const h = await harness({ favourites: [ALICE], startBridge: false });
    try {
      h.server.setHandler('whatsapp/avatar', (message) =>
        message.image === null ? { result: null } : { error: { code, message: 'the picture is refused' } },
      );
      await h.bridge.start();
      await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').length === 2, 'the refused picture and its state');
      for (let change = 0; change < 3; change++) h.port.emit({ type: 'avatar', jid: ALICE });
      h.port.emit({ type: 'avatar', jid: BOB });
      await h.server.waitFor(() => h.server.commandsOfType('whatsapp/avatar').some((command) => command.message.jid === BOB), 'a fence');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const withBytes = h.server.commandsOfType('whatsapp/avatar').filter((command) => command.message.image !== null);
      assert.is(withBytes.length, 1, `${code}: the bytes went up once`);
      assert.ok(h.bridge.connected);
      assert.is(h.logs.filter((entry) => /refused the picture; it is not sent again/.test(entry.msg)).length, 1, code);
    } finally {
      await h.close();
    }
  }
});

test('an entry that is not loaded: one warning, then quiet retries until it is', async () => {
  const h = await harness({ startBridge: false });
  try {
    let refusals = 0;
    const notLoaded: CommandHandler = () =>
      refusals++ < 8
        ? { error: { code: 'not_loaded', message: 'the WhatsApp integration is not set up or not loaded' } }
        : { result: { protocol_version: 1, integration_version: 't' } };
    h.server.setHandler('whatsapp/hello', notLoaded);
    await h.bridge.start();
    await h.server.waitFor(() => h.bridge.connected, 'the subscription once loaded');
    const warnings = h.logs.filter((entry) => entry.level >= 40 && /not loaded/.test(entry.msg));
    assert.is(warnings.length, 1, 'one line says so');
    assert.ok(h.logs.filter((entry) => entry.level === 20 && /still not loaded/.test(entry.msg)).length >= 6, 'the retries are debug lines');
  } finally {
    await h.close();
  }
});

test('not_loaded or hello_required on a push: the worker says hello and subscribes again', async () => {
  for (const code of ['not_loaded', 'hello_required']) {
    const h = await harness({ favourites: [] });
    try {
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
    } finally {
      await h.close();
    }
  }
});

test('a directory chunk HA refuses ends that transfer; the next push sends a whole new one', async () => {
  const clock = new FakeClock();
  const h = await harness({ clock, favourites: [] });
  try {
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
    assert.is((h.server as FakeHomeAssistant).directory?.length, 3);
  } finally {
    await h.close();
  }
});

test('a directory of 200,000 contacts and groups reaches HA whole, in chunks under its 4 MiB limit, on one connection', async () => {
  const h = await harness({ favourites: [], startBridge: false });
  try {
    h.port.directoryEntries = [
      ...Array.from({ length: 190_000 }, (_, n) => ({ jid: `4917${String(n).padStart(8, '0')}@s.whatsapp.net`, kind: 'contact' as const, name: `Person ${n}`, state: 'unknown' as const })),
      ...Array.from({ length: 10_000 }, (_, n) => ({ jid: `1203630${String(n).padStart(11, '0')}@g.us`, kind: 'group' as const, name: `Group ${n}`, state: 'fetched' as const })),
    ];
    await h.bridge.start();
    await h.server.waitFor(() => h.server.directory !== undefined, 'the whole directory', 3_000);
    assert.is(h.server.directory?.length, 200_000);
    assert.is(h.server.oversizedMessages, 0, 'no message over HA\'s limit');
    assert.equal(h.server.refusals, []);
    assert.ok(h.server.commands.every((command) => command.connection === 1), 'the connection was never dropped');
    assert.ok(h.server.commandsOfType('whatsapp/directory').length >= 40);
  } finally {
    await h.close();
  }
});

test('the fake HA, like HA, drops a connection whose message passes 4 MiB (what the chunks avoid)', async () => {
  const h = await harness({ favourites: [] });
  try {
    await h.server.waitFor(() => h.bridge.connected, 'the session');
    const client = new WebSocket(h.server.url);
    await new Promise((resolve) => client.once('open', resolve));
    client.send(JSON.stringify({ type: 'auth', access_token: TOKEN }));
    client.send('x'.repeat(HA_MAX_MESSAGE_BYTES + 1));
    await new Promise((resolve) => client.once('close', resolve));
    await h.server.waitFor(() => h.server.oversizedMessages === 1, 'the oversized message');
  } finally {
    await h.close();
  }
});

test('a second worker is refused: it logs the error naming the first, retries slowly, and takes over once the first is gone', async () => {
  const h = await harness({ favourites: [ALICE], workerId: 'first-worker' });
  const logs: string[] = [];
  const second = new HomeAssistantBridge({
    url: h.server.url,
    token: TOKEN,
    port: new MemoryPort(),
    logger: pino({ level: 'debug' }, { write: (line: string) => logs.push((JSON.parse(line) as { msg: string }).msg) }),
    clock: systemClock,
    random: seededRandom(7),
    workerVersion: '0.1.0-test',
    workerId: 'second-worker',
    timing: FAST_TIMING,
  });
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
    await h.close();
  }
});

test('stop closes the connection, unsubscribes from the worker, and does not reconnect', async () => {
  const h = await harness();
  try {
    await h.server.waitFor(() => h.bridge.connected, 'the session');
    await h.bridge.stop();
    assert.not.ok(h.bridge.connected);
    assert.is(h.port.listenerCount, 0);
    await h.server.waitFor(() => h.server.subscriberCount === 0, 'the server seeing the close');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(h.server.authAttempts.length, 1, 'no reconnect after stop');
  } finally {
    await h.close();
  }
});

test('stop while a connection attempt hangs ends it at once, without a rejection', async () => {
  // A server that accepts TCP connections and never answers the websocket upgrade.
  const held: Socket[] = [];
  const silentServer = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
  const address = silentServer.address() as { port: number };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  const port = new MemoryPort();
  const bridge = new HomeAssistantBridge({
    url: `ws://127.0.0.1:${address.port}/api/websocket`,
    token: TOKEN,
    port,
    logger: pino({ level: 'silent' }),
    clock: new FakeClock(),
    random: seededRandom(1),
    workerVersion: '0.1.0-test',
    workerId: null,
  });
  try {
    await bridge.start();
    for (let attempt = 0; attempt < 500 && held.length === 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.is(held.length, 1, 'the bridge is connecting');
    await bridge.stop();
    assert.not.ok(bridge.connected);
    assert.is(port.listenerCount, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silentServer.close(() => resolve()));
  }
});

test.run();
