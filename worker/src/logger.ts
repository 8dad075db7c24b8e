// Logs go to stderr, synchronously: stdout stays clean for `status --json`, and a line written
// just before a crash or a SIGKILL is not lost in a buffer. Every line passes one formatter on its
// way out that masks JIDs and phone numbers (log-redaction.ts): the policy holds for our own log
// calls, for Baileys' (through its wrapped child logger) and for any field a future call adds. A
// person reads it as one line per event (`pretty`), a machine as JSON lines (`json`,
// log-format.ts); the readable line is made from the masked JSON line, so masking holds in both.

import { pino, type Logger } from 'pino';
import { maskLogLine } from './log-redaction.js';
import { prettyLogLine, type LogFormat, type PrettyOptions } from './log-format.js';

export { LOG_LEVELS, pinoLevel } from './log-levels.js';

/** Where finished lines go; pino's own destinations and any stream with `write` fit. */
export interface LogDestination {
  write(line: string): unknown;
}

/** A destination that masks each line, and makes it readable for `pretty`, before `target` sees it. */
export function maskingDestination(target: LogDestination, format: LogFormat = 'json', pretty: PrettyOptions = {}): LogDestination {
  if (format === 'pretty') return { write: (line: string) => target.write(prettyLogLine(maskLogLine(line), pretty)) };
  return { write: (line: string) => target.write(maskLogLine(line)) };
}

export function createLogger(
  level: string,
  name = 'whatsapp-worker',
  destination: LogDestination = pino.destination({ dest: 2, sync: true }),
  format: LogFormat = 'json',
  pretty: PrettyOptions = {},
): Logger {
  return pino({ name, level, base: undefined }, maskingDestination(destination, format, pretty));
}
