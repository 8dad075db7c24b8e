import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seededRandom, type Random } from '../../src/clock.js';
import type { AvatarJob, AvatarRecord } from '../../src/avatars/model.js';
import {
  DEFAULT_TTL_SETTINGS,
  PER_SUBJECT_DAILY_QUERY_BOUND,
  sweepReason,
  transition,
  unstoredFailureDelayMs,
  type Resolution,
  type TransitionContext,
} from '../../src/avatars/transitions.js';
import { testJid } from '../support/jids.js';
import { testPictureId } from '../support/picture-ids.js';
import type { PictureId } from '../../src/avatars/picture-id.js';

const NOW = Date.UTC(2026, 0, 10);
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const JID = testJid('31612345678@s.whatsapp.net');
const OLD_SHA = 'a'.repeat(64);
const NEW_SHA = 'b'.repeat(64);
const PATH = `/data/media/avatars/${JID}.jpg`;

const unknown: AvatarRecord = { jid: JID, kind: 'contact', state: 'unknown', hiddenCount: 0, failureStreak: 0 };
const fetched: AvatarRecord = {
  jid: JID, kind: 'contact', state: 'fetched', pictureId: testPictureId('111'), sha256: OLD_SHA, size: 2048, path: PATH,
  checkedAt: NOW - 8 * DAY_MS, changedAt: NOW - 30 * DAY_MS, nextCheckAt: NOW - DAY_MS, hiddenCount: 0, failureStreak: 0,
};
const job: AvatarJob = {
  jid: JID, kind: 'contact', reason: 'stale', priority: 10, rank: 0, force: false, attempts: 0, notBefore: 0, seq: 1, enqueuedAt: NOW - 1000,
};

function context(overrides: Partial<TransitionContext> = {}): TransitionContext {
  return { now: NOW, favourite: false, random: seededRandom(1), settings: DEFAULT_TTL_SETTINGS, ...overrides };
}

/** A random source that always answers `value`, to hit the ends of a jitter range. */
function constant(value: number): Random {
  return () => value;
}

/** What every good answer (a verdict on the picture) writes: the failure streak ends. */
const WELL = { failureStreak: 0, failureKind: null, failureDetail: null };

const downloaded: Resolution = { kind: 'downloaded', pictureId: testPictureId('222'), sha256: NEW_SHA, size: 4096, path: PATH };

test('defaults are the documented ones', () => {
  assert.equal({ ...DEFAULT_TTL_SETTINGS }, {
    favouriteTtlMs: DAY_MS, otherTtlMs: 7 * DAY_MS, ttlJitterRatio: 0.1, noneRecheckMinMs: 7 * DAY_MS, noneRecheckMaxMs: 14 * DAY_MS,
    hiddenBackoffBaseMs: DAY_MS, hiddenBackoffMaxMs: 14 * DAY_MS, retryBaseMs: 30_000, retryMaxMs: 30 * 60_000, maxAttempts: 6,
    refusedMaxAttempts: 3, attemptsAfterGiveUp: 2, failureBackoffBaseMs: 3 * HOUR_MS, failureBackoffMaxMs: DAY_MS,
    refusedBackoffBaseMs: 3 * DAY_MS, refusedBackoffMaxMs: 14 * DAY_MS,
  });
  assert.is(PER_SUBJECT_DAILY_QUERY_BOUND, 12);
});

test('downloaded new bytes: fetched, every column set, changed, TTL for others', () => {
  const result = transition({ ...fetched, state: 'hidden', hiddenCount: 3 }, job, downloaded, context({ random: constant(0.5) }));
  assert.equal(result, {
    patch: {
      state: 'fetched', pictureId: testPictureId('222'), sha256: NEW_SHA, size: 4096, path: PATH,
      checkedAt: NOW, changedAt: NOW, nextCheckAt: NOW + 7 * DAY_MS, hiddenCount: 0, ...WELL,
    },
    file: 'keep', job: { action: 'complete' }, changed: true, pauseQueue: false,
  });
});

test('downloaded the same bytes under a new id: id recorded, not changed, changedAt untouched', () => {
  const result = transition(fetched, job, { ...downloaded, sha256: OLD_SHA }, context());
  assert.is(result.changed, false);
  assert.is(result.patch.pictureId, '222');
  assert.is(result.patch.checkedAt, NOW);
  assert.not.ok('changedAt' in result.patch);
  assert.is(result.job.action, 'complete');
});

