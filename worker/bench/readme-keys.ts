// The README's benchmark table names the keys of bench.json's `summary`, which is what a reader
// compares two runs by. A full run checks its own keys against that table, so that neither the
// table nor a benchmark drifts from the other unnoticed.

export interface ReadmeKeyCheck {
  /** Keys the run wrote that no row of the README's table names. */
  readonly unnamed: readonly string[];
  /** Keys the table names that the run did not write (only meaningful for a run of every benchmark). */
  readonly missing: readonly string[];
}

// A summary key as the table writes it: lower-case words joined by `_`, with `<N>` standing for
// the account sizes of the memory benchmark (`rss_peak_mb_<N>`).
const KEY = /^[a-z][a-z0-9]*(?:_(?:[a-z0-9]+|<N>))+$/;

/** The keys the table under the README's `## Benchmarks` names, in the first cell of its rows. */
export function readmeSummaryKeys(readme: string): string[] {
  const start = readme.search(/^## Benchmarks$/m);
  if (start < 0) return [];
  const rest = readme.slice(start + 1);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const keys = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const [, token] of firstCell.matchAll(/`([^`]+)`/g)) if (KEY.test(token!)) keys.add(token!);
  }
  return [...keys];
}

export function checkReadmeKeys(readme: string, written: readonly string[]): ReadmeKeyCheck {
  const named = readmeSummaryKeys(readme).map((key) => ({ key, pattern: new RegExp(`^${key.replace('<N>', '[0-9]+k?')}$`) }));
  return {
    unnamed: written.filter((key) => !named.some(({ pattern }) => pattern.test(key))),
    missing: named.filter(({ pattern }) => !written.some((key) => pattern.test(key))).map(({ key }) => key),
  };
}
