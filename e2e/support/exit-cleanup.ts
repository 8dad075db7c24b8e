// What must not outlive the suite: child processes and temp folders. Normal runs clean up in
// their own `after` hooks; this is the safety net for a crash or an interrupted run (Ctrl-C, a CI
// timeout), when those hooks never run. Only synchronous work is possible at that point.

import { rmSync } from 'node:fs';

const killers = new Set<() => void>();
const folders = new Set<string>();
// Set to keep temp folders (logs, HA config, pictures) for a post-mortem.
export const KEEP_ENV = 'WHATSAPP_E2E_KEEP';

function cleanUpNow(): void {
  for (const kill of killers) kill();
  if (process.env[KEEP_ENV]) return;
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}

process.on('exit', cleanUpNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    cleanUpNow();
    // The conventional exit status for death by a signal.
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

/** Registers a synchronous kill for a running child; returns the unregister. */
export function killOnExit(kill: () => void): () => void {
  killers.add(kill);
  return () => killers.delete(kill);
}

/** Registers a temp folder to remove if the suite dies; returns the unregister. */
export function removeOnExit(folder: string): () => void {
  folders.add(folder);
  return () => folders.delete(folder);
}
