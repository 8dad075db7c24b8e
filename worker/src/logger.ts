// Logs go to stderr, synchronously: stdout stays clean for `status --json`, and a line written
// just before a crash or a SIGKILL is not lost in a buffer. Every line passes one formatter on its
// way out that masks JIDs and phone numbers (log-redaction.ts): the policy holds for our own log
// calls, for Baileys' (through its wrapped child logger) and for any field a future call adds.

import { pino, type Logger } from 'pino';
import { maskLogLine } from './log-redaction.js';

export { LOG_LEVELS, pinoLevel } from './log-levels.js';

/** Where finished lines go; pino's own destinations and any stream with `write` fit. */
export interface LogDestination {
  write(line: string): unknown;
}

/** A destination that masks each line before `target` sees it. */
export function maskingDestination(target: LogDestination): LogDestination {
  return { write: (line: string) => target.write(maskLogLine(line)) };
}

export function createLogger(level: string, name = 'whatsapp-worker', destination: LogDestination = pino.destination({ dest: 2, sync: true })): Logger {
  return pino({ name, level, base: undefined }, maskingDestination(destination));
}
