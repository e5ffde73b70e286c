// The letters a type designer gives Fontloom to finish a font: a folder of letter images or a font
// file. Each letter becomes a glyph placed as the dataset's are (GLYPH_GEOMETRY), so that what the
// model is shown looks like what it learned from.

import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../errors.ts';
import { GLYPH_GEOMETRY } from './glyphset.ts';
import { checkFileSize, readRegular, statNamed, type FileCap } from './importers/files.ts';
import { FONT_CAP, fontMagic, parseFont, renderLetters } from './importers/fonts.ts';
import { LETTERS } from './importers/types.ts';

export interface GivenLetters {
  /** Square side of every glyph, in pixels (the model's size, e.g. 32). */
  size: number;
  /** Letter ('A'..'Z', upper case) → size×size uint8, white glyph (255 = ink) on black (0), one channel, placed as the dataset's glyphs are. Insertion order A→Z. */
  letters: Map<string, Uint8Array>;
  /** What was read, for messages: e.g. "folder /x/y (A.png, H.png, M.png)" or "font /x/Foo.ttf". */
  source: string;
  /** Files or letters skipped, with why (e.g. "b.png: not a letter A–Z", "Q.png: blank image"). */
  skipped: string[];
}

/** The image formats read from a folder: those sharp decodes, less SVG (it can point at other files). */
const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff'];
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff']);
const IMAGE_CAP: FileCap = { maxBytes: 50 * 2 ** 20, what: 'a letter image' };
const MAX_IMAGE_PIXELS = 40_000_000;
/** Larger images are shrunk to this side first: ink 20 px high needs no more, and memory and time stay bounded. */
const WORKING_SIDE = 2048;
/** A pixel is ink, for the crop, from this share of the way from the background to the darkest ink. */
const INK_THRESHOLD = 0.25;
/** An image whose ink stands less than this share of 0–255 from its background is blank. */
const MIN_CONTRAST = 0.1;
/** Letters are drawn at 4× and averaged over 4×4 blocks, as renderFont draws the dataset's. */
const SUPERSAMPLE = 4;
const EXPECTED_NAMES = 'expected files named A.png … Z.png (one letter per file)';
/** How many skipped files an error lists. */
const SKIPPED_SHOWN = 5;

/** PATH is a folder of letter images (A.png, h.PNG, M.jpg, … any size; dark-on-light or light-on-dark) or a font file (.ttf .otf .woff; --letters picks which of its letters are given; default: all 26 it has). */
export async function readLetters(path: string, opts: { size: number; letters?: string }): Promise<GivenLetters> {
  const wanted = opts.letters === undefined ? null : parseLetterList(opts.letters);
  const info = await statNamed(path, 'Give a folder of letter images (A.png … Z.png) or a font file (.ttf, .otf, .woff).');
  if (info.isDirectory()) return lettersOfFolder(path, opts.size, wanted);
  if (IMAGE_EXTENSIONS.includes(extname(path).toLowerCase())) {
    throw new UserError(`${path} is one image: give the folder that holds the letter images (A.png … Z.png), or a font file.`);
  }
  return lettersOfFont(path, opts.size, wanted);
}

/** The same from in-memory images (the studio's drops and its drawing canvas): name gives the letter ("A.png", or just "A"), bytes are any image sharp reads (PNG, JPEG, WebP). */
export async function lettersFromImages(
  images: { name: string; bytes: Uint8Array }[],
  opts: { size: number; source?: string },
): Promise<GivenLetters> {
  const skipped: string[] = [];
  const byLetter = new Map<string, { name: string; bytes: Uint8Array }>();
  for (const image of images) {
    const letter = letterOfName(image.name);
    if (letter === null) {
      skipped.push(`${image.name}: not a letter A–Z (name each image after its letter, e.g. A.png)`);
      continue;
    }
    const other = byLetter.get(letter);
    if (other) throw new UserError(`Two images are named for ${letter}: ${other.name} and ${image.name}. Keep one.`);
    byLetter.set(letter, image);
  }
  const found = LETTERS.filter((letter) => byLetter.has(letter)).map((letter): LetterImage => {
    const { name, bytes } = byLetter.get(letter)!;
    return { letter, name, where: name, bytes: async () => bytes };
  });
  const letters = await normaliseAll(found, opts.size, skipped);
  if (letters.size === 0) throw noLetterImages(opts.source ?? 'The images given', skipped);
  return { size: opts.size, letters, source: opts.source ?? `images (${found.map((f) => f.name).join(', ')})`, skipped };
}

