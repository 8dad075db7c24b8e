import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom } from '../../src/clock.js';
import { AvatarQueue, runsBefore } from '../../src/avatars/queue.js';
import { JOB_REASONS, PRIORITY_BY_REASON, type AvatarJob, type EnqueueRequest, type JobReason } from '../../src/avatars/model.js';
import type { Jid } from '../../src/jid.js';
import { testJid } from '../support/jids.js';

const NOW = Date.UTC(2026, 0, 1);

function contact(n: number): Jid {
  return testJid(`${1000 + n}@s.whatsapp.net`);
}

function request(n: number, reason: JobReason, extra: Partial<EnqueueRequest> = {}): EnqueueRequest {
  return { jid: contact(n), kind: 'contact', reason, ...extra };
}

function drain(queue: AvatarQueue, now: number): string[] {
  const order: string[] = [];
  for (let job = queue.peekReady(now); job !== undefined; job = queue.peekReady(now)) {
    order.push(job.jid);
    queue.complete(job.jid);
  }
  return order;
}

test('a new job starts fresh: next seq, no attempts, ready at once, enqueued now', () => {
  const queue = new AvatarQueue();
  const first = queue.enqueue(request(1, 'stale'), NOW);
  const second = queue.enqueue(request(2, 'changed', { rank: 7, force: true }), NOW + 5);
  assert.is(first.change, 'added');
  assert.equal(first.job, {
    jid: contact(1), kind: 'contact', reason: 'stale', priority: PRIORITY_BY_REASON.stale,
    rank: 0, force: false, attempts: 0, notBefore: 0, seq: 1, enqueuedAt: NOW,
  });
  assert.is(second.job.seq, 2);
  assert.is(second.job.rank, 7);
  assert.is(second.job.force, true);
  assert.is(second.job.enqueuedAt, NOW + 5);
  assert.is(queue.size, 2);
});

test('runs highest priority first, then higher rank, then earlier enqueue', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'stale'), NOW);
  queue.enqueue(request(2, 'active-chat', { rank: 100 }), NOW);
  queue.enqueue(request(3, 'active-chat', { rank: 300 }), NOW);
  queue.enqueue(request(4, 'explicit'), NOW);
  queue.enqueue(request(5, 'never-fetched'), NOW);
  queue.enqueue(request(6, 'never-fetched'), NOW);
  queue.enqueue(request(7, 'favourite'), NOW);
  queue.enqueue(request(8, 'changed'), NOW);
  const expected = [4, 7, 8, 3, 2, 5, 6, 1].map(contact);
  assert.equal(queue.ordered().map((job) => job.jid), expected);
  assert.equal(drain(queue, NOW), expected);
  assert.is(queue.size, 0);
});

test('re-enqueueing a queued JID only raises it and keeps its seq', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'never-fetched'), NOW);
  const lower = queue.enqueue(request(1, 'stale'), NOW + 1);
  assert.is(lower.change, 'unchanged');
  assert.is(lower.job.reason, 'never-fetched');
  const higher = queue.enqueue(request(1, 'explicit'), NOW + 2);
  assert.is(higher.change, 'raised');
  assert.is(higher.job.reason, 'explicit');
  assert.is(higher.job.priority, PRIORITY_BY_REASON.explicit);
  assert.is(higher.job.seq, 1);
  assert.is(higher.job.enqueuedAt, NOW);
  assert.is(queue.size, 1);
  const again = queue.enqueue(request(1, 'favourite'), NOW + 3);
  assert.is(again.change, 'unchanged');
  assert.is(again.job.priority, PRIORITY_BY_REASON.explicit);
});

test('rank takes the maximum and force is sticky, without changing the reason', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'active-chat', { rank: 50 }), NOW);
  assert.is(queue.enqueue(request(1, 'active-chat', { rank: 20 }), NOW).change, 'unchanged');
  const ranked = queue.enqueue(request(1, 'active-chat', { rank: 80 }), NOW);
  assert.is(ranked.change, 'raised');
  assert.is(ranked.job.rank, 80);
  const forced = queue.enqueue(request(1, 'stale', { force: true }), NOW);
  assert.is(forced.change, 'raised');
  assert.is(forced.job.force, true);
  assert.is(forced.job.reason, 'active-chat');
  assert.is(queue.enqueue(request(1, 'stale', { force: false }), NOW).job.force, true);
});

