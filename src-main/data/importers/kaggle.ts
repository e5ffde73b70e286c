// The Kaggle "alphabet characters fonts" layout: letter folders A..Z of PNG glyphs in which the
// same file name is the same font (Images/Images/A/0.png, Images/Images/B/0.png, …). Read from
// the folder, at any of its levels, or from a zip of it without unpacking.
import type { Dirent } from 'node:fs';
import { opendir, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { UserError, errorCode } from '../../errors.ts';
import { importBudget, readRegular, refuseUnlessRegular, statNamed, type FileCap, type ImportBudget } from './files.ts';
import type { GlyphSet } from '../glyphset.ts';
import { LETTERS, MAX_PIXEL_BYTES, type Importer, type ImportOptions, type Imported } from './types.ts';
import { checkZipSizes, listZip, readZipEntries, someZipEntry, startsLikeZip, type ZipEntryInfo, type ZipLimits } from './zip.ts';

/** A glyph PNG is a few hundred bytes; files near these limits, in a folder or a zip, are not this dataset. */
const PNG_CAP: FileCap = { maxBytes: 8 * 2 ** 20, what: 'a glyph PNG' };
const MAX_IMPORT_BYTES = 4 * 2 ** 30;
const ZIP_LIMITS: ZipLimits = {
  maxEntryBytes: PNG_CAP.maxBytes,
  maxTotalBytes: MAX_IMPORT_BYTES,
  // PNG data is deflated already, so a large entry that shrinks 200-fold is a zip bomb.
  maxRatio: 200,
  ratioFloorBytes: 64 * 2 ** 10,
};
/** PNGs read and decoding at once: enough to keep sharp busy, few enough to bound memory. */
const DECODES_IN_FLIGHT = 8;
/** Folders a Kaggle download nests the letter folders in (Images/Images/); each level is accepted. */
const NESTING_FOLDER = 'images';
const MAX_FOLDER_NESTING = 2;
/** A zip may hold Images/Images/ under one more folder of its own. */
const MAX_ZIP_NESTING = 3;
const PHASE = 'reading PNGs';
const LAYOUT_HINT = 'expected letter folders A..Z of PNG glyphs, one file per font, as in the Kaggle ' +
  'download (Images/Images/A/0.png, Images/Images/B/0.png, …)';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Glyphs are tens of pixels across; a header claiming more is not a glyph (and would exhaust memory). */
const MAX_GLYPH_SIDE = 1024;

/** Where each glyph is: per letter 0..25, the font's file stem → a file path or zip entry name. */
interface Layout {
  /** The folder holding the letter folders, or the zip. */
  source: string;
  glyphs: Map<string, string>[];
  /** Files in the letter folders that are not PNGs, skipped. */
  ignored: string[];
  /** Names a glyph's file or entry in messages. */
  describe(locator: string): string;
}

interface Item {
  locator: string;
  font: number;
  letter: number;
}

interface Plan {
  /** Font stems in natural order; a font's id is its index here. */
  stems: string[];
  /** Font by font, then letter by letter: the order of the glyph set. */
  items: Item[];
  /** Fonts that lack some letters, with the letters they lack. */
  incomplete: { stem: string; missing: string[] }[];
}

interface Size {
  width: number;
  height: number;
}

export const kaggleImporter: Importer = {
  format: 'kaggle',
  // A zip may hold anything.
  extensions: [],

  async sniff(path: string): Promise<boolean> {
    try {
      if ((await statNamed(path)).isDirectory()) {
        const root = await findLetterRoot(path);
        return root !== null && (await holdsLetterPng(root));
      }
      const isGlyph = (name: string) => zipGlyphPlace(name) !== null && pngStem(lastPart(name)) !== null;
      return (await startsLikeZip(path)) && (await someZipEntry(path, isGlyph));
    } catch {
      return false;
    }
  },

  async read(path: string, opts: ImportOptions = {}): Promise<Imported> {
    const isFolder = await isDirectory(path);
    if (!isFolder && !(await startsLikeZip(path))) {
      throw new UserError(`${path} is neither a folder nor a zip archive: ${LAYOUT_HINT}.`);
    }
    const layout = isFolder ? await folderLayout(path) : await zipLayout(path);
    const plan = planItems(layout);
    const sink = glyphSink(plan.items.length, opts);
    if (isFolder) await decodeFiles(layout, plan, sink);
    else await decodeZipEntries(path, layout, plan, sink);
    const { pixels, width, height } = sink.result();
    const set: GlyphSet = {
      height,
      width,
      channels: 1,
      count: plan.items.length,
      pixels,
      labels: Int32Array.from(plan.items, (item) => item.letter),
      fontIds: Int32Array.from(plan.items, (item) => item.font),
      classNames: [...LETTERS],
      fonts: plan.stems.map((name) => ({ name, source: layout.source })),
    };
    return { set, notes: notesFor(plan, layout), suggestedName: suggestName(path) };
  },
};

async function isDirectory(path: string): Promise<boolean> {
  return (await statNamed(path)).isDirectory();
}

// ---- Finding the glyphs ----

/** The folder itself, Images/ or Images/Images/: the first level with letter folders. */
async function findLetterRoot(dir: string): Promise<string | null> {
  let current = dir;
  for (let level = 0; level <= MAX_FOLDER_NESTING; level++) {
    const names = await subfolders(current);
    if (names.some((name) => letterIndex(name) >= 0)) return current;
    const inner = names.find((name) => name.toLowerCase() === NESTING_FOLDER);
    if (inner === undefined) return null;
    current = join(current, inner);
  }
  return null;
}

/** The real folders in `dir`; a link or special file named like a letter folder or Images/ is refused. */
async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const wanted = letterIndex(entry.name) >= 0 || entry.name.toLowerCase() === NESTING_FOLDER;
    if (wanted && !entry.isDirectory()) refuseUnlessRegular(join(dir, entry.name), entry);
  }
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

