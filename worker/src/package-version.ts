// The worker's version is the package's: package.json is the one place a release sets it (a test
// checks the integration's manifest and the app's config.yaml against it). Read once at start from
// the package.json beside the compiled code: dist/worker/src/ is three folders below it, both in a
// checkout and in the installed package.

import { readFileSync } from 'node:fs';

const PACKAGE_JSON_URL = new URL('../../../package.json', import.meta.url);

export function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(PACKAGE_JSON_URL, 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null ? (manifest as { version?: unknown }).version : undefined;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+/.test(version)) {
    throw new Error(`${PACKAGE_JSON_URL.pathname} has no version like 1.2.3 (got ${JSON.stringify(version)})`);
  }
  return version;
}
