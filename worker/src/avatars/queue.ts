// The in-memory avatar queue: deduplicated by JID, ordered by priority, then rank, then enqueue
// order, with per-job retry backoff. Pure: no I/O and no clock of its own (callers pass `now`), so
// the store persists what it returns and a restart rebuilds it from the stored rows.
//
// Two binary heaps with lazy deletion keep every operation O(log n): `ready` holds jobs in run
// order, `delayed` holds jobs waiting out a backoff in `notBefore` order. A heap entry is valid
// only while it carries its job's current version; raising or rescheduling a job pushes a fresh
// entry and leaves the old one to be skipped when it surfaces.

import { JOB_REASONS, PRIORITY_BY_REASON, type AvatarJob, type EnqueueRequest } from './model.js';

export type EnqueueChange = 'added' | 'raised' | 'unchanged';

interface HeapEntry {
  readonly job: AvatarJob;
  readonly version: number;
}

/** A plain binary min-heap under `before` (the entry that should come out first). */
class BinaryHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(items[index]!, items[parent]!)) break;
      [items[index], items[parent]] = [items[parent]!, items[index]!];
      index = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let first = index;
        if (left < items.length && this.before(items[left]!, items[first]!)) first = left;
        if (right < items.length && this.before(items[right]!, items[first]!)) first = right;
        if (first === index) break;
        [items[index], items[first]] = [items[first]!, items[index]!];
        index = first;
      }
    }
    return top;
  }

  /** Keeps only the items that pass `keep` and rebuilds the heap: O(n). */
  retain(keep: (item: T) => boolean): void {
    const kept = this.items.filter(keep);
    this.items.length = 0;
    for (const item of kept) this.push(item);
  }
}

/** True when `a` runs before `b`: higher priority, then higher rank, then enqueued earlier. */
export function runsBefore(a: AvatarJob, b: AvatarJob): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.rank !== b.rank) return a.rank > b.rank;
  return a.seq < b.seq;
}

// Stale heap entries are dropped in one O(n) pass once they outnumber live jobs by this factor,
// so memory stays proportional to the queue even when the same JIDs are raised over and over.
const STALE_ENTRY_COMPACTION_FACTOR = 2;
// Below this many entries compaction is not worth a pass.
const COMPACTION_MIN_ENTRIES = 1024;

export class AvatarQueue {
  private readonly jobs = new Map<string, { job: AvatarJob; version: number }>();
  private readonly ready = new BinaryHeap<HeapEntry>((a, b) => runsBefore(a.job, b.job));
  private readonly delayed = new BinaryHeap<HeapEntry>(
    (a, b) => a.job.notBefore < b.job.notBefore || (a.job.notBefore === b.job.notBefore && runsBefore(a.job, b.job)),
  );
  private nextSeq = 1;
  private nextVersion = 1;

  /** Restores persisted jobs; new jobs continue after the largest restored `seq`. */
  constructor(jobs: Iterable<AvatarJob> = []) {
    for (const job of jobs) this.merge(job);
  }

  get size(): number {
    return this.jobs.size;
  }

  has(jid: string): boolean {
    return this.jobs.has(jid);
  }

  get(jid: string): AvatarJob | undefined {
    return this.jobs.get(jid)?.job;
  }

  /**
   * Adds a job, or raises an existing one: priority, rank and force only ever go up. When the
   * priority rises the reason follows it. Only an explicit request drops a retry backoff: a
   * person asked. Anything else (a chat update, a picture notification, a new favourite) keeps
   * it, or a stream of events could make a failing subject be asked again at once each time.
   * The job keeps its place in enqueue order (`seq`).
   */
  enqueue(request: EnqueueRequest, now: number): { job: AvatarJob; change: EnqueueChange } {
    const problem = enqueueRequestProblem(request);
    if (problem !== undefined) throw new TypeError(`cannot enqueue: ${problem}`);
    const existing = this.jobs.get(request.jid)?.job;
    if (existing === undefined) {
      const job: AvatarJob = {
        jid: request.jid,
        kind: request.kind,
        reason: request.reason,
        priority: PRIORITY_BY_REASON[request.reason],
        rank: request.rank ?? 0,
        force: request.force ?? false,
        attempts: 0,
        notBefore: 0,
        seq: this.nextSeq++,
        enqueuedAt: now,
      };
      this.put(job);
      return { job, change: 'added' };
    }
    const raised = raise(existing, {
      reason: request.reason,
      priority: PRIORITY_BY_REASON[request.reason],
      rank: request.rank ?? 0,
      force: request.force ?? false,
      notBefore: request.reason === 'explicit' ? 0 : existing.notBefore,
      attempts: existing.attempts,
    });
    if (raised === existing) return { job: existing, change: 'unchanged' };
    this.put(raised);
    return { job: raised, change: 'raised' };
  }

