// Where one job's time goes, for the pipeline benchmark only (the product carries no timers): the
// bench wraps the ports the worker calls — the account's picture query, the downloader, the
// picture files — and notes when each call began and returned. The worker runs one job at a
// time, so the job whose query went out last is the one downloading and writing.

import type { PictureDownloader, PictureFiles } from '../src/avatars/ports.js';

/** The milliseconds of each step of one job; a step the job did not take is 0. */
export interface JobSteps {
  /** The picture query, asked to answered (the simulated account, in this process). */
  readonly query: number;
  /** The download: got's request on loopback, the body, the JPEG check and sha256. */
  readonly download: number;
  /** The atomic file write: temp file, fsync, close, rename, folder fsync. */
  readonly write: number;
  /** From the last port's return to the stored outcome's event: the state machine, the SQLite transaction, the event. */
  readonly store: number;
}

export const JOB_STEPS = ['query', 'download', 'write', 'store'] as const satisfies readonly (keyof JobSteps)[];

interface Marks {
  readonly queryStarted: number;
  queryAnswered?: number;
  downloadStarted?: number;
  downloadEnded?: number;
  writeStarted?: number;
  writeEnded?: number;
}

export class JobStepRecorder {
  private readonly marks = new Map<string, Marks>();
  private current: Marks | undefined;

  queryStarted(jid: string): void {
    this.current = { queryStarted: performance.now() };
    this.marks.set(jid, this.current);
  }

  queryAnswered(): void {
    if (this.current !== undefined) this.current.queryAnswered = performance.now();
  }

  /** When the job's query went out, for its total time. */
  startedAt(jid: string): number | undefined {
    return this.marks.get(jid)?.queryStarted;
  }

  /** The steps of a job that just stored its outcome; undefined for a job the bench did not see start. */
  finished(jid: string): JobSteps | undefined {
    const marks = this.marks.get(jid);
    if (marks === undefined) return undefined;
    const finishedAt = performance.now();
    const lastReturn = marks.writeEnded ?? marks.downloadEnded ?? marks.queryAnswered ?? marks.queryStarted;
    return {
      query: span(marks.queryStarted, marks.queryAnswered),
      download: span(marks.downloadStarted, marks.downloadEnded),
      write: span(marks.writeStarted, marks.writeEnded),
      store: finishedAt - lastReturn,
    };
  }

  downloader(inner: PictureDownloader): PictureDownloader {
    return async (url, signal) => {
      const job = this.current;
      if (job !== undefined) job.downloadStarted = performance.now();
      try {
        return await inner(url, signal);
      } finally {
        if (job !== undefined) job.downloadEnded = performance.now();
      }
    };
  }

  files(inner: PictureFiles): PictureFiles {
    return {
      write: async (jid, bytes) => {
        const job = this.marks.get(jid);
        if (job !== undefined) job.writeStarted = performance.now();
        try {
          return await inner.write(jid, bytes);
        } finally {
          if (job !== undefined) job.writeEnded = performance.now();
        }
      },
      remove: (jid) => inner.remove(jid),
      read: (jid) => inner.read(jid),
      exists: (path) => inner.exists(path),
      sweepTemporaryFiles: () => inner.sweepTemporaryFiles(),
    };
  }
}

function span(started: number | undefined, ended: number | undefined): number {
  return started === undefined || ended === undefined ? 0 : ended - started;
}
