// Preloaded by app-node.ts (NODE_OPTIONS --require) into every process the benchmarks start on the
// app's Node.js: `better-sqlite3` resolves to the copy built for that Node's ABI, everything else
// to the repository's node_modules as usual. module.registerHooks (Node ≥ 22.15; the app's is 24)
// runs in the loading thread for import and require alike. CommonJS, because this runs
// in each `status --json` the status benchmark times: an --import preload cost ~27 ms a process
// here (the ESM loader starting early), this one ~4 ms.

import nodeModule = require('node:module');
import path = require('node:path');
import url = require('node:url');

/** Where the hooks find the better-sqlite3 built for the app's Node; app-node.ts sets it. */
export const NATIVE_MODULES_ENV = 'WHATSAPP_BENCH_NATIVE_MODULES';

interface ResolveResult {
  readonly url: string;
  readonly format?: string | null;
  readonly shortCircuit?: boolean;
}
interface SyncHooks {
  resolve(specifier: string, context: unknown, nextResolve: (specifier: string, context?: unknown) => ResolveResult): ResolveResult;
}

function redirectBetterSqlite(nativeModules: string): void {
  const registerHooks = (nodeModule as unknown as { registerHooks?: (hooks: SyncHooks) => unknown }).registerHooks;
  if (registerHooks === undefined) throw new Error(`Node.js ${process.version} has no module.registerHooks (22.15 or later): the app's Node is needed`);
  // The entry point as Node resolves it from the cache folder (its package.json's `main`); found
  // before the hook exists, which would otherwise answer this very resolution.
  const betterSqlite = url.pathToFileURL(nodeModule.createRequire(path.resolve(nativeModules, 'resolver.js')).resolve('better-sqlite3')).href;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier !== 'better-sqlite3') return nextResolve(specifier, context);
      return { url: betterSqlite, format: 'commonjs', shortCircuit: true };
    },
  });
}

// Unset in app-node.ts's own process, which imports this file only for the variable's name.
const nativeModules = process.env[NATIVE_MODULES_ENV];
if (nativeModules !== undefined && nativeModules !== '') redirectBetterSqlite(nativeModules);
