// The `whatsapp-worker` command as a user runs it: the demo to the end, killed with SIGKILL and
// started again, `status` and `refresh` with good and bad input. Real processes, a real SQLite
// file, a real loopback HTTPS CDN; the expected final state comes from the simulation's plan.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { demoPopulationOptions, demoTimings, DEMO_IQ_SUMMARY, DEMO_QUERY_LOG } from '../../src/cli/demo.js';
import { createPopulation, type ExpectedOutcome, type OddAnswer } from '../../src/sim/population.js';
import type { IqSummary, SimulatedQueryRecord } from '../../src/sim/whatsapp.js';

const BIN = fileURLToPath(new URL('../../../../worker/bin/whatsapp-worker.js', import.meta.url));
const INTERVAL_SECONDS = 0.02;
const JITTER_RATIO = 0.2;

// Every odd answer the simulated WhatsApp knows, and a "pending notifications" that arrives
// before 'open' on some connections.
const DEMO_QUIRKS = 'forbidden,bad-request,not-acceptable,empty-id,empty-answer,pending-before-open';
const ODD_ANSWERS_IN_DEMO = DEMO_QUIRKS.split(',').filter((quirk) => quirk !== 'pending-before-open') as OddAnswer[];

/** The state the worker must have stored: the plan's; a refused subject keeps what it had (never checked). */
function expectedState(expected: ExpectedOutcome): string {
  return expected.state === 'refused' ? 'unknown' : expected.state;
}

function demoArgs(data: string, contacts: number, quirks = DEMO_QUIRKS): string[] {
  return ['demo', '--data', data, '--contacts', String(contacts), '--interval', String(INTERVAL_SECONDS), '--quirks', quirks, '--log-level', 'warn'];
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `cli-${label}-`));
}

interface Row {
  jid: string;
  picture_state: string;
  picture_id: string | null;
  picture_sha256: string | null;
  profile_picture: string | null;
}

function storedRows(dataDir: string): Row[] {
  const db = new Database(join(dataDir, 'whatsapp.db'), { readonly: true });
  try {
    const columns = 'jid, picture_state, picture_id, picture_sha256, profile_picture';
    return db
      .prepare(`SELECT ${columns} FROM contacts UNION ALL SELECT ${columns} FROM chats WHERE kind = 'group' ORDER BY jid`)
      .all() as Row[];
  } finally {
    db.close();
  }
}

function integrity(dataDir: string): string {
  // Read-write, as the next worker would open it: SQLite recovers the write-ahead log a kill left.
  const db = new Database(join(dataDir, 'whatsapp.db'), { fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every subject ends as the simulation's plan says, every file is whole, nothing is left over. */
function assertFinalState(dataDir: string, contacts: number, seed: number): void {
  const rows = storedRows(dataDir);
  const plan = createPopulation({ ...demoPopulationOptions(contacts, seed), oddAnswers: ODD_ANSWERS_IN_DEMO });
  assert.is(rows.length, plan.subjects.length, "every simulated subject is stored");
  const expectedFiles = new Set<string>();
  for (const row of rows) {
    const subject = plan.subject(row.jid);
    const expected = plan.expectedOutcome(row.jid);
    assert.ok(subject !== undefined && expected !== undefined, `${row.jid} is not in the simulation`);
    const state = expectedState(expected);
    assert.is(row.picture_state, state, `${row.jid} should be ${state}`);
    if (state === 'fetched' && expected.state === 'fetched') assert.is(row.picture_id, expected.pictureId, `${row.jid} has the final picture`);
    if (state === 'none' || state === 'unknown') assert.is(row.profile_picture, null, `${row.jid} has no file`);
    if (row.picture_state === 'fetched') {
      const bytes = readFileSync(row.profile_picture!);
      assert.equal([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], `${row.jid}'s file is a JPEG`);
      assert.is(createHash('sha256').update(bytes).digest('hex'), row.picture_sha256, `${row.jid}'s file matches its sha256`);
    }
    if (row.profile_picture !== null) expectedFiles.add(row.profile_picture);
  }
  const files = allFiles(join(dataDir, 'media'));
  assert.equal(files.filter((file) => file.endsWith('.tmp')), [], 'no temporary file is left');
  assert.equal(files.sort(), [...expectedFiles].sort(), 'exactly the recorded files exist');
  assert.is(integrity(dataDir), 'ok');
}

function queryLog(dataDir: string): SimulatedQueryRecord[] {
  return readFileSync(join(dataDir, DEMO_QUERY_LOG), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as SimulatedQueryRecord];
      } catch {
        return []; // a line cut short by a SIGKILL
      }
    });
}

