// What a benchmark hands back, and how the figures reach a reader: a plain-text table on stdout
// and a JSON file with the machine they were measured on, so numbers from two runs can be compared.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, freemem, platform, release, totalmem, arch, type as osType } from 'node:os';
import { dirname } from 'node:path';
import { NATIVE_MODULES_ENV } from './app-node-hooks.cjs';

export interface Figure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  /** The goal the figure is held against, in words (e.g. '≥ 98 %'). */
  readonly target?: string;
  /** Whether the figure meets `target`; absent when there is no target. */
  readonly met?: boolean;
}

export interface BenchmarkResult {
  readonly id: string;
  readonly title: string;
  readonly figures: readonly Figure[];
  /** What the reader needs to interpret the figures: inputs, settings, caveats. */
  readonly notes: readonly string[];
  /** Wall time of the whole benchmark, set up and clean up included. */
  readonly wallMs: number;
  /** The headline figures under the stable keys the README names (bench.json's `summary`). */
  readonly keys?: Readonly<Record<string, number>>;
}

export interface MachineInfo {
  readonly os: string;
  readonly platform: string;
  readonly release: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryMB: number;
  readonly freeMemoryMB: number;
  readonly node: string;
  /** Whose Node.js ran the benchmarks: the app's (`npm run bench`, app-node.ts) or the machine's. */
  readonly nodeOrigin: 'app' | 'machine';
}

export interface BenchReport {
  readonly command: string;
  readonly startedAt: string;
  readonly machine: MachineInfo;
  readonly totalWallMs: number;
  /** Every benchmark's `keys`, merged: one flat object to compare two runs by. */
  readonly summary: Readonly<Record<string, number>>;
  readonly benchmarks: readonly BenchmarkResult[];
}

const MB = 1024 * 1024;

export function describeMachine(): MachineInfo {
  const processors = cpus();
  return {
    os: osType(),
    platform: platform(),
    release: release(),
    arch: arch(),
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryMB: Math.round(totalmem() / MB),
    freeMemoryMB: Math.round(freemem() / MB),
    node: process.version,
    // app-node.ts sets the variable for the processes it starts on the app's Node.
    nodeOrigin: process.env[NATIVE_MODULES_ENV] === undefined ? 'machine' : 'app',
  };
}

/** A number as a reader wants it: integers grouped, small values with a few significant digits. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) || magnitude >= 100) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

function targetCell(figure: Figure): string {
  if (figure.target === undefined) return '';
  return `${figure.target} ${figure.met === undefined ? '' : figure.met ? '✓' : '✗ MISSED'}`.trim();
}

/** The results as a fixed-width text table, one block per benchmark followed by its notes. */
export function formatTable(results: readonly BenchmarkResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    const labelWidth = Math.max(6, ...result.figures.map((figure) => figure.label.length));
    const valueWidth = Math.max(5, ...result.figures.map((figure) => formatValue(figure.value).length));
    const unitWidth = Math.max(4, ...result.figures.map((figure) => figure.unit.length));
    lines.push(`${result.title}  (${formatValue(result.wallMs / 1000)} s wall)`);
    lines.push(`  ${'figure'.padEnd(labelWidth)}  ${'value'.padStart(valueWidth)}  ${'unit'.padEnd(unitWidth)}  target`);
    lines.push(`  ${'-'.repeat(labelWidth)}  ${'-'.repeat(valueWidth)}  ${'-'.repeat(unitWidth)}  ------`);
    for (const figure of result.figures) {
      const row = `  ${figure.label.padEnd(labelWidth)}  ${formatValue(figure.value).padStart(valueWidth)}  ${figure.unit.padEnd(unitWidth)}  ${targetCell(figure)}`;
      lines.push(row.trimEnd());
    }
    for (const note of result.notes) lines.push(`  · ${note}`);
    lines.push('');
  }
  return lines.join('\n');
}

export function formatMachine(machine: MachineInfo): string {
  return `${machine.cpuModel}, ${machine.cores} cores, ${formatValue(machine.memoryMB)} MB RAM, ${machine.os} ${machine.release} ${machine.arch}, Node ${machine.node} (${machine.nodeOrigin === 'app' ? "the app's, addon/Dockerfile" : "this machine's; `npm run bench` uses the app's"})`;
}

/** Writes the report as JSON through a temp file and a rename, so a crash leaves no partial file. */
export function writeReport(path: string, report: BenchReport): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(temporary, path);
}

/** Shorthand for a figure with a target, checked by `meets`. */
export function checked(label: string, value: number, unit: string, target: string, meets: (value: number) => boolean): Figure {
  return { label, value, unit, target, met: meets(value) };
}
