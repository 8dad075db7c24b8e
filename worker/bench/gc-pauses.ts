// Garbage-collection pauses during a benchmark, for the pipeline benchmark only (the product
// observes nothing): a PerformanceObserver on 'gc' entries notes each pause's start, length and
// kind, so the report can say how many jobs a pause overlapped — whether GC makes the p99.

import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface GcPause {
  readonly startMs: number;
  readonly durationMs: number;
  /** 'scavenge' (young generation), 'mark-sweep' (full), 'incremental' or 'weak-callbacks'. */
  readonly kind: string;
}

function kindOf(entry: PerformanceEntry): string {
  const kind = (entry as PerformanceEntry & { readonly detail?: { readonly kind?: number } }).detail?.kind;
  if (kind === constants.NODE_PERFORMANCE_GC_MINOR) return 'scavenge';
  if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) return 'mark-sweep';
  if (kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) return 'incremental';
  if (kind === constants.NODE_PERFORMANCE_GC_WEAKCB) return 'weak-callbacks';
  return `kind ${String(kind)}`;
}

/** Starts noting GC pauses; `stop` ends it and returns them in order. */
export function watchGcPauses(): { stop(): GcPause[] } {
  const pauses: GcPause[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ startMs: entry.startTime, durationMs: entry.duration, kind: kindOf(entry) });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      // Entries still buffered in the observer would otherwise arrive after we read them.
      for (const entry of observer.takeRecords()) pauses.push({ startMs: entry.startTime, durationMs: entry.duration, kind: kindOf(entry) });
      observer.disconnect();
      return pauses.sort((a, b) => a.startMs - b.startMs);
    },
  };
}

/** Whether any pause overlaps [startMs, endMs]. */
export function overlapsPause(startMs: number, endMs: number, pauses: readonly GcPause[]): boolean {
  return pauses.some((pause) => pause.startMs < endMs && pause.startMs + pause.durationMs > startMs);
}
