// Benchmark 5: peak memory with 50,000 contacts stored and queued. Measured in a child process so
// the figures are the worker's alone, not those of the benchmarks that ran before in this one.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { MemoryChildReport } from './memory-child.js';
import type { BenchmarkResult, Figure } from './report.js';
import { elapsedMs } from './stats.js';
import { withTempDir } from './temp-dir.js';

const MEMORY_CONTACTS = 50_000;
const CHILD_SCRIPT = fileURLToPath(new URL('./memory-child.js', import.meta.url));
const MB = 1024 * 1024;
// Room for the child's one-line report and any warnings; far above what it prints.
const CHILD_OUTPUT_LIMIT_BYTES = 16 * MB;

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

export async function runMemoryBenchmark(logger: Logger): Promise<BenchmarkResult> {
  const started = performance.now();
  const report = await withTempDir('memory', async (dir) => {
    const { stdout } = await runFile(process.execPath, ['--expose-gc', CHILD_SCRIPT, dir, String(MEMORY_CONTACTS), logger.level], {
      maxBuffer: CHILD_OUTPUT_LIMIT_BYTES,
    });
    return parseChildReport(stdout);
  });
  const megabytes = (bytes: number): number => bytes / MB;
  const figures: Figure[] = [
    { label: 'peak RSS', value: megabytes(report.peakRssBytes), unit: 'MB' },
    { label: 'RSS before ingest (Node, modules, records)', value: megabytes(report.baselineRssBytes), unit: 'MB' },
    { label: 'peak RSS above that', value: megabytes(report.peakRssBytes - report.baselineRssBytes), unit: 'MB' },
    { label: 'peak heapUsed', value: megabytes(report.peakHeapUsedBytes), unit: 'MB' },
    ...(report.retainedHeapUsedBytes === undefined ? [] : [{ label: 'heapUsed after GC, all queued', value: megabytes(report.retainedHeapUsedBytes), unit: 'MB' }]),
    { label: 'RSS at the end', value: megabytes(report.finalRssBytes), unit: 'MB' },
    { label: 'jobs queued (memory = SQLite)', value: report.storedJobs, unit: 'jobs' },
    { label: 'ingest + enqueue time', value: report.syncMs, unit: 'ms' },
  ];
  const notes = [
    `child process (node --expose-gc): ${report.contacts.toLocaleString('en-US')} contacts as ${report.records.toLocaleString('en-US')} history-sync records through the real AvatarWorker into a temp SQLite file, every contact queued in DurableQueue`,
    `memory sampled ${report.samples} times (after every batch: the ingest is synchronous, so a timer could not sample in between)`,
  ];
  if (report.queued !== report.contacts || report.storedJobs !== report.contacts) {
    notes.push(`WARNING: expected ${report.contacts} queued jobs, found ${report.queued} in memory and ${report.storedJobs} in SQLite`);
  }
  return { id: 'memory', title: '5. Memory with 50,000 contacts stored and queued', figures, notes, wallMs: elapsedMs(started) };
}
