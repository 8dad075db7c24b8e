// The avatar queue with write-through persistence: the in-memory AvatarQueue decides the order,
// the `avatar_jobs` table makes sure a restart or a crash loses no job. A job's row goes only
// in the same transaction that stores its outcome.

import type { AvatarJob, EnqueueRequest } from './model.js';
import type { JobStore } from './ports.js';
import { AvatarQueue, type EnqueueChange } from './queue.js';

export interface EnqueueSummary {
  readonly added: number;
  readonly raised: number;
  readonly changes: ReadonlyMap<string, EnqueueChange>;
}

export class DurableQueue {
  readonly memory = new AvatarQueue();
  private seenRevision = 0;
  private seenDataVersion: number | undefined;

  constructor(private readonly table: JobStore) {}

  /** Reads the stored jobs into memory (on start: a restart or a crash loses none). */
  load(): void {
    for (const job of this.table.eachJob()) this.memory.merge(job);
    this.seenRevision = this.table.currentRevision();
    this.seenDataVersion = this.dataVersion();
  }

  /** Queues many jobs in one transaction; only jobs that changed are written. */
  enqueueAll(requests: Iterable<EnqueueRequest>, now: number): EnqueueSummary {
    const changes = new Map<string, EnqueueChange>();
    const touched: AvatarJob[] = [];
    for (const request of requests) {
      const { job, change } = this.memory.enqueue(request, now);
      changes.set(job.jid, change);
      if (change !== 'unchanged') touched.push(job);
    }
    if (touched.length > 0) this.table.transaction(() => this.table.save(touched));
    let added = 0;
    let raised = 0;
    for (const change of changes.values()) {
      if (change === 'added') added++;
      else if (change === 'raised') raised++;
    }
    return { added, raised, changes };
  }

  /** Removes a finished job; call inside the transaction that stores its outcome. */
  complete(jid: string): void {
    this.table.remove(jid);
    this.memory.complete(jid);
  }

  /** Puts a job back for a later retry; call inside the transaction that stores its outcome. */
  retryLater(jid: string, notBefore: number): void {
    const job = this.memory.retryLater(jid, notBefore);
    this.table.save([job]);
  }

  /**
   * Merges jobs that another process wrote since the last look (SQLite's data_version changes
   * only when another connection commits, so this costs one pragma when nothing happened).
   */
  pickUpExternalJobs(): number {
    const version = this.dataVersion();
    if (version === this.seenDataVersion) return 0;
    this.seenDataVersion = version;
    const { jobs, revision } = this.table.changedSince(this.seenRevision);
    this.seenRevision = revision;
    let merged = 0;
    for (const job of jobs) if (this.memory.merge(job) !== 'unchanged') merged++;
    return merged;
  }

  private dataVersion(): number {
    return this.table.dataVersion();
  }
}
