import { mkdtempSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeClock } from '../support/fake-clock.js';
import { SimulatedAccount, type SimulatedAccountOptions, type SimulatedQueryRecord } from '../../src/sim/account.js';
import { createPopulation, type SimulatedPopulation } from '../../src/sim/population.js';
import type { AccountEvent, PictureQueryOutcome } from '../../src/avatars/ports.js';

const logger = pino({ level: 'silent' });
const BASE_URL = 'https://127.0.0.1:1';
// Enough time for the simulated connect and every history batch to fire.
const SYNC_MS = 60_000;

function makeAccount(population: SimulatedPopulation, clock: FakeClock, extra: Partial<SimulatedAccountOptions> = {}) {
  const account = new SimulatedAccount({ population, cdn: { pictureOrigin: () => BASE_URL }, clock, logger, ...extra });
  const events: AccountEvent[] = [];
  account.onEvent((event) => events.push(event));
  return { account, events };
}

async function openAccount(population: SimulatedPopulation, extra: Partial<SimulatedAccountOptions> = {}) {
  const clock = new FakeClock();
  const made = makeAccount(population, clock, extra);
  await made.account.start();
  clock.advance(SYNC_MS);
  return { ...made, clock };
}

/** Queries every subject in order, `rounds` times, passing back the id it last saw. */
async function queryAll(account: SimulatedAccount, population: SimulatedPopulation, rounds: number): Promise<PictureQueryOutcome[]> {
  const known = new Map<string, string>();
  const outcomes: PictureQueryOutcome[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const subject of population.subjects) {
      const outcome = await account.queryPicture(subject.jid, known.get(subject.jid), 5_000);
      if (outcome.kind === 'picture') known.set(subject.jid, outcome.pictureId);
      if (outcome.kind === 'none') known.delete(subject.jid);
      outcomes.push(outcome);
    }
  }
  return outcomes;
}