  /**
   * Takes in a job row written by another process (a `refresh` from the command line, say) under
   * the same rules as `enqueue`: a stored row can add a job or raise one, never lower anything.
   */
  merge(job: AvatarJob): EnqueueChange {
    const problem = storedJobProblem(job);
    if (problem !== undefined) throw new TypeError(`cannot take stored job: ${problem}`);
    this.nextSeq = Math.max(this.nextSeq, job.seq + 1);
    const existing = this.jobs.get(job.jid)?.job;
    if (existing === undefined) {
      this.put(job);
      return 'added';
    }
    const raised = raise(existing, job);
    if (raised === existing) return 'unchanged';
    this.put(raised);
    return 'raised';
  }

  /** The job that runs next among those whose backoff is over, without removing it. */
  peekReady(now: number): AvatarJob | undefined {
    this.releaseDue(now);
    for (;;) {
      const top = this.ready.peek();
      if (top === undefined) return undefined;
      if (!this.isCurrent(top)) {
        this.ready.pop();
      } else if (top.job.notBefore > now) {
        // Rescheduled into the future (or asked about an earlier `now`): wait in the other heap.
        this.ready.pop();
        this.delayed.push(top);
      } else {
        return top.job;
      }
    }
  }

  /** `now` if a job is ready, else when the earliest backoff ends, else undefined (empty). */
  nextReadyAt(now: number): number | undefined {
    if (this.peekReady(now) !== undefined) return now;
    for (;;) {
      const top = this.delayed.peek();
      if (top === undefined) return undefined;
      if (this.isCurrent(top)) return top.job.notBefore;
      this.delayed.pop();
    }
  }

  /** Removes a job once its outcome is stored; false when it was not queued. */
  complete(jid: string): boolean {
    const removed = this.jobs.delete(jid);
    if (removed) this.compactIfWasteful();
    return removed;
  }

  /** Counts a failed try and holds the job back until `notBefore`. */
  retryLater(jid: string, notBefore: number): AvatarJob {
    if (!Number.isFinite(notBefore)) throw new RangeError(`retry time for ${jid} must be a finite number, got ${notBefore}`);
    const existing = this.jobs.get(jid)?.job;
    if (existing === undefined) throw new Error(`cannot retry ${jid}: it is not queued`);
    const job: AvatarJob = { ...existing, attempts: existing.attempts + 1, notBefore };
    this.put(job);
    return job;
  }

  /** 1-based place in run order among all jobs, backoff ignored; undefined when not queued. */
  position(jid: string): number | undefined {
    const job = this.get(jid);
    if (job === undefined) return undefined;
    let place = 1;
    for (const { job: other } of this.jobs.values()) {
      if (runsBefore(other, job)) place++;
    }
    return place;
  }

  /** Every job in run order, backoff ignored. */
  ordered(): AvatarJob[] {
    return [...this.jobs.values()]
      .map(({ job }) => job)
      .sort((a, b) => (runsBefore(a, b) ? -1 : runsBefore(b, a) ? 1 : 0));
  }

  private put(job: AvatarJob): void {
    const entry = { job, version: this.nextVersion++ };
    this.jobs.set(job.jid, entry);
    (job.notBefore > 0 ? this.delayed : this.ready).push(entry);
    this.compactIfWasteful();
  }

