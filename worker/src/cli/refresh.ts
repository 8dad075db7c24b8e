// `whatsapp-worker refresh JID|NUMBER...`: puts subjects at the top of the persistent queue. A
// worker running on the same folder picks them up within a second. A phone number names that
// number's contact, as in the refresh_avatar action. Every argument is validated before anything
// is written: one bad one refuses the whole call.

import { AvatarQueue } from '../avatars/queue.js';
import { parseJidOrPhoneNumber } from '../jid.js';
import { databasePath, openDatabase } from '../store/database.js';
import { JobTable } from '../store/job-table.js';
import { SubjectStore } from '../store/subjects.js';
import type { Command } from './main.js';
import { COMMON_OPTIONS, dataDirectory, UsageError } from './options.js';

export const refreshCommand: Command = {
  usage: [
    'Usage: whatsapp-worker refresh --data DIR [--force] JID|NUMBER...',
    '',
    'Queues a picture check for each contact or group with the highest priority. JIDs look like',
    '491701234567@s.whatsapp.net, 123456789012345@lid or 120363012345678901@g.us; a phone number',
    'as people write it (\'+49 170 1234567\', country code first) names that number\'s contact.',
    '',
    'Options:',
    '  --data DIR  the worker\'s data folder (required)',
    '  --force     download again even if the picture id is unchanged',
  ].join('\n'),
  options: { data: COMMON_OPTIONS.data, force: { type: 'boolean' }, help: COMMON_OPTIONS.help },
  allowPositionals: true,
  async execute(flags, positionals) {
    const dataDir = dataDirectory(flags);
    if (positionals.length === 0) throw new UsageError('name at least one JID or phone number to refresh');
    const parsed = positionals.map((input) => ({ input, result: parseJidOrPhoneNumber(input) }));
    const refused = parsed.flatMap(({ result }) => (result.ok ? [] : [result.reason]));
    if (refused.length > 0) throw new UsageError(`refused, nothing was queued: ${refused.join('; ')}`);
    const db = openDatabase(dataDir);
    try {
      const subjects = new SubjectStore(db);
      const table = new JobTable(db);
      const now = Date.now();
      // Read-modify-write under one write lock, so a running worker's writes cannot interleave.
      const outcomes = db.transaction(() => {
        const queue = new AvatarQueue(table.loadAll());
        return parsed.map(({ result }) => {
          if (!result.ok) throw new Error('unreachable: validated above');
          const jid = subjects.resolve(result.jid) ?? subjects.ensure(result.jid, now).jid;
          const { job, change } = queue.enqueue({ jid, kind: result.kind, reason: 'explicit', force: flags.force === true }, now);
          if (change !== 'unchanged') table.save([job]);
          return { jid, change, position: queue.position(jid) };
        });
      }).immediate();
      for (const { jid, change, position } of outcomes) {
        process.stdout.write(`${jid}: ${change === 'unchanged' ? 'already at the top' : change === 'added' ? 'queued' : 'moved up'}, position ${position}\n`);
      }
      process.stdout.write(`queue in ${databasePath(dataDir)}\n`);
      return 0;
    } finally {
      db.close();
    }
  },
};