/** Lets already-resolved promise chains run; no time passes. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function withTempDir(run: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-account-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('start connects, then delivers contacts and chats in batches, then history-synced', async () => {
  const population = createPopulation({ seed: 31, subjects: 450 });
  const clock = new FakeClock();
  const { account, events } = makeAccount(population, clock, { behaviour: { historyBatchSize: 100 } });
  await account.start();
  assert.equal(events, [{ type: 'connection', state: 'connecting' }]);
  clock.advance(SYNC_MS);
  assert.equal(events[1], { type: 'connection', state: 'open' });
  assert.equal(events[events.length - 1], { type: 'history-synced' });
  const contacts = events.flatMap((event) => (event.type === 'contacts' ? event.contacts : []));
  const chats = events.flatMap((event) => (event.type === 'chats' ? event.chats : []));
  assert.equal(contacts, population.contacts());
  assert.equal(chats, population.chats(clock.now() - SYNC_MS + 1_000));
  assert.ok(events.filter((event) => event.type === 'contacts').length > 1, 'contacts arrive in several batches');
  assert.ok(events.every((event) => event.type !== 'contacts' || event.contacts.length <= 100));
});

test('queries before the connection opens are transient socket-closed', async () => {
  const population = createPopulation({ seed: 32, subjects: 20 });
  const { account } = makeAccount(population, new FakeClock());
  await account.start();
  const outcome = await account.queryPicture(population.subjects[0]!.jid, undefined, 5_000);
  assert.equal(outcome.kind === 'transient' ? outcome.cause : outcome.kind, 'socket-closed');
});

test('two accounts from the same seed give the same answers', async () => {
  const population = createPopulation({ seed: 33, subjects: 400 });
  const first = await openAccount(population);
  const second = await openAccount(createPopulation({ seed: 33, subjects: 400 }));
  const a = await queryAll(first.account, population, 2);
  const b = await queryAll(second.account, second.account.population, 2);
  assert.equal(a, b);
  assert.equal(first.events, second.events);
  const other = await openAccount(createPopulation({ seed: 34, subjects: 400 }));
  assert.not.equal(await queryAll(other.account, other.account.population, 2), a);
});

test('answers follow the population; a known id is unchanged', async () => {
  const population = createPopulation({ seed: 35, subjects: 300, changeShare: 0 });
  const { account } = await openAccount(population, { behaviour: { timeoutShare: 0, rateLimitEveryQueries: 0 } });
  for (const subject of population.subjects) {
    const expected = subject.timeline[0]!;
    const outcome = await account.queryPicture(subject.jid, undefined, 5_000);
    if (expected.kind !== 'picture') {
      assert.is(outcome.kind, expected.kind);
      continue;
    }
    assert.ok(outcome.kind === 'picture' && outcome.pictureId === expected.pictureId);
    if (outcome.kind !== 'picture') continue;
    const url = new URL(outcome.url);
    assert.is(url.origin, BASE_URL);
    assert.match(url.search, /^\?oe=[0-9A-F]+&oh=[0-9a-f]+$/);
    assert.equal(await account.queryPicture(subject.jid, expected.pictureId, 5_000), { kind: 'unchanged', pictureId: expected.pictureId });
    const stale = await account.queryPicture(subject.jid, '1000000000', 5_000);
    assert.is(stale.kind, 'picture');
  }
  assert.is((await account.queryPicture('999999999999@s.whatsapp.net', undefined, 5_000)).kind, 'none');
  assert.is((await account.queryPicture('not a jid', undefined, 5_000)).kind, 'none');
});

test('timeouts and rate-limit bursts come at roughly the planned rates', async () => {
  const population = createPopulation({ seed: 36, subjects: 1_000 });
  const { account } = await openAccount(population);
  const outcomes = await queryAll(account, population, 6);
  const timeouts = outcomes.filter((outcome) => outcome.kind === 'transient' && outcome.cause === 'timeout').length / outcomes.length;
  assert.ok(timeouts > 0.01 && timeouts < 0.03, `timeout share ${timeouts}`);
  const limited = outcomes.map((outcome) => outcome.kind === 'rate-limited');
  const bursts = limited.filter((value, index) => value && !limited[index - 1]).length;
  const expectedBursts = outcomes.length / 150;
  assert.ok(bursts > expectedBursts * 0.6 && bursts < expectedBursts * 1.4, `${bursts} bursts in ${outcomes.length} queries`);
  let run = 0;
  for (const value of limited) {
    run = value ? run + 1 : 0;
    assert.ok(run <= 2, 'a burst is at most two answers long');
  }
});

test('picture changes are announced once each, bounded, and the answers end at the final pictures', async () => {
  const population = createPopulation({ seed: 37, subjects: 1_000 });
  const { account, events } = await openAccount(population, { behaviour: { timeoutShare: 0, rateLimitEveryQueries: 0 } });
  const before = events.length;
  await queryAll(account, population, 3);
  const announced = events.slice(before).filter((event) => event.type === 'picture-changed');
  assert.ok(population.changes.length > 0);
  assert.equal(
    announced,
    population.changes.map((change) => ({ type: 'picture-changed', jid: change.jid, removed: change.removed })),
  );
  for (const subject of population.subjects) {
    const final = population.finalPicture(subject.jid)!;
    const outcome = await account.queryPicture(subject.jid, undefined, 5_000);
    assert.is(outcome.kind, final.kind);
    if (final.kind === 'picture') assert.is(outcome.kind === 'picture' ? outcome.pictureId : '', final.pictureId);
  }
});

test(
  'the query log records every query and carries the count across a restart',
  withTempDir(async (dir) => {
    const queryLogPath = join(dir, 'queries.jsonl');
    const population = createPopulation({ seed: 38, subjects: 500 });
    const behaviour = { timeoutShare: 0, rateLimitEveryQueries: 0 };
    const first = await openAccount(population, { queryLogPath, behaviour });
    const half = population.subjects.slice(0, 450);
    for (const subject of half) await first.account.queryPicture(subject.jid, undefined, 5_000);
    const lines = readFileSync(queryLogPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as SimulatedQueryRecord);
    assert.is(lines.length, 450);
    assert.equal(Object.keys(lines[0]!).sort(), ['at', 'jid', 'outcome', 'query']);
    assert.is(lines[0]!.jid, half[0]!.jid);
    await first.account.stop();
    // A kill in the middle of an append leaves half a line behind.
    appendFileSync(queryLogPath, '{"at":1,"ji');

    const second = await openAccount(createPopulation({ seed: 38, subjects: 500 }), { queryLogPath, behaviour });
    assert.is(second.account.queriesAnswered, 450);
    // Changes already applied are announced again after the sync; none goes back in time.
    const applied = population.changes.filter((change) => change.atQuery <= 450);
    const reannounced = second.events.filter((event) => event.type === 'picture-changed').map((event) => (event.type === 'picture-changed' ? event.jid : ''));
    assert.equal(reannounced.sort(), [...new Set(applied.map((change) => change.jid))].sort());
    for (const change of applied) {
      const outcome = await second.account.queryPicture(change.jid, undefined, 5_000);
      const expected = population.pictureAfterQueries(change.jid, second.account.queriesAnswered)!;
      assert.is(outcome.kind, expected.kind);
      if (expected.kind === 'picture') assert.is(outcome.kind === 'picture' ? outcome.pictureId : '', expected.pictureId);
    }
    await second.account.queryPicture(population.subjects[0]!.jid, undefined, 5_000);
    const after = readFileSync(queryLogPath, 'utf8').split('\n').filter((line) => line.trim() !== '');
    assert.is(JSON.parse(after[after.length - 1]!).query, second.account.queriesAnswered);
  }),
);

test('with latency, an answer arrives only when the clock has moved, and stop answers pending queries', async () => {
  const population = createPopulation({ seed: 39, subjects: 30, changeShare: 0 });
  const { account, clock } = await openAccount(population, { behaviour: { latencyMs: 400, timeoutShare: 0, rateLimitEveryQueries: 0 } });
  let answer: PictureQueryOutcome | undefined;
  void account.queryPicture(population.subjects[0]!.jid, undefined, 5_000).then((outcome) => (answer = outcome));
  await settle();
  clock.advance(399);
  await settle();
  assert.is(answer, undefined);
  clock.advance(1);
  await settle();
  assert.is(answer?.kind, population.subjects[0]!.timeline[0]!.kind);

  const pending = account.queryPicture(population.subjects[1]!.jid, undefined, 5_000);
  await account.stop();
  const outcome = await pending;
  assert.equal(outcome.kind === 'transient' ? outcome.cause : outcome.kind, 'socket-closed');
});

test.run();
