// The in-memory avatar queue: deduplicated by JID, ordered by priority, then rank, then enqueue
// order, with per-job retry backoff. Pure: no I/O and no clock of its own (callers pass `now`), so
// the store persists what it returns and a restart rebuilds it from the stored rows.
//
// It holds every queued job of the account (200,000 on a big one), so it is kept compact: a job
// is a slot in typed arrays (about 60 bytes) plus its JID string and a Map entry, not an object
// graph (issue 11 measured ~320 bytes a job for objects and lazy-deletion heaps). Two indexed
// binary heaps over the slots keep every operation O(log n): `ready` holds jobs in run order,
// `delayed` holds jobs waiting out a backoff in `notBefore` order. A job sits in exactly one of
// them; raising or rescheduling it moves it in place, so no stale entry ever needs collecting.

import { JOB_REASONS, PRIORITY_BY_REASON, type AvatarJob, type EnqueueRequest } from './model.js';
import type { Jid, SubjectKind } from '../jid.js';

export type EnqueueChange = 'added' | 'raised' | 'unchanged';

/** True when `a` runs before `b`: higher priority, then higher rank, then enqueued earlier. */
export function runsBefore(a: AvatarJob, b: AvatarJob): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.rank !== b.rank) return a.rank > b.rank;
  return a.seq < b.seq;
}

const INITIAL_CAPACITY = 64;
const KINDS: readonly SubjectKind[] = ['contact', 'group'];
const REASON_INDEX: ReadonlyMap<string, number> = new Map(JOB_REASONS.map((reason, index) => [reason, index]));
const NOWHERE = -1;

/** Job fields by slot, in typed arrays that double as the queue grows. */
class JobSlots {
  capacity = INITIAL_CAPACITY;
  jid: (Jid | undefined)[] = [];
  priority = new Float64Array(INITIAL_CAPACITY);
  rank = new Float64Array(INITIAL_CAPACITY);
  seq = new Float64Array(INITIAL_CAPACITY);
  notBefore = new Float64Array(INITIAL_CAPACITY);
  enqueuedAt = new Float64Array(INITIAL_CAPACITY);
  attempts = new Float64Array(INITIAL_CAPACITY);
  /** Index into JOB_REASONS. */
  reason = new Uint8Array(INITIAL_CAPACITY);
  /** Bit 0: force; bit 1: group. */
  flags = new Uint8Array(INITIAL_CAPACITY);
  private readonly free: number[] = [];
  private used = 0;

  allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.capacity) this.grow();
    return this.used++;
  }

  release(slot: number): void {
    this.jid[slot] = undefined;
    this.free.push(slot);
  }

  write(slot: number, job: AvatarJob): void {
    this.jid[slot] = job.jid;
    this.priority[slot] = job.priority;
    this.rank[slot] = job.rank;
    this.seq[slot] = job.seq;
    this.notBefore[slot] = job.notBefore;
    this.enqueuedAt[slot] = job.enqueuedAt;
    this.attempts[slot] = job.attempts;
    this.reason[slot] = REASON_INDEX.get(job.reason)!;
    this.flags[slot] = (job.force ? 1 : 0) | (job.kind === 'group' ? 2 : 0);
  }

  read(slot: number): AvatarJob {
    const flags = this.flags[slot]!;
    return {
      jid: this.jid[slot]!,
      kind: KINDS[flags >> 1]!,
      reason: JOB_REASONS[this.reason[slot]!]!,
      priority: this.priority[slot]!,
      rank: this.rank[slot]!,
      force: (flags & 1) === 1,
      attempts: this.attempts[slot]!,
      notBefore: this.notBefore[slot]!,
      seq: this.seq[slot]!,
      enqueuedAt: this.enqueuedAt[slot]!,
    };
  }

  /** `runsBefore` on two slots, without building the jobs. */
  runsBefore(a: number, b: number): boolean {
    if (this.priority[a] !== this.priority[b]) return this.priority[a]! > this.priority[b]!;
    if (this.rank[a] !== this.rank[b]) return this.rank[a]! > this.rank[b]!;
    return this.seq[a]! < this.seq[b]!;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const widen = <T extends Float64Array | Uint8Array>(array: T, make: (size: number) => T): T => {
      const wider = make(capacity);
      wider.set(array);
      return wider;
    };
    this.priority = widen(this.priority, (size) => new Float64Array(size));
    this.rank = widen(this.rank, (size) => new Float64Array(size));
    this.seq = widen(this.seq, (size) => new Float64Array(size));
    this.notBefore = widen(this.notBefore, (size) => new Float64Array(size));
    this.enqueuedAt = widen(this.enqueuedAt, (size) => new Float64Array(size));
    this.attempts = widen(this.attempts, (size) => new Float64Array(size));
    this.reason = widen(this.reason, (size) => new Uint8Array(size));
    this.flags = widen(this.flags, (size) => new Uint8Array(size));
    this.capacity = capacity;
  }
}

/** A binary min-heap of slots under `before`, that knows where each slot sits (to move or remove it). */
class IndexedHeap {
  private items: Int32Array<ArrayBuffer> = new Int32Array(INITIAL_CAPACITY);
  private where: Int32Array<ArrayBuffer> = new Int32Array(INITIAL_CAPACITY).fill(NOWHERE);
  size = 0;

  constructor(private readonly before: (a: number, b: number) => boolean) {}

  peek(): number | undefined {
    return this.size === 0 ? undefined : this.items[0];
  }

  has(slot: number): boolean {
    return slot < this.where.length && this.where[slot] !== NOWHERE;
  }