function iqSummary(dataDir: string): IqSummary {
  return JSON.parse(readFileSync(join(dataDir, DEMO_IQ_SUMMARY), 'utf8')) as IqSummary;
}

test('the demo processes every contact and group, and status reports it', () => {
  const data = tempDir('demo');
  const run = cli([...demoArgs(data, 300), '--exit-when-idle']);
  assert.is(run.status, 0, run.stderr);
  const status = cli(['status', '--data', data, '--json']);
  assert.is(status.status, 0, status.stderr);
  const report = JSON.parse(status.stdout);
  assert.is(report.counts.contact.total, 300);
  assert.ok(report.counts.group.total > 0);
  // Refused subjects keep their state (never checked) and are counted apart; all are processed.
  const planned = createPopulation({ ...demoPopulationOptions(300, 1), oddAnswers: ODD_ANSWERS_IN_DEMO });
  const refused = planned.subjects.filter((subject) => planned.expectedOutcome(subject.jid)!.state === 'refused').length;
  assert.ok(refused > 0, 'the plan has refused subjects');
  assert.is(report.processed, report.subjects);
  assert.is(report.counts.contact.unknown + report.counts.group.unknown, refused);
  assert.is(report.counts.contact.refused + report.counts.group.refused, refused);
  assert.is(report.queue_length, 0);
  assert.is(report.progress.done, report.progress.total);
  assertFinalState(data, 300, 1);

  // Query spacing: never closer than the interval minus its jitter, never inside a 429 pause.
  const log = queryLog(data);
  const minimumGapMs = INTERVAL_SECONDS * 1000 * (1 - JITTER_RATIO);
  const pauseMs = demoTimings(INTERVAL_SECONDS * 1000).rate.rateLimitPauseMs!;
  for (let index = 1; index < log.length; index++) {
    const gap = log[index]!.at - log[index - 1]!.at;
    assert.ok(gap >= Math.floor(minimumGapMs), `queries ${index - 1} and ${index} only ${gap} ms apart`);
    if (log[index - 1]!.outcome === 'rate-limited') assert.ok(gap >= pauseMs, `query ${index} inside a rate-limit pause (${gap} ms)`);
  }
  assert.ok(log.some((entry) => entry.outcome === 'rate-limited'), 'the demo exercised a rate-limit pause');

  // Every picture query is in the log with what it cost, and the IQ summary adds up.
  const summary = iqSummary(data);
  assert.ok(log.every((entry) => Number.isInteger(entry.iqs) && entry.iqs >= 1), 'each query records its IQ cost');
  assert.ok(log.filter((entry) => entry.outcome === 'picture').every((entry) => typeof entry.host === 'string'), 'each picture records its host');
  assert.is(summary.pictureQueries, log.length);
  assert.is(summary.byKind['w:profile:picture'] ?? 0, log.filter((entry) => entry.xmlns === 'w:profile:picture').length);
  assert.is(summary.iqsPerPictureQuery, log.reduce((sum, entry) => sum + entry.iqs, 0) / log.length);
  for (const odd of ODD_ANSWERS_IN_DEMO) assert.ok(log.some((entry) => entry.outcome === odd), `the demo answered ${odd}`);

  // A refresh of a known JID on the stopped worker's folder is picked up by the next run.
  const jid = storedRows(data).find((row) => row.picture_state === 'fetched')!.jid;
  const refresh = cli(['refresh', '--data', data, '--force', jid]);
  assert.is(refresh.status, 0, refresh.stderr);
  assert.is(JSON.parse(cli(['status', '--data', data, '--json']).stdout).queue_length, 1);
  const again = cli([...demoArgs(data, 300), '--exit-when-idle']);
  assert.is(again.status, 0, again.stderr);
  assert.is(JSON.parse(cli(['status', '--data', data, '--json']).stdout).queue_length, 0);
  assert.ok(queryLog(data).slice(log.length).some((entry) => entry.jid === jid), 'the refreshed JID was queried');
  rmSync(data, { recursive: true, force: true });
});

