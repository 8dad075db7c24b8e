// What the Home Assistant bridge needs from the worker, and nothing more. The presenter
// (ha/presenter.ts, WorkerService) implements it over the AvatarWorker; the bridge's tests
// implement it in memory.

import type {
  AvatarUpdate,
  CallErrorCode,
  DirectoryEntry,
  PairingCodeCall,
  PairingCodeResponse,
  PictureCall,
  PictureResponse,
  PurgeAvatarsResponse,
  RefreshAvatarCall,
  RefreshAvatarResponse,
  RefreshAvatarsCall,
  RefreshAvatarsResponse,
  WorkerStatus,
} from './protocol.js';

/** A service call the worker refuses; `code` reaches HA, which shows a translated message. */
export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly code: CallErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type WorkerChange =
  | { readonly type: 'status' }
  | { readonly type: 'directory' }
  /** A finished job's update, built from what the job's event carried: sent as it is. */
  | { readonly type: 'avatar'; readonly jid: string; readonly update: AvatarUpdate };

export interface WorkerPort {
  /** Queues one JID (validated here; throws CallError) and, if asked, waits for its outcome. */
  refreshAvatar(call: RefreshAvatarCall): Promise<RefreshAvatarResponse>;
  refreshAvatars(call: RefreshAvatarsCall): Promise<RefreshAvatarsResponse>;
  /** One known subject's current picture bytes (the Media panel); CallError `no_picture` when it has none to show. */
  picture(call: PictureCall): Promise<PictureResponse>;
  /** Removes the picture files no stored subject uses (favourites never); what went. */
  purgeAvatars(): Promise<PurgeAvatarsResponse>;
  /** While waiting to be linked: the pairing code for a phone number instead of the QR (CallError otherwise). */
  pairingCode(call: PairingCodeCall): Promise<PairingCodeResponse>;
  /** The favourites chosen in HA; the worker keeps them fresh first and sends their bytes. */
  setFavourites(jids: readonly string[]): void;
  status(): WorkerStatus;
  directory(): DirectoryEntry[];
  /**
   * The current update for one subject, with the picture bytes when `withImage` and a file exists:
   * read on (re)subscribe and for new favourites; a finished job's update comes with its change.
   */
  avatarUpdate(jid: string, withImage: boolean): Promise<AvatarUpdate | undefined>;
  favourites(): readonly string[];
  /** Notifies what changed (an avatar change with its update) so the bridge pushes it; returns the unsubscribe. */
  onChange(listener: (change: WorkerChange) => void): () => void;
}