/** Normalises one image (any size, any polarity; RGBA with transparency counts transparent as background) to a dataset-style glyph. Exported for tests and the canvas. */
export async function normaliseLetterImage(bytes: Uint8Array, letter: string, size: number): Promise<Uint8Array | null /* null: blank */> {
  return normalise(bytes, size, `The image of ${letter}`);
}

/** The letters asked for ("hamb": H, A, M, B), each A–Z and named once. */
function parseLetterList(text: string): Set<string> {
  const letters = [...text.toUpperCase()];
  const stray = letters.find((c) => !LETTERS.includes(c));
  if (letters.length === 0 || stray !== undefined) {
    throw new UserError(`Letters "${text}" must be A–Z written together, e.g. HAMB${stray ? `: "${stray}" is not one` : ''}.`);
  }
  const twice = letters.find((c, i) => letters.indexOf(c) !== i);
  if (twice) throw new UserError(`Letters "${text}" name ${twice} twice: give each letter once.`);
  return new Set(letters);
}

/** The letter a file or image name gives: a stem of exactly one letter, either case ("a.png" is A). */
function letterOfName(name: string): string | null {
  const stem = basename(name, extname(name));
  return /^[a-z]$/i.test(stem) ? stem.toUpperCase() : null;
}

interface LetterImage {
  letter: string;
  /** As `skipped` names it ("A.png"). */
  name: string;
  /** As errors name it (the file's path). */
  where: string;
  bytes: () => Promise<Uint8Array>;
}

async function lettersOfFolder(folder: string, size: number, wanted: Set<string> | null): Promise<GivenLetters> {
  const skipped: string[] = [];
  const byLetter = new Map<string, string[]>();
  const entries = (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    // Hidden files (.DS_Store, editors' backups) are the system's, not the designer's.
    if (entry.name.startsWith('.')) continue;
    const letter = letterOfName(entry.name);
    const why = whySkipped(entry, letter, wanted);
    if (why !== null) skipped.push(`${entry.name}: ${why}`);
    else byLetter.set(letter!, [...(byLetter.get(letter!) ?? []), entry.name]);
  }
  for (const [letter, names] of byLetter) {
    if (names.length > 1) throw new UserError(`${folder} has ${names.length} images of ${letter}: ${names.join(' and ')}. Keep one.`);
  }
  const missing = [...(wanted ?? [])].filter((letter) => !byLetter.has(letter)).sort();
  if (missing.length > 0) {
    throw new UserError(
      `${folder} has no image of ${missing.join(', ')}, which ${missing.length > 1 ? 'were' : 'was'} asked for: ` +
        `expected ${missing.map((letter) => `${letter}.png`).join(', ')} (or .jpg, .webp …).`,
    );
  }
  const found = LETTERS.filter((letter) => byLetter.has(letter)).map((letter): LetterImage => {
    const [name] = byLetter.get(letter)!;
    const file = join(folder, name);
    return { letter, name, where: file, bytes: () => readRegular(file, { named: false, cap: IMAGE_CAP }) };
  });
  const letters = await normaliseAll(found, size, skipped);
  if (letters.size === 0) throw noLetterImages(folder, skipped);
  const used = found.filter((f) => letters.has(f.letter)).map((f) => f.name);
  return { size, letters, source: `folder ${folder} (${used.join(', ')})`, skipped };
}

/** Why a folder's entry gives no letter, or null when it gives `letter`. */
function whySkipped(entry: Dirent, letter: string | null, wanted: Set<string> | null): string | null {
  if (entry.isDirectory()) return 'a folder (letters are read from the folder given, not from folders inside it)';
  if (!IMAGE_EXTENSIONS.includes(extname(entry.name).toLowerCase())) return `not an image Fontloom reads (${IMAGE_EXTENSIONS.join(' ')})`;
  if (letter === null) return 'not a letter A–Z (name each image after its letter, e.g. A.png)';
  if (!entry.isFile()) return 'not a regular file (links inside the folder are not followed: put the image itself there)';
  if (wanted && !wanted.has(letter)) return 'not among the letters asked for';
  return null;
}

