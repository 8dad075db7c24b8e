// How a log line looks: JSON lines for machines, or one readable line per event for a person (a
// terminal, the app's log in Home Assistant). The readable line is made from the JSON line after
// masking (logger.ts), so both formats show the same masked text and nothing else.

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Where the log goes and who reads it: the default format follows from these. */
export interface LogAudience {
  /** The log's stream (stderr) is a terminal. */
  readonly terminal: boolean;
  /** Running inside the Home Assistant app, whose log a person reads in the app's Log tab. */
  readonly inApp: boolean;
}

/** Pretty for a person (a terminal, the app's log); JSON lines when the log goes to a file or a pipe. */
export function defaultLogFormat(audience: LogAudience): LogFormat {
  return audience.terminal || audience.inApp ? 'pretty' : 'json';
}

// pino's level numbers (pino/lib/constants.js), shown as words of the same width.
const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
// Fields every line has, shown in the line's own places (or not at all: the logger's name is the
// same on every line); `component` (a child logger's binding) goes in brackets before the message.
const PLACED_FIELDS = new Set(['time', 'level', 'msg', 'name', 'component', 'pid', 'hostname']);

export interface PrettyOptions {
  /** An IANA time zone for the time shown; the system's when absent (tests pass 'UTC'). */
  readonly timeZone?: string;
}

/** "2026-12-01 23:53:40.123" in the given (or the system's) time zone. */
function formatTime(time: unknown, timeZone: string | undefined): string {
  if (typeof time !== 'number' || !Number.isFinite(time)) return '-';
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(time));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const millis = String(Math.floor(time) % 1000).padStart(3, '0');
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}.${millis}`;
}

/** One line, always: a newline inside a message would start what looks like another event. */
function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? oneLine(value) : oneLine(JSON.stringify(value));
  if (isError(value)) return oneLine(JSON.stringify(value.message));
  return oneLine(JSON.stringify(value) ?? String(value));
}

// pino's serialised error (pino-std-serializers): { type, message, stack, ... }.
function isError(value: unknown): value is { message: string } {
  return typeof value === 'object' && value !== null && 'stack' in value && typeof (value as { message?: unknown }).message === 'string';
}

/**
 * A pino JSON line as one readable line: time, level, [component] message, then the other fields
 * as key=value (an error by its message). A line that is not JSON passes unchanged.
 */
export function prettyLogLine(jsonLine: string, options: PrettyOptions = {}): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(jsonLine);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return jsonLine;
    entry = parsed as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const level = typeof entry.level === 'number' ? (LEVEL_NAMES[entry.level] ?? String(entry.level)) : String(entry.level ?? '?');
  const component = typeof entry.component === 'string' ? `[${entry.component}] ` : '';
  const message = typeof entry.msg === 'string' ? oneLine(entry.msg) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !PLACED_FIELDS.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const head = `${formatTime(entry.time, options.timeZone)} ${level} ${component}${message}`;
  return `${[head.trimEnd(), ...fields].join('  ')}\n`;
}
