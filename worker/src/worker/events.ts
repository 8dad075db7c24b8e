// What the use cases tell each other and the outside (the HA presenter, the CLI): one union, so a
// listener names the type it wants and gets its fields checked.

import type { StoredSubject } from '../store/subjects.js';
import type { Jid } from '../jid.js';
import type { AvatarRecord } from '../avatars/model.js';
import type { ConnectionState } from '../avatars/ports.js';
import type { EventBus } from './event-bus.js';

export type WorkerEvent =
  /**
   * A job's outcome is stored. `record` is the row as stored, `picture` the bytes this job
   * downloaded (absent when nothing was downloaded): the listener needs no read-back.
   */
  | { readonly type: 'job-finished'; readonly jid: Jid; readonly record: AvatarRecord; readonly changed: boolean; readonly picture?: Buffer }
  /** Something `status` shows changed (queue, connection, pairing, progress). */
  | { readonly type: 'status' }
  /** Contacts or chats were added or renamed. */
  | { readonly type: 'directory' }
  /** The scheduler ran out of due jobs. */
  | { readonly type: 'idle' }
  /** The account's connection changed (ingest → the scheduler, which may run again). */
  | { readonly type: 'connection'; readonly state: ConnectionState }
  /** Contacts or chats were stored (ingest → the sweep, which decides what to queue). */
  | { readonly type: 'subjects-arrived'; readonly subjects: readonly StoredSubject[] }
  /** The account delivered its history (ingest → the sweep, which queues everything due). */
  | { readonly type: 'history-synced' }
  /** A LID row merged into its phone-number row (ingest → the job runner, which drops its job and file). */
  | { readonly type: 'duplicate-merged'; readonly jid: Jid };

export type WorkerBus = EventBus<WorkerEvent>;
