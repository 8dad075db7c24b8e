// One job's work at the edge: ask WhatsApp (with the stored id, so an unchanged picture costs
// nothing), download a new picture right away (its URL expires), and write it atomically.
// Returns the resolution for the state machine, and the bytes it wrote so the finished job's event
// can carry them; never throws for WhatsApp's or the CDN's answers.

import type { AvatarJob, AvatarRecord } from '../avatars/model.js';
import type { PictureId } from '../avatars/picture-id.js';
import type { CheckedAccount, PictureDownloader, PictureFiles } from '../avatars/ports.js';
import type { Resolution } from '../avatars/transitions.js';

// WhatsApp answers a picture query within a second or two; past this the socket is likely stuck.
export const PICTURE_QUERY_TIMEOUT_MS = 20_000;

export interface PictureFetchDependencies {
  /** Its answers checked (answer-check.ts `withCheckedAnswers`). */
  readonly account: CheckedAccount;
  readonly files: PictureFiles;
  readonly downloadPicture: PictureDownloader;
}

/** The id to send with the query: none when forced, or when the file we would keep is gone. */
export function knownPictureId(record: AvatarRecord, job: AvatarJob, files: Pick<PictureFiles, 'exists'>): PictureId | undefined {
  if (job.force || record.pictureId === undefined) return undefined;
  if (record.state === 'fetched' && (record.path === undefined || !files.exists(record.path))) return undefined;
  return record.pictureId;
}

export interface PictureCheck {
  readonly resolution: Resolution;
  /** The picture just downloaded and written, when there is one. */
  readonly picture?: Buffer;
}

/**
 * `querySent` is called right before the query goes to WhatsApp: the rate policy's clock.
 * `signal` (the worker stopping) ends a download in flight; the job then takes the transient path.
 */
export async function queryDownloadAndStorePicture(
  record: AvatarRecord,
  job: AvatarJob,
  deps: PictureFetchDependencies,
  querySent: () => void,
  signal?: AbortSignal,
): Promise<PictureCheck> {
  const known = knownPictureId(record, job, deps.files);
  const hints = record.community === true ? { community: true, querySent } : { querySent };
  const outcome = await deps.account.queryPicture(record.jid, known, PICTURE_QUERY_TIMEOUT_MS, hints);
  // An account that does not say when its IQ went out (the outcome-level simulation, test fakes)
  // is marked once it answered: later than the truth, so spacing only errs on the polite side.
  querySent();
  if (outcome.kind !== 'picture') return { resolution: outcome };
  const download = await deps.downloadPicture(outcome.url, signal);
  if (!download.ok) {
    // A failed download is never a verdict on the picture: the stored file stays either way.
    const detail = `download failed: ${download.detail}`;
    if (download.cause === 'refused') return { resolution: { kind: 'refused', reason: 'cdn', detail } };
    const retryAfter = download.retryAfterMs === undefined ? {} : { retryAfterMs: download.retryAfterMs };
    return { resolution: { kind: 'transient', cause: download.cause, detail, ...retryAfter } };
  }
  const path = await deps.files.write(record.jid, download.bytes);
  const resolution: Resolution = { kind: 'downloaded', pictureId: outcome.pictureId, sha256: download.sha256, size: download.bytes.length, path };
  return { resolution, picture: download.bytes };
}