// Issue 8's "one door to WhatsApp": a picture query costs exactly one IQ. Baileys' getLIDForPN
// would add a USync for every contact without a stored LID pair; the adapter reads our key rows.
test('exactly one IQ per picture query', () => {
  const data = tempDir('one-iq');
  const run = cli([...demoArgs(data, 100), '--exit-when-idle']);
  assert.is(run.status, 0, run.stderr);
  const summary = iqSummary(data);
  assert.ok(summary.pictureQueries > 0);
  assert.is(summary.byKind.usync ?? 0, 0, 'no USync was sent');
  assert.is(summary.iqsPerPictureQuery, 1);
  assert.ok(queryLog(data).every((entry) => entry.iqs === 1), 'every query cost one IQ');
  rmSync(data, { recursive: true, force: true });
});

test('a worker running on the folder picks up what refresh queues', async () => {
  const data = tempDir('live-refresh');
  const args = demoArgs(data, 20);
  assert.is(cli([...args, '--exit-when-idle']).status, 0);
  const jid = storedRows(data).find((row) => row.picture_state === 'fetched')!.jid;
  const before = queryLog(data).length;
  const worker = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
  try {
    // Wait for the restarted worker to settle (it re-checks nothing: every subject is fresh).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const refresh = cli(['refresh', '--data', data, jid]);
    assert.is(refresh.status, 0, refresh.stderr);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !queryLog(data).slice(before).some((entry) => entry.jid === jid)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(queryLog(data).slice(before).some((entry) => entry.jid === jid), 'the running worker queried the refreshed JID');
    // The query is logged before its download is stored; a stop in between keeps the job queued
    // (stop aborts the download, and no job is lost), so wait for the outcome before stopping.
    while (Date.now() < deadline && JSON.parse(cli(['status', '--data', data, '--json']).stdout).queue_length !== 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  assert.is(JSON.parse(cli(['status', '--data', data, '--json']).stdout).queue_length, 0);
  rmSync(data, { recursive: true, force: true });
});

test('killed with SIGKILL at random moments and started again, the demo ends in the same final state', async () => {
  const data = tempDir('kill');
  const contacts = 150;
  const args = demoArgs(data, contacts);
  for (let kill = 0; kill < 4; kill++) {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const delayMs = 300 + Math.floor(Math.random() * 2_000);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // A kill before the database file exists is one of the random moments too.
    if (existsSync(join(data, 'whatsapp.db'))) assert.is(integrity(data), 'ok', `integrity after kill ${kill + 1} at ${delayMs} ms`);
  }
  const final = cli([...args, '--exit-when-idle']);
  assert.is(final.status, 0, final.stderr);
  assertFinalState(data, contacts, 1);
  rmSync(data, { recursive: true, force: true });
});

test('refresh refuses bad JIDs with a clear message and writes nothing', () => {
  const empty = tempDir('refresh-empty');
  const cases: [string, RegExp][] = [
    ['49170/1234@s.whatsapp.net', /'\/'/],
    ['../491701234@s.whatsapp.net', /not allowed/],
    ['4917 01234@s.whatsapp.net', /a space/],
    [`${'1'.repeat(290)}@s.whatsapp.net`, /characters long/],
    ['491701234@example.com', /unknown server/],
  ];
  for (const [jid, message] of cases) {
    const result = cli(['refresh', '--data', empty, jid]);
    assert.is.not(result.status, 0, `accepted ${jid}`);
    assert.match(result.stderr, message);
    assert.match(result.stderr, /nothing was queued/);
  }
  assert.equal(readdirSync(empty), [], 'nothing was created');

  // With a database present, a call mixing good and bad JIDs changes nothing either.
  const ok = cli(['refresh', '--data', empty, '491701234567@s.whatsapp.net']);
  assert.is(ok.status, 0, ok.stderr);
  const before = storedRows(empty);
  const mixed = cli(['refresh', '--data', empty, '491709999999@s.whatsapp.net', 'a..b@g.us']);
  assert.is.not(mixed.status, 0);
  assert.equal(storedRows(empty), before);
  assert.is(JSON.parse(cli(['status', '--data', empty, '--json']).stdout).queue_length, 1);
  rmSync(empty, { recursive: true, force: true });
});

test('refresh takes a phone number as people write it, as the HA action does, and refuses what is neither', () => {
  const data = tempDir('refresh-phone');
  const result = cli(['refresh', '--data', data, '+49 (170) 123-4567', '49-170-7654321']);
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /^491701234567@s\.whatsapp\.net: queued, position 1$/m);
  assert.match(result.stdout, /^491707654321@s\.whatsapp\.net: queued, position 2$/m);
  assert.is(JSON.parse(cli(['status', '--data', data, '--json']).stdout).queue_length, 2);
  const before = storedRows(data);
  for (const typed of ['anna', '0170 1234567', '+49 17']) {
    const refused = cli(['refresh', '--data', data, '+49 170 5555555', typed]);
    assert.is.not(refused.status, 0, `accepted ${typed}`);
    assert.match(refused.stderr, /is neither a JID .* nor a phone number \(7 to 15 digits, country code first/);
    assert.match(refused.stderr, /nothing was queued/);
  }
  assert.equal(storedRows(data), before);
  rmSync(data, { recursive: true, force: true });
});

test('status on a folder without a database says so and creates nothing', () => {
  const empty = tempDir('status-empty');
  const result = cli(['status', '--data', empty, '--json']);
  assert.is.not(result.status, 0);
  assert.match(result.stderr, /no worker database/);
  assert.is(result.stdout, '');
  assert.equal(readdirSync(empty), []);
  const missing = join(empty, 'not-there');
  assert.is.not(cli(['status', '--data', missing]).status, 0);
  assert.not.ok(existsSync(missing));
  rmSync(empty, { recursive: true, force: true });
});

test('every sub-command explains itself with --help; run refuses an interval below 2 s', () => {
  for (const command of ['run', 'demo', 'status', 'refresh']) {
    const help = cli([command, '--help']);
    assert.is(help.status, 0);
    assert.match(help.stdout, new RegExp(`Usage: whatsapp-worker ${command}`));
  }
  assert.match(cli(['--help']).stdout, /Commands:/);
  const data = tempDir('run-fast');
  const fast = cli(['run', '--data', data, '--interval', '0.5']);
  assert.is(fast.status, 2);
  assert.match(fast.stderr, /--interval must be at least 2 s/);
  assert.ok(statSync(data).isDirectory());
  assert.equal(readdirSync(data), []);
  rmSync(data, { recursive: true, force: true });
});

test('demo --scan-after refuses what is not a number of seconds, before it touches the folder', () => {
  const data = tempDir('scan-after');
  for (const value of ['-1', 'soon']) {
    const refused = cli(['demo', '--data', data, `--scan-after=${value}`]);
    assert.is(refused.status, 2);
    assert.match(refused.stderr, /--scan-after must be a number of 0 or more/);
  }
  assert.equal(readdirSync(data), []);
  assert.match(cli(['demo', '--help']).stdout, /--scan-after SECONDS/);
  rmSync(data, { recursive: true, force: true });
});

test.run();
