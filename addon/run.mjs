#!/usr/bin/env node
// The add-on's start script: reads the options the Supervisor wrote, refuses bad ones before
// anything starts, offers the integration through Supervisor discovery, and then replaces itself
// with the worker so that the container's stop signal reaches the worker directly.
//
// It is plain JavaScript with no dependencies because it runs before (and outside) the worker's
// package, and because bashio is not available where the tests run. Its only dependencies are
// Node's built-ins; logging is one line per step on stderr, which the Supervisor shows as the
// add-on log (a pino logger would need the worker's node_modules).
//
// Environment (all optional; the defaults are the add-on container's paths):
//   WHATSAPP_OPTIONS_PATH    the options file              (default /data/options.json)
//   WHATSAPP_DATA_DIR        the worker's data folder      (default /data)
//   WHATSAPP_WORKER_BIN      the worker's CLI script       (default /opt/whatsapp-worker/worker/bin/whatsapp-worker.js)
//   WHATSAPP_HA_URL/_TOKEN   reach Home Assistant here instead of through the Supervisor proxy
//   SUPERVISOR_TOKEN         set by the Supervisor (homeassistant_api: true)
//   WHATSAPP_SUPERVISOR_URL  the Supervisor API            (default http://supervisor; tests point it at loopback)
// Arguments: --dry-run prints the resolved command line and environment as JSON and starts nothing.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

const DEFAULT_OPTIONS_PATH = '/data/options.json';
const DEFAULT_DATA_DIR = '/data';
const DEFAULT_WORKER_BIN = '/opt/whatsapp-worker/worker/bin/whatsapp-worker.js';
const DEFAULT_SUPERVISOR_URL = 'http://supervisor';
// The Supervisor's proxy to Core's websocket API; SUPERVISOR_TOKEN is accepted there.
const SUPERVISOR_HA_WEBSOCKET_URL = 'ws://supervisor/core/websocket';
// Also the folders the add-on can write to: /data always, /share because config.yaml maps it.
const SHARE_DIR = '/share';
// The discovery service name that config.yaml lists and the integration's async_step_hassio takes.
const DISCOVERY_SERVICE = 'whatsapp';
// Discovery is a courtesy (the integration can be added by hand): never hold up the start for it.
const DISCOVERY_TIMEOUT_MS = 10_000;
// Below this gap between picture queries WhatsApp's anti-scraping protection starts to notice.
const MIN_INTERVAL_SECONDS = 2;
// Matches the `match(...)` in config.yaml: E.164, optionally with the leading '+'.
const PHONE_NUMBER_PATTERN = /^\+?[1-9][0-9]{6,14}$/;
// The avatars folder may be browsed over Samba from Windows: keep path segments to safe characters.
const SAFE_PATH_SEGMENT = /^[0-9A-Za-z._-]+$/;
// Home Assistant's level names mapped onto pino's, which the worker uses.
const LOG_LEVELS = { trace: 'trace', debug: 'debug', info: 'info', warning: 'warn', error: 'error' };
const PICTURE_SIZES = ['image', 'preview'];
// The worker's --log-format values (worker/src/log-format.ts).
const LOG_FORMATS = ['pretty', 'json'];

/** The options the add-on accepts, each with its default (undefined: optional, no default). */
const OPTION_DEFAULTS = {
  interval: 3,
  hourly_cap: 900,
  picture_size: 'image',
  phone_number: undefined,
  log_level: 'info',
  log_format: 'pretty',
  // undefined here: the default follows the data folder (<data>/media/avatars), see below.
  avatars_folder: undefined,
};

class OptionError extends Error {
  /** @param {string} option @param {string} problem */
  constructor(option, problem) {
    super(`option '${option}': ${problem}`);
    this.name = 'OptionError';
  }
}

/** @param {unknown} value */
function describe(value) {
  return JSON.stringify(value) ?? String(value);
}

/**
 * Validates the options object and returns it with defaults filled in. Throws an OptionError
 * naming the first bad option.
 * @param {unknown} raw
 * @param {string} dataDir
 */
