// The check that the README's benchmark table and bench.json's summary keys name the same keys.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkReadmeKeys, readmeSummaryKeys } from '../../bench/readme-keys.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

const README = [
  '# Project',
  '| not `a_key_outside` the section | x |',
  '## Benchmarks',
  '| benchmark (`summary` keys) | figure | target |',
  '|---|---|---|',
  '| Ingest through `AvatarQueue`, `node:https` and `shift()` (`ingest_ms`, `ingest_sweep_ms`) | `not_in_first_cell` | < 150 ms |',
  '| Peak RSS (`rss_peak_mb_<N>`, N = 1k, 200k) | 138 MB | < 150 |',
  'A paragraph naming `prose_key` outside the table.',
  '## Next section',
  '| `after_the_section` | x |',
].join('\n');

test("the keys are the snake-case names in the first cell of the Benchmarks section's table rows", () => {
  assert.equal(readmeSummaryKeys(README), ['ingest_ms', 'ingest_sweep_ms', 'rss_peak_mb_<N>']);
  assert.equal(readmeSummaryKeys('# No benchmarks here\n| `ingest_ms` |'), []);
});

test('a run whose keys the table names passes; an unnamed key and a named key never written are told apart', () => {
  assert.equal(checkReadmeKeys(README, ['ingest_ms', 'ingest_sweep_ms', 'rss_peak_mb_1k', 'rss_peak_mb_200k']), { unnamed: [], missing: [] });
  assert.equal(checkReadmeKeys(README, ['ingest_ms', 'rss_peak_mb_1k', 'queue_ms', 'rss_peak_mb_x']), {
    unnamed: ['queue_ms', 'rss_peak_mb_x'],
    missing: ['ingest_sweep_ms'],
  });
});

test("the project's README names keys of every benchmark, the memory benchmark's per account size", () => {
  const { unnamed, missing } = checkReadmeKeys(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'), [
    'ingest_ms',
    'queue_speedup_vs_naive',
    'pipeline_overhead_p99_ms',
    'rate_queries_per_hour',
    'rss_peak_mb_200k',
    'status_ms',
    'idle_wakeups_per_min',
  ]);
  assert.equal(unnamed, []);
  assert.ok(missing.length > 20, `${missing.length} other keys named`);
});

test.run();
