// The avatars folder on disk: one `<jid>.jpg` per subject, written so that a crash at any moment
// leaves either the old file or the new one, never a partial file. The folder may be browsed over
// Samba, so only validated, normalised JIDs become file names.

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { resolve, sep, join } from 'node:path';
import type { Logger } from 'pino';
import type { PictureFiles } from '../avatars/ports.js';
import { InvalidJidError, parseJid, requireJid } from '../jid.js';

const FINAL_SUFFIX = '.jpg';
// `.<jid>.jpg.<hex>.tmp`: hidden on Unix and Samba, recognisable for the start-up sweep, and unique
// per write so two concurrent writes of one JID never share a temp file.
const TEMPORARY_NAME = /^\.[0-9A-Za-z._@-]+\.jpg\.[0-9a-f]+\.tmp$/;
const TEMPORARY_RANDOM_BYTES = 6;
// This process's part of a temp name, drawn once: another process writing into the same folder (a
// second worker on it by mistake) draws its own; within the process a counter tells writes apart.
const WRITER_ID = randomBytes(TEMPORARY_RANDOM_BYTES).toString('hex');
let writesStarted = 0;

function temporarySuffix(): string {
  writesStarted++;
  return `${WRITER_ID}${writesStarted.toString(16)}`;
}

function isErrorWithCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

export class AvatarFiles implements PictureFiles {
  readonly directory: string;

  constructor(
    directory: string,
    private readonly logger?: Logger,
  ) {
    this.directory = resolve(directory);
  }

  /** The final file of a JID, validated and normalised; throws InvalidJidError for anything else. */
  exists(path: string): boolean {
    return existsSync(path);
  }

  pathFor(jid: string): string {
    const { jid: normalised } = requireJid(jid);
    const path = resolve(this.directory, `${normalised}${FINAL_SUFFIX}`);
    // parseJid already refuses separators and '..'; this is the last line of defence.
    if (!path.startsWith(this.directory + sep) || path.slice(this.directory.length + 1).includes(sep)) {
      throw new InvalidJidError(`JID '${normalised}' would leave the avatars folder`);
    }
    return path;
  }

  /**
   * Writes the picture atomically: temp file in the same folder, fsync, rename over the final
   * name, fsync the folder so the rename itself survives a power loss. Returns the final path.
   *
   * The calls are synchronous on purpose. As promises each of the six (open, write, fsync, close,
   * rename, the folder's fsync) is a trip through libuv's thread pool and back, and on two cores
   * those hand-offs cost more than the write itself: the pipeline bench's write step went from
   * p99 12–14 ms to 5–6 ms (issue 11). The event loop waits for a picture of a few kB to reach the
   * disk, as it already does for every SQLite commit; jobs run one at a time, seconds apart.
   */
  async write(jid: string, bytes: Uint8Array): Promise<string> {
    const finalPath = this.pathFor(jid);
    if (bytes.length === 0) throw new Error(`refusing to write an empty picture for ${jid}`);
    const finalName = finalPath.slice(this.directory.length + 1);
    const temporaryPath = join(this.directory, `.${finalName}.${temporarySuffix()}.tmp`);
    try {
      const file = this.createInFolder(temporaryPath);
      try {
        writeSync(file, bytes);
        fsyncSync(file);
      } finally {
        closeSync(file);
      }
      renameSync(temporaryPath, finalPath);
    } catch (error) {
      this.removeQuietly(temporaryPath, error);
      throw error;
    }
    this.syncDirectory();
    return finalPath;
  }

  /** Deletes a JID's picture; true when a file was there. */
  async remove(jid: string): Promise<boolean> {
    const path = this.pathFor(jid);
    try {
      unlinkSync(path);
    } catch (error) {
      if (isErrorWithCode(error, 'ENOENT')) return false;
      throw error;
    }
    this.syncDirectory();
    return true;
  }

  /** A JID's picture bytes, or undefined when there is no file. */
  async read(jid: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathFor(jid));
    } catch (error) {
      if (isErrorWithCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  /** At start-up: creates the folder if missing and removes temp files a crash left. Returns how many. */
  async sweepTemporaryFiles(): Promise<number> {
    await mkdir(this.directory, { recursive: true });
    let removed = 0;
    for (const name of await readdir(this.directory)) {
      if (!TEMPORARY_NAME.test(name)) continue;
      try {
        await unlink(join(this.directory, name));
        removed++;
      } catch (error) {
        // Another sweeper (a second worker instance) got there first: nothing left to do.
        if (!isErrorWithCode(error, 'ENOENT')) throw error;
      }
    }
    if (removed > 0) this.logger?.info({ removed, directory: this.directory }, 'removed temporary picture files left by a crash');
    return removed;
  }

  /** Paths of the final picture files (valid JID names only), sorted. */
  async list(): Promise<string[]> {
    return (await this.listJids()).map((jid) => join(this.directory, `${jid}${FINAL_SUFFIX}`));
  }

  /** JIDs that have a final picture file, sorted. Files that are not a valid JID are ignored. */
  async listJids(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if (isErrorWithCode(error, 'ENOENT')) return [];
      throw error;
    }
    const jids: string[] = [];
    for (const name of names) {
      if (name.startsWith('.') || !name.endsWith(FINAL_SUFFIX)) continue;
      const candidate = name.slice(0, -FINAL_SUFFIX.length);
      const parsed = parseJid(candidate);
      // Only a name that is already normalised is ours; `123:4@s.whatsapp.net.jpg` is not.
      if (parsed.ok && parsed.jid === candidate) jids.push(candidate);
    }
    return jids.sort();
  }

  /**
   * A new file in the folder (its descriptor), the folder made first only when it is missing (a
   * user may delete it by hand): not a `mkdir` per picture, one more system call for nothing.
   */
  private createInFolder(path: string): number {
    try {
      return openSync(path, 'wx', 0o644);
    } catch (error) {
      if (!isErrorWithCode(error, 'ENOENT')) throw error;
      mkdirSync(this.directory, { recursive: true });
      return openSync(path, 'wx', 0o644);
    }
  }

  private syncDirectory(): void {
    const folder = openSync(this.directory, 'r');
    try {
      fsyncSync(folder);
    } finally {
      closeSync(folder);
    }
  }

  private removeQuietly(path: string, cause: unknown): void {
    try {
      unlinkSync(path);
    } catch (error) {
      if (isErrorWithCode(error, 'ENOENT')) return;
      // The write already failed; report the leftover but keep the original error for the caller.
      this.logger?.warn({ err: error, path, cause }, 'could not remove a temporary picture file; the next start-up sweep will');
    }
  }
}