async function holdsLetterPng(root: string): Promise<boolean> {
  const folder = (await subfolders(root)).find((name) => letterIndex(name) >= 0);
  if (folder === undefined) return false;
  for await (const entry of await opendir(join(root, folder))) {
    if (pngStem(entry.name) !== null) return true;
  }
  return false;
}

async function folderLayout(dir: string): Promise<Layout> {
  const root = await findLetterRoot(dir);
  if (root === null) {
    const what = (await readdir(dir)).length === 0 ? 'is empty' : 'holds no letter folders';
    throw new UserError(`${dir} ${what}: ${LAYOUT_HINT}, here or under Images/ or Images/Images/.`);
  }
  const folders = letterFolders(root, await subfolders(root));
  const glyphs = LETTERS.map(() => new Map<string, string>());
  const ignored: string[] = [];
  for (const [letter, folder] of folders.entries()) {
    const folderPath = join(root, folder);
    for (const entry of await readdir(folderPath, { withFileTypes: true })) {
      const stem = glyphStem(folderPath, entry);
      if (stem === null) ignored.push(join(folderPath, entry.name));
      else addGlyph(glyphs[letter], stem, join(folderPath, entry.name), folderPath);
    }
    if (glyphs[letter].size === 0) throw emptyLetterFolder(folderPath);
  }
  return { source: root, glyphs, ignored, describe: (file) => file };
}

async function zipLayout(path: string): Promise<Layout> {
  const roots = new Map<string, ZipEntryInfo[]>();
  for (const entry of await listZip(path)) {
    const place = zipGlyphPlace(entry.name);
    if (place === null) continue;
    const list = roots.get(place.prefix) ?? [];
    list.push(entry);
    roots.set(place.prefix, list);
  }
  const candidates = [...roots].filter(([, list]) => list.some((entry) => pngStem(lastPart(entry.name)) !== null));
  if (candidates.length === 0) throw new UserError(`Zip ${path} holds no letter folders: ${LAYOUT_HINT}.`);
  if (candidates.length > 1) {
    const places = candidates.slice(0, 2).map(([prefix]) => prefix || 'the top level').join(' and ');
    throw new UserError(`Zip ${path} holds letter folders in more than one place (${places}): expected one set A..Z.`);
  }
  const [prefix, entries] = candidates[0];
  const where = `Zip ${path}: ${prefix || 'top level'}`;
  const folders = letterFolders(where, [...new Set(entries.map((entry) => zipGlyphPlace(entry.name)!.folder))]);
  const glyphs = LETTERS.map(() => new Map<string, string>());
  const ignored: string[] = [];
  for (const entry of entries) {
    const file = lastPart(entry.name);
    if (file === '') continue; // the folder's own entry
    const letter = letterIndex(zipGlyphPlace(entry.name)!.folder);
    const stem = pngStem(file);
    if (stem === null) ignored.push(entry.name);
    else addGlyph(glyphs[letter], stem, entry.name, `${prefix}${folders[letter]}/ in ${path}`);
  }
  folders.forEach((folder, letter) => {
    if (glyphs[letter].size === 0) throw emptyLetterFolder(`${prefix}${folder}/ in ${path}`);
  });
  // Refused before anything is inflated: the PNGs' declared sizes.
  const pngNames = new Set(glyphs.flatMap((letterGlyphs) => [...letterGlyphs.values()]));
  checkZipSizes(path, entries.filter((entry) => pngNames.has(entry.name)), ZIP_LIMITS);
  return { source: path, glyphs, ignored, describe: (name) => `Zip entry ${name} in ${path}` };
}