/** Each image's glyph, A→Z; blank images are noted in `skipped`. */
async function normaliseAll(images: LetterImage[], size: number, skipped: string[]): Promise<Map<string, Uint8Array>> {
  const letters = new Map<string, Uint8Array>();
  for (const image of images) {
    const bytes = await image.bytes();
    checkFileSize(image.where, bytes.length, IMAGE_CAP);
    const glyph = await normalise(bytes, size, image.where);
    if (glyph === null) skipped.push(`${image.name}: blank image (no ink stands out from its background)`);
    else letters.set(image.letter, glyph);
  }
  return letters;
}

function noLetterImages(where: string, skipped: string[]): UserError {
  // One line, as every refusal: the skipped files and why, the first few of them.
  const shown = skipped.slice(0, SKIPPED_SHOWN).join('; ');
  const more = skipped.length > SKIPPED_SHOWN ? `; and ${skipped.length - SKIPPED_SHOWN} more` : '';
  return new UserError(`${where}: no letter images found: ${EXPECTED_NAMES}.${skipped.length > 0 ? ` Skipped: ${shown}${more}.` : ''}`);
}

async function lettersOfFont(path: string, size: number, wanted: Set<string> | null): Promise<GivenLetters> {
  return lettersOfFontBytes(await readRegular(path, { named: true, cap: FONT_CAP }), path, size, wanted);
}

/** The same from a font file's bytes (the studio's drop), `path` naming it in messages. */
export async function lettersFromFontFile(bytes: Uint8Array, name: string, opts: { size: number; letters?: string }): Promise<GivenLetters> {
  if (bytes.length > FONT_CAP.maxBytes) throw new UserError(`${name} is ${bytes.length} bytes, over the ${FONT_CAP.maxBytes} a font file may be`);
  return lettersOfFontBytes(bytes, name, opts.size, opts.letters === undefined ? null : parseLetterList(opts.letters));
}

