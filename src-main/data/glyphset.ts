// Fontloom's one internal dataset format: every importer writes a GlyphSet, training reads one.
// On disk it is a single `.glyphs` file, loaded with one read:
//   "FLGLYPH1" | uint32 LE header length | UTF-8 JSON header | zero padding to 4 bytes |
//   labels (int32 LE × count) | fontIds (int32 LE × count) | pixels (uint8, NHWC)

import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic.ts';
import { UserError, errorCode } from '../errors.ts';
import { rngFor } from '../engine/rng.ts';

/**
 * Placement at 32 px, in pixels from the top; other sizes scale by size / 32. Baseline 25 and cap
 * height 20 leave 7 px below the baseline, room for the Q and J tails of nine fonts in ten (the
 * default set's measure), and 5 px above the caps for overshoot and flourishes.
 */
export const GLYPH_GEOMETRY = {
  /** Flat-bottomed letters (E, H, L, T, Z) stand on this line: their lowest ink row is 24. */
  baseline: 25,
  /** From the baseline up to the cap height: H's top ink row is 25 − 20 = 5. */
  capHeight: 20,
} as const;

export interface FontInfo {
  name: string;
  source?: string;
  license?: string;
}

export interface GlyphSet {
  height: number;
  width: number;
  channels: number;
  count: number;
  /** count × height × width × channels, NHWC, white glyph on black (255 = ink). */
  pixels: Uint8Array;
  /** Class index per item, 0..classNames.length − 1. */
  labels: Int32Array;
  /** Font (or source) id per item, an index into `fonts`; splits are by font, never by glyph. */
  fontIds: Int32Array;
  classNames: string[];
  fonts: FontInfo[];
  /** Fonts the source itself holds out for validation (CIFAR-10's test batch); splits honour it. */
  heldOutFonts?: number[];
}

export interface GlyphSetSplit {
  train: Int32Array;
  val: Int32Array;
}

const MAGIC = 'FLGLYPH1';
const FORMAT_VERSION = 1;
const PREAMBLE_BYTES = MAGIC.length + 4;

interface GlyphSetHeader {
  version: number;
  height: number;
  width: number;
  channels: number;
  count: number;
  classNames: string[];
  fonts: FontInfo[];
  heldOutFonts?: number[];
  hash: string;
}

export async function writeGlyphSet(path: string, set: GlyphSet): Promise<void> {
  validateGlyphSet(set, path);
  const header: GlyphSetHeader = {
    version: FORMAT_VERSION,
    height: set.height,
    width: set.width,
    channels: set.channels,
    count: set.count,
    classNames: set.classNames,
    fonts: set.fonts,
    ...(set.heldOutFonts && { heldOutFonts: set.heldOutFonts }),
    hash: contentHash(set),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  preamble.write(MAGIC, 0, 'latin1');
  preamble.writeUInt32LE(headerBytes.length, MAGIC.length);
  await writeFileAtomic(path, [
    preamble,
    headerBytes,
    Buffer.alloc(padTo4(PREAMBLE_BYTES + headerBytes.length)),
    int32ToLE(set.labels),
    int32ToLE(set.fontIds),
    set.pixels,
  ]);
}

export async function readGlyphSet(path: string): Promise<GlyphSet> {
  const bytes = await readWholeFile(path);
  const header = parseHeader(bytes, path);
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const dataOffset = PREAMBLE_BYTES + headerLength + padTo4(PREAMBLE_BYTES + headerLength);
  const pixelCount = header.count * header.height * header.width * header.channels;
  const expected = dataOffset + 8 * header.count + pixelCount;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'is truncated' : 'has trailing data';
    throw new UserError(
      `Glyph set ${path} ${what}: expected ${expected} bytes, found ${bytes.length}. ` +
        'Import the dataset again.',
    );
  }
  const set: GlyphSet = {
    height: header.height,
    width: header.width,
    channels: header.channels,
    count: header.count,
    labels: readInt32LE(bytes, dataOffset, header.count),
    fontIds: readInt32LE(bytes, dataOffset + 4 * header.count, header.count),
    // A view, not a copy: pixels are most of the file and datasets run to hundreds of MB.
    pixels: new Uint8Array(bytes.buffer, bytes.byteOffset + dataOffset + 8 * header.count, pixelCount),
    classNames: header.classNames,
    fonts: header.fonts,
    ...(header.heldOutFonts && { heldOutFonts: header.heldOutFonts }),
  };
  validateGlyphSet(set, path);
  if (contentHash(set) !== header.hash) {
    throw new UserError(
      `Glyph set ${path} is corrupt: its content does not match the hash in its header. ` +
        'Import the dataset again.',
    );
  }
  return set;
}

