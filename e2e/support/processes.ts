// Child processes of the suite (Home Assistant, workers, the add-on start script), each with its
// output in a log file. Every process started here is remembered until it exits, and the suite's
// own exit or interruption kills whatever is left (exit-cleanup.ts), so a failed or aborted run
// leaves nothing behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { killOnExit } from './exit-cleanup.js';
import { withTimeout } from './wait.js';

// Home Assistant writes its storage on SIGTERM; a few seconds is plenty, more means it hangs.
const DEFAULT_STOP_GRACE_MS = 30_000;
// After SIGKILL the kernel reaps at once; waiting longer would hide a zombie problem.
const KILL_WAIT_MS = 10_000;
// Enough of a log to see why something failed without flooding the report.
const LOG_TAIL_LINES = 40;

export interface StartOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly startError?: Error;
}

export class ManagedProcess {
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;

  private constructor(
    readonly name: string,
    readonly logPath: string,
    private readonly child: ChildProcess,
  ) {
    const forget = killOnExit(() => this.killNow());
    this.exited = new Promise<Exit>((resolve) => {
      const finish = (exit: Exit): void => {
        if (this.exit !== undefined) return;
        this.exit = exit;
        forget();
        resolve(exit);
      };
      child.once('exit', (code, signal) => finish({ code, signal }));
      // A command that cannot be started emits 'error' and never 'exit'.
      child.once('error', (error) => finish({ code: null, signal: null, startError: error }));
    });
  }

  /** Starts `command` with stdout and stderr appended to `logPath`. */
  static start(name: string, options: StartOptions): ManagedProcess {
    const log = openSync(options.logPath, 'a');
    try {
      const child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', log, log],
      });
      return new ManagedProcess(name, options.logPath, child);
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(log);
    }
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid: it did not start`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Asks the process to stop (SIGTERM) and waits; kills it if it does not stop in time. */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<Exit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    try {
      return await withTimeout(`${this.name} to stop after SIGTERM`, this.exited, graceMs);
    } catch (error) {
      process.stderr.write(`e2e: ${error instanceof Error ? error.message : String(error)}; sending SIGKILL\n`);
      return this.kill();
    }
  }

  /** Kills the process at once (SIGKILL), as a crash or the OOM killer would, and waits for it. */
  async kill(): Promise<Exit> {
    this.killNow();
    return withTimeout(`${this.name} to die after SIGKILL`, this.exited, KILL_WAIT_MS);
  }

  killNow(): void {
    if (this.exit === undefined) this.child.kill('SIGKILL');
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch (error) {
      return `(no log at ${this.logPath}: ${error instanceof Error ? error.message : String(error)})`;
    }
  }

  logTail(lines = LOG_TAIL_LINES): string {
    return this.log().split('\n').slice(-lines - 1).join('\n');
  }
}
