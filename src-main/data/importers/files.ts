// What every importer opens, and how: regular files only, so that no import blocks on a FIFO, reads
// a device forever or is led out of the user's folder by a link, and none larger than its format's
// cap. The path the user names may be a link to a regular file or folder: pointing at a dataset
// through a link is ordinary, and the user chose where it leads. Links found inside a folder are
// never followed.
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, open, stat, type FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { UserError, errorCode } from '../../errors.ts';
import type { ImportOptions } from './types.ts';

/** A file Fontloom will not open: a link or special file, or one over its format's size cap. */
export class RefusedFile extends UserError {
  override name = 'RefusedFile';
}

/** The largest file of one kind, and that kind's name in messages ("glyph PNG"). */
export interface FileCap {
  maxBytes: number;
  what: string;
}

/** A running total of the bytes one import reads: `take` refuses the file that passes the import's limit. */
export interface ImportBudget {
  take(path: string, bytes: number): void;
}

export interface OpenOptions {
  /** True for the path the user named (followed if it is a link); false for entries found inside a folder. */
  named: boolean;
  cap?: FileCap;
  budget?: ImportBudget;
}

// O_NONBLOCK makes opening a FIFO return at once (regular files ignore it); Windows has neither flag.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/** The named path's stats, through a link: it must exist (else `hint` follows the message) and be a regular file or a folder. */
export async function statNamed(path: string, hint = ''): Promise<Stats> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new UserError(`${path} does not exist.${hint && ` ${hint}`}`);
    throw err;
  }
  if (!info.isFile() && !info.isDirectory()) throw refusal(path, info, { named: true });
  return info;
}

/** Throws unless a folder's entry (a Dirent, or lstat's stats) is a regular file. */
export function refuseUnlessRegular(path: string, entry: Dirent | Stats): void {
  if (!entry.isFile()) throw refusal(path, entry, { named: false });
}

/**
 * Opens a regular file for reading. It is checked before it is opened (stat for the named path,
 * lstat inside a folder) and again on the open handle, so a file swapped in between is caught too.
 */
export async function openRegular(path: string, opts: OpenOptions): Promise<{ handle: FileHandle; size: number }> {
  const before = opts.named ? await statNamed(path) : await lstat(path);
  if (!before.isFile()) throw refusal(path, before, opts);
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS | (opts.named ? 0 : NO_FOLLOW));
  } catch (err) {
    // ELOOP: a link was put in the file's place after the lstat above.
    if (errorCode(err) === 'ELOOP') throw refusal(path, await lstat(path), opts);
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw refusal(path, info, opts);
    if (opts.cap) checkFileSize(path, info.size, opts.cap);
    opts.budget?.take(path, info.size);
    return { handle, size: info.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A regular file's bytes, never more than its size when opened (a file that keeps growing cannot hold the read). */
export async function readRegular(path: string, opts: OpenOptions): Promise<Buffer> {
  const { handle, size } = await openRegular(path, opts);
  try {
    const out = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(out, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return out.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Up to `bytes` bytes from the start of a regular file, or null when it is anything else or unreadable (for sniffing). */
export async function readHead(path: string, bytes: number, opts: OpenOptions): Promise<Buffer | null> {
  let opened: { handle: FileHandle; size: number };
  try {
    opened = await openRegular(path, opts);
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(Math.min(bytes, opened.size));
    const { bytesRead } = await opened.handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } catch {
    return null;
  } finally {
    await opened.handle.close();
  }
}

/** Refuses a file over its cap, naming the file and the cap. */
export function checkFileSize(path: string, size: number, cap: FileCap): void {
  if (size > cap.maxBytes) {
    throw new RefusedFile(
      `${path} is ${formatBytes(size)}, over the ${formatBytes(cap.maxBytes)} limit for ${cap.what}. ` +
        'Is it the right file?',
    );
  }
}

/** The bytes one import may read in all; `where` names the dataset in the message. */
export function importBudget(where: string, maxBytes: number): ImportBudget {
  let used = 0;
  return {
    take(path, bytes) {
      used += bytes;
      if (used > maxBytes) {
        throw new UserError(
          `${where} is refused: its files come to more than ${formatBytes(maxBytes)}, the limit for one ` +
            `import (passed at ${path}). Import a smaller set.`,
        );
      }
    },
  };
}

function refusal(path: string, entry: Dirent | Stats, { named }: { named: boolean }): RefusedFile {
  const kind = kindOf(entry);
  const inside = !named && entry.isSymbolicLink()
    ? ' Links inside a dataset folder are not followed: put the file or folder it points to in its place.'
    : '';
  return new RefusedFile(`${path} is ${kind}, not a regular file: Fontloom imports regular files only.${inside}`);
}

function kindOf(entry: Dirent | Stats): string {
  if (entry.isDirectory()) return 'a folder';
  if (entry.isSymbolicLink()) return 'a symbolic link';
  if (entry.isFIFO()) return 'a FIFO';
  if (entry.isSocket()) return 'a socket';
  if (entry.isCharacterDevice()) return 'a character device';
  if (entry.isBlockDevice()) return 'a block device';
  return 'of an unknown kind';
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/** A pass-through stream that reports the bytes that went through it as import progress. */
export function progressMeter(phase: string, total: number, opts: ImportOptions): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, next) {
      done += chunk.length;
      opts.onProgress?.({ phase, done, total });
      next(null, chunk);
    },
  });
}