test('a raised job moves ahead in run order', () => {
  const queue = new AvatarQueue();
  for (let n = 1; n <= 5; n++) queue.enqueue(request(n, 'stale'), NOW);
  assert.is(queue.position(contact(4)), 4);
  queue.enqueue(request(4, 'explicit'), NOW);
  assert.is(queue.position(contact(4)), 1);
  assert.is(queue.peekReady(NOW)?.jid, contact(4));
  assert.equal(drain(queue, NOW), [4, 1, 2, 3, 5].map(contact));
});

test('retryLater counts the attempt and holds the job back until notBefore', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'explicit'), NOW);
  queue.enqueue(request(2, 'stale'), NOW);
  const retried = queue.retryLater(contact(1), NOW + 30_000);
  assert.is(retried.attempts, 1);
  assert.is(retried.notBefore, NOW + 30_000);
  assert.is(queue.peekReady(NOW)?.jid, contact(2));
  queue.complete(contact(2));
  assert.is(queue.peekReady(NOW + 29_999), undefined);
  assert.is(queue.nextReadyAt(NOW), NOW + 30_000);
  assert.is(queue.peekReady(NOW + 30_000)?.jid, contact(1));
  assert.is(queue.nextReadyAt(NOW + 30_000), NOW + 30_000);
  assert.is(queue.retryLater(contact(1), NOW + 90_000).attempts, 2);
});

test('a job in backoff still outranks lower ones once its time comes', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'favourite'), NOW);
  queue.enqueue(request(2, 'stale'), NOW);
  queue.retryLater(contact(1), NOW + 1000);
  assert.is(queue.peekReady(NOW)?.jid, contact(2));
  assert.is(queue.peekReady(NOW + 1000)?.jid, contact(1));
});

test('peekReady answers for the time asked, even an earlier one', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'stale'), NOW);
  queue.retryLater(contact(1), NOW + 1000);
  assert.is(queue.peekReady(NOW + 2000)?.jid, contact(1));
  assert.is(queue.peekReady(NOW), undefined);
  assert.is(queue.nextReadyAt(NOW), NOW + 1000);
});

test('raising the priority of a job in backoff makes it ready at once', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'stale'), NOW);
  queue.retryLater(contact(1), NOW + 60_000);
  const { job, change } = queue.enqueue(request(1, 'explicit'), NOW + 10);
  assert.is(change, 'raised');
  assert.is(job.notBefore, 0);
  assert.is(job.attempts, 1);
  assert.is(queue.peekReady(NOW + 10)?.jid, contact(1));
});

test('a raise by anything but an explicit request keeps the backoff', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'stale'), NOW);
  queue.retryLater(contact(1), NOW + 60_000);
  for (const reason of ['active-chat', 'changed', 'favourite'] as const) {
    const { job, change } = queue.enqueue(request(1, reason), NOW + 10);
    assert.is(change, 'raised');
    assert.is(job.reason, reason);
    assert.is(job.notBefore, NOW + 60_000, `${reason} dropped the backoff`);
    assert.is(queue.peekReady(NOW + 10), undefined);
  }
  assert.is(queue.peekReady(NOW + 60_000)?.reason, 'favourite');
});

test('a raise that keeps the priority keeps the backoff', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'explicit'), NOW);
  queue.retryLater(contact(1), NOW + 60_000);
  const { job } = queue.enqueue(request(1, 'explicit', { force: true }), NOW + 10);
  assert.is(job.force, true);
  assert.is(job.notBefore, NOW + 60_000);
  assert.is(queue.peekReady(NOW + 10), undefined);
});

test('nextReadyAt is undefined for an empty queue and now when a job is ready', () => {
  const queue = new AvatarQueue();
  assert.is(queue.nextReadyAt(NOW), undefined);
  queue.enqueue(request(1, 'stale'), NOW);
  assert.is(queue.nextReadyAt(NOW + 7), NOW + 7);
  queue.complete(contact(1));
  assert.is(queue.nextReadyAt(NOW), undefined);
});

test('complete removes a job; unknown JIDs are reported, not invented', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'stale'), NOW);
  assert.ok(queue.has(contact(1)));
  assert.is(queue.complete(contact(1)), true);
  assert.is(queue.complete(contact(1)), false);
  assert.not.ok(queue.has(contact(1)));
  assert.is(queue.get(contact(1)), undefined);
  assert.is(queue.position(contact(1)), undefined);
  assert.is(queue.peekReady(NOW), undefined);
  assert.throws(() => queue.retryLater(contact(1), NOW), /not queued/);
});

