// Stands in for the worker's CLI when the add-on's start script runs in the e2e suite
// (WHATSAPP_WORKER_BIN points here). addon/run.mjs starts `whatsapp-worker run ...`, which needs
// a real WhatsApp account; this records the exact arguments it was given (so the test can prove
// the options arrived) and runs the same worker as `demo` with the same settings instead.

import { renameSync, writeFileSync } from 'node:fs';
import { main } from '../../worker/src/cli/main.js';

// Where to record the arguments; set by the test.
const ARGV_PATH_ENV = 'WHATSAPP_E2E_ARGV_PATH';
// `run`-only options that the simulated account has no use for (it serves one picture size and
// links without a phone).
const RUN_ONLY_OPTIONS = new Set(['--picture-type', '--phone']);
// Same population as the rest of the suite.
const DEMO_CONTACTS = '40';

const given = process.argv.slice(2);
const argvPath = process.env[ARGV_PATH_ENV];
if (argvPath !== undefined) {
  // Written whole or not at all: the test may read it at any moment.
  writeFileSync(`${argvPath}.tmp`, JSON.stringify(given));
  renameSync(`${argvPath}.tmp`, argvPath);
}
if (given[0] !== 'run') {
  process.stderr.write(`demo-as-run: expected the add-on to start 'run', got ${JSON.stringify(given)}\n`);
  process.exit(2);
}
const demoArgs = ['demo', '--contacts', DEMO_CONTACTS];
for (let index = 1; index < given.length; index++) {
  const arg = given[index] as string;
  if (RUN_ONLY_OPTIONS.has(arg)) {
    index++;
    continue;
  }
  demoArgs.push(arg);
}
process.stderr.write(`demo-as-run: running the worker as: ${demoArgs.join(' ')}\n`);
process.exitCode = await main(demoArgs);