async function lettersOfFontBytes(bytes: Uint8Array, path: string, size: number, wanted: Set<string> | null): Promise<GivenLetters> {
  const magic = fontMagic(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (magic === null) {
    throw new UserError(
      `${path} is neither a folder of letter images nor a font file: give a folder holding A.png … Z.png, or a .ttf, .otf or .woff font.`,
    );
  }
  if (magic === 'woff2') {
    throw new UserError(
      `${path} is a WOFF2 font, which Fontloom cannot read (opentype.js has no WOFF2 decoder). ` +
        'Convert it to WOFF, TTF or OTF first (e.g. with woff2_decompress).',
    );
  }
  if (magic === 'collection') throw new UserError(`${path} is a font collection: give one font of it as a .ttf, .otf or .woff file.`);
  let drawn: Awaited<ReturnType<typeof renderLetters>>;
  try {
    drawn = await renderLetters(parseFont(bytes), size);
  } catch (err) {
    // opentype.js parses outlines lazily, so a damaged font may fail only when drawn.
    throw new UserError(`${path} is not a font opentype.js can read: ${(err as Error).message}.`);
  }
  if (drawn === null) {
    throw new UserError(
      `${path} has no H and declares no cap height (OS/2 sCapHeight), so its letters cannot be scaled as the ` +
        "dataset's are: draw its H, or set its cap height in the font editor.",
    );
  }
  const has = [...drawn.glyphs.keys()];
  const missing = [...(wanted ?? [])].filter((letter) => !drawn.glyphs.has(letter)).sort();
  if (missing.length > 0) {
    throw new UserError(
      `${path} has no ${missing.join(', ')}, which ${missing.length > 1 ? 'were' : 'was'} asked for ` +
        `(its capitals: ${has.length > 0 ? has.join('') : 'none'}).`,
    );
  }
  if (has.length === 0) throw new UserError(`${path} has none of the capitals A–Z: Fontloom completes fonts from their capitals.`);
  const letters = new Map(has.filter((letter) => !wanted || wanted.has(letter)).map((letter) => [letter, drawn.glyphs.get(letter)!]));
  const lacking = LETTERS.filter((letter) => !drawn.glyphs.has(letter));
  const skipped = wanted || lacking.length === 0 ? [] : [`${lacking.join(', ')}: not in the font`];
  return { size, letters, source: `font ${path}`, skipped };
}

/** A single-channel image, row by row. */
interface Grey {
  data: Float32Array;
  width: number;
  height: number;
}

/** Inclusive pixel bounds. */
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

async function normalise(bytes: Uint8Array, size: number, where: string): Promise<Uint8Array | null> {
  const ink = inkOf(await decodeRgba(bytes, where));
  const box = ink && inkBox(ink);
  return box ? place(ink!, box, size) : null;
}

/** RGBA, 8 bits a channel, upright as its EXIF says, at most WORKING_SIDE a side; a UserError naming `where` when it is no image Fontloom reads. */
async function decodeRgba(bytes: Uint8Array, where: string): Promise<{ data: Buffer; width: number; height: number }> {
  const unreadable = (why: string) =>
    new UserError(`${where} is not an image Fontloom can read (${why}). Save it as PNG or JPEG and try again.`);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw unreadable((err as Error).message);
  }
  if (!IMAGE_FORMATS.has(meta.format ?? '')) throw unreadable(`${meta.format ?? 'unknown'} images are not read`);
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > MAX_IMAGE_PIXELS) {
    throw new UserError(
      `${where} is ${meta.width}×${meta.height}, over the ${MAX_IMAGE_PIXELS / 1e6} megapixel limit for a letter image. ` +
        'A few hundred pixels a side is plenty.',
    );
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS })
      .autoOrient()
      .resize({ width: WORKING_SIDE, height: WORKING_SIDE, fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`it decodes to ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw unreadable((err as Error).message);
  }
}

/**
 * The image as ink on nothing, 0–255: grey, with transparent pixels as background, turned over when
 * its border is light (dark on light), and its background level (the border's median) taken away
 * with the rest stretched so that solid ink is 255. Null when nothing stands out.
 */
function inkOf({ data, width, height }: { data: Buffer; width: number; height: number }): Grey | null {
  const n = width * height;
  const grey = new Float32Array(n);
  const alpha = new Float32Array(n);
  let opaque = 0;
  let opaqueLight = 0;
  for (let i = 0; i < n; i++) {
    grey[i] = 0.2126 * data[4 * i] + 0.7152 * data[4 * i + 1] + 0.0722 * data[4 * i + 2];
    alpha[i] = data[4 * i + 3] / 255;
    opaque += alpha[i];
    opaqueLight += alpha[i] * grey[i];
  }
  if (opaque === 0) return null;
  // Transparency shows the background, which is whatever the visible marks are not: white behind dark ink, black behind light.
  const behind = opaqueLight / opaque < 128 ? 255 : 0;
  let lo = 255;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    grey[i] = alpha[i] * grey[i] + (1 - alpha[i]) * behind;
    lo = Math.min(lo, grey[i]);
    hi = Math.max(hi, grey[i]);
  }
  if (hi - lo < MIN_CONTRAST * 255) return null;
  const border = borderOf(grey, width, height);
  if (border.reduce((sum, v) => sum + v, 0) / border.length > (lo + hi) / 2) {
    for (let i = 0; i < n; i++) grey[i] = 255 - grey[i];
  }
  const background = median(borderOf(grey, width, height));
  const ink = inkLevel(grey, background);
  if (ink - background < MIN_CONTRAST * 255) return null;
  const stretch = 255 / (ink - background);
  for (let i = 0; i < n; i++) grey[i] = Math.min(255, Math.max(0, (grey[i] - background) * stretch));
  return { data: grey, width, height };
}

/**
 * The level of solid ink: the median of the pixels more than halfway from the background to the
 * strongest, not the strongest itself, which a JPEG's ringing or a speck can push past the ink.
 */
function inkLevel(grey: Float32Array, background: number): number {
  const strongest = grey.reduce((max, v) => Math.max(max, v), 0);
  const solid = grey.filter((v) => v > (background + strongest) / 2);
  return solid.length > 0 ? median(solid) : strongest;
}

/** The outermost rows and columns. */
function borderOf(grey: Float32Array, width: number, height: number): number[] {
  const values: number[] = [];
  for (let x = 0; x < width; x++) values.push(grey[x], grey[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) values.push(grey[y * width], grey[y * width + width - 1]);
  return values;
}

function median(values: ArrayLike<number>): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.floor(sorted.length / 2)];
}

/** The bounds of the pixels that are ink (INK_THRESHOLD of the way to full), or null when none are. */
function inkBox({ data, width, height }: Grey): Box | null {
  const box = { x0: width, y0: height, x1: -1, y1: -1 };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] < INK_THRESHOLD * 255) continue;
      box.x0 = Math.min(box.x0, x);
      box.x1 = Math.max(box.x1, x);
      box.y0 = Math.min(box.y0, y);
      box.y1 = Math.max(box.y1, y);
    }
  }
  return box.x1 < 0 ? null : box;
}

/**
 * Scales the ink so that its height is the cap height (narrower than the cell less a margin, else
 * fitted by width), centres it, and stands it on the baseline. An image carries no metrics, so
 * every letter is scaled by its own height and stands on the baseline, Q and J too: their descent
 * in the designer's font cannot be told from one image, so their tails sit above the line and
 * they come out a little smaller than the font would draw them.
 */
async function place(ink: Grey, box: Box, size: number): Promise<Uint8Array> {
  const capHeight = (GLYPH_GEOMETRY.capHeight * size) / 32;
  const baseline = (GLYPH_GEOMETRY.baseline * size) / 32;
  const margin = size / 32;
  const inkWidth = box.x1 - box.x0 + 1;
  const inkHeight = box.y1 - box.y0 + 1;
  const scale = Math.min(capHeight / inkHeight, (size - 2 * margin) / inkWidth);
  // A pixel of background around the box brings the ink's antialiased edge along.
  const crop = cropPadded(ink, box, 1);
  const cell = size * SUPERSAMPLE;
  const width = Math.max(1, Math.round(crop.width * scale * SUPERSAMPLE));
  const height = Math.max(1, Math.round(crop.height * scale * SUPERSAMPLE));
  const resized = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  const left = Math.round((cell - width) / 2);
  const top = Math.round((baseline + scale) * SUPERSAMPLE) - height;
  const canvas = new Uint8Array(cell * cell);
  for (let y = Math.max(0, -top); y < height && top + y < cell; y++) {
    for (let x = Math.max(0, -left); x < width && left + x < cell; x++) {
      canvas[(top + y) * cell + left + x] = resized[y * width + x];
    }
  }
  return averageBlocks(canvas, size);
}

/** The box's pixels with `pad` pixels of background around them, as 8-bit grey. */
function cropPadded({ data, width }: Grey, box: Box, pad: number): { data: Buffer; width: number; height: number } {
  const cropWidth = box.x1 - box.x0 + 1 + 2 * pad;
  const cropHeight = box.y1 - box.y0 + 1 + 2 * pad;
  const out = Buffer.alloc(cropWidth * cropHeight);
  for (let y = pad; y < cropHeight - pad; y++) {
    for (let x = pad; x < cropWidth - pad; x++) {
      out[y * cropWidth + x] = Math.min(255, Math.round(data[(box.y0 + y - pad) * width + box.x0 + x - pad]));
    }
  }
  return { data: out, width: cropWidth, height: cropHeight };
}

/** size × size pixels, each the mean of a SUPERSAMPLE² block of `canvas`. */
function averageBlocks(canvas: Uint8Array, size: number): Uint8Array {
  const cell = size * SUPERSAMPLE;
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sum = 0;
      for (let dy = 0; dy < SUPERSAMPLE; dy++) {
        for (let dx = 0; dx < SUPERSAMPLE; dx++) sum += canvas[(y * SUPERSAMPLE + dy) * cell + x * SUPERSAMPLE + dx];
      }
      out[y * size + x] = Math.round(sum / (SUPERSAMPLE * SUPERSAMPLE));
    }
  }
  return out;
}
