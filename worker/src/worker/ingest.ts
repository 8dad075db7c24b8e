// Ingest of account events: contacts, chats and identities go into the store, the connection and
// the pairing into the worker's state. What to queue for them is the sweep's decision; ingest
// only says on the bus what arrived.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EnqueueRequest } from '../avatars/model.js';
import type { AccountEvent, ConnectionState } from '../avatars/ports.js';
import type { RatePolicy } from '../avatars/rate-policy.js';
import type { SubjectStore } from '../store/subjects.js';
import { STATE_KEYS, type WorkerState } from '../store/worker-state.js';
import type { WorkerBus } from './events.js';
import { nextTrouble, type ConnectionTrouble } from './connection-trouble.js';
import type { Pairing } from './pairing.js';

export interface IngestDependencies {
  readonly subjects: SubjectStore;
  readonly state: WorkerState;
  readonly policy: RatePolicy;
  readonly pairing: Pairing;
  readonly isFavourite: (jid: string) => boolean;
  readonly enqueue: (requests: readonly EnqueueRequest[]) => unknown;
  readonly bus: WorkerBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs `work` in one database transaction: a batch and what it queues commit together. */
  readonly inTransaction: <T>(work: () => T) => T;
}

export class AccountIngest {
  private current: ConnectionState = 'closed';
  /** Why WhatsApp is not connected and when the next attempt is due; kept through `connecting`, gone once open. */
  private trouble: ConnectionTrouble | undefined;
  /** This run's account delivered its history (the stored flag is only for `status`). */
  private synced = false;

  constructor(private readonly deps: IngestDependencies) {}

  get connection(): ConnectionState {
    return this.current;
  }

  get connectionProblem(): ConnectionTrouble | undefined {
    return this.trouble;
  }

  get historySynced(): boolean {
    return this.synced;
  }

  /** Stores contacts or identity pairs and tells the sweep in the same transaction; merged-away LIDs are announced after it. */
  private storeSubjects(store: () => ReturnType<SubjectStore['upsertContacts']>): void {
    const { mergedAway } = this.deps.inTransaction(() => {
      const stored = store();
      this.deps.bus.emit({ type: 'subjects-arrived', subjects: stored.records });
      return stored;
    });
    for (const jid of mergedAway) this.deps.bus.emit({ type: 'duplicate-merged', jid });
  }

  handle(event: AccountEvent): void {
    const { subjects, state, bus, clock } = this.deps;
    const now = clock.now();
    switch (event.type) {
      case 'connection':
        this.current = event.state;
        this.trouble = nextTrouble(this.trouble, event);
        this.deps.policy.connectionChanged(event.state === 'open', now);
        state.set(STATE_KEYS.connection, { state: event.state, at: now, detail: event.detail ?? null, retryAt: event.retryAt ?? null });
        if (event.state === 'open') this.deps.pairing.linked();
        bus.emit({ type: 'connection', state: event.state });
        bus.emit({ type: 'status' });
        return;
      case 'pairing':
        this.deps.pairing.show(event.qr, event.code);
        return;
      // A batch is stored and what it queues (the sweep hears 'subjects-arrived' at once) in one
      // transaction; the upserts return what the sweep decides by, so no record is read back.
      case 'contacts':
        this.storeSubjects(() => subjects.upsertContacts(event.contacts, now));
        return;
      case 'identities':
        this.storeSubjects(() => subjects.linkIdentities(event.pairs, now));
        return;
      case 'chats': {
        this.deps.inTransaction(() => {
          const askedWrongly = subjects.communitiesAskedWrongly(event.chats);
          bus.emit({ type: 'subjects-arrived', subjects: subjects.storeChats(event.chats, now).records });
          this.deps.enqueue(askedWrongly.map((jid) => ({ jid, kind: 'group', reason: this.changeReason(jid) })));
        });
        return;
      }
      case 'picture-changed': {
        const jid = subjects.resolve(event.jid);
        if (jid === undefined) {
          subjects.keepHint(event.jid, event.removed, now);
          this.deps.logger.debug({ jid: event.jid }, 'picture change for an unknown JID kept as a hint');
          return;
        }
        const record = subjects.get(jid)!;
        this.deps.enqueue([{ jid, kind: record.kind, reason: this.changeReason(jid) }]);
        return;
      }
      case 'history-synced':
        this.synced = true;
        state.set(STATE_KEYS.historySynced, true);
        bus.emit({ type: 'history-synced' });
        return;
    }
  }

  private changeReason(jid: string): 'favourite' | 'changed' {
    return this.deps.isFavourite(jid) ? 'favourite' : 'changed';
  }
}