function validateOptions(raw, dataDir) {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new OptionError('(all)', `expected a JSON object, got ${describe(raw)}`);
  }
  const known = Object.keys(OPTION_DEFAULTS);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new OptionError(key, `unknown option; the app knows ${known.join(', ')}`);
    }
  }
  /** @type {Record<string, unknown>} */
  const given = { ...OPTION_DEFAULTS };
  for (const [key, value] of Object.entries(raw)) {
    // The Supervisor writes an optional option that was cleared as null.
    if (value !== null) given[key] = value;
  }

  const interval = given.interval;
  if (typeof interval !== 'number' || !Number.isFinite(interval)) {
    throw new OptionError('interval', `expected a number of seconds, got ${describe(interval)}`);
  }
  if (interval < MIN_INTERVAL_SECONDS) {
    throw new OptionError('interval', `${interval} s is below the minimum of ${MIN_INTERVAL_SECONDS} s between picture queries`);
  }

  const hourlyCap = given.hourly_cap;
  if (typeof hourlyCap !== 'number' || !Number.isInteger(hourlyCap) || hourlyCap < 1) {
    throw new OptionError('hourly_cap', `expected a whole number of at least 1, got ${describe(hourlyCap)}`);
  }

  const pictureSize = given.picture_size;
  if (typeof pictureSize !== 'string' || !PICTURE_SIZES.includes(pictureSize)) {
    throw new OptionError('picture_size', `expected one of ${PICTURE_SIZES.join(', ')}, got ${describe(pictureSize)}`);
  }

  const phoneNumber = given.phone_number;
  if (phoneNumber !== undefined && phoneNumber !== '') {
    if (typeof phoneNumber !== 'string' || !PHONE_NUMBER_PATTERN.test(phoneNumber)) {
      throw new OptionError(
        'phone_number',
        `expected the international number with country code, digits only (like +491701234567), got ${describe(phoneNumber)}`,
      );
    }
  }

  const logLevel = given.log_level;
  if (typeof logLevel !== 'string' || !Object.hasOwn(LOG_LEVELS, logLevel)) {
    throw new OptionError('log_level', `expected one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${describe(logLevel)}`);
  }

  const logFormat = given.log_format;
  if (typeof logFormat !== 'string' || !LOG_FORMATS.includes(logFormat)) {
    throw new OptionError('log_format', `expected one of ${LOG_FORMATS.join(', ')}, got ${describe(logFormat)}`);
  }

  const avatarsFolder = validateAvatarsFolder(given.avatars_folder ?? `${dataDir}/media/avatars`, dataDir);

  return {
    interval,
    hourlyCap,
    pictureSize,
    phoneNumber: typeof phoneNumber === 'string' && phoneNumber !== '' ? phoneNumber : undefined,
    logLevel: /** @type {keyof typeof LOG_LEVELS} */ (logLevel),
    logFormat,
    avatarsFolder,
  };
}

/**
 * The avatars folder must be an absolute path inside one of the folders the container can write
 * (the data folder or /share), free of '..' and of characters that trip up Samba clients.
 * @param {unknown} value
 * @param {string} dataDir
 */
function validateAvatarsFolder(value, dataDir) {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new OptionError('avatars_folder', `expected an absolute folder path, got ${describe(value)}`);
  }
  if (!path.posix.isAbsolute(value)) {
    throw new OptionError('avatars_folder', `'${value}' is not an absolute path (start it with ${dataDir}/ or ${SHARE_DIR}/)`);
  }
  const segments = value.split('/').filter((segment) => segment !== '');
  if (segments.includes('..') || segments.includes('.')) {
    throw new OptionError('avatars_folder', `'${value}' contains '.' or '..'; write the folder out in full`);
  }
  const unsafe = segments.find((segment) => !SAFE_PATH_SEGMENT.test(segment));
  if (unsafe !== undefined) {
    throw new OptionError('avatars_folder', `'${value}' has a folder name '${unsafe}' with characters other than letters, digits, '.', '_' and '-'`);
  }
  const folder = path.posix.normalize(value).replace(/\/+$/, '');
  const inside = [dataDir, SHARE_DIR].some((root) => folder === root || folder.startsWith(`${root}/`));
  if (!inside) {
    throw new OptionError('avatars_folder', `'${value}' is outside the folders the app can write to (${dataDir} and ${SHARE_DIR})`);
  }
  return folder;
}

