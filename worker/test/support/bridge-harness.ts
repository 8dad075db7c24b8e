// The frame every HA bridge test runs in: a fake Home Assistant on 127.0.0.1 speaking HA's real
// websocket protocol, the worker side in memory, a bridge between them with fast retry timings, a
// log that is read back, and the checks every test ends with (no token in the log, no unhandled
// rejection). A test says only what differs: `withBridge(options, async (h) => { … })`.

import { createHash } from 'node:crypto';
import pino from 'pino';
import * as assert from 'uvu/assert';
import { seededRandom, systemClock, type Clock } from '../../src/clock.js';
import { HomeAssistantBridge, type BridgeTiming } from '../../src/ha/bridge.js';
import { CallError, type WorkerChange, type WorkerPort } from '../../src/ha/port.js';
import type {
  PairingCodeCall,
  PairingCodeResponse,
  PictureCall,
  PictureResponse,
  PurgeAvatarsResponse,
  AvatarUpdate,
  DirectoryEntry,
  RefreshAvatarCall,
  RefreshAvatarResponse,
  RefreshAvatarsCall,
  RefreshAvatarsResponse,
  WorkerStatus,
} from '../../src/ha/protocol.js';
import { FakeHomeAssistant } from './fake-ha-server.js';

export const TOKEN = 'long-lived-token-4f9c2e';
export const ALICE = '4915112345678@s.whatsapp.net';
export const BOB = '4915187654321@s.whatsapp.net';
export const GROUP = '120363025246125486@g.us';

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
export class MemoryPort implements WorkerPort {
  favouriteJids: string[] = [];
  readonly favouritesReceived: string[][] = [];
  readonly refreshCalls: RefreshAvatarCall[] = [];
  readonly refreshAllCalls: RefreshAvatarsCall[] = [];
  /** Set to simulate a large account's directory. */
  directoryEntries: DirectoryEntry[] | undefined;
  /** JIDs whose update the bridge read (on subscribe, for new favourites); a job's change is never read. */
  readonly avatarReads: string[] = [];
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

  readonly pictureCalls: string[] = [];
  purged = { files: 0, bytes: 0 };

  async picture(call: PictureCall): Promise<PictureResponse> {
    this.pictureCalls.push(call.jid);
    if (!this.known.has(call.jid)) throw new CallError('unknown_jid', `${call.jid} is not a known contact or group`);
    const bytes = Buffer.from(this.imageFor(call.jid), 'base64');
    return { jid: call.jid, sha256: createHash('sha256').update(bytes).digest('hex'), image: bytes.toString('base64') };
  }

  async purgeAvatars(): Promise<PurgeAvatarsResponse> {
    return { files_removed: this.purged.files, bytes_removed: this.purged.bytes };
  }

  readonly pairingCodeCalls: string[] = [];

  async pairingCode(call: PairingCodeCall): Promise<PairingCodeResponse> {
    this.pairingCodeCalls.push(call.phone_number);
    return { code: 'ABCD2345' };
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

  directory(): DirectoryEntry[] {
    return this.directoryEntries ?? [...this.known].map(([jid, { name, kind }]) => ({ jid, kind, name, state: 'fetched' }));
  }

  async avatarUpdate(jid: string, withImage: boolean): Promise<AvatarUpdate | undefined> {
    this.avatarReads.push(jid);
    return this.updateFor(jid, withImage);
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

  /** A finished job, as the presenter reports it: the update, with bytes for a favourite (or `image` as given). */
  avatarChanged(jid: string, image?: string | null): void {
    const update = this.updateFor(jid, this.favouriteJids.includes(jid))!;
    this.emit({ type: 'avatar', jid, update: image === undefined ? update : { ...update, image } });
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private updateFor(jid: string, withImage: boolean): AvatarUpdate | undefined {
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
}

/** Collects unhandled rejections from now until `stop()`, which returns them after a turn for late ones. */
export function catchUnhandled(): { stop(): Promise<unknown[]> } {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  return {
    async stop() {
      // Give late rejections a turn to surface before the listener goes.
      await new Promise((resolve) => setTimeout(resolve, 20));
      process.off('unhandledRejection', onUnhandled);
      return unhandled;
    },
  };
}

export interface BridgeOptions {
  clock?: Clock;
  token?: string;
  favourites?: string[];
  integrationLoaded?: boolean;
  timing?: Partial<BridgeTiming>;
  startBridge?: boolean;
  workerId?: string;
}

/** A bridge on the test settings (fast timings, a fixed seed) towards `url`. */
export function testBridge(
  url: string,
  port: WorkerPort,
  options: { token?: string; clock?: Clock; timing?: Partial<BridgeTiming>; logger?: pino.Logger; workerId?: string | null; seed?: number } = {},
): HomeAssistantBridge {
  return new HomeAssistantBridge({
    url,
    token: options.token ?? TOKEN,
    port,
    logger: options.logger ?? pino({ level: 'silent' }),
    clock: options.clock ?? systemClock,
    random: seededRandom(options.seed ?? 42),
    workerVersion: '0.1.0-test',
    workerId: options.workerId === undefined ? 'worker-under-test' : options.workerId,
    timing: { ...FAST_TIMING, ...options.timing },
  });
}

export interface Harness {
  readonly server: FakeHomeAssistant;
  readonly port: MemoryPort;
  readonly bridge: HomeAssistantBridge;
  readonly logs: { level: number; msg: string; line: string }[];
  /** What the bridge sent as `type`, in order, without the websocket envelope. */
  sent<T = Record<string, unknown>>(type: string): T[];
  /** Waits until the bridge has sent `count` commands of `type` (on every connection together). */
  waitForSent(type: string, count: number, what: string): Promise<void>;
}

/** Runs `body` inside the frame and always tears it down; fails the test on a leaked token or an unhandled rejection. */
export async function withBridge(options: BridgeOptions, body: (h: Harness) => Promise<void>): Promise<void> {
  const unhandled = catchUnhandled();
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
  const bridge = testBridge(server.url, port, { token: options.token, clock: options.clock, timing: options.timing, logger, workerId: options.workerId });
  const harness: Harness = {
    server,
    port,
    bridge,
    logs,
    sent: <T>(type: string) =>
      server.commandsOfType(type).map((command) => {
        const { id: _id, type: _type, ...rest } = command.message;
        return rest as T;
      }),
    waitForSent: (type, count, what) => server.waitFor(() => server.commandsOfType(type).length === count, what),
  };
  try {
    if (options.startBridge !== false) await bridge.start();
    await body(harness);
  } finally {
    await bridge.stop();
    await server.stop();
    const rejections = await unhandled.stop();
    const token = options.token ?? TOKEN;
    assert.equal(logs.filter((entry) => entry.line.includes(token)), [], 'the token must never be logged');
    assert.equal(rejections, [], 'no unhandled rejection');
  }
}
