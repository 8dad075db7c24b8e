// `whatsapp-worker status`: what the worker has done, read from its database. Never creates a
// database: a folder without one is reported as such.

import { avatarsDirectory, COMMON_OPTIONS, dataDirectory } from './options.js';
import type { Command } from './main.js';
import { openDatabase } from '../store/database.js';
import { JobTable } from '../store/job-table.js';
import { SubjectStore } from '../store/subjects.js';
import { STATE_KEYS, WorkerState } from '../store/worker-state.js';
import { parseRatePolicySnapshot } from '../avatars/rate-policy.js';
import { formatProgress, type ProgressSnapshot } from '../avatars/progress.js';
import type { AvatarState, FailureKind } from '../avatars/model.js';

export interface StatusReport {
  data: string;
  avatars: string;
  connection: { state: string; at: string; detail: string | null } | null;
  /**
   * By kind: subjects per state, their total, and (overlapping the states, which a failure never
   * changes) how many gave up their last job: `refused` (fixed errors, unreadable answers, a CDN
   * that keeps refusing; retried after days) and `failing` (timeouts, dropped sockets, CDN errors;
   * retried after hours).
   */
  totals: Record<'contact' | 'group', Record<AvatarState, number> & Record<FailureKind, number> & { total: number }>;
  subjects: number;
  /** Subjects checked at least once: any state but `unknown`, or a job that gave up on them. */
  processed: number;
  queue_length: number;
  rate_limited_until: string | null;
  progress: ProgressSnapshot | null;
  history_synced: boolean;
}

export function readStatus(dataDir: string, avatarsDir: string, now: number): StatusReport {
  const db = openDatabase(dataDir, { mustExist: true });
  try {
    const state = new WorkerState(db);
    const store = new SubjectStore(db);
    const { totals: raw, failures, uncheckedGivenUp } = store.counts();
    const totals = {
      contact: { ...raw.contact, total: Object.values(raw.contact).reduce((sum, count) => sum + count, 0), ...failures.contact },
      group: { ...raw.group, total: Object.values(raw.group).reduce((sum, count) => sum + count, 0), ...failures.group },
    };
    const subjects = totals.contact.total + totals.group.total;
    const pause = parseRatePolicySnapshot(state.get(STATE_KEYS.ratePolicy) ?? { pauseLevel: 0 }).pausedUntil;
    const connection = state.get<{ state: string; at: number; detail: string | null }>(STATE_KEYS.connection);
    return {
      data: dataDir,
      avatars: avatarsDir,
      connection: connection === undefined ? null : { ...connection, at: new Date(connection.at).toISOString() },
      totals,
      subjects,
      processed: subjects - totals.contact.unknown - totals.group.unknown + uncheckedGivenUp,
      queue_length: new JobTable(db).count(),
      rate_limited_until: pause !== undefined && pause > now ? new Date(pause).toISOString() : null,
      progress: state.get<ProgressSnapshot>(STATE_KEYS.progress) ?? null,
      history_synced: state.get<boolean>(STATE_KEYS.historySynced) ?? false,
    };
  } finally {
    db.close();
  }
}

export function formatReport(report: StatusReport): string {
  const row = (kind: 'contact' | 'group'): string => {
    const t = report.totals[kind];
    return `  ${`${kind}s`.padEnd(9)} ${String(t.total).padStart(6)} total: ${t.fetched} fetched, ${t.none} no picture, ${t.hidden} hidden, ${t.unknown} not checked yet; ${t.refused} refused, ${t.failing} failing`;
  };
  return [
    `WhatsApp worker at ${report.data}`,
    `  connection ${report.connection === null ? 'never connected' : `${report.connection.state} since ${report.connection.at}${report.connection.detail ? ` (${report.connection.detail})` : ''}`}`,
    row('contact'),
    row('group'),
    `  processed ${report.processed}/${report.subjects}`,
    `  queue     ${report.queue_length} job(s)`,
    `  progress  ${report.progress === null ? 'none yet' : formatProgress(report.progress)}`,
    `  rate limit ${report.rate_limited_until === null ? 'not paused' : `paused until ${report.rate_limited_until}`}`,
    `  pictures  ${report.avatars}`,
  ].join('\n');
}

export const statusCommand: Command = {
  usage: [
    'Usage: whatsapp-worker status --data DIR [--json]',
    '',
    'Reads the worker database in DIR (it never creates one) and prints totals by state and kind,',
    'the queue length, any rate-limit pause, and progress with rate and ETA. "refused" counts',
    'subjects whose last check gave up on answers that do not get better by asking again (checked',
    'again after days), "failing" those that gave up on passing failures (checked again after hours);',
    'both keep their state and their last good picture.',
    '',
    'Options:',
    '  --data DIR     the worker\'s data folder (required)',
    '  --avatars DIR  the pictures folder, if not DIR/media/avatars',
    '  --json         print JSON instead of text',
  ].join('\n'),
  options: { data: COMMON_OPTIONS.data, avatars: COMMON_OPTIONS.avatars, json: { type: 'boolean' }, help: COMMON_OPTIONS.help },
  async execute(flags) {
    const dataDir = dataDirectory(flags);
    const report = readStatus(dataDir, avatarsDirectory(flags, dataDir), Date.now());
    process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return 0;
  },
};