/**
 * Shows enough of a phone number to recognise it, not enough to read it back.
 * @param {string} phoneNumber
 */
function maskPhoneNumber(phoneNumber) {
  const digits = phoneNumber.replace(/^\+/, '');
  return `+${digits.slice(0, 2)}${'*'.repeat(Math.max(0, digits.length - 4))}${digits.slice(-2)}`;
}

/**
 * Decides how the worker reaches Home Assistant: an explicit URL and token win (development, the
 * end-to-end test); otherwise the Supervisor proxy with the Supervisor's token.
 * @param {NodeJS.ProcessEnv} env
 */
function resolveHomeAssistant(env) {
  const url = env.WHATSAPP_HA_URL?.trim();
  const token = env.WHATSAPP_HA_TOKEN?.trim();
  if (url) {
    if (!/^(wss?|https?):\/\/[^\s]+$/.test(url)) {
      throw new Error(`WHATSAPP_HA_URL '${url}' is not a ws://, wss://, http:// or https:// URL`);
    }
    if (!token) throw new Error('WHATSAPP_HA_URL is set but WHATSAPP_HA_TOKEN (a long-lived access token) is not');
    return { url, token, via: 'WHATSAPP_HA_URL' };
  }
  const supervisorToken = env.SUPERVISOR_TOKEN?.trim();
  if (supervisorToken) return { url: SUPERVISOR_HA_WEBSOCKET_URL, token: supervisorToken, via: 'the Supervisor proxy' };
  throw new Error(
    'no way to reach Home Assistant: SUPERVISOR_TOKEN is not set (is homeassistant_api enabled?) and neither are WHATSAPP_HA_URL and WHATSAPP_HA_TOKEN',
  );
}

// Node's own flags for the worker, ahead of its script. --optimize-for-size has V8 favour memory
// over speed: a young generation that stays small and an old one collected sooner, so the garbage
// of reading the whole queue at start does not stay as heap. On the app's Node 24 (2026-12-03) the
// peak RSS of a `run` with 200,000 queued contacts was 170–175 MB with it and 201–204 MB with the
// --max-semi-space-size=4 it replaces (50,000: 138–143 instead of 151–152), for a start of 1.1–2.2 s
// instead of 0.7–1.4 s; the queue runs one job every few seconds, so the speed is not missed.
// `npm run bench` runs the benchmarks with these flags. They only work on node's command line,
// which is why they live here.
const NODE_FLAGS = ['--optimize-for-size'];

/**
 * The worker's command line for validated options: node's flags, the worker's script, its arguments.
 * @param {ReturnType<typeof validateOptions>} options
 * @param {{ dataDir: string, workerBin: string }} paths
 */
function workerArguments(options, paths) {
  const args = [
    'run',
    '--data', paths.dataDir,
    '--avatars', options.avatarsFolder,
    '--interval', String(options.interval),
    '--hourly-cap', String(options.hourlyCap),
    '--picture-type', options.pictureSize,
  ];
  // Baileys' pairing code wants the bare digits of the number.
  if (options.phoneNumber !== undefined) args.push('--phone', options.phoneNumber.replace(/^\+/, ''));
  args.push('--log-level', LOG_LEVELS[options.logLevel], '--log-format', options.logFormat);
  return [...NODE_FLAGS, paths.workerBin, ...args];
}

/** @param {string} message */
function log(message) {
  process.stderr.write(`[whatsapp-avatars] ${message}\n`);
}

/**
 * Offers the integration to Home Assistant ("new device discovered"). Failing here only costs the
 * user a manual "Add integration", so it is logged and the start goes on.
 * @param {string} supervisorUrl @param {string} token
 */