test('a completed and re-enqueued JID is a new job at the back', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'stale'), NOW);
  queue.enqueue(request(2, 'stale'), NOW);
  queue.complete(contact(1));
  const { job, change } = queue.enqueue(request(1, 'stale'), NOW + 1);
  assert.is(change, 'added');
  assert.is(job.seq, 3);
  assert.equal(drain(queue, NOW + 1), [2, 1].map(contact));
});

test('restoring persisted jobs keeps their order and continues the seq', () => {
  const stored: AvatarJob[] = [
    { jid: contact(1), kind: 'contact', reason: 'stale', priority: 10, rank: 0, force: false, attempts: 0, notBefore: 0, seq: 40, enqueuedAt: NOW },
    { jid: contact(2), kind: 'contact', reason: 'stale', priority: 10, rank: 0, force: false, attempts: 2, notBefore: NOW + 500, seq: 12, enqueuedAt: NOW },
    { jid: contact(3), kind: 'group', reason: 'changed', priority: 40, rank: 0, force: true, attempts: 0, notBefore: 0, seq: 41, enqueuedAt: NOW },
  ];
  const queue = new AvatarQueue(stored);
  assert.is(queue.size, 3);
  assert.equal(queue.get(contact(2)), stored[1]);
  assert.equal(queue.ordered().map((job) => job.jid), [3, 2, 1].map(contact));
  assert.is(queue.peekReady(NOW)?.jid, contact(3));
  assert.is(queue.enqueue(request(4, 'stale'), NOW).job.seq, 42);
  queue.complete(contact(3));
  assert.is(queue.peekReady(NOW)?.jid, contact(1));
  assert.is(queue.peekReady(NOW + 500)?.jid, contact(2));
});

test('merge adds rows from another process and only ever raises', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'changed', { rank: 5 }), NOW);
  queue.retryLater(contact(1), NOW + 60_000);
  const base = queue.get(contact(1))!;
  assert.is(queue.merge({ ...base, reason: 'stale', priority: 10, rank: 1, notBefore: 0, attempts: 0 }), 'unchanged');
  assert.equal(queue.get(contact(1)), base);
  assert.is(queue.merge({ ...base, reason: 'explicit', priority: 60, notBefore: 0, force: true, seq: 99 }), 'raised');
  const raised = queue.get(contact(1))!;
  assert.is(raised.reason, 'explicit');
  assert.is(raised.force, true);
  assert.is(raised.notBefore, 0);
  assert.is(raised.rank, 5);
  assert.is(raised.seq, base.seq);
  const added = { ...base, jid: contact(2), seq: 7 };
  assert.is(queue.merge(added), 'added');
  assert.equal(queue.get(contact(2)), added);
  // Another process has handed out seq 99, so new jobs continue after it.
  assert.is(queue.enqueue(request(3, 'stale'), NOW).job.seq, 100);
});

test('bad requests and rows are refused with the problem named', () => {
  const queue = new AvatarQueue();
  assert.throws(() => queue.enqueue({ jid: contact(1), kind: 'contact', reason: 'urgent' as JobReason }, NOW), /reason of .* must be one of explicit/);
  assert.throws(() => queue.enqueue({ jid: '' as Jid, kind: 'contact', reason: 'stale' }, NOW), /jid must be a non-empty string/);
  assert.throws(() => queue.enqueue({ jid: contact(1), kind: 'channel' as 'group', reason: 'stale' }, NOW), /kind of .* must be 'contact' or 'group'/);
  assert.throws(() => queue.enqueue(request(1, 'stale', { rank: Number.NaN }), NOW), /rank of .* must be a finite number/);
  const row: AvatarJob = { jid: contact(1), kind: 'contact', reason: 'stale', priority: 10, rank: 0, force: false, attempts: 0, notBefore: 0, seq: -1, enqueuedAt: NOW };
  assert.throws(() => queue.merge(row), /seq of .* must be a non-negative integer, got -1/);
  assert.throws(() => new AvatarQueue([{ ...row, seq: 1, attempts: 1.5 }]), /attempts/);
  assert.throws(() => queue.retryLater(contact(1), Number.NaN), /finite/);
  assert.is(queue.size, 0);
});

test('position is the 1-based place in run order, ignoring backoff', () => {
  const queue = new AvatarQueue();
  queue.enqueue(request(1, 'stale'), NOW);
  queue.enqueue(request(2, 'favourite'), NOW);
  queue.enqueue(request(3, 'never-fetched'), NOW);
  queue.retryLater(contact(2), NOW + 10_000);
  assert.is(queue.position(contact(2)), 1);
  assert.is(queue.position(contact(3)), 2);
  assert.is(queue.position(contact(1)), 3);
});

