// One test file's world: a temp folder, a Home Assistant with an owner, a token and the whatsapp
// entry, and the processes started around it. `dispose` stops everything and removes the folder,
// and never throws, so a failing test still cleans up.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEEP_ENV, removeOnExit } from './exit-cleanup.js';
import { HaRest } from './ha-rest.js';
import { HaWebSocket } from './ha-websocket.js';
import { HomeAssistantServer, resolvePython } from './home-assistant.js';
import { addWhatsAppEntry } from './integration.js';
import { E2E_OWNER, onboardOwner, type Owner } from './onboarding.js';
import type { ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';
import { startDemoWorker, startUnreachableRunWorker, type DemoWorkerOptions } from './worker.js';

/** A free TCP port on loopback (the kernel picks it; HA binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class E2eEnvironment {
  private readonly processes: ManagedProcess[] = [];
  private readonly sockets: HaWebSocket[] = [];
  readonly rest: HaRest;

  private constructor(
    readonly root: string,
    readonly ha: HomeAssistantServer,
    readonly token: string,
    private readonly addedEntryId: string | undefined,
    readonly owner: Owner,
  ) {
    this.rest = ha.rest.withToken(token);
  }

  /** The whatsapp entry the environment added (one started with `addEntry: false` has none). */
  get entryId(): string {
    if (this.addedEntryId === undefined) throw new Error('this environment was started without a whatsapp entry (addEntry: false)');
    return this.addedEntryId;
  }

  /** A fresh HA, onboarded, with the whatsapp entry added; cleans up after itself if any step fails. */
  /** `extraConfiguration`: more of configuration.yaml, e.g. `recorder:` and `logbook:` for a suite that reads the logbook. */
  /** `addEntry: false` leaves the whatsapp integration to be added by the test, as a person does. */
  static async start(label: string, extraConfiguration = '', addEntry = true): Promise<E2eEnvironment> {
    const root = mkdtempSync(join(tmpdir(), `whatsapp-e2e-${label}-`));
    removeOnExit(root);
    let ha: HomeAssistantServer | undefined;
    try {
      ha = new HomeAssistantServer(resolvePython(), join(root, 'ha-config'), await freePort(), root);
      ha.prepare(extraConfiguration);
      await ha.start();
      const token = await onboardOwner(ha.rest, E2E_OWNER);
      await ha.waitUntilRunning(token);
      await ha.confirmHttpConfig(token);
      const entryId = addEntry ? await addWhatsAppEntry(ha.rest.withToken(token)) : undefined;
      return new E2eEnvironment(root, ha, token, entryId, E2E_OWNER);
    } catch (error) {
      if (ha !== undefined) {
        process.stderr.write(`e2e: Home Assistant log (${ha.logPath}):\n${ha.logTail()}\n`);
        await ha.stop();
      }
      removeFolder(root);
      throw error;
    }
  }

  get haUrl(): string {
    return this.ha.baseUrl;
  }

  /** A folder inside the environment's temp folder. */
  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** A websocket client as the owner; closed by `dispose`. */
  async connect(): Promise<HaWebSocket> {
    const socket = await HaWebSocket.connect(this.haUrl, this.token);
    this.sockets.push(socket);
    return socket;
  }

  /** Starts the demo worker on `dataDir`, connected to this HA. */
  startWorker(name: string, dataDir: string, options: Pick<DemoWorkerOptions, 'scanAfterSeconds' | 'contacts' | 'intervalSeconds'> = {}): ManagedProcess {
    return this.track(startDemoWorker({ name, dataDir, haUrl: this.haUrl, token: this.token, logDir: this.root, ...options }));
  }

  /** `whatsapp-worker run` with WhatsApp's websocket at an address that does not answer. */
  startUnreachableWorker(name: string, dataDir: string, webSocketUrl: string): ManagedProcess {
    return this.track(startUnreachableRunWorker({ name, dataDir, haUrl: this.haUrl, token: this.token, logDir: this.root, webSocketUrl }));
  }

  /** Remembers a process so `dispose` stops it. */
  track(child: ManagedProcess): ManagedProcess {
    this.processes.push(child);
    return child;
  }

  /** The state of an entity, or undefined when HA has none. */
  async state(entityId: string): Promise<EntityState | undefined> {
    const response = await this.rest.request('GET', `/api/states/${entityId}`);
    if (response.status === 404) {
      await response.arrayBuffer();
      return undefined;
    }
    if (!response.ok) throw new Error(`GET /api/states/${entityId} answered HTTP ${response.status}: ${await response.text()}`);
    return (await response.json()) as EntityState;
  }

  /** Waits until `entityId`'s state satisfies `accept`; returns that state. */
  async waitForState(entityId: string, description: string, accept: (state: EntityState | undefined) => boolean, timeoutMs: number): Promise<EntityState | undefined> {
    let last: EntityState | undefined;
    const found = await waitFor(
      `${entityId} ${description}`,
      async () => {
        last = await this.state(entityId);
        if (accept(last)) return { state: last };
        throw new Error(`state is ${last === undefined ? 'absent' : JSON.stringify(last.state)}`);
      },
      { timeoutMs },
    );
    return found.state;
  }

  /** Prints the logs that explain a failure. */
  reportLogs(): void {
    process.stderr.write(`\n--- Home Assistant log tail (${this.ha.logPath}) ---\n${this.ha.logTail(60)}\n`);
    for (const child of this.processes) process.stderr.write(`\n--- ${child.name} log tail (${child.logPath}) ---\n${child.logTail()}\n`);
  }

  /** Stops every process, HA last (the worker logs its disconnect), and removes the temp folder. */
  async dispose(): Promise<void> {
    for (const socket of this.sockets) await socket.close().catch((error: unknown) => warn('closing a websocket', error));
    for (const child of this.processes) await child.stop().catch((error: unknown) => warn(`stopping ${child.name}`, error));
    await this.ha.stop().catch((error: unknown) => warn('stopping Home Assistant', error));
    removeFolder(this.root);
  }
}

export interface EntityState {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
  last_changed: string;
  last_updated: string;
}

function warn(what: string, error: unknown): void {
  process.stderr.write(`e2e: ${what} failed: ${error instanceof Error ? error.message : String(error)}\n`);
}

function removeFolder(root: string): void {
  if (process.env[KEEP_ENV]) {
    process.stderr.write(`e2e: kept ${root} (${KEEP_ENV} is set)\n`);
    return;
  }
  rmSync(root, { recursive: true, force: true });
}
