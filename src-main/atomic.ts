// Files a user may be reading while Fontloom writes them (glyph sets, checkpoints, sheets) are
// written to a temp file beside the target and renamed: readers see the old file or the whole
// new one, and a failure leaves nothing behind. The folder is synced after the rename, so a power
// loss cannot leave the old name pointing at nothing.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from './errors.ts';

export async function writeFileAtomic(path: string, chunks: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx');
    try {
      for (const chunk of chunks instanceof Uint8Array ? [chunks] : chunks) await handle.writeFile(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncFolder(dirname(path));
  } catch (err) {
    await rm(temp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`Cannot write ${path}: the folder ${dirname(path)} does not exist.`);
    }
    throw err;
  }
}

/** fsync of a folder, so a rename in it is on disk (where the platform can open folders: not Windows). */
async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
