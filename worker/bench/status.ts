// `status --json` on a 50,000-contact database, as a user types it: a fresh `node` process each
// time, module loading included (the CLI loads only the command it runs), timed by wall clock.

import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JobTable } from '../src/store/job-table.js';
import { openDatabase } from '../src/store/database.js';
import { SubjectStore } from '../src/store/subjects.js';
import { AvatarQueue } from '../src/avatars/queue.js';
import { requireJid } from '../src/jid.js';
import type { BenchmarkResult } from './report.js';
import { elapsedMs, percentile } from './stats.js';
import { withTempDir } from './temp-dir.js';

const CONTACTS = 50_000;
const QUEUED = 10_000;
const RUNS = 7;
const TARGET_MS = 200;
const BIN = resolve(fileURLToPath(new URL('../../../worker/bin/whatsapp-worker.js', import.meta.url)));

function fillDatabase(dataDir: string): void {
  const db = openDatabase(dataDir);
  try {
    const now = Date.UTC(2026, 0, 1);
    const contacts = Array.from({ length: CONTACTS }, (_, index) => ({ jid: requireJid(`${4_915_100_000_000 + index}@s.whatsapp.net`).jid, name: `Contact ${index}` }));
    const store = new SubjectStore(db);
    db.transaction(() => store.upsertContacts(contacts, now))();
    const queue = new AvatarQueue();
    const jobs = contacts.slice(0, QUEUED).map((contact) => queue.enqueue({ jid: contact.jid, kind: 'contact', reason: 'never-fetched' }, now).job);
    const table = new JobTable(db);
    db.transaction(() => table.save(jobs))();
  } finally {
    db.close();
  }
}

export async function runStatusBenchmark(): Promise<BenchmarkResult> {
  const started = performance.now();
  return withTempDir('status', (dir) => {
    const dataDir = join(dir, 'data');
    fillDatabase(dataDir);
    const wallMs: number[] = [];
    let subjects = 0;
    for (let run = 0; run < RUNS; run++) {
      const runStarted = performance.now();
      const output = execFileSync(process.execPath, [BIN, 'status', '--json', '--data', dataDir], { encoding: 'utf8' });
      wallMs.push(elapsedMs(runStarted));
      subjects = (JSON.parse(output) as { subjects: number }).subjects;
    }
    // The floor no command can go below, in the same run: a bare `node` that loads nothing.
    const floorMs: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const runStarted = performance.now();
      execFileSync(process.execPath, ['-e', '0']);
      floorMs.push(elapsedMs(runStarted));
    }
    if (subjects !== CONTACTS) throw new Error(`status counted ${subjects} subjects, not ${CONTACTS}`);
    const median = percentile(wallMs, 50);
    const slowest = Math.max(...wallMs);
    return {
      id: 'status',
      title: `status --json on ${CONTACTS.toLocaleString('en')} contacts (fresh process each run)`,
      figures: [
        { label: 'wall time, median', value: Math.round(median), unit: 'ms', target: `< ${TARGET_MS} ms`, met: median < TARGET_MS },
        { label: 'wall time, slowest', value: Math.round(slowest), unit: 'ms' },
        { label: 'bare `node -e 0`, median (floor)', value: Math.round(percentile(floorMs, 50)), unit: 'ms' },
        { label: 'status above the floor, median', value: Math.round(median - percentile(floorMs, 50)), unit: 'ms' },
      ],
      notes: [`${RUNS} runs of \`node worker/bin/whatsapp-worker.js status --json\`, ${QUEUED.toLocaleString('en')} jobs queued; node start-up and module loading included`],
      wallMs: Math.round(elapsedMs(started)),
      keys: { status_ms: median, status_slowest_ms: slowest, status_node_floor_ms: percentile(floorMs, 50) },
    };
  });
}
