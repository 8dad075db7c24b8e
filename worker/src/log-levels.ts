// The log levels, once, without loading pino (the `status` command needs the names, not a logger).

/** The levels the CLI and the add-on accept; `warning` is Home Assistant's spelling of pino's `warn`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'silent'] as const;

/** Pino's name for an accepted level, or undefined when it is not one. */
export function pinoLevel(level: string): string | undefined {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) return undefined;
  return level === 'warning' ? 'warn' : level;
}
