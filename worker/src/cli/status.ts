// `whatsapp-worker status`: what the worker has done, read from its database. Never creates a
// database: a folder without one is reported as such. `--json` speaks the wire's words
// (protocol/protocol.json): snake_case throughout, `counts` by kind and state as `whatsapp/status`
// has them (plus each kind's total and its refused and failing subjects), `progress` as on the wire.

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
  /** The last connection change; `retry_at` is the next attempt while WhatsApp is not connected. */
  connection: { state: string; at: string; detail: string | null; retry_at: string | null } | null;
  /**
   * By kind: subjects per state, their total, and (overlapping the states, which a failure never
   * changes) how many gave up their last job: `refused` (fixed errors, unreadable answers, a CDN
   * that keeps refusing; retried after days) and `failing` (timeouts, dropped sockets, CDN errors;
   * retried after hours).
   */
  counts: Record<'contact' | 'group', Record<AvatarState, number> & Record<FailureKind, number> & { total: number }>;
  subjects: number;
  /** Subjects checked at least once: any state but `unknown`, or a job that gave up on them. */
  processed: number;
  queue_length: number;
  rate_limited_until: string | null;
  /** The last batch's progress, as `whatsapp/status` has it. */
  progress: { done: number; total: number; rate_per_hour: number; eta_seconds: number | null } | null;
  history_synced: boolean;
}

export function readStatus(dataDir: string, avatarsDir: string, now: number): StatusReport {
  const db = openDatabase(dataDir, { mustExist: true });
  try {
    const state = new WorkerState(db);
    const store = new SubjectStore(db);
    const { totals: raw, failures, uncheckedGivenUp } = store.counts();
    const counts = {
      contact: { ...raw.contact, total: Object.values(raw.contact).reduce((sum, count) => sum + count, 0), ...failures.contact },
      group: { ...raw.group, total: Object.values(raw.group).reduce((sum, count) => sum + count, 0), ...failures.group },
    };
    const subjects = counts.contact.total + counts.group.total;
    const pause = parseRatePolicySnapshot(state.get(STATE_KEYS.ratePolicy) ?? { pauseLevel: 0 }).pausedUntil;
    const connection = state.get<{ state: string; at: number; detail: string | null; retryAt?: number | null }>(STATE_KEYS.connection);
    const progress = state.get<ProgressSnapshot>(STATE_KEYS.progress);
    return {
      data: dataDir,
      avatars: avatarsDir,
      connection:
        connection === undefined
          ? null
          : {
              state: connection.state,
              at: new Date(connection.at).toISOString(),
              detail: connection.detail,
              retry_at: typeof connection.retryAt === 'number' ? new Date(connection.retryAt).toISOString() : null,
            },
      counts,
      subjects,
      processed: subjects - counts.contact.unknown - counts.group.unknown + uncheckedGivenUp,
      queue_length: new JobTable(db).count(),
      rate_limited_until: pause !== undefined && pause > now ? new Date(pause).toISOString() : null,
      progress: progress === undefined ? null : { done: progress.done, total: progress.total, rate_per_hour: progress.ratePerHour, eta_seconds: progress.etaSeconds },
      history_synced: state.get<boolean>(STATE_KEYS.historySynced) ?? false,
    };
  } finally {
    db.close();
  }
}

export function formatReport(report: StatusReport): string {
  const row = (kind: 'contact' | 'group'): string => {
    const t = report.counts[kind];
    return `  ${`${kind}s`.padEnd(9)} ${String(t.total).padStart(6)} total: ${t.fetched} fetched, ${t.none} no picture, ${t.hidden} hidden, ${t.unknown} not checked yet; ${t.refused} refused, ${t.failing} failing`;
  };
  return [
    `WhatsApp worker at ${report.data}`,
    `  connection ${report.connection === null ? 'never connected' : `${report.connection.state} since ${report.connection.at}${report.connection.detail ? ` (${report.connection.detail}${report.connection.retry_at ? `; retrying at ${report.connection.retry_at}` : ''})` : ''}`}`,
    row('contact'),
    row('group'),
    `  processed ${report.processed}/${report.subjects}`,
    `  queue     ${report.queue_length} job(s)`,
    `  progress  ${report.progress === null ? 'none yet' : formatProgress({ done: report.progress.done, total: report.progress.total, ratePerHour: report.progress.rate_per_hour, etaSeconds: report.progress.eta_seconds })}`,
    `  rate limit ${report.rate_limited_until === null ? 'not paused' : `paused until ${report.rate_limited_until}`}`,
    `  pictures  ${report.avatars}`,
  ].join('\n');
}

export const statusCommand: Command = {
  usage: [
    'Usage: whatsapp-worker status --data DIR [--json]',
    '',
    'Reads the worker database in DIR (it never creates one) and prints counts by state and kind,',
    'the queue length, any rate-limit pause, and progress with rate and ETA. "refused" counts',
    'subjects whose last check gave up on answers that do not get better by asking again (checked',
    'again after days), "failing" those that gave up on passing failures (checked again after hours);',
    'both keep their state and their last good picture.',
    '',
    'Options:',
    '  --data DIR     the worker\'s data folder (required)',
    '  --avatars DIR  the pictures folder, if not DIR/media/avatars',
    '  --json         print JSON instead of text (snake_case; `counts` as Home Assistant gets them)',
  ].join('\n'),
  options: { data: COMMON_OPTIONS.data, avatars: COMMON_OPTIONS.avatars, json: { type: 'boolean' }, help: COMMON_OPTIONS.help },
  async execute(flags) {
    const dataDir = dataDirectory(flags);
    const report = readStatus(dataDir, avatarsDirectory(flags, dataDir), Date.now());
    process.stdout.write(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return 0;
  },
};