/** Throws a UserError naming `where` and the first field that is wrong. */
export function validateGlyphSet(set: GlyphSet, where: string): void {
  for (const dim of ['height', 'width', 'channels', 'count'] as const) {
    requirePositiveInteger(set[dim], `${where}: ${dim}`);
  }
  requireStringList(set.classNames, `${where}: classNames`);
  requireFontList(set.fonts, `${where}: fonts`);
  const pixelCount = set.count * set.height * set.width * set.channels;
  requireArray(set.pixels, Uint8Array, pixelCount, `${where}: pixels`);
  requireArray(set.labels, Int32Array, set.count, `${where}: labels`);
  requireArray(set.fontIds, Int32Array, set.count, `${where}: fontIds`);
  requireIndicesBelow(set.labels, set.classNames.length, 'classes', `${where}: labels`);
  requireIndicesBelow(set.fontIds, set.fonts.length, 'fonts', `${where}: fontIds`);
  if (set.heldOutFonts !== undefined) {
    if (!Array.isArray(set.heldOutFonts)) throw new UserError(`${where}: heldOutFonts must be a list of font ids.`);
    requireIndicesBelow(Int32Array.from(set.heldOutFonts), set.fonts.length, 'fonts', `${where}: heldOutFonts`);
  }
}

/**
 * Splits item indices into train and validation by whole fonts: the source's own held-out
 * fonts where it has them, else about `valFraction` of the fonts in use (at least one when
 * there are two or more, none when only one).
 */
export function splitByFont(set: GlyphSet, valFraction: number, seed: number): GlyphSetSplit {
  if (set.heldOutFonts && set.heldOutFonts.length > 0) return splitOn(set, new Set(set.heldOutFonts));
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new UserError(`The validation fraction must be between 0 and 1 (exclusive), got ${valFraction}.`);
  }
  const fontsInUse = [...new Set(set.fontIds)].sort((a, b) => a - b);
  const valFontCount = fontsInUse.length < 2
    ? 0
    : Math.min(fontsInUse.length - 1, Math.max(1, Math.round(valFraction * fontsInUse.length)));
  const order = rngFor(seed, 'split-by-font').permutation(fontsInUse.length);
  const valFonts = new Set<number>();
  for (let i = 0; i < valFontCount; i++) valFonts.add(fontsInUse[order[i]]);
  return splitOn(set, valFonts);
}

function splitOn(set: GlyphSet, valFonts: ReadonlySet<number>): GlyphSetSplit {
  const train: number[] = [];
  const val: number[] = [];
  set.fontIds.forEach((font, item) => (valFonts.has(font) ? val : train).push(item));
  return { train: Int32Array.from(train), val: Int32Array.from(val) };
}

/** sha256 (hex) over dims, class names, labels, font ids and pixels; font metadata is not content. */
export function contentHash(set: GlyphSet): string {
  const dims = [set.height, set.width, set.channels, set.count, set.classNames];
  return createHash('sha256')
    .update(JSON.stringify(dims), 'utf8')
    .update(int32ToLE(set.labels))
    .update(int32ToLE(set.fontIds))
    .update(set.pixels)
    .digest('hex');
}

/** The file's bytes; a gzip-compressed glyph set (the embedded default is one) is inflated. */
async function readWholeFile(path: string): Promise<Buffer> {
  try {
    const bytes = await readFile(path);
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return gunzipOrExplain(bytes, path);
    return bytes;
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (errorCode(err) === 'ENOENT') throw new UserError(`Glyph set ${path} does not exist.`);
    throw err;
  }
}