/** A letter folder's entry's font stem, or null to skip it; a PNG-named link, FIFO or device is refused. */
function glyphStem(folder: string, entry: Dirent): string | null {
  const stem = entry.isDirectory() ? null : pngStem(entry.name);
  if (stem !== null) refuseUnlessRegular(join(folder, entry.name), entry);
  return stem;
}

/** For an entry `<up to 3 folders>/<letter>/<file>`, its prefix and letter folder; else null. */
function zipGlyphPlace(name: string): { prefix: string; folder: string } | null {
  const parts = name.split('/');
  const depth = parts.length - 2;
  if (depth < 0 || depth > MAX_ZIP_NESTING || parts[0] === '__MACOSX') return null;
  if (letterIndex(parts[depth]) < 0) return null;
  return { prefix: parts.slice(0, depth).map((part) => `${part}/`).join(''), folder: parts[depth] };
}

/** The folder name for each letter, refusing a letter that is missing or there twice (A/ and a/). */
function letterFolders(where: string, names: string[]): string[] {
  const folders: string[] = [];
  for (const name of names) {
    const letter = letterIndex(name);
    if (letter < 0) continue;
    if (folders[letter] !== undefined) {
      throw new UserError(`${where} holds both ${folders[letter]}/ and ${name}/: expected one folder per letter.`);
    }
    folders[letter] = name;
  }
  const missing = LETTERS.filter((_, letter) => folders[letter] === undefined);
  if (missing.length > 0) {
    throw new UserError(
      `${where} lacks the letter folder${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ` +
        `${LAYOUT_HINT}.`,
    );
  }
  return folders;
}

function addGlyph(glyphs: Map<string, string>, stem: string, locator: string, folder: string): void {
  const other = glyphs.get(stem);
  if (other !== undefined) {
    throw new UserError(
      `${folder} holds both ${lastPart(other)} and ${lastPart(locator)}: expected one PNG per font.`,
    );
  }
  glyphs.set(stem, locator);
}

function emptyLetterFolder(folder: string): UserError {
  return new UserError(`Letter folder ${folder} holds no PNG glyphs: expected one PNG per font (0.png, 1.png, …).`);
}

function letterIndex(name: string): number {
  return /^[A-Za-z]$/.test(name) ? name.toUpperCase().charCodeAt(0) - 65 : -1;
}

/** The font's name for a glyph file, or null for a file that is not a PNG (or a macOS `._` shadow). */
function pngStem(file: string): string | null {
  if (!/\.png$/i.test(file) || file.startsWith('._') || file.length === 4) return null;
  return file.slice(0, -4);
}

function lastPart(name: string): string {
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
}

// ---- Ordering ----

function planItems(layout: Layout): Plan {
  const stems = [...new Set(layout.glyphs.flatMap((glyphs) => [...glyphs.keys()]))].sort(naturalCompare);
  const items: Item[] = [];
  const incomplete: Plan['incomplete'] = [];
  stems.forEach((stem, font) => {
    const missing: string[] = [];
    layout.glyphs.forEach((glyphs, letter) => {
      const locator = glyphs.get(stem);
      if (locator === undefined) missing.push(LETTERS[letter]);
      else items.push({ locator, font, letter });
    });
    if (missing.length > 0) incomplete.push({ stem, missing });
  });
  return { stems, items, incomplete };
}

