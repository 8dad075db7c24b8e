// The worker as Home Assistant sees it: service calls, status, the contact directory and picture
// updates, in the wire protocol's shapes. Implements the port the HA bridge talks to. A finished
// job's update is built from what its event carries (the stored record, the downloaded bytes):
// pushed, never read back from the store or the disk.

import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { PurgeReport } from '../avatars/purge.js';
import { PairingCodeRefused, type PictureFiles } from '../avatars/ports.js';
import type { AvatarRecord, EnqueueRequest, JobReason } from '../avatars/model.js';
import { CallError, type WorkerChange, type WorkerPort } from './port.js';
import { wireName } from './directory-chunks.js';
import {
  MAX_CONNECTION_DETAIL_LENGTH,
  MAX_PICTURE_BYTES,
  type PairingCodeCall,
  type PairingCodeResponse,
  type PictureCall,
  type PictureResponse,
  type PurgeAvatarsResponse,
  type StorageWire,
  MAX_WAIT_SECONDS,
  type AvatarOutcome,
  type AvatarUpdate,
  type DirectoryEntry,
  type RefreshAvatarCall,
  type RefreshAvatarResponse,
  type RefreshAvatarsCall,
  type RefreshAvatarsResponse,
  type RefreshScope,
  type WorkerStatus,
} from './protocol.js';
import { parseJid } from '../jid.js';
import type { AvatarWorker } from '../worker/avatar-worker.js';

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

// A bulk refresh never outranks favourites or picture-change notifications.
const BULK_REASON: Readonly<Record<RefreshScope, JobReason>> = {
  favourites: 'favourite',
  missing: 'never-fetched',
  stale: 'stale',
  all: 'stale',
};

function inScope(scope: RefreshScope, record: AvatarRecord, favourite: boolean, now: number): boolean {
  switch (scope) {
    case 'all':
      return true;
    case 'favourites':
      return favourite;
    case 'missing':
      return record.path === undefined && record.state !== 'none';
    case 'stale':
      return record.checkedAt === undefined || (record.nextCheckAt ?? 0) <= now;
  }
}

/** The wire shape of one subject's picture; `bytes` only when HA should get the picture itself. */
function toAvatarUpdate(record: AvatarRecord, bytes: Buffer | undefined): AvatarUpdate {
  return {
    jid: record.jid,
    kind: record.kind,
    name: wireName(record.name ?? null),
    state: record.state,
    picture_id: record.pictureId ?? null,
    sha256: record.sha256 ?? null,
    checked_at: iso(record.checkedAt),
    changed_at: iso(record.changedAt),
    image: bytes === undefined || record.state === 'none' ? null : bytes.toString('base64'),
  };
}

/** The stored pictures' footprint and their purge (store/picture-storage.ts, avatars/purge.ts). */
export interface PictureHousekeeping {
  storage(): StorageWire;
  purgeNow(): Promise<PurgeReport>;
}

export class WorkerService implements WorkerPort {
  /**
   * The footprint, read again only after a job finished (a picture written or removed): it is a
   * count over both tables, and status goes up up to once a second.
   */
  private storageRead: StorageWire | undefined;

  constructor(
    private readonly worker: AvatarWorker,
    private readonly files: PictureFiles,
    private readonly clock: Clock,
    /** The worker runs as the Home Assistant app (addon/run.mjs says so), not on its own. */
    private readonly runsInApp = false,
    private readonly housekeeping?: PictureHousekeeping,
  ) {}

  async picture(call: PictureCall): Promise<PictureResponse> {
    const parsed = parseJid(call.jid);
    if (!parsed.ok) throw new CallError('invalid_jid', parsed.reason);
    const jid = this.worker.subjects.resolve(parsed.jid) ?? parsed.jid;
    const record = this.worker.subjects.get(jid);
    if (record === undefined) throw new CallError('unknown_jid', `${jid} is not a contact or group of this account`);
    // Hidden pictures are not shown: the person chose not to show it (anymore).
    if (record.state !== 'fetched' || record.path === undefined) throw new CallError('no_picture', `${jid} has no picture (${record.state})`);
    const bytes = await this.files.read(jid);
    if (bytes === undefined) throw new CallError('no_picture', `the picture file of ${jid} is gone`);
    if (bytes.length > MAX_PICTURE_BYTES) throw new CallError('no_picture', `the picture of ${jid} is ${bytes.length} bytes, over the ${MAX_PICTURE_BYTES} Home Assistant takes`);
    return { jid, sha256: createHash('sha256').update(bytes).digest('hex'), image: bytes.toString('base64') };
  }

  async pairingCode(call: PairingCodeCall): Promise<PairingCodeResponse> {
    try {
      return { code: await this.worker.requestPairingCode(call.phone_number) };
    } catch (error) {
      // A refusal says why in words HA shows; anything else is the worker's own failure (calls.ts).
      if (!(error instanceof PairingCodeRefused)) throw error;
      throw new CallError(error.reason === 'not-pairing' ? 'not_connected' : 'internal_error', error.message);
    }
  }

  async purgeAvatars(): Promise<PurgeAvatarsResponse> {
    if (this.housekeeping === undefined) throw new CallError('internal_error', 'this worker keeps no picture folder to purge');
    const report = await this.housekeeping.purgeNow();
    this.storageRead = undefined;
    return { files_removed: report.files, bytes_removed: report.bytes };
  }

  private storage(): StorageWire | null {
    if (this.housekeeping === undefined) return null;
    this.storageRead ??= this.housekeeping.storage();
    return this.storageRead;
  }

