import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AvatarFiles } from '../../src/files/avatar-files.js';
import { downloadPicture } from '../../src/cdn/download.js';
import { FakeClock } from '../support/fake-clock.js';
import { startSimulation } from '../../src/sim/simulation.js';

const logger = pino({ level: 'silent' });

// A stand-in for the worker's pipeline, reduced to the state machine's file rules, to show that
// the simulation's final state is reachable with the real downloader and the real file writer.
test('querying everyone and then every announced change ends at the population\'s final pictures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-simulation-'));
  const clock = new FakeClock();
  const simulation = await startSimulation({ seed: 41, subjects: 250, clock, logger });
  try {
    const files = new AvatarFiles(join(dir, 'avatars'));
    const settings = { ...simulation.downloadSettings, retryDelayMs: 1 };
    const known = new Map<string, string>();
    const queue: string[] = [];
    simulation.account.onEvent((event) => {
      if (event.type === 'picture-changed') queue.push(event.jid);
      if (event.type === 'history-synced') queue.push(...simulation.population.subjects.map((subject) => subject.jid));
    });
    await simulation.account.start();
    clock.advance(60_000);
    let downloads = 0;
    for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
      const jid = queue.shift()!;
      const outcome = await simulation.account.queryPicture(jid, known.get(jid), 5_000);
      if (outcome.kind === 'picture') {
        const result = await downloadPicture(outcome.url, settings, logger);
        assert.ok(result.ok, `download for ${jid} failed: ${result.ok ? '' : result.detail}`);
        if (!result.ok) continue;
        await files.write(jid, result.bytes);
        known.set(jid, outcome.pictureId);
        downloads++;
      } else if (outcome.kind === 'none') {
        await files.remove(jid);
        known.delete(jid);
      } else if (outcome.kind === 'transient' || outcome.kind === 'rate-limited') {
        queue.push(jid);
      }
    }
    assert.is(queue.length, 0);
    assert.ok(downloads > 100, `${downloads} downloads`);
    for (const subject of simulation.population.subjects) {
      const final = simulation.population.finalPicture(subject.jid)!;
      const bytes = await files.read(subject.jid);
      const sha = bytes === undefined ? undefined : createHash('sha256').update(bytes).digest('hex');
      if (final.kind === 'picture') assert.is(sha, simulation.population.finalSha256(subject.jid), subject.jid);
      if (final.kind === 'none') assert.is(sha, undefined, subject.jid);
    }
    assert.ok(simulation.cdn.stats().served >= downloads);
  } finally {
    await simulation.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one behaviour setting reaches both simulations; the socket-only settings stay with the socket-level one', async () => {
  const clock = new FakeClock();
  const simulation = await startSimulation({
    seed: 5,
    subjects: 20,
    clock,
    logger,
    behaviour: { timeoutShare: 1, rateLimitEveryQueries: 0, connectDelayMs: 10 },
    whatsapp: { maxTimeoutWaitMs: 50 },
  });
  try {
    assert.is(simulation.whatsapp.behaviour.timeoutShare, 1, 'the socket-level WhatsApp reads the shared setting');
    assert.is(simulation.whatsapp.behaviour.connectDelayMs, 10);
    assert.is(simulation.whatsapp.behaviour.maxTimeoutWaitMs, 50);
    assert.is(simulation.whatsapp.behaviour.historyBatchSize, 200, 'the shared default');
    await simulation.account.start();
    clock.advance(10);
    const outcome = await simulation.account.queryPicture(simulation.population.subjects[0]!.jid, undefined, 5_000);
    assert.is(outcome.kind === 'transient' && outcome.cause, 'timeout', 'the outcome-level account reads the same setting');
  } finally {
    await simulation.stop();
  }
});

test.run();