/** "2" before "10": digit runs compare as numbers, the rest by code point. */
function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const nx = x.replace(/^0+/, '');
      const ny = y.replace(/^0+/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

// ---- Decoding ----

interface GlyphSink {
  /** Checks the PNG's size at once (so the first glyph put sets it), then decodes into slot `item`. */
  put(item: number, png: Buffer, where: string): Promise<void>;
  result(): { pixels: Uint8Array } & Size;
}

function glyphSink(count: number, { onProgress }: ImportOptions): GlyphSink {
  let size: Size | undefined;
  let pixels = new Uint8Array(0);
  let done = 0;
  const step = Math.max(1, Math.ceil(count / 100));
  onProgress?.({ phase: PHASE, done: 0, total: count });
  return {
    async put(item, png, where) {
      const found = pngSize(png, where);
      if (size === undefined) {
        if (count * found.width * found.height > MAX_PIXEL_BYTES) {
          throw new UserError(
            `${count} glyphs of ${found.width}×${found.height} (the size of ${where}) are more pixels than ` +
              `Fontloom holds in memory (${MAX_PIXEL_BYTES / 2 ** 30} GB). Import fewer or smaller glyphs.`,
          );
        }
        size = found;
        pixels = new Uint8Array(count * found.width * found.height);
      } else if (found.width !== size.width || found.height !== size.height) {
        throw new UserError(
          `${where} is ${found.width}×${found.height}, expected ${size.width}×${size.height} like the ` +
            'other glyphs. Resize or remove it and import again.',
        );
      }
      pixels.set(await decodeGrey(png, found, where), item * found.width * found.height);
      done++;
      if (done % step === 0 || done === count) onProgress?.({ phase: PHASE, done, total: count });
    },
    result() {
      if (size === undefined || done !== count) throw new Error(`decoded ${done} of ${count} glyphs`);
      return { pixels, ...size };
    },
  };
}

function pngSize(png: Buffer, where: string): Size {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') {
    throw notPng(where, 'it does not start with a PNG header');
  }
  const size = { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
  if (size.width === 0 || size.height === 0 || size.width > MAX_GLYPH_SIDE || size.height > MAX_GLYPH_SIDE) {
    throw new UserError(
      `${where} is ${size.width}×${size.height}; glyphs must be 1 to ${MAX_GLYPH_SIDE} pixels on a side.`,
    );
  }
  return size;
}

/** One grey byte per pixel: colour becomes luminance, transparency is laid onto black. */
async function decodeGrey(png: Buffer, size: Size, where: string): Promise<Buffer> {
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(png).flatten({ background: '#000000' }).toColourspace('b-w').raw()
      .toBuffer({ resolveWithObject: true });
  } catch {
    throw notPng(where, 'it is truncated or corrupt');
  }
  const { channels, width, height } = decoded.info;
  if (channels !== 1 || width !== size.width || height !== size.height) {
    throw notPng(where, `it decodes to ${width}×${height}×${channels}`);
  }
  return decoded.data;
}

function notPng(where: string, reason: string): UserError {
  return new UserError(`${where} is not a readable PNG (${reason}). Replace or remove it and import again.`);
}

async function decodeFiles(layout: Layout, plan: Plan, sink: GlyphSink): Promise<void> {
  const budget = importBudget(layout.source, MAX_IMPORT_BYTES);
  const decode = async (item: number) => {
    const file = plan.items[item].locator;
    await sink.put(item, await readGlyphFile(file, budget), file);
  };
  // The first glyph alone, so that the size every other glyph must have does not depend on timing.
  await decode(0);
  await forEachBounded(range(1, plan.items.length), DECODES_IN_FLIGHT, decode);
}

async function readGlyphFile(file: string, budget: ImportBudget): Promise<Buffer> {
  try {
    return await readRegular(file, { named: false, cap: PNG_CAP, budget });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${file} could not be read (${errorCode(err) ?? String(err)}). Check the folder and import again.`);
  }
}

async function decodeZipEntries(path: string, layout: Layout, plan: Plan, sink: GlyphSink): Promise<void> {
  const slots = new Map(plan.items.map((item, index) => [item.locator, index]));
  await forEachBounded(readZipEntries(path, new Set(slots.keys()), ZIP_LIMITS), DECODES_IN_FLIGHT, ({ name, data }) =>
    sink.put(slots.get(name)!, data, layout.describe(name)),
  );
}

/**
 * Runs `work` over `items` with at most `limit` running at once, pulling items only as slots free
 * up (so a zip is read no faster than it is decoded). Stops at the first failure and throws it
 * once the work in flight has settled.
 */
async function forEachBounded<T>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for await (const item of items) {
      const task: Promise<void> = work(item)
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      if (inFlight.size >= limit) await Promise.race(inFlight);
      if (failure) break;
    }
  } finally {
    await Promise.all(inFlight);
  }
  if (failure) throw failure.error;
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i++) yield i;
}

// ---- Reporting ----

function notesFor(plan: Plan, layout: Layout): string[] {
  const notes: string[] = [];
  if (plan.incomplete.length > 0) {
    const example = plan.incomplete[0];
    notes.push(
      `${plan.incomplete.length} of ${plan.stems.length} fonts lack some letters and are kept with the ` +
        `letters they have (e.g. font ${example.stem} lacks ${example.missing.join(', ')}).`,
    );
  }
  if (layout.ignored.length > 0) {
    notes.push(
      `Skipped ${layout.ignored.length} file${layout.ignored.length > 1 ? 's' : ''} in the letter folders ` +
        `that ${layout.ignored.length > 1 ? 'are' : 'is'} not PNG (e.g. ${layout.ignored[0]}).`,
    );
  }
  return notes;
}

/** The folder's own name, looking past the Images/Images/ levels; a zip's name without .zip. */
function suggestName(path: string): string {
  let current = resolve(path);
  while (basename(current).toLowerCase() === NESTING_FOLDER && dirname(current) !== current) {
    current = dirname(current);
  }
  return basename(current).replace(/\.zip$/i, '') || 'kaggle-letters';
}

