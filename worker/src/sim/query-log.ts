// SIMULATION ONLY: the demo's query log, one JSON line per picture query. Its line count is the
// simulated account's query count across kills, so picture changes never go back in time.

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';

export function appendQueryRecord(path: string | undefined, entry: object): void {
  if (path === undefined) return;
  appendFileSync(path, `${JSON.stringify(entry)}\n`);
}

/** The number of complete lines in the log (0 without one): the queries answered before this start. */
export function countQueryRecords(path: string | undefined, logger: Logger): number {
  if (path === undefined || !existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  // A kill mid-append leaves a partial last line: close it so the next record starts clean.
  if (text.length > 0 && !text.endsWith('\n')) appendFileSync(path, '\n');
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      JSON.parse(line);
      count++;
    } catch (error) {
      logger.warn({ err: error, path }, 'skipping a damaged line of the simulated query log');
    }
  }
  return count;
}