test('randomised: drain order matches a sort of the deduplicated requests', () => {
  const random = seededRandom(7);
  const queue = new AvatarQueue();
  const expected = new Map<string, { priority: number; rank: number; seq: number }>();
  let seq = 0;
  for (let i = 0; i < 3000; i++) {
    const n = Math.floor(random() * 500);
    const reason = JOB_REASONS[Math.floor(random() * JOB_REASONS.length)]!;
    const rank = Math.floor(random() * 4);
    queue.enqueue(request(n, reason, { rank }), NOW);
    const known = expected.get(contact(n));
    const priority = PRIORITY_BY_REASON[reason];
    if (known === undefined) expected.set(contact(n), { priority, rank, seq: ++seq });
    else expected.set(contact(n), { priority: Math.max(known.priority, priority), rank: Math.max(known.rank, rank), seq: known.seq });
    // Interleave completions so lazily deleted entries are exercised.
    if (i % 7 === 0) {
      const next = queue.peekReady(NOW);
      if (next !== undefined) {
        queue.complete(next.jid);
        expected.delete(next.jid);
      }
    }
  }
  const sorted = [...expected.entries()]
    .sort(([, a], [, b]) => b.priority - a.priority || b.rank - a.rank || a.seq - b.seq)
    .map(([jid]) => jid);
  assert.equal(queue.ordered().map((job) => job.jid), sorted);
  assert.equal(drain(queue, NOW), sorted);
});

test('runsBefore is a strict order', () => {
  const a: AvatarJob = { jid: contact(1), kind: 'contact', reason: 'stale', priority: 10, rank: 0, force: false, attempts: 0, notBefore: 0, seq: 1, enqueuedAt: NOW };
  const b = { ...a, jid: contact(2), seq: 2 };
  assert.ok(runsBefore(a, b));
  assert.not.ok(runsBefore(b, a));
  assert.not.ok(runsBefore(a, a));
});

test('50,000 jobs with duplicates enqueue and drain in run order', () => {
  const random = seededRandom(11);
  const queue = new AvatarQueue();
  for (let i = 0; i < 50_000; i++) {
    const n = Math.floor(random() * 20_000);
    queue.enqueue(request(n, JOB_REASONS[i % JOB_REASONS.length]!, { rank: i % 3 }), NOW);
  }
  assert.ok(queue.size <= 20_000);
  let previous: AvatarJob | undefined;
  let drained = 0;
  for (let job = queue.peekReady(NOW); job !== undefined; job = queue.peekReady(NOW)) {
    if (previous !== undefined) assert.ok(!runsBefore(job, previous), `${job.jid} ran after ${previous.jid}`);
    previous = job;
    queue.complete(job.jid);
    drained++;
  }
  assert.ok(drained > 15_000);
  assert.is(queue.size, 0);
});


test('under a long random mix of enqueues, raises, retries and completions the next job is always the one a full sort picks', () => {
  const random = seededRandom(11);
  const queue = new AvatarQueue();
  let now = NOW;
  let checks = 0;
  for (let step = 0; step < 5_000; step++) {
    const roll = random();
    const n = Math.floor(random() * 400);
    if (roll < 0.5) {
      const reason = JOB_REASONS[Math.floor(random() * JOB_REASONS.length)]!;
      queue.enqueue(request(n, reason, { rank: Math.floor(random() * 5), force: random() < 0.1 }), now);
    } else if (roll < 0.65 && queue.has(contact(n))) {
      queue.retryLater(contact(n), now + Math.floor(random() * 10_000));
    } else if (roll < 0.8) {
      const next = queue.peekReady(now);
      if (next !== undefined) queue.complete(next.jid);
    } else {
      now += Math.floor(random() * 3_000);
    }
    // The reference: every job, sorted by run order, first whose backoff is over.
    const all = queue.ordered();
    const expected = all.find((job) => job.notBefore <= now);
    assert.equal(queue.peekReady(now), expected, `step ${step}`);
    const waiting = all.filter((job) => job.notBefore > now).map((job) => job.notBefore);
    assert.is(queue.nextReadyAt(now), expected !== undefined ? now : waiting.length === 0 ? undefined : Math.min(...waiting), `step ${step}`);
    assert.is(queue.size, all.length);
    checks++;
  }
  assert.is(checks, 5_000);
});

test.run();