test('the first picture of a never-fetched subject is a change', () => {
  const result = transition(unknown, job, downloaded, context());
  assert.is(result.changed, true);
  assert.is(result.patch.changedAt, NOW);
});

test('TTL is 24 h for favourites and 7 d for others, within ± 10 % jitter', () => {
  for (const [favourite, ttl] of [[true, DAY_MS], [false, 7 * DAY_MS]] as const) {
    const low = transition(fetched, job, downloaded, context({ favourite, random: constant(0) })).patch.nextCheckAt!;
    const high = transition(fetched, job, downloaded, context({ favourite, random: constant(0.999_999) })).patch.nextCheckAt!;
    assert.is(low, NOW + ttl * 0.9);
    assert.ok(high > NOW + ttl * 1.099 && high <= NOW + ttl * 1.1, `highest TTL ${high - NOW}`);
    const random = seededRandom(favourite ? 2 : 3);
    for (let i = 0; i < 200; i++) {
      const at = transition(fetched, job, { kind: 'unchanged', pictureId: testPictureId('111') }, context({ favourite, random })).patch.nextCheckAt!;
      assert.ok(at >= NOW + ttl * 0.9 && at <= NOW + ttl * 1.1, `TTL ${at - NOW}`);
    }
  }
});

test('unchanged: fetched, id and check time recorded, file untouched, nothing changed', () => {
  const result = transition({ ...fetched, state: 'hidden', hiddenCount: 2 }, job, { kind: 'unchanged', pictureId: testPictureId('111') }, context({ random: constant(0.5) }));
  assert.equal(result, {
    patch: { state: 'fetched', pictureId: testPictureId('111'), checkedAt: NOW, nextCheckAt: NOW + 7 * DAY_MS, hiddenCount: 0, ...WELL },
    file: 'keep', job: { action: 'complete' }, changed: false, pauseQueue: false,
  });
});

test('none: picture columns cleared, file deleted, changed only if a picture was stored', () => {
  const result = transition(fetched, job, { kind: 'none' }, context({ random: constant(0) }));
  assert.equal(result, {
    patch: {
      state: 'none', pictureId: null, sha256: null, size: null, path: null,
      checkedAt: NOW, changedAt: NOW, nextCheckAt: NOW + 7 * DAY_MS, hiddenCount: 0, ...WELL,
    },
    file: 'delete', job: { action: 'complete' }, changed: true, pauseQueue: false,
  });
  const never = transition(unknown, job, { kind: 'none' }, context());
  assert.is(never.changed, false);
  assert.not.ok('changedAt' in never.patch);
  assert.is(never.file, 'delete');
});

test('none re-checks uniformly between 7 and 14 days', () => {
  const random = seededRandom(4);
  const delays: number[] = [];
  for (let i = 0; i < 500; i++) delays.push(transition(unknown, job, { kind: 'none' }, context({ random })).patch.nextCheckAt! - NOW);
  assert.ok(delays.every((delay) => delay >= 7 * DAY_MS && delay <= 14 * DAY_MS));
  // Spread over the whole range, not bunched at one end.
  assert.ok(delays.some((delay) => delay < 8 * DAY_MS) && delays.some((delay) => delay > 13 * DAY_MS));
  assert.is(transition(unknown, job, { kind: 'none' }, context({ random: constant(0.5) })).patch.nextCheckAt, NOW + 10.5 * DAY_MS);
});

test('hidden keeps the last good picture and backs off 1 d, 2 d, 4 d … up to 14 d', () => {
  const backoffs: number[] = [];
  let record: AvatarRecord = fetched;
  for (let i = 0; i < 6; i++) {
    const result = transition(record, job, { kind: 'hidden' }, context());
    assert.is(result.file, 'keep');
    assert.is(result.changed, false);
    assert.is(result.patch.state, 'hidden');
    assert.is(result.patch.hiddenCount, i + 1);
    assert.is(result.patch.checkedAt, NOW);
    for (const column of ['pictureId', 'sha256', 'size', 'path', 'changedAt'] as const) assert.not.ok(column in result.patch, `${column} was touched`);
    backoffs.push(result.patch.nextCheckAt! - NOW);
    record = { ...record, state: 'hidden', hiddenCount: result.patch.hiddenCount! };
  }
  assert.equal(backoffs, [1, 2, 4, 8, 14, 14].map((days) => days * DAY_MS));
});

