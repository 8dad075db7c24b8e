// Benchmark 5: memory of a real `run` process (memory-child.ts: the run command's composition,
// Baileys loaded, not connected) on a data folder with N contacts stored and every one queued,
// for N = 1k, 10k, 50k and 200k. Each size runs in its own child process so the figures are the
// worker's alone. The folder is filled here, through the worker's own store classes.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { AvatarQueue } from '../src/avatars/queue.js';
import { requireJid } from '../src/jid.js';
import { appNodeFlags } from './app-node.js';
import { openDatabase } from '../src/store/database.js';
import { JobTable } from '../src/store/job-table.js';
import { SubjectStore } from '../src/store/subjects.js';
import type { MemoryChildReport } from './memory-child.js';
import { checked, type BenchmarkResult, type Figure } from './report.js';
import { elapsedMs } from './stats.js';
import { withTempDir } from './temp-dir.js';

export const MEMORY_SIZES = [1_000, 10_000, 50_000, 200_000] as const;
// The targets of issue 11: peak RSS of the run process at these sizes.
const PEAK_RSS_TARGET_MB: Readonly<Record<number, number>> = { 50_000: 150, 200_000: 200 };
const CHILD_SCRIPT = fileURLToPath(new URL('./memory-child.js', import.meta.url));
const MB = 1024 * 1024;
// Room for the child's one-line report and any warnings; far above what it prints.
const CHILD_OUTPUT_LIMIT_BYTES = 16 * MB;
const FILL_BATCH = 5_000;

const runFile = promisify(execFile);

function parseChildReport(stdout: string): MemoryChildReport {
  const line = stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new Error(`the memory benchmark's child printed no JSON report (last line: ${JSON.stringify(line.slice(0, 200))})`, { cause: error });
  }
  const report = parsed as Partial<MemoryChildReport>;
  if (typeof report.peakRssBytes !== 'number' || typeof report.baselineRssBytes !== 'number') {
    throw new Error(`the memory benchmark's child report lacks its RSS figures: ${line.slice(0, 200)}`);
  }
  return report as MemoryChildReport;
}

/** N contacts stored, each with a queued never-fetched job, as a history sync leaves them. */
function fillDataFolder(dataDir: string, contacts: number): void {
  const db = openDatabase(dataDir);
  try {
    const now = Date.UTC(2026, 0, 1);
    const store = new SubjectStore(db);
    const table = new JobTable(db);
    const queue = new AvatarQueue();
    for (let first = 0; first < contacts; first += FILL_BATCH) {
      const batch = Array.from({ length: Math.min(FILL_BATCH, contacts - first) }, (_, index) => ({
        jid: requireJid(`${4_915_100_000_000 + first + index}@s.whatsapp.net`).jid,
        name: `Contact ${first + index}`,
      }));
      db.transaction(() => {
        store.upsertContacts(batch, now);
        table.save(batch.map((contact) => queue.enqueue({ jid: contact.jid, kind: 'contact', reason: 'never-fetched' }, now).job));
      })();
      for (const contact of batch) queue.complete(contact.jid);
    }
  } finally {
    db.close();
  }
}

async function measure(contacts: number, logLevel: string, nodeFlags: readonly string[]): Promise<MemoryChildReport> {
  return withTempDir('memory', async (dir) => {
    const dataDir = join(dir, 'data');
    fillDataFolder(dataDir, contacts);
    const { stdout } = await runFile(process.execPath, [...nodeFlags, '--expose-gc', CHILD_SCRIPT, dataDir, logLevel], { maxBuffer: CHILD_OUTPUT_LIMIT_BYTES });
    return parseChildReport(stdout);
  });
}

export async function runMemoryBenchmark(logger: Logger): Promise<BenchmarkResult> {
  const started = performance.now();
  const megabytes = (bytes: number): number => bytes / MB;
  const figures: Figure[] = [];
  const notes: string[] = [];
  const keys: Record<string, number> = {};
  const nodeFlags = appNodeFlags();
  for (const contacts of MEMORY_SIZES) {
    const report = await measure(contacts, logger.level, nodeFlags);
    const size = contacts >= 1_000 ? `${contacts / 1_000}k` : String(contacts);
    const peak = megabytes(report.peakRssBytes);
    const target = PEAK_RSS_TARGET_MB[contacts];
    figures.push(target === undefined ? { label: `${size}: peak RSS`, value: peak, unit: 'MB' } : checked(`${size}: peak RSS`, peak, 'MB', `< ${target} MB`, (value) => value < target));
    figures.push({ label: `${size}: peak heapUsed`, value: megabytes(report.peakHeapUsedBytes), unit: 'MB' });
    if (report.retainedHeapUsedBytes !== undefined) figures.push({ label: `${size}: heapUsed after GC`, value: megabytes(report.retainedHeapUsedBytes), unit: 'MB' });
    figures.push({ label: `${size}: WorkerApp.start()`, value: report.startMs, unit: 'ms' });
    keys[`rss_peak_mb_${size}`] = peak;
    keys[`start_ms_${size}`] = report.startMs;
    keys[`heap_peak_mb_${size}`] = megabytes(report.peakHeapUsedBytes);
    if (report.retainedHeapUsedBytes !== undefined) keys[`heap_retained_mb_${size}`] = megabytes(report.retainedHeapUsedBytes);
    if (report.queued !== contacts) notes.push(`WARNING: ${size}: expected ${contacts} queued jobs, the worker holds ${report.queued}`);
  }
  notes.unshift(
    `each size in its own child process (node ${[...nodeFlags, '--expose-gc'].join(' ')}: node's flags as addon/run.mjs starts the worker in the app, plus --expose-gc): the run command's composition root (WorkerApp), the real BaileysAccount with Baileys loaded and its socket aimed at a closed loopback port (never connects), on a data folder holding N contacts, every one stored and queued`,
    'peak over the start and 3 s after it, sampled every 20 ms; RSS before the start (Node and every module loaded) is in the child report',
  );
  return { id: 'memory', title: '5. Memory of a real `run` process with N contacts stored and queued', figures, notes, wallMs: elapsedMs(started), keys };
}