  private isCurrent(entry: HeapEntry): boolean {
    return this.jobs.get(entry.job.jid)?.version === entry.version;
  }

  /** Moves every job whose backoff has ended into the run-order heap. */
  private releaseDue(now: number): void {
    for (;;) {
      const top = this.delayed.peek();
      if (top === undefined) return;
      if (!this.isCurrent(top)) {
        this.delayed.pop();
      } else if (top.job.notBefore <= now) {
        this.delayed.pop();
        this.ready.push(top);
      } else {
        return;
      }
    }
  }

  private compactIfWasteful(): void {
    const entries = this.ready.size + this.delayed.size;
    if (entries < COMPACTION_MIN_ENTRIES || entries <= this.jobs.size * STALE_ENTRY_COMPACTION_FACTOR) return;
    const current = (entry: HeapEntry) => this.isCurrent(entry);
    this.ready.retain(current);
    this.delayed.retain(current);
  }
}

/**
 * The job after `incoming` raised `existing`, or `existing` itself when nothing went up. Priority
 * rising carries the reason and the backoff of the raiser (none, for a fresh request).
 */
function raise(
  existing: AvatarJob,
  incoming: Pick<AvatarJob, 'reason' | 'priority' | 'rank' | 'force' | 'notBefore' | 'attempts'>,
): AvatarJob {
  const priorityRises = incoming.priority > existing.priority;
  const rankRises = incoming.rank > existing.rank;
  const forceRises = incoming.force && !existing.force;
  const attemptsRise = incoming.attempts > existing.attempts;
  if (!priorityRises && !rankRises && !forceRises && !attemptsRise) return existing;
  return {
    ...existing,
    reason: priorityRises ? incoming.reason : existing.reason,
    priority: priorityRises ? incoming.priority : existing.priority,
    rank: Math.max(existing.rank, incoming.rank),
    force: existing.force || incoming.force,
    notBefore: priorityRises ? Math.min(existing.notBefore, incoming.notBefore) : existing.notBefore,
    // A stored row may have counted failures this process has not seen; never forget one.
    attempts: Math.max(existing.attempts, incoming.attempts),
  };
}

const KNOWN_REASONS: ReadonlySet<string> = new Set(JOB_REASONS);

function jobFieldsProblem(job: { jid: unknown; kind: unknown; reason: unknown; rank?: unknown; force?: unknown }): string | undefined {
  if (typeof job.jid !== 'string' || job.jid.length === 0) return `jid must be a non-empty string, got ${JSON.stringify(job.jid)}`;
  if (job.kind !== 'contact' && job.kind !== 'group') return `kind of ${job.jid} must be 'contact' or 'group', got ${JSON.stringify(job.kind)}`;
  if (typeof job.reason !== 'string' || !KNOWN_REASONS.has(job.reason)) {
    return `reason of ${job.jid} must be one of ${JOB_REASONS.join(', ')}, got ${JSON.stringify(job.reason)}`;
  }
  if (job.rank !== undefined && (typeof job.rank !== 'number' || !Number.isFinite(job.rank))) {
    return `rank of ${job.jid} must be a finite number, got ${String(job.rank)}`;
  }
  if (job.force !== undefined && typeof job.force !== 'boolean') return `force of ${job.jid} must be true or false, got ${String(job.force)}`;
  return undefined;
}

function enqueueRequestProblem(request: EnqueueRequest): string | undefined {
  return jobFieldsProblem(request);
}

function storedJobProblem(job: AvatarJob): string | undefined {
  const fields = jobFieldsProblem(job);
  if (fields !== undefined) return fields;
  const integers: [string, unknown][] = [
    ['priority', job.priority],
    ['attempts', job.attempts],
    ['notBefore', job.notBefore],
    ['seq', job.seq],
    ['enqueuedAt', job.enqueuedAt],
  ];
  for (const [name, value] of integers) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return `${name} of ${job.jid} must be a non-negative integer, got ${String(value)}`;
    }
  }
  // The stored priority is taken as written (not checked against PRIORITY_BY_REASON), so rows
  // from a version with other priority numbers still restore.
  return undefined;
}