async function announceDiscovery(supervisorUrl, token) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), DISCOVERY_TIMEOUT_MS);
  try {
    const response = await fetch(`${supervisorUrl}/discovery`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      // The integration needs nothing to connect (the worker connects to Home Assistant), only the offer.
      body: JSON.stringify({ service: DISCOVERY_SERVICE, config: {} }),
      signal: controller.signal,
    });
    if (response.ok) log(`offered the WhatsApp integration to Home Assistant (discovery '${DISCOVERY_SERVICE}')`);
    else log(`warning: the Supervisor refused the discovery message (HTTP ${response.status}); add the WhatsApp integration by hand`);
  } catch (error) {
    log(`warning: could not send the discovery message (${error instanceof Error ? error.message : String(error)}); add the WhatsApp integration by hand`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Replaces this process with the worker (Node ≥ 22.15 has process.execve). On older Node, as on
 * the development machines, it runs the worker as a child, forwards stop signals and mirrors its
 * exit, which behaves the same from the outside.
 * @param {string[]} argv @param {NodeJS.ProcessEnv} env
 */
function execWorker(argv, env) {
  if (typeof process.execve === 'function') process.execve(process.execPath, [process.execPath, ...argv], env);
  const child = spawn(process.execPath, argv, { env, stdio: 'inherit' });
  for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT', 'SIGHUP'])) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('error', (error) => {
    log(`error: could not start the worker: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal !== null) log(`the worker stopped on ${signal}`);
    // A shell reports death by signal as 128 + the signal number; do the same.
    process.exit(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal]));
  });
}

async function main() {
  const cliArgs = process.argv.slice(2);
  const unknownArgs = cliArgs.filter((arg) => arg !== '--dry-run');
  if (unknownArgs.length > 0) {
    log(`error: unknown argument ${unknownArgs[0]}; the only argument is --dry-run`);
    return 2;
  }
  const dryRun = cliArgs.includes('--dry-run');
  const env = process.env;
  const optionsPath = env.WHATSAPP_OPTIONS_PATH || DEFAULT_OPTIONS_PATH;
  const dataDir = (env.WHATSAPP_DATA_DIR || DEFAULT_DATA_DIR).replace(/\/+$/, '') || '/';
  const workerBin = env.WHATSAPP_WORKER_BIN || DEFAULT_WORKER_BIN;

  let options;
  let homeAssistant;
  try {
    let text;
    try {
      text = readFileSync(optionsPath, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the options file ${optionsPath}: ${error instanceof Error ? error.message : String(error)}`);
    }
    let raw;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new Error(`the options file ${optionsPath} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    options = validateOptions(raw, dataDir);
    homeAssistant = resolveHomeAssistant(env);
  } catch (error) {
    log(`error: ${error instanceof Error ? error.message : String(error)}. Nothing was started; fix the app configuration and start it again.`);
    return 1;
  }

  const argv = workerArguments(options, { dataDir, workerBin });
  // WHATSAPP_IN_APP: the worker tells Home Assistant it runs as the app, so repairs name the app's log.
  const workerEnv = { ...env, WHATSAPP_HA_URL: homeAssistant.url, WHATSAPP_HA_TOKEN: homeAssistant.token, WHATSAPP_IN_APP: '1' };

  if (dryRun) {
    process.stdout.write(
      `${JSON.stringify({ command: [process.execPath, ...argv], env: { WHATSAPP_HA_URL: homeAssistant.url, WHATSAPP_HA_TOKEN: '<redacted>', WHATSAPP_IN_APP: workerEnv.WHATSAPP_IN_APP } })}\n`,
    );
    return 0;
  }

  const shown = options.phoneNumber === undefined ? argv : argv.map((arg) => (arg === options.phoneNumber?.replace(/^\+/, '') ? maskPhoneNumber(arg) : arg));
  log(`Home Assistant via ${homeAssistant.via} (${homeAssistant.url})`);
  log(`picture queries at least ${options.interval} s apart, at most ${options.hourlyCap} an hour; pictures in ${options.avatarsFolder}`);
  if (options.phoneNumber !== undefined) log(`linking by pairing code for ${maskPhoneNumber(options.phoneNumber)} if not linked yet`);
  else log('linking by QR code if not linked yet (see the QR image entity in Home Assistant)');
  log(`starting: ${[process.execPath, ...shown].join(' ')}`);

  const supervisorToken = env.SUPERVISOR_TOKEN?.trim();
  if (supervisorToken) await announceDiscovery(env.WHATSAPP_SUPERVISOR_URL || DEFAULT_SUPERVISOR_URL, supervisorToken);

  execWorker(argv, workerEnv);
  return undefined;
}

const exitCode = await main();
if (exitCode !== undefined) process.exitCode = exitCode;
