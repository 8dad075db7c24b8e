// One e2e file's Home Assistant: started before its tests, disposed after them. A set-up that
// failed makes each test fail with the set-up's own error, not with an undefined environment.

import { existsSync } from 'node:fs';
import { suite, type Test } from 'uvu';
import { CHROMIUM_PATH } from './browser.js';
import { E2eEnvironment } from './environment.js';

export interface EnvironmentSuiteOptions {
  /** The tests drive a real Chromium: a missing one is a set-up failure that says so. */
  readonly chromium?: boolean;
  /** Extra lines for Home Assistant's configuration.yaml (e.g. the recorder). */
  readonly configuration?: string;
  /** false: no whatsapp entry; the test adds the integration itself (default true). */
  readonly addEntry?: boolean;
}

export interface EnvironmentSuite {
  readonly e2e: Test;
  /** The suite's running environment; throws the set-up's error if it did not start. */
  environment(): E2eEnvironment;
}

export function environmentSuite(title: string, label: string, options: EnvironmentSuiteOptions = {}): EnvironmentSuite {
  const e2e = suite(title);
  let env: E2eEnvironment | undefined;
  let setupError: unknown;
  e2e.before(async () => {
    try {
      if (options.chromium === true && !existsSync(CHROMIUM_PATH)) {
        throw new Error(`no Chromium at ${CHROMIUM_PATH}; scripts/test-e2e.sh installs Debian's chromium package`);
      }
      env = await E2eEnvironment.start(label, options.configuration, options.addEntry ?? true);
    } catch (error) {
      setupError = error;
    }
  });
  e2e.after(async () => {
    await env?.dispose();
  });
  return {
    e2e,
    environment() {
      if (env === undefined) throw setupError instanceof Error ? setupError : new Error(String(setupError));
      return env;
    },
  };
}
