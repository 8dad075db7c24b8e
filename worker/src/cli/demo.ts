// `whatsapp-worker demo`: the whole pipeline against the simulated account (a demo and test
// harness: seeded contacts and groups, a loopback HTTPS "CDN" serving real JPEGs, WhatsApp's
// errors included). Everything but the account is the real worker.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, seededRandom } from '../clock.js';
import { DEFAULT_DOWNLOAD_SETTINGS, type DownloadSettings } from '../cdn/download.js';
import { DEFAULT_RATE_SETTINGS, type RateSettings } from '../avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS, type TtlSettings } from '../avatars/transitions.js';
import { createLogger } from '../logger.js';
import { ODD_ANSWERS, type OddAnswer } from '../sim/population.js';
import { startSimulation } from '../sim/simulation.js';
import { SIMULATED_QUIRKS, type SimulatedQuirk } from '../sim/whatsapp.js';
import { BaileysAccount } from '../wa/baileys/account.js';
import { PINNED_WA_WEB_VERSION } from '../wa/baileys/version.js';
import type { SqliteDatabase } from '../store/database.js';
import type { Command } from './main.js';
import { avatarsDirectory, COMMON_OPTIONS, dataDirectory, logFormat, logLevel, nonNegativeNumber, positiveNumber, rateSettings, UsageError } from './options.js';
import { runWorker } from './compose.js';

const DEFAULT_DEMO_CONTACTS = 200;
const DEFAULT_DEMO_INTERVAL_SECONDS = 0.5;
const MAX_DEMO_CONTACTS = 200_000;
// The simulated account's share of groups, on top of the contacts asked for.
const DEMO_GROUP_SHARE = 0.15;

/** The simulated population for `--contacts N --seed S`: N contacts plus 15 % groups. */
export function demoPopulationOptions(contacts: number, seed: number): { seed: number; subjects: number; groupShare: number } {
  return { seed, subjects: Math.round(contacts / (1 - DEMO_GROUP_SHARE)), groupShare: DEMO_GROUP_SHARE };
}

/** Where the demo appends one JSON line per simulated picture query. */
export const DEMO_QUERY_LOG = 'demo-queries.jsonl';
/** Where the demo writes, at exit, the IQs this run's simulated WhatsApp received, by kind. */
export const DEMO_IQ_SUMMARY = 'demo-iqs.json';
// The simulated phone scans the QR this long after it is shown (`--scan-after` changes it: the
// e2e of the pairing dialog needs the worker to stay unlinked past the first QR's rotation).
const DEMO_SCAN_DELAY_SECONDS = 1.5;
// The simulated phone types a pairing code Home Assistant asked for this long after it was issued
// (`--enter-code-after`): long enough for the dialog to show the code, short for a demo.
const DEMO_CODE_ENTRY_SECONDS = 5;

/** `--quirks all|none|a,b,…`: which odd behaviours of WhatsApp the simulation shows. */
export function demoQuirks(value: string | undefined): SimulatedQuirk[] {
  if (value === undefined || value === 'all') return [...SIMULATED_QUIRKS];
  if (value === 'none') return [];
  const quirks = value.split(',').map((item) => item.trim());
  for (const quirk of quirks) {
    if (!(SIMULATED_QUIRKS as readonly string[]).includes(quirk)) {
      throw new UsageError(`--quirks: unknown quirk '${quirk}'; use all, none or a comma-separated list of ${SIMULATED_QUIRKS.join(', ')}`);
    }
  }
  return quirks as SimulatedQuirk[];
}

/**
 * The real policy's pauses scaled to the demo's interval, so a demo at 0.02 s shows every rule
 * (quiet period, rate-limit pause and its doubling, retry backoff) in seconds instead of hours.
 * Quiet period 20 intervals, rate-limit pause 50 (doubling up to 8×), first retry 10, a CDN
 * retry 5.
 */
export function demoTimings(intervalMs: number): {
  rate: Partial<RateSettings>;
  ttl: Partial<TtlSettings>;
  download: Partial<DownloadSettings>;
} {
  const pause = Math.max(200, intervalMs * 50);
  return {
    rate: {
      quietPeriodMs: Math.min(DEFAULT_RATE_SETTINGS.quietPeriodMs, intervalMs * 20),
      rateLimitPauseMs: pause,
      rateLimitPauseMaxMs: pause * 8,
      hourlyCap: Math.max(DEFAULT_RATE_SETTINGS.hourlyCap, Math.ceil(3_600_000 / Math.max(intervalMs, 1))),
    },
    ttl: { retryBaseMs: Math.max(50, intervalMs * 10), retryMaxMs: Math.max(400, intervalMs * 160) },
    download: { retryDelayMs: Math.max(20, intervalMs * 5) },
  };
}

