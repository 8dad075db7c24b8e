// Logs go to stderr, synchronously: stdout stays clean for `status --json`, and a line written
// just before a crash or a SIGKILL is not lost in a buffer.

import { pino, type Logger } from 'pino';

export function createLogger(level: string, name = 'whatsapp-worker'): Logger {
  return pino({ name, level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