  insert(slot: number): void {
    if (this.size === this.items.length) this.items = widened(this.items, this.items.length * 2, 0);
    if (slot >= this.where.length) this.where = widened(this.where, Math.max(slot + 1, this.where.length * 2), NOWHERE);
    this.items[this.size] = slot;
    this.where[slot] = this.size;
    this.size++;
    this.siftUp(this.size - 1);
  }

  remove(slot: number): void {
    const index = this.where[slot]!;
    const last = this.items[--this.size]!;
    this.where[slot] = NOWHERE;
    if (index === this.size) return;
    this.items[index] = last;
    this.where[last] = index;
    this.siftDown(this.siftUp(index));
  }

  private siftUp(start: number): number {
    const { items, where } = this;
    let index = start;
    const slot = items[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = items[parent]!;
      if (!this.before(slot, above)) break;
      items[index] = above;
      where[above] = index;
      index = parent;
    }
    items[index] = slot;
    where[slot] = index;
    return index;
  }

  private siftDown(start: number): void {
    const { items, where } = this;
    let index = start;
    const slot = items[index]!;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child = right < this.size && this.before(items[right]!, items[left]!) ? right : left;
      const below = items[child]!;
      if (!this.before(below, slot)) break;
      items[index] = below;
      where[below] = index;
      index = child;
    }
    items[index] = slot;
    where[slot] = index;
  }
}

function widened(array: Int32Array, size: number, fill: number): Int32Array<ArrayBuffer> {
  const wider = new Int32Array(size).fill(fill);
  wider.set(array);
  return wider;
}

export class AvatarQueue {
  private readonly slots = new JobSlots();
  private readonly index = new Map<string, number>();
  private readonly ready = new IndexedHeap((a, b) => this.slots.runsBefore(a, b));
  private readonly delayed = new IndexedHeap(
    (a, b) => this.slots.notBefore[a]! < this.slots.notBefore[b]! || (this.slots.notBefore[a] === this.slots.notBefore[b] && this.slots.runsBefore(a, b)),
  );
  private nextSeq = 1;

  /** Restores persisted jobs; new jobs continue after the largest restored `seq`. */
  constructor(jobs: Iterable<AvatarJob> = []) {
    for (const job of jobs) this.merge(job);
  }

  get size(): number {
    return this.index.size;
  }

  has(jid: string): boolean {
    return this.index.has(jid);
  }

  get(jid: string): AvatarJob | undefined {
    const slot = this.index.get(jid);
    return slot === undefined ? undefined : this.slots.read(slot);
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
    const existing = this.get(request.jid);
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
    const existing = this.get(job.jid);
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
      if (this.slots.notBefore[top]! > now) {
        // Rescheduled into the future (or asked about an earlier `now`): wait in the other heap.
        this.ready.remove(top);
        this.delayed.insert(top);
      } else {
        return this.slots.read(top);
      }
    }
  }

  /** `now` if a job is ready, else when the earliest backoff ends, else undefined (empty). */
  nextReadyAt(now: number): number | undefined {
    if (this.peekReady(now) !== undefined) return now;
    const top = this.delayed.peek();
    return top === undefined ? undefined : this.slots.notBefore[top];
  }

  /** Removes a job once its outcome is stored; false when it was not queued. */
  complete(jid: string): boolean {
    const slot = this.index.get(jid);
    if (slot === undefined) return false;
    this.index.delete(jid);
    this.heapOf(slot).remove(slot);
    this.slots.release(slot);
    return true;
  }

  /** Counts a failed try and holds the job back until `notBefore`. */
  retryLater(jid: string, notBefore: number): AvatarJob {
    if (!Number.isFinite(notBefore)) throw new RangeError(`retry time for ${jid} must be a finite number, got ${notBefore}`);
    const existing = this.get(jid);
    if (existing === undefined) throw new Error(`cannot retry ${jid}: it is not queued`);
    const job: AvatarJob = { ...existing, attempts: existing.attempts + 1, notBefore };
    this.put(job);
    return job;
  }

  /** 1-based place in run order among all jobs, backoff ignored; undefined when not queued. */
  position(jid: string): number | undefined {
    const slot = this.index.get(jid);
    if (slot === undefined) return undefined;
    let place = 1;
    for (const other of this.index.values()) {
      if (this.slots.runsBefore(other, slot)) place++;
    }
    return place;
  }

  /** Every job in run order, backoff ignored. */
  ordered(): AvatarJob[] {
    return [...this.index.values()]
      .sort((a, b) => (this.slots.runsBefore(a, b) ? -1 : this.slots.runsBefore(b, a) ? 1 : 0))
      .map((slot) => this.slots.read(slot));
  }

  /** Writes the job into its slot (a new one for a new JID) and files it in the heap it belongs to. */
  private put(job: AvatarJob): void {
    let slot = this.index.get(job.jid);
    if (slot !== undefined) this.heapOf(slot).remove(slot);
    else {
      slot = this.slots.allocate();
      this.index.set(job.jid, slot);
    }
    this.slots.write(slot, job);
    (job.notBefore > 0 ? this.delayed : this.ready).insert(slot);
  }

  private heapOf(slot: number): IndexedHeap {
    return this.ready.has(slot) ? this.ready : this.delayed;
  }

  /** Moves every job whose backoff has ended into the run-order heap. */
  private releaseDue(now: number): void {
    for (;;) {
      const top = this.delayed.peek();
      if (top === undefined || this.slots.notBefore[top]! > now) return;
      this.delayed.remove(top);
      this.ready.insert(top);
    }
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
