// `npm run bench`: runs every benchmark in turn (one at a time, so they do not compete for the
// two cores), prints a table, and writes the figures with the machine and the command as JSON.
//
//   node dist/worker/bench/run.js [--out FILE] [--only ID[,ID…]] [--log-level LEVEL]

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { createLogger } from '../src/logger.js';
import { runIdleBenchmark } from './idle.js';
import { runIngestBenchmark } from './ingest.js';
import { runMemoryBenchmark } from './memory.js';
import { runPipelineBenchmark } from './pipeline.js';
import { runQueueBenchmark } from './queue.js';
import { runRateComplianceBenchmark } from './rate-compliance.js';
import { runStatusBenchmark } from './status.js';
import { checkReadmeKeys } from './readme-keys.js';
import { describeMachine, formatMachine, formatTable, writeReport, type BenchmarkResult, type BenchReport } from './report.js';
import { elapsedMs } from './stats.js';

const REPOSITORY_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const DEFAULT_OUTPUT = resolve(REPOSITORY_ROOT, 'bench-results', 'bench.json');
const README = resolve(REPOSITORY_ROOT, 'README.md');

const BENCHMARKS: readonly { readonly id: string; readonly run: (logger: Logger) => Promise<BenchmarkResult> }[] = [
  { id: 'ingest', run: runIngestBenchmark },
  { id: 'queue', run: () => runQueueBenchmark() },
  { id: 'pipeline', run: runPipelineBenchmark },
  { id: 'rate', run: runRateComplianceBenchmark },
  { id: 'memory', run: runMemoryBenchmark },
  { id: 'status', run: () => runStatusBenchmark() },
  { id: 'idle', run: runIdleBenchmark },
];

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

interface BenchOptions {
  readonly out: string;
  readonly only: readonly string[];
  readonly logLevel: string;
}

const USAGE = `usage: node dist/worker/bench/run.js [--out FILE] [--only ${BENCHMARKS.map((b) => b.id).join(',')}] [--log-level LEVEL]`;

export function parseBenchArguments(args: readonly string[]): BenchOptions {
  let out = DEFAULT_OUTPUT;
  let only: string[] = BENCHMARKS.map((benchmark) => benchmark.id);
  let logLevel = 'silent';
  for (let index = 0; index < args.length; index++) {
    const flag = args[index]!;
    const value = (): string => {
      const next = args[++index];
      if (next === undefined || next.startsWith('--')) throw new BenchUsageError(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    if (flag === '--out') out = resolve(value());
    else if (flag === '--only') {
      only = value().split(',').map((id) => id.trim()).filter((id) => id !== '');
      const unknown = only.filter((id) => !BENCHMARKS.some((benchmark) => benchmark.id === id));
      if (unknown.length > 0 || only.length === 0) throw new BenchUsageError(`unknown benchmark '${unknown.join(',')}'\n${USAGE}`);
    } else if (flag === '--log-level') logLevel = value();
    else if (flag === '--help' || flag === '-h') throw new BenchUsageError(USAGE);
    else throw new BenchUsageError(`unknown option '${flag}'\n${USAGE}`);
  }
  return { out, only, logLevel };
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArguments(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const logger = createLogger(options.logLevel, 'whatsapp-bench');
  const machine = describeMachine();
  const startedAt = new Date().toISOString();
  process.stdout.write(`WhatsApp avatars worker benchmarks — ${formatMachine(machine)}\n\n`);
  const started = performance.now();
  const results: BenchmarkResult[] = [];
  for (const benchmark of BENCHMARKS.filter((candidate) => options.only.includes(candidate.id))) {
    const result = await benchmark.run(logger);
    results.push(result);
    process.stdout.write(`${formatTable([result])}\n`);
  }
  const report: BenchReport = {
    command: [process.argv0, ...process.execArgv, ...process.argv.slice(1)].join(' '),
    startedAt,
    machine,
    totalWallMs: Math.round(elapsedMs(started)),
    summary: Object.assign({}, ...results.map((result) => result.keys ?? {})) as Record<string, number>,
    benchmarks: results,
  };
  writeReport(options.out, report);
  const missed = results.flatMap((result) => result.figures.filter((figure) => figure.met === false).map((figure) => `${result.id}: ${figure.label}`));
  process.stdout.write(`Total ${(report.totalWallMs / 1000).toFixed(1)} s. Figures written to ${options.out}\n`);
  if (missed.length > 0) process.stdout.write(`Targets missed: ${missed.join('; ')}\n`);
  process.stdout.write(`${readmeKeysLine(Object.keys(report.summary), BENCHMARKS.every((benchmark) => options.only.includes(benchmark.id)))}\n`);
  return 0;
}

/** Whether the README's benchmark table names the summary keys this run wrote (and, after every benchmark, only those). */
function readmeKeysLine(written: readonly string[], everyBenchmark: boolean): string {
  const check = checkReadmeKeys(readFileSync(README, 'utf8'), written);
  const problems = [
    ...(check.unnamed.length > 0 ? [`keys the README's benchmark table does not name: ${check.unnamed.join(', ')}`] : []),
    ...(everyBenchmark && check.missing.length > 0 ? [`keys the README names that no benchmark wrote: ${check.missing.join(', ')}`] : []),
  ];
  return problems.length === 0 ? `README: its benchmark table names all ${written.length} summary keys ✓` : `WARNING: ${problems.join('; ')}`;
}

process.exitCode = await main();
