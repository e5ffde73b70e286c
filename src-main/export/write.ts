// Writing an export all at once or not at all: every file (the zip, and files that go beside it
// such as a font's specimen) goes into a hidden `.partial-…` folder beside the destination and is
// renamed into place at the end, so a failed export leaves nothing behind and a reader never sees
// half a glyph set, or a font without its specimen.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { UserError, errorCode } from '../errors.ts';
import type { ExportFile } from './glyphs.ts';

export type ExportShape = 'file' | 'folder';

export interface Written {
  path: string;
  files: string[];
  zip: string | null;
  /** The files written beside `path`, in the order given. */
  beside: string[];
}

/** Refuses, before any work, a destination an export would have to clobber or cannot reach. */
export async function checkDestination(out: string, shape: ExportShape, zip: boolean): Promise<void> {
  const parent = dirname(resolve(out));
  const parentInfo = await statOrNull(parent);
  if (!parentInfo) throw new UserError(`Cannot export to ${out}: the folder ${parent} does not exist.`);
  if (!parentInfo.isDirectory()) throw new UserError(`Cannot export to ${out}: ${parent} is a file, not a folder.`);
  const existing = await statOrNull(out);
  if (existing?.isDirectory() && (shape === 'file' || (await readdir(out)).length > 0)) {
    throw new UserError(`${out} is ${shape === 'file' ? 'a folder' : 'a folder with files in it'}: choose a new path or remove it first.`);
  }
  if (existing && !existing.isDirectory() && shape === 'folder') {
    throw new UserError(`${out} is a file: a ${shape} export needs a folder path that is free.`);
  }
  if (zip && (await statOrNull(`${out}.zip`))?.isDirectory()) throw new UserError(`${out}.zip is a folder: remove it or choose another path.`);
}

/**
 * Writes `files` as the one file `out` (shape 'file', exactly one file) or into the folder `out`,
 * plus `out.zip` holding the folder when asked, and `beside`: files at their own paths in `out`'s
 * folder. Returns the final paths. The files beside land first and `out` last, so whoever sees
 * `out` finds them there too; if `out` cannot land, they are taken back.
 */
export async function writeStaged(
  out: string,
  shape: ExportShape,
  files: readonly ExportFile[],
  zip: boolean,
  beside: readonly ExportFile[] = [],
): Promise<Written> {
  const target = resolve(out);
  const besideTargets = beside.map((file) => resolve(file.path));
  if (besideTargets.some((path) => dirname(path) !== dirname(target))) throw new Error(`files beside ${out} must be in its folder`);
  const staging = join(dirname(target), `.partial-${basename(target)}-${randomBytes(4).toString('hex')}`);
  const name = basename(target);
  try {
    await mkdir(staging);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`Cannot export to ${out}: its folder does not exist or is a file.`);
    throw cannotWrite(out, err);
  }
  try {
    if (shape === 'file') {
      if (files.length !== 1) throw new Error(`a file export holds one file, got ${files.length}`);
      await writeFile(join(staging, name), files[0].bytes);
    } else {
      for (const file of files) {
        const path = join(staging, name, file.path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.bytes);
      }
    }
    if (zip) await writeZip(join(staging, `${name}.zip`), name, files);
    for (const [i, file] of beside.entries()) await writeFile(join(staging, `${name}.beside-${i}`), file.bytes);
    await moveAllIntoPlace([
      ...beside.map((file, i) => ({ staged: join(staging, `${name}.beside-${i}`), target: besideTargets[i], shown: file.path })),
      { staged: join(staging, name), target, shown: out },
    ]);
    if (zip) await rename(join(staging, `${name}.zip`), `${target}.zip`);
    return {
      path: target,
      files: shape === 'file' ? [target] : files.map((f) => join(target, f.path)),
      zip: zip ? `${target}.zip` : null,
      beside: besideTargets,
    };
  } catch (err) {
    throw cannotWrite(out, err);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** A zip whose entries sit in one folder named like the export, as users expect when unzipping. */
async function writeZip(path: string, folder: string, files: readonly ExportFile[]): Promise<void> {
  const archive = new yazl.ZipFile();
  for (const file of files) archive.addBuffer(Buffer.from(file.bytes), `${folder}/${file.path}`);
  archive.end();
  await pipeline(archive.outputStream, createWriteStream(path, { flags: 'wx' }));
}

/**
 * A zip of a folder an export wrote, made as it is sent: its regular files (links are not
 * followed), in one folder named like it, as `writeZip` lays them out.
 */
export async function zipOfFolder(folder: string): Promise<NodeJS.ReadableStream> {
  const archive = new yazl.ZipFile();
  const name = basename(folder);
  for (const file of await regularFilesUnder(folder, '')) archive.addFile(join(folder, file), `${name}/${file}`);
  archive.end();
  return archive.outputStream;
}

async function regularFilesUnder(folder: string, inside: string): Promise<string[]> {
  const entries = (await readdir(join(folder, inside), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    const path = inside ? `${inside}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await regularFilesUnder(folder, path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** Moves each staged file into place in turn; if one cannot land, those already moved are removed. */
async function moveAllIntoPlace(moves: readonly { staged: string; target: string; shown: string }[]): Promise<void> {
  const landed: string[] = [];
  try {
    for (const { staged, target, shown } of moves) {
      await moveIntoPlace(staged, target, shown);
      landed.push(target);
    }
  } catch (err) {
    await Promise.all(landed.map((path) => rm(path, { force: true })));
    throw err;
  }
}

/** rename() replaces a file; an empty folder left at the destination (a save dialog makes one) goes first. */
async function moveIntoPlace(staged: string, target: string, out: string): Promise<void> {
  try {
    if ((await statOrNull(target))?.isDirectory()) await rmdir(target);
    await rename(staged, target);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR') {
      throw new UserError(`Cannot export to ${out}: files appeared there during the export; nothing was written.`);
    }
    throw err;
  }
}

function cannotWrite(out: string, err: unknown): Error {
  if (err instanceof UserError) return err;
  const code = errorCode(err);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new UserError(`Cannot export to ${out}: no permission to write there.`);
  if (code === 'ENOSPC') return new UserError(`Cannot export to ${out}: the disk is full.`);
  return err as Error;
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}