  async refreshAvatar(call: RefreshAvatarCall): Promise<RefreshAvatarResponse> {
    const parsed = parseJid(call.jid);
    if (!parsed.ok) throw new CallError('invalid_jid', parsed.reason);
    const now = this.clock.now();
    const jid = this.worker.subjects.resolve(parsed.jid) ?? this.worker.subjects.ensure(parsed.jid, now).jid;
    const before = this.worker.subjects.get(jid);
    const finished = this.waitForJob(jid, Math.min(Math.max(call.wait, 0), MAX_WAIT_SECONDS) * 1000);
    const summary = this.worker.enqueue([{ jid, kind: parsed.kind, reason: 'explicit', force: call.force }]);
    const queued = summary.changes.get(jid) !== 'unchanged';
    const after = call.wait > 0 ? await finished.promise : (finished.cancel(), undefined);
    const position = this.worker.queue.memory.position(jid) ?? null;
    const outcome: AvatarOutcome | null =
      after === undefined
        ? null
        : {
            state: after.state,
            changed: after.sha256 !== before?.sha256,
            picture_id: after.pictureId ?? null,
            sha256: after.sha256 ?? null,
            checked_at: iso(after.checkedAt),
          };
    return {
      jid,
      queued,
      position,
      eta_seconds: position === null ? null : Math.round(this.worker.policy.estimateSeconds(position, this.clock.now())),
      outcome,
      timed_out: call.wait > 0 && after === undefined,
    };
  }

  async refreshAvatars(call: RefreshAvatarsCall): Promise<RefreshAvatarsResponse> {
    const now = this.clock.now();
    const requests: EnqueueRequest[] = [];
    for (const record of this.worker.subjects.all()) {
      if (!inScope(call.scope, record, this.worker.isFavourite(record.jid), now)) continue;
      requests.push({ jid: record.jid, kind: record.kind, reason: BULK_REASON[call.scope], force: call.force });
    }
    const summary = this.worker.enqueue(requests);
    const queueLength = this.worker.queue.memory.size;
    return {
      scope: call.scope,
      queued: summary.added + summary.raised,
      matched: requests.length,
      queue_length: queueLength,
      eta_seconds: queueLength === 0 ? null : Math.round(this.worker.policy.estimateSeconds(queueLength, now)),
    };
  }

  setFavourites(jids: readonly string[]): void {
    const valid = jids.flatMap((jid) => {
      const parsed = parseJid(jid);
      return parsed.ok ? [parsed.jid] : [];
    });
    this.worker.setFavourites(valid);
  }

  favourites(): readonly string[] {
    return this.worker.favouriteList();
  }

  status(): WorkerStatus {
    const progress = this.worker.progressSnapshot();
    const pairing = this.worker.pairingInfo;
    const trouble = this.worker.connectionProblem;
    return {
      connection: this.worker.connectionState,
      pairing:
        pairing === undefined
          ? null
          : { qr: pairing.qr ?? null, qr_image: pairing.qrImage?.toString('base64') ?? null, code: pairing.code ?? null },
      queue_length: this.worker.queue.memory.size,
      progress:
        progress.total === 0
          ? null
          : { done: progress.done, total: progress.total, rate_per_hour: Math.round(progress.ratePerHour), eta_seconds: progress.etaSeconds },
      rate_limited_until: iso(this.worker.policy.pausedUntil),
      counts: this.worker.subjects.totals(),
      connection_detail: trouble === undefined ? null : cut(trouble.detail, MAX_CONNECTION_DETAIL_LENGTH),
      reconnect_at: iso(trouble?.retryAt),
      runs_in_app: this.runsInApp,
      storage: this.storage(),
    };
  }

  directory(): DirectoryEntry[] {
    return [...this.worker.subjects.all()].map((record) => ({
      jid: record.jid,
      kind: record.kind,
      name: record.name ?? null,
      state: record.state,
    }));
  }

  async avatarUpdate(jid: string, withImage: boolean): Promise<AvatarUpdate | undefined> {
    const record = this.worker.subjects.get(jid);
    if (record === undefined) return undefined;
    const bytes = withImage && record.state !== 'none' && record.path !== undefined ? await this.files.read(jid) : undefined;
    return toAvatarUpdate(record, bytes);
  }

  onChange(listener: (change: WorkerChange) => void): () => void {
    return this.worker.onEvent((event) => {
      if (event.type === 'job-finished') {
        this.storageRead = undefined;
        // Favourites get their bytes, when the job downloaded new ones; otherwise HA keeps the
        // picture it has (every favourite's bytes go up once per connection, see the session).
        const bytes = this.worker.isFavourite(event.jid) ? event.picture : undefined;
        listener({ type: 'avatar', jid: event.jid, update: toAvatarUpdate(event.record, bytes) });
      } else if (event.type === 'status' || event.type === 'directory') listener({ type: event.type });
    });
  }

  /** Resolves with the stored record once the JID's job has left the queue with an outcome, undefined on timeout. */
  private waitForJob(jid: string, timeoutMs: number): { promise: Promise<AvatarRecord | undefined>; cancel: () => void } {
    let cancel = (): void => undefined;
    const promise = new Promise<AvatarRecord | undefined>((resolve) => {
      const unsubscribe = this.worker.onEvent((event) => {
        if (event.type === 'job-finished' && event.jid === jid && !this.worker.queue.memory.has(jid)) finish(event.record);
      });
      const cancelTimer = this.clock.setTimer(() => finish(undefined), timeoutMs);
      function finish(record: AvatarRecord | undefined): void {
        unsubscribe();
        cancelTimer();
        resolve(record);
      }
      cancel = () => finish(undefined);
    });
    return { promise, cancel };
  }
}
