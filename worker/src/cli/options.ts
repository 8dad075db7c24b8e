// Command-line options shared by the sub-commands, turned into the worker's settings. Every bad
// value is refused with a message that names the option.

import { resolve, join } from 'node:path';
import { LOG_LEVELS, pinoLevel } from '../log-levels.js';
import { DEFAULT_RATE_SETTINGS, rateSettingsProblems, type RateSettings } from '../avatars/rate-policy.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Flags = Record<string, string | boolean | undefined>;

export const COMMON_OPTIONS = {
  data: { type: 'string' },
  avatars: { type: 'string' },
  interval: { type: 'string' },
  'hourly-cap': { type: 'string' },
  'quiet-period': { type: 'string' },
  'log-level': { type: 'string' },
  'ha-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export { LOG_LEVELS } from '../log-levels.js';

export function dataDirectory(flags: Flags): string {
  const data = flags.data;
  if (typeof data !== 'string' || data.trim() === '') throw new UsageError('--data DIR is required: the folder that holds the database');
  return resolve(data);
}

/** `<data>/media/avatars` unless --avatars names another folder. */
export function avatarsDirectory(flags: Flags, dataDir: string): string {
  return typeof flags.avatars === 'string' ? resolve(flags.avatars) : join(dataDir, 'media', 'avatars');
}

export function logLevel(flags: Flags): string {
  const level = typeof flags['log-level'] === 'string' ? flags['log-level'] : 'info';
  const known = pinoLevel(level);
  if (known === undefined) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got '${level}'`);
  return known;
}

/** A number option as given, refused with its name when it is not a finite number (a blank one is not 0). */
function numberOption(flags: Flags, name: string, wanted: string): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be ${wanted}; got '${String(raw)}'`);
  return value;
}

/** A number option that may be 0 (a quiet period, a seed); refused with its name otherwise. */
export function nonNegativeNumber(flags: Flags, name: string): number | undefined {
  const wanted = 'a number of 0 or more';
  const value = numberOption(flags, name, wanted);
  if (value !== undefined && value < 0) throw new UsageError(`--${name} must be ${wanted}; got '${String(flags[name])}'`);
  return value;
}

/** A number option that must be above 0 (a count): 0 and negatives are refused alike, with its name. */
export function positiveNumber(flags: Flags, name: string): number | undefined {
  const wanted = 'a number above 0';
  const value = numberOption(flags, name, wanted);
  if (value !== undefined && !(value > 0)) throw new UsageError(`--${name} must be ${wanted}; got '${String(flags[name])}'`);
  return value;
}

/** Rate settings from --interval, --hourly-cap and --quiet-period over the defaults. */
export function rateSettings(flags: Flags, options: { allowFastInterval: boolean; defaults?: RateSettings }): RateSettings {
  const defaults = options.defaults ?? DEFAULT_RATE_SETTINGS;
  // 0 passes here so the rate rules below name the real limit (an interval of at least 2 s, say).
  const intervalSeconds = nonNegativeNumber(flags, 'interval');
  const hourlyCap = nonNegativeNumber(flags, 'hourly-cap');
  const quietSeconds = nonNegativeNumber(flags, 'quiet-period');
  if (hourlyCap !== undefined && !Number.isInteger(hourlyCap)) throw new UsageError(`--hourly-cap must be a whole number; got ${hourlyCap}`);
  const settings: RateSettings = {
    ...defaults,
    intervalMs: intervalSeconds === undefined ? defaults.intervalMs : Math.round(intervalSeconds * 1000),
    hourlyCap: hourlyCap ?? defaults.hourlyCap,
    quietPeriodMs: quietSeconds === undefined ? defaults.quietPeriodMs : Math.round(quietSeconds * 1000),
  };
  const problems = rateSettingsProblems(settings, { allowFastInterval: options.allowFastInterval });
  if (problems.length > 0) throw new UsageError(problems.map((problem) => problem.replace(/^interval/, '--interval')).join('; '));
  return settings;
}