test('a visible picture after hidden resets the hidden count', () => {
  const result = transition({ ...fetched, state: 'hidden', hiddenCount: 4 }, job, downloaded, context());
  assert.is(result.patch.hiddenCount, 0);
  assert.is(result.patch.state, 'fetched');
});

test('rate-limited pauses the queue, counts a try and retries only after the pause', () => {
  const pausedUntil = NOW + 5 * 60_000;
  const result = transition(fetched, job, { kind: 'rate-limited' }, context({ random: constant(0.5), pausedUntil }));
  assert.equal(result, {
    patch: {}, file: 'keep', job: { action: 'retry', notBefore: pausedUntil + 30_000 }, changed: false, pauseQueue: true,
  });
  // A 429 storm cannot make one subject the probe of every pause for ever: its tries run out.
  const last = transition(fetched, { ...job, attempts: 5 }, { kind: 'rate-limited' }, context({ random: constant(0.5), pausedUntil }));
  assert.is(last.job.action, 'complete');
  assert.is(last.pauseQueue, true);
  assert.is(last.patch.failureKind, 'failing');
  assert.is(last.patch.nextCheckAt, pausedUntil + 3 * HOUR_MS);
});

const timeout: Resolution = { kind: 'transient', cause: 'timeout', detail: 'no answer in 20 s' };
const badRequest: Resolution = { kind: 'refused', reason: 'fixed-error', detail: '400 bad-request' };
const thrown: Resolution = { kind: 'failed', detail: 'TypeError: boom' };

test('transient leaves state and file alone and retries with doubling backoff ± jitter', () => {
  const delays: number[] = [];
  for (let attempts = 0; attempts < 5; attempts++) {
    const result = transition(fetched, { ...job, attempts }, timeout, context({ random: constant(0.5) }));
    assert.equal(result.patch, {});
    assert.is(result.file, 'keep');
    assert.is(result.changed, false);
    assert.is(result.pauseQueue, false);
    assert.is(result.job.action, 'retry');
    if (result.job.action === 'retry') delays.push(result.job.notBefore - NOW);
  }
  assert.equal(delays, [30_000, 60_000, 120_000, 240_000, 480_000]);
  const settings = { ...DEFAULT_TTL_SETTINGS, maxAttempts: 20 };
  const capped = transition(fetched, { ...job, attempts: 12 }, { kind: 'transient', cause: 'network', detail: 'ECONNRESET' }, context({ settings, random: constant(0) }));
  assert.equal(capped.job, { action: 'retry', notBefore: NOW + 30 * 60_000 * 0.9 });
  const jittered = transition(fetched, job, { kind: 'transient', cause: 'server-error', detail: '503' }, context({ random: constant(0) }));
  assert.equal(jittered.job, { action: 'retry', notBefore: NOW + 27_000 });
});

test('a Retry-After is honoured: never sooner than asked, in a retry or after giving up', () => {
  const asked: Resolution = { kind: 'transient', cause: 'server-error', detail: 'HTTP 503', retryAfterMs: 2 * HOUR_MS };
  const retry = transition(fetched, job, asked, context({ random: constant(0.5) }));
  assert.equal(retry.job, { action: 'retry', notBefore: NOW + 2 * HOUR_MS });
  const shortWait = transition(fetched, job, { ...asked, retryAfterMs: 1_000 }, context({ random: constant(0.5) }));
  assert.equal(shortWait.job, { action: 'retry', notBefore: NOW + 30_000 }, 'a short wait does not speed the backoff up');
  const givenUp = transition(fetched, { ...job, attempts: 5 }, { ...asked, retryAfterMs: 3 * DAY_MS }, context({ random: constant(0.5) }));
  assert.is(givenUp.job.action, 'complete');
  assert.is(givenUp.patch.nextCheckAt, NOW + 3 * DAY_MS);
  assert.throws(() => transition(fetched, job, { ...asked, retryAfterMs: -1 }, context()), /retryAfterMs must be a non-negative number/);
});

