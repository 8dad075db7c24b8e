// The sweep: what to queue and why. Every few minutes it queues the subjects whose TTL ran out;
// after the history sync it queues everything due; subjects that just arrived are queued at once
// when due (a pending picture-change hint first). Favourites first, active chats before the rest.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { EnqueueRequest, JobReason } from '../avatars/model.js';
import type { DurableQueue } from '../avatars/durable-queue.js';
import { sweepReason } from '../avatars/transitions.js';
import type { StoredSubject, SubjectStore } from '../store/subjects.js';
import type { WorkerBus } from './events.js';

// The sweep finds subjects whose TTL ran out; every few minutes is plenty for TTLs of days.
const SWEEP_INTERVAL_MS = 5 * 60_000;
// A sweep queues at most this many per kind at once, so one sweep never holds the database long.
const SWEEP_BATCH_LIMIT = 20_000;

export interface SweepDependencies {
  readonly subjects: SubjectStore;
  readonly isFavourite: (jid: string) => boolean;
  readonly enqueue: (requests: readonly EnqueueRequest[]) => ReturnType<DurableQueue['enqueueAll']>;
  readonly bus: WorkerBus;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The reason to queue a subject now, if any: favourites first, active chats before the rest. */
export function queueRequestFor(record: StoredSubject, favourite: boolean, now: number): EnqueueRequest | undefined {
  const reason = sweepReason(record, favourite, now);
  if (reason === undefined) return undefined;
  const activeChat = (reason === 'never-fetched' || reason === 'stale') && record.lastActivityAt !== undefined;
  const finalReason: JobReason = activeChat ? 'active-chat' : reason;
  return { jid: record.jid, kind: record.kind, reason: finalReason, rank: activeChat ? record.lastActivityAt : 0 };
}

export class Sweep {
  private cancelTimer: (() => void) | undefined;
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: SweepDependencies) {}

  /** Sweeps now and every few minutes, and listens for arrivals and the history sync. */
  start(): void {
    const { bus } = this.deps;
    this.unsubscribe = [
      bus.on('subjects-arrived', (event) => this.queueArrivals(event.subjects)),
      bus.on('history-synced', () => this.sweep()),
    ];
    this.schedule(0);
  }

  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.unsubscribe = [];
  }

  reasonFor(record: StoredSubject, now: number): EnqueueRequest | undefined {
    return queueRequestFor(record, this.deps.isFavourite(record.jid), now);
  }

  /** Queues every subject whose TTL ran out (and, after the history sync, every new one). */
  sweep(): void {
    const now = this.deps.clock.now();
    const requests = this.deps.subjects
      .due(now, SWEEP_BATCH_LIMIT)
      .map((record) => this.reasonFor(record, now))
      .filter((request): request is EnqueueRequest => request !== undefined);
    const summary = this.deps.enqueue(requests);
    if (summary.added > 0) this.deps.logger.info({ queued: summary.added }, 'queued subjects due for a picture check');
  }

  private schedule(delayMs: number): void {
    this.cancelTimer = this.deps.clock.setTimer(() => {
      this.sweep();
      this.schedule(SWEEP_INTERVAL_MS);
    }, delayMs);
  }

  /** Queues what a stored batch needs: a kept picture hint (one statement for the batch), and each subject's own reason. */
  private queueArrivals(arrived: readonly StoredSubject[]): void {
    const { subjects, clock, bus } = this.deps;
    const now = clock.now();
    const hinted = subjects.takeHints(arrived.map((record) => record.jid));
    const requests: EnqueueRequest[] = [];
    for (const record of arrived) {
      if (hinted.has(record.jid)) requests.push({ jid: record.jid, kind: record.kind, reason: 'changed' });
      const request = this.reasonFor(record, now);
      if (request !== undefined) requests.push(request);
    }
    this.deps.enqueue(requests);
    bus.emit({ type: 'directory' });
  }
}
