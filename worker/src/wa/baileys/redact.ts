// Keeps key material out of the logs: Baileys' own logger is wrapped so whatever it logs (it logs
// JIDs, nodes and sometimes whole credentials at info level) loses its secret fields and bytes.
// JIDs and phone numbers are masked in every line anyway, by the logger's output (logger.ts).

import type { Logger } from 'pino';
import { maskDigits } from '../../log-redaction.js';

export { maskDigits, maskJid, maskPhoneNumber } from '../../log-redaction.js';

// Field names whose values are secrets whatever their shape.
const SECRET_FIELD = /key|secret|token|private|signature|creds|noise|adv|pairing|identity|session|cert/i;
// Objects nested deeper than this are summarised: log lines stay small and cycles are cut.
const MAX_DEPTH = 4;

/** A copy of `value` safe to log: long digit runs masked, bytes and secret fields replaced. */
export function redactForLog(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskDigits(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return value;
  if (typeof value === 'bigint') return maskDigits(value.toString());
  if (value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { type: value.name, message: maskDigits(value.message), ...(code === undefined ? {} : { code }) };
  }
  if (typeof value !== 'object') return `[${typeof value}]`;
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
  if (Array.isArray(value)) return value.map((item) => redactForLog(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'err' || key === 'error' || key === 'trace') {
      result[key] = redactForLog(field, depth + 1);
    } else {
      result[maskDigits(key)] = SECRET_FIELD.test(key) ? '[redacted]' : redactForLog(field, depth + 1);
    }
  }
  return result;
}

/** The logger shape Baileys takes (its ILogger). */
export interface BaileysLogger {
  level: string;
  child(bindings: Record<string, unknown>): BaileysLogger;
  trace(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

// Baileys warnings that are expected here and would repeat for every incoming message: the LID
// store warns when its USync lookup, which this worker switches off (account.ts
// `signalRepositoryWithoutUsync`), finds nothing (rc14 lib/Signal/lid-mapping.js).
const EXPECTED_BAILEYS_WARNINGS = new Set(['USync fetch yielded no results for pending PNs']);

/**
 * Baileys' logger: a child of ours at a quiet level (Baileys logs every frame at debug and the
 * linked phone's number at info) with everything it logs masked.
 */
export function makeBaileysLogger(parent: Logger, level: string): BaileysLogger {
  const wrap = (logger: Logger): BaileysLogger => {
    const forward = (requested: Level) => (obj: unknown, msg?: string) => {
      const text = typeof obj === 'string' ? obj : msg;
      const method: Level = requested === 'warn' && text !== undefined && EXPECTED_BAILEYS_WARNINGS.has(text) ? 'debug' : requested;
      if (!logger.isLevelEnabled(method)) return;
      const safeMessage = msg === undefined ? undefined : maskDigits(msg);
      if (typeof obj === 'string') {
        logger[method](maskDigits(obj));
      } else {
        const safe = redactForLog(obj);
        const fields = typeof safe === 'object' && safe !== null && !Array.isArray(safe) ? safe : { value: safe };
        logger[method](fields, safeMessage);
      }
    };
    return {
      get level() {
        return logger.level;
      },
      set level(value: string) {
        logger.level = value;
      },
      child: (bindings) => wrap(logger.child(redactForLog(bindings) as Record<string, unknown>)),
      trace: forward('trace'),
      debug: forward('debug'),
      info: forward('info'),
      warn: forward('warn'),
      error: forward('error'),
    };
  };
  return wrap(parent.child({ module: 'baileys' }, { level }));
}