test('after its last try a failing job ends; the subject backs off 3 h, 6 h, 12 h, then daily', () => {
  let record: AvatarRecord = unknown;
  const backoffs: number[] = [];
  for (let round = 0; round < 7; round++) {
    const tries = round === 0 ? 6 : 2;
    for (let attempts = 0; attempts < tries - 1; attempts++) {
      assert.is(transition(record, { ...job, attempts }, timeout, context()).job.action, 'retry', `round ${round}, try ${attempts + 1}`);
    }
    const result = transition(record, { ...job, attempts: tries - 1 }, timeout, context({ random: constant(0.5) }));
    assert.is(result.job.action, 'complete', `round ${round} gives up after ${tries} tries`);
    assert.equal(Object.keys(result.patch).sort(), ['failureDetail', 'failureKind', 'failureStreak', 'nextCheckAt']);
    assert.is(result.patch.failureKind, 'failing');
    assert.is(result.patch.failureStreak, round + 1);
    assert.is(result.patch.failureDetail, 'timeout: no answer in 20 s');
    assert.is(result.file, 'keep');
    backoffs.push(result.patch.nextCheckAt! - NOW);
    record = { ...record, failureStreak: result.patch.failureStreak!, failureKind: 'failing', nextCheckAt: result.patch.nextCheckAt! };
    assert.is(sweepReason(record, false, NOW + 60_000), undefined, 'not due again before its backoff');
  }
  assert.equal(backoffs, [3, 6, 12, 24, 24, 24, 24].map((hours) => hours * HOUR_MS));
});

test('refused: three tries, then days of backoff counted as refused; state and picture stay', () => {
  for (const attempts of [0, 1]) {
    const result = transition(fetched, { ...job, attempts }, badRequest, context({ random: constant(0.5) }));
    assert.equal(result.patch, {});
    assert.is(result.job.action, 'retry');
  }
  const givenUp = transition(fetched, { ...job, attempts: 2 }, badRequest, context({ random: constant(0.5) }));
  assert.equal(givenUp, {
    patch: { nextCheckAt: NOW + 3 * DAY_MS, failureStreak: 1, failureKind: 'refused', failureDetail: 'fixed-error: 400 bad-request' },
    file: 'keep', job: { action: 'complete' }, changed: false, pauseQueue: false,
  });
  const again = transition({ ...fetched, failureStreak: 1 }, { ...job, attempts: 1 }, { kind: 'refused', reason: 'cdn', detail: 'HTTP 410' }, context({ random: constant(0.5) }));
  assert.is(again.job.action, 'complete', 'later rounds are shorter');
  assert.is(again.patch.nextCheckAt, NOW + 6 * DAY_MS);
  const capped = transition({ ...fetched, failureStreak: 9 }, { ...job, attempts: 1 }, badRequest, context({ random: constant(0.5) }));
  assert.is(capped.patch.nextCheckAt, NOW + 14 * DAY_MS);
});

test('an unexpected failure is a failed try like a transient one, with its detail kept', () => {
  assert.equal(transition(fetched, job, thrown, context({ random: constant(0.5) })).job, { action: 'retry', notBefore: NOW + 30_000 });
  const givenUp = transition(fetched, { ...job, attempts: 5 }, thrown, context({ random: constant(0.5) }));
  assert.is(givenUp.job.action, 'complete');
  assert.is(givenUp.patch.failureKind, 'failing');
  assert.is(givenUp.patch.failureDetail, 'unexpected failure: TypeError: boom');
  const long = transition(fetched, { ...job, attempts: 5 }, { kind: 'failed', detail: 'x'.repeat(5_000) }, context());
  assert.ok(long.patch.failureDetail!.length <= 300, 'a stored detail stays short');
});

test('no failure ever touches the stored picture, its id, sha or file', () => {
  const failures: Resolution[] = [timeout, badRequest, thrown, { kind: 'rate-limited' }, { kind: 'refused', reason: 'unreadable-answer', detail: 'empty answer' }];
  for (const resolution of failures) {
    for (const attempts of [0, 1, 2, 5, 9]) {
      for (const failureStreak of [0, 1, 4]) {
        const result = transition({ ...fetched, failureStreak }, { ...job, attempts }, resolution, context({ pausedUntil: NOW + 60_000 }));
        assert.is(result.file, 'keep');
        assert.is(result.changed, false);
        for (const column of ['state', 'pictureId', 'sha256', 'size', 'path', 'checkedAt', 'changedAt', 'hiddenCount'] as const) {
          assert.not.ok(column in result.patch, `${resolution.kind} after ${attempts} tries wrote ${column}`);
        }
      }
    }
  }
});

