// Small, pure statistics over measured numbers; every benchmark reports through these so the
// figures mean the same thing everywhere (nearest-rank percentiles, sliding windows by start time).

/** The value at or below which `percent` % of the samples fall (nearest-rank on sorted samples). */
export function percentile(samples: readonly number[], percent: number): number {
  if (samples.length === 0) throw new RangeError('percentile of an empty sample set');
  if (!(percent > 0 && percent <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${percent}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((percent / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('mean of an empty sample set');
  return samples.reduce((sum, value) => sum + value, 0) / samples.length;
}

/**
 * The most events in any window of `windowMs` (an event at t counts for windows [s, s + windowMs)
 * that contain t). `times` must be sorted ascending.
 */
export function mostInAnyWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while (times[last]! - times[first]! >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** The smallest gap between consecutive sorted times; undefined with fewer than two. */
export function smallestGap(times: readonly number[]): number | undefined {
  let smallest: number | undefined;
  for (let index = 1; index < times.length; index++) {
    const gap = times[index]! - times[index - 1]!;
    if (smallest === undefined || gap < smallest) smallest = gap;
  }
  return smallest;
}

/** Per second, from a count and a duration in milliseconds. */
export function perSecond(count: number, durationMs: number): number {
  return durationMs > 0 ? (count * 1000) / durationMs : Number.POSITIVE_INFINITY;
}

/** Milliseconds since `startedAt` (a `performance.now()` reading), for timing sections of code. */
export function elapsedMs(startedAt: number): number {
  return performance.now() - startedAt;
}
