#!/usr/bin/env node
// The package's bin: the compiled CLI. `npm ci` compiles it through the `prepare` script.
import { main } from '../../dist/worker/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
