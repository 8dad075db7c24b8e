// The seed plan's queue, kept only as the benchmark's baseline: a plain array, dedupe by
// findIndex, insert by pushing, drain by shift() after sorting. It sorts once before a drain
// that follows enqueues, not after every push as the first version did: that re-sort made the
// baseline take 4 minutes of every `npm run bench` (issue 11), and a baseline that is faster
// only makes the speed-up figure smaller, never flattering. It follows the same rules as
// AvatarQueue (priority, rank and force only go up; order by priority, rank, then enqueue order)
// so both must drain the same jobs in the same order.

import { PRIORITY_BY_REASON, type EnqueueRequest, type JobReason } from '../src/avatars/model.js';

export interface NaiveJob {
  readonly jid: string;
  reason: JobReason;
  priority: number;
  rank: number;
  force: boolean;
  readonly seq: number;
}

function runOrder(a: NaiveJob, b: NaiveJob): number {
  return b.priority - a.priority || b.rank - a.rank || a.seq - b.seq;
}

export class NaiveArrayQueue {
  private readonly jobs: NaiveJob[] = [];
  private nextSeq = 1;
  private sorted = true;

  get size(): number {
    return this.jobs.length;
  }

  enqueue(request: EnqueueRequest): void {
    const priority = PRIORITY_BY_REASON[request.reason];
    const rank = request.rank ?? 0;
    const force = request.force ?? false;
    const index = this.jobs.findIndex((job) => job.jid === request.jid);
    if (index === -1) {
      this.jobs.push({ jid: request.jid, reason: request.reason, priority, rank, force, seq: this.nextSeq++ });
    } else {
      const job = this.jobs[index]!;
      if (priority > job.priority) {
        job.priority = priority;
        job.reason = request.reason;
      }
      job.rank = Math.max(job.rank, rank);
      job.force = job.force || force;
    }
    this.sorted = false;
  }

  /** Removes and returns the job that runs next. */
  shift(): NaiveJob | undefined {
    if (!this.sorted) {
      this.jobs.sort(runOrder);
      this.sorted = true;
    }
    return this.jobs.shift();
  }
}
