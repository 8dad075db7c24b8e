// Removing the pictures nobody uses any more (issue 13, feature 4). A picture file is "unused" when
// no stored subject points at it: the subject went (merged into its phone-number row, the
// database was reset), or it lost its picture and the file stayed. A favourite's file and a queued
// subject's file (its job may be writing it right now) are never touched: every JID HA subscribes
// to (favourites, and the persons linked to a contact, which reach the worker the same way) is
// protected.
//
// `purgeNow` (the service whatsapp.purge_avatars) removes every unused file at once;
// `purgeExpired` (a daily timer) only those first seen unused MAX_UNUSED_PICTURE_DAYS ago. The first
// sighting of each unused file is kept in the database, so a restart does not reset the grace.
//
// Crash safety: the database never points at a file this removes (that is what makes it unused),
// so a kill between two removals leaves database and files in agreement; the sightings are
// written after the files went, and a sighting whose file is gone is dropped on the next pass.

import type { Logger } from 'pino';
import type { Clock } from '../clock.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The picture folder as the purge sees it. */
export interface PurgeFiles {
  /** JIDs that have a final picture file. */
  listJids(): Promise<string[]>;
  /** The file's size in bytes, undefined when it is gone. */
  sizeOf(jid: string): Promise<number | undefined>;
  remove(jid: string): Promise<boolean>;
}

/** Where the first sightings of unused files live (the `meta` table in production). */
export interface SightingStore {
  load(): Record<string, number>;
  save(sightings: Record<string, number>): void;
}

export interface PurgeReport {
  readonly files: number;
  readonly bytes: number;
}

export interface PicturePurgeOptions {
  readonly files: PurgeFiles;
  /** Whether a stored subject points at this JID's file. */
  readonly inUse: (jid: string) => boolean;
  /** JIDs whose file stays whatever the database says: favourites, linked persons, queued jobs. */
  readonly isProtected: (jid: string) => boolean;
  readonly sightings: SightingStore;
  readonly clock: Clock;
  readonly graceDays: number;
  readonly logger: Logger;
}

export class PicturePurge {
  /** One pass at a time: a service call during the daily pass waits for it, then runs its own. */
  private running: Promise<unknown> = Promise.resolve();
  private cancelTimer: (() => void) | undefined;

  constructor(private readonly options: PicturePurgeOptions) {}

  /** Removes every unused file now (the service). */
  purgeNow(): Promise<PurgeReport> {
    return this.exclusive(() => this.pass(0));
  }

  /** Removes the unused files first seen unused `graceDays` ago or earlier; notes the new ones. */
  purgeExpired(): Promise<PurgeReport> {
    return this.exclusive(() => this.pass(this.options.graceDays * DAY_MS));
  }

  /** Runs `purgeExpired` now and then once a day until `stop`. */
  start(): void {
    const tick = (): void => {
      this.purgeExpired().then(
        (report) => {
          if (report.files > 0) this.options.logger.info({ files: report.files, bytes: report.bytes }, 'removed pictures no contact or group uses any more');
        },
        (error: unknown) => this.options.logger.error({ err: error }, 'could not remove unused pictures; trying again tomorrow'),
      );
      this.cancelTimer = this.options.clock.setTimer(tick, DAY_MS);
    };
    tick();
  }

  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private exclusive(work: () => Promise<PurgeReport>): Promise<PurgeReport> {
    const next = this.running.then(work, work);
    this.running = next.catch(() => undefined);
    return next;
  }

  private async pass(graceMs: number): Promise<PurgeReport> {
    const { files, inUse, isProtected, sightings, clock } = this.options;
    const now = clock.now();
    const seen = sightings.load();
    const kept: Record<string, number> = {};
    let removed = 0;
    let bytes = 0;
    for (const jid of await files.listJids()) {
      if (inUse(jid) || isProtected(jid)) continue;
      const since = seen[jid] ?? now;
      if (now - since < graceMs) {
        kept[jid] = since;
        continue;
      }
      const size = await files.sizeOf(jid);
      // Asked again just before the removal: a job may have stored this file meanwhile.
      if (inUse(jid) || isProtected(jid)) continue;
      if (await files.remove(jid)) {
        removed++;
        bytes += size ?? 0;
      }
    }
    sightings.save(kept);
    return { files: removed, bytes };
  }
}