test('a good answer ends the failure streak', () => {
  const failing: AvatarRecord = { ...fetched, failureStreak: 4, failureKind: 'refused', failureDetail: 'fixed-error: 406' };
  for (const resolution of [downloaded, { kind: 'unchanged', pictureId: testPictureId('111') }, { kind: 'none' }, { kind: 'hidden' }] as Resolution[]) {
    const result = transition(failing, job, resolution, context());
    assert.is(result.patch.failureStreak, 0, resolution.kind);
    assert.is(result.patch.failureKind, null, resolution.kind);
    assert.is(result.patch.failureDetail, null, resolution.kind);
  }
});

test('whatever the answers, one subject is asked at most PER_SUBJECT_DAILY_QUERY_BOUND times in any 24 h', () => {
  // The state machine driven as the worker drives it, with the sweep coming back exactly on time
  // and the rate budget never in the way: the worst case for the bound.
  const answers: Resolution[] = [timeout, badRequest, thrown, { kind: 'rate-limited' }, downloaded, { kind: 'unchanged', pictureId: testPictureId('222') }, { kind: 'hidden' }];
  for (let seed = 1; seed <= 80; seed++) {
    // Half the runs with every jitter at its shortest: the densest schedule there is.
    const random = seed % 4 < 2 ? constant(0) : seededRandom(seed);
    const pick = seededRandom(seed + 1000);
    const favourite = seed % 2 === 0 || seed % 4 === 1;
    // Mostly failures, some good answers: the streak builds and resets.
    const answer = (): Resolution => (pick() < 0.8 ? answers[Math.floor(pick() * 4)]! : answers[4 + Math.floor(pick() * 3)]!);
    let record: AvatarRecord = unknown;
    let current: AvatarJob | undefined = job;
    let now = NOW;
    const queries: number[] = [];
    while (now < NOW + 10 * DAY_MS) {
      if (current === undefined) {
        now = Math.max(now, record.nextCheckAt ?? now);
        current = { ...job, attempts: 0 };
      }
      queries.push(now);
      const resolution = answer();
      const result = transition(record, current, resolution, { now, favourite, random, settings: DEFAULT_TTL_SETTINGS, pausedUntil: now + 5 * 60_000 });
      const patch = Object.fromEntries(Object.entries(result.patch).map(([key, value]) => [key, value === null ? undefined : value]));
      record = { ...record, ...patch } as AvatarRecord;
      if (result.job.action === 'retry') {
        now = result.job.notBefore;
        current = { ...current, attempts: current.attempts + 1 };
      } else {
        current = undefined;
      }
    }
    for (let i = 0; i < queries.length; i++) {
      const inDay = queries.filter((at) => at >= queries[i]! && at < queries[i]! + DAY_MS).length;
      assert.ok(inDay <= PER_SUBJECT_DAILY_QUERY_BOUND, `seed ${seed}: ${inDay} queries in the 24 h from query ${i}`);
    }
  }
});

test('the densest worst cases reach the daily bound and stay within it', () => {
  // Replays answers on the state machine with every jitter at its shortest, the sweep exactly on
  // time, for a favourite (the shortest TTL), and counts the queries in the first 24 h.
  const replay = (answers: Resolution[]): number => {
    let record: AvatarRecord = unknown;
    let current: AvatarJob | undefined = job;
    let now = NOW;
    const times: number[] = [];
    for (const resolution of answers) {
      if (current === undefined) {
        now = record.nextCheckAt!;
        current = { ...job, attempts: 0 };
      }
      times.push(now);
      const result = transition(record, current, resolution, context({ now, favourite: true, random: constant(0) }));
      const patch = Object.fromEntries(Object.entries(result.patch).map(([key, value]) => [key, value === null ? undefined : value]));
      record = { ...record, ...patch } as AvatarRecord;
      if (result.job.action === 'retry') {
        now = result.job.notBefore;
        current = { ...current, attempts: current.attempts + 1 };
      } else {
        current = undefined;
      }
    }
    return times.filter((at) => at < NOW + DAY_MS).length;
  };
  const failures = (count: number): Resolution[] => Array.from({ length: count }, () => timeout);
  assert.is(replay(failures(40)), PER_SUBJECT_DAILY_QUERY_BOUND, 'always failing');
  assert.is(replay([...failures(5), downloaded, ...failures(40)]), PER_SUBJECT_DAILY_QUERY_BOUND, 'a success on the last try, then failures');
  assert.ok(replay([...failures(5), { kind: 'hidden' }, ...failures(40)]) <= PER_SUBJECT_DAILY_QUERY_BOUND, 'hidden after failures');
  assert.ok(replay([...failures(5), badRequest, badRequest, badRequest, ...failures(40)]) <= PER_SUBJECT_DAILY_QUERY_BOUND, 'refusals');
});