function gunzipOrExplain(bytes: Buffer, path: string): Buffer {
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new UserError(`Glyph set ${path} is gzip-compressed but damaged (${(err as Error).message}). Import the dataset again.`);
  }
}

function parseHeader(bytes: Buffer, path: string): GlyphSetHeader {
  if (bytes.length < MAGIC.length || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new UserError(
      `${path} is not a Fontloom glyph set: it does not start with "${MAGIC}". ` +
        'Import the dataset to create one.',
    );
  }
  const headerLength = bytes.length >= PREAMBLE_BYTES ? bytes.readUInt32LE(MAGIC.length) : 0;
  const expected = PREAMBLE_BYTES + headerLength;
  if (bytes.length < expected) {
    throw new UserError(
      `Glyph set ${path} is truncated: expected at least ${expected} bytes, found ${bytes.length}. ` +
        'Import the dataset again.',
    );
  }
  const raw = parseJson(bytes.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength), path);
  if (raw.version !== FORMAT_VERSION) {
    throw new UserError(
      `Glyph set ${path} has format version ${String(raw.version)}; this Fontloom reads version ` +
        `${FORMAT_VERSION}. Import the dataset again with this version.`,
    );
  }
  const where = `Glyph set ${path} header`;
  for (const dim of ['height', 'width', 'channels', 'count'] as const) {
    requirePositiveInteger(raw[dim], `${where}: ${dim}`);
  }
  requireStringList(raw.classNames, `${where}: classNames`);
  requireFontList(raw.fonts, `${where}: fonts`);
  if (typeof raw.hash !== 'string') throw new UserError(`${where}: hash is missing.`);
  return raw as unknown as GlyphSetHeader;
}

function parseJson(text: string, path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`Glyph set ${path} has an unreadable header (not a JSON object). Import the dataset again.`);
  }
  return value as Record<string, unknown>;
}

function requirePositiveInteger(value: unknown, what: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new UserError(`${what} must be a positive integer, got ${JSON.stringify(value)}.`);
  }
}

function requireStringList(value: unknown, what: string): void {
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string')) {
    throw new UserError(`${what} must be a non-empty list of names.`);
  }
  const duplicate = value.find((s, i) => value.indexOf(s) !== i);
  if (duplicate !== undefined) throw new UserError(`${what} lists "${duplicate}" twice.`);
}

function requireFontList(value: unknown, what: string): void {
  if (!Array.isArray(value) || value.length === 0) {
    throw new UserError(`${what} must be a non-empty list of fonts.`);
  }
  value.forEach((font, i) => {
    const ok = typeof font === 'object' && font !== null && typeof font.name === 'string' &&
      ['source', 'license'].every((key) => font[key] === undefined || typeof font[key] === 'string');
    if (!ok) throw new UserError(`${what}[${i}] must have a name and optional source and license text.`);
  });
}

function requireArray(
  value: unknown,
  type: typeof Uint8Array | typeof Int32Array,
  length: number,
  what: string,
): void {
  if (!(value instanceof type)) throw new UserError(`${what} must be an ${type.name}.`);
  if (value.length !== length) {
    throw new UserError(`${what} has ${value.length} entries, expected ${length}.`);
  }
}

function requireIndicesBelow(indices: Int32Array, limit: number, noun: string, what: string): void {
  const bad = indices.findIndex((v) => v < 0 || v >= limit);
  if (bad >= 0) {
    throw new UserError(
      `${what}[${bad}] is ${indices[bad]}, outside 0..${limit - 1} (there are ${limit} ${noun}).`,
    );
  }
}

function padTo4(length: number): number {
  return (4 - (length % 4)) % 4;
}

function int32ToLE(values: Int32Array): Uint8Array {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) out.writeInt32LE(values[i], i * 4);
  return out;
}

function readInt32LE(bytes: Buffer, offset: number, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = bytes.readInt32LE(offset + i * 4);
  return out;
}