export const demoCommand: Command = {
  usage: [
    'Usage: whatsapp-worker demo --data DIR [--contacts N] [--interval SECONDS] [--seed S] [--quirks LIST] [--scan-after SECONDS] [--exit-when-idle]',
    '',
    'Runs the real worker (queue, rate policy, downloads, atomic files, database, the Baileys',
    'adapter) against a SIMULATED WhatsApp behind a simulated Baileys socket: N contacts plus 15 %',
    'groups (some of them communities) from a seed, a mix of pictures, no picture and hidden ones,',
    'odd answers (403, 400, 406, an empty id, an empty answer), timeouts and rate-overlimit bursts,',
    'pictures that change on the way, a simulated phone that scans the QR, and a loopback HTTPS',
    'server standing in for WhatsApp\'s picture CDN. Pauses are scaled to the interval. Safe to kill',
    `at any moment and start again on the same folder. Writes ${DEMO_QUERY_LOG} and ${DEMO_IQ_SUMMARY}.`,
    '',
    'Options:',
    '  --data DIR           data folder (required); pictures go to DIR/media/avatars',
    `  --contacts N         simulated contacts (default ${DEFAULT_DEMO_CONTACTS})`,
    `  --interval SECONDS   gap between picture queries; may go below 2 s here (default ${DEFAULT_DEMO_INTERVAL_SECONDS})`,
    '  --seed S             seed of the simulated account (default 1)',
    `  --quirks LIST        all (default), none, or some of ${SIMULATED_QUIRKS.join(',')}`,
    `  --scan-after SECONDS the simulated phone scans the QR this long after linking starts (default ${DEMO_SCAN_DELAY_SECONDS}; the first QR lives 60 s, the next 20 s each)`,
    `  --enter-code-after SECONDS  the simulated phone enters a requested pairing code this long after it was issued (default ${DEMO_CODE_ENTRY_SECONDS})`,
    '  --exit-when-idle     exit once every subject is processed and the queue is empty',
    '  --ha-url URL         also connect to Home Assistant (token in WHATSAPP_HA_TOKEN)',
    '  --log-level LEVEL    trace, debug, info, warning or error (default info)',
    '  --log-format FORMAT  pretty (one readable line per event) or json (JSON lines); default',
    '                       pretty on a terminal and in the app, json otherwise',
  ].join('\n'),
  options: {
    ...COMMON_OPTIONS,
    contacts: { type: 'string' },
    seed: { type: 'string' },
    quirks: { type: 'string' },
    'scan-after': { type: 'string' },
    'enter-code-after': { type: 'string' },
    'exit-when-idle': { type: 'boolean' },
  },
  async execute(flags) {
    const dataDir = dataDirectory(flags);
    const contacts = positiveNumber(flags, 'contacts') ?? DEFAULT_DEMO_CONTACTS;
    if (!Number.isInteger(contacts) || contacts > MAX_DEMO_CONTACTS) {
      throw new UsageError(`--contacts must be a whole number from 1 to ${MAX_DEMO_CONTACTS}; got ${contacts}`);
    }
    const seed = nonNegativeNumber(flags, 'seed') ?? 1;
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number; got ${seed}`);
    const intervalMs = Math.round((nonNegativeNumber(flags, 'interval') ?? DEFAULT_DEMO_INTERVAL_SECONDS) * 1000);
    const scaled = demoTimings(intervalMs);
    const rate = rateSettings(
      { ...flags, interval: String(intervalMs / 1000) },
      { allowFastInterval: true, defaults: { ...DEFAULT_RATE_SETTINGS, ...scaled.rate } },
    );
    const ttl = { ...DEFAULT_TTL_SETTINGS, ...scaled.ttl };
    const scanAfterMs = Math.round((nonNegativeNumber(flags, 'scan-after') ?? DEMO_SCAN_DELAY_SECONDS) * 1000);
    const codeAfterMs = Math.round((nonNegativeNumber(flags, 'enter-code-after') ?? DEMO_CODE_ENTRY_SECONDS) * 1000);
    const quirks = demoQuirks(typeof flags.quirks === 'string' ? flags.quirks : undefined);
    const oddAnswers = ODD_ANSWERS.filter((answer: OddAnswer) => quirks.includes(answer));
    const logger = createLogger(logLevel(flags), undefined, undefined, logFormat(flags));
    // The simulation keeps its query log in the data folder, before the database is opened there.
    mkdirSync(dataDir, { recursive: true });
    const simulation = await startSimulation({
      ...demoPopulationOptions(contacts, seed),
      oddAnswers,
      quirks,
      phone: { mode: 'scans', afterMs: scanAfterMs, codeAfterMs },
      // A query WhatsApp never answers is given up on after 20 intervals, not the worker's 20 s.
      whatsapp: { maxTimeoutWaitMs: Math.max(100, intervalMs * 20) },
      clock: systemClock,
      logger: logger.child({ component: 'simulation' }),
      queryLogPath: join(dataDir, DEMO_QUERY_LOG),
      download: { ...DEFAULT_DOWNLOAD_SETTINGS, ...scaled.download },
    });
    logger.info(
      {
        subjects: simulation.population.subjects.length,
        intervalSeconds: rate.intervalMs / 1000,
        quietPeriodSeconds: rate.quietPeriodMs / 1000,
        rateLimitPauseSeconds: rate.rateLimitPauseMs / 1000,
      },
      'demo: simulated WhatsApp account (nothing here talks to WhatsApp)',
    );
    // The real adapter over the simulated socket: every IQ it causes reaches the simulation.
    const makeAccount = (db: SqliteDatabase): BaileysAccount =>
      new BaileysAccount({
        db,
        logger: logger.child({ component: 'whatsapp' }),
        clock: systemClock,
        random: seededRandom(seed ^ 0xba11),
        pictureType: 'image',
        printQrInTerminal: false,
        makeSocket: simulation.whatsapp.makeSocket,
        fetchVersion: async () => PINNED_WA_WEB_VERSION,
      });
    try {
      return await runWorker({
        dataDir,
        makeAccount,
        avatarsDir: avatarsDirectory(flags, dataDir),
        download: simulation.downloadSettings,
        rate,
        ttl,
        random: seededRandom(seed ^ 0x5eed),
        logger,
        haUrl: typeof flags['ha-url'] === 'string' ? flags['ha-url'] : undefined,
        exitWhenIdle: flags['exit-when-idle'] === true,
      });
    } finally {
      await simulation.stop();
      const summary = simulation.whatsapp.iqSummary();
      logger.info({ iqs: summary }, 'demo: IQs the simulated WhatsApp received in this run, by kind');
      writeFileSync(join(dataDir, DEMO_IQ_SUMMARY), `${JSON.stringify(summary, null, 2)}\n`);
    }
  },
};