test('a failure that cannot be stored waits 30 s, doubling, up to a day', () => {
  assert.equal([0, 1, 2, 10, 11, 40].map((attempts) => unstoredFailureDelayMs(attempts, DEFAULT_TTL_SETTINGS)), [
    30_000, 60_000, 120_000, 30_000 * 1024, 30_000 * 2048, DAY_MS,
  ]);
});

test('bad resolutions are refused with the problem named', () => {
  assert.throws(() => transition(fetched, job, { ...downloaded, sha256: 'xyz' }, context()), /sha256 of 64 lowercase hex digits/);
  assert.throws(() => transition(fetched, job, { ...downloaded, size: 0 }, context()), /positive size/);
  assert.throws(() => transition(fetched, job, { ...downloaded, path: '' }, context()), /path it was written to/);
  // Only a cast gets an empty id past the type; the state machine still names the problem.
  assert.throws(() => transition(fetched, job, { kind: 'unchanged', pictureId: '' as PictureId }, context()), /needs its picture id/);
  assert.throws(() => transition(fetched, job, { kind: 'gone' } as unknown as Resolution, context()), /unknown resolution kind "gone"/);
  assert.throws(() => transition(fetched, { ...job, jid: testJid('1@s.whatsapp.net') }, { kind: 'none' }, context()), /job for 1@s.whatsapp.net resolved against the record of/);
});

test('sweep: never checked or due subjects get a reason, favourites first', () => {
  assert.is(sweepReason(unknown, false, NOW), 'never-fetched');
  assert.is(sweepReason(unknown, true, NOW), 'favourite');
  assert.is(sweepReason(fetched, false, NOW), 'stale');
  assert.is(sweepReason(fetched, true, NOW), 'favourite');
  assert.is(sweepReason({ ...fetched, nextCheckAt: NOW }, false, NOW), 'stale');
  assert.is(sweepReason({ ...fetched, nextCheckAt: NOW + 1 }, false, NOW), undefined);
  assert.is(sweepReason({ ...fetched, nextCheckAt: NOW + 1 }, true, NOW), undefined);
  // A checked subject without a next check time (older data) is due rather than forgotten.
  assert.is(sweepReason({ ...fetched, nextCheckAt: undefined }, false, NOW), 'stale');
});

test('a whole life: fetched, unchanged, hidden, none, back again, on schedule', () => {
  let record: AvatarRecord = unknown;
  const apply = (resolution: Resolution, now: number) => {
    const result = transition(record, job, resolution, context({ now, random: constant(0.5) }));
    const patch = Object.fromEntries(Object.entries(result.patch).map(([key, value]) => [key, value === null ? undefined : value]));
    record = { ...record, ...patch } as AvatarRecord;
    return result;
  };
  let now = NOW;
  assert.is(apply(downloaded, now).changed, true);
  assert.is(sweepReason(record, false, now + 6 * DAY_MS), undefined);
  now += 7 * DAY_MS;
  assert.is(sweepReason(record, false, now), 'stale');
  assert.is(apply({ kind: 'unchanged', pictureId: testPictureId('222') }, now).changed, false);
  now += 7 * DAY_MS;
  apply({ kind: 'hidden' }, now);
  assert.is(record.path, PATH);
  assert.is(record.sha256, NEW_SHA);
  now += DAY_MS;
  assert.is(sweepReason(record, false, now), 'stale');
  const gone = apply({ kind: 'none' }, now);
  assert.is(gone.changed, true);
  assert.is(record.state, 'none');
  assert.is(record.path, undefined);
  now += 10.5 * DAY_MS;
  assert.is(apply(downloaded, now).changed, true);
  assert.is(record.state, 'fetched');
  assert.is(record.changedAt, now);
});

test.run();
