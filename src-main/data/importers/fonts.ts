// Font files (TTF, OTF, WOFF, and TTC collections), alone or in a folder, become A–Z glyphs.
// Every font is drawn by one rule (RENDER_RULE) so that an A from one font lies on an A from
// another the way a type designer would overlay them: same baseline, same cap height.

import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import opentype from 'opentype.js';
import sharp from 'sharp';
import { UserError } from '../../errors.ts';
import { RefusedFile, importBudget, readHead, readRegular, statNamed, type FileCap, type OpenOptions } from './files.ts';
import { GLYPH_GEOMETRY, type FontInfo, type GlyphSet } from '../glyphset.ts';
import { LETTERS, type Imported, type Importer, type ImportOptions } from './types.ts';

export const RENDER_RULE =
  'A–Z at 32×32, one grey channel, white ink on black, antialiased (the SVG path of each glyph ' +
  'rendered by librsvg at 4× and averaged over 4×4 blocks). Every font is scaled so that its cap ' +
  'height is 20 px, with the baseline on y = 25: flat-bottomed letters end on row 24 and H starts on ' +
  'row 5. Cap height is OS/2 sCapHeight when it lies between 80% and 110% of the top of H (script ' +
  'faces flourish their H above it), else the top of H. Each letter is centred horizontally on its ' +
  'own ink. A font any of whose letters would cross an edge of the 32×32 cell is shrunk uniformly ' +
  'about the baseline until all 26 fit (never clipped), and says so.';

const SUPERSAMPLE = 4;
/** Bounds on sCapHeight ÷ top of H within which the declared cap height is trusted. */
const CAP_HEIGHT_SANE = { min: 0.8, max: 1.1 } as const;
const FONT_EXTENSIONS = new Set(['.ttf', '.otf', '.woff', '.woff2', '.ttc', '.otc']);
/** Latin fonts are well under 1 MB; this still takes the CJK collections (about 20 MB) a fonts folder may hold. */
export const FONT_CAP: FileCap = { maxBytes: 32 * 2 ** 20, what: 'a font file' };
/** Fonts are read one at a time, so this bounds the time an import takes more than its memory. */
const MAX_IMPORT_BYTES = 4 * 2 ** 30;

export type RenderedFont =
  | {
      /** 26 × size × size grey pixels, A first, white ink on black. */
      pixels: Uint8Array;
      /** 1, or the uniform shrink that made every letter fit, with the letter that needed most. */
      fit: { scale: number; letter: string };
      capHeightFrom: 'OS/2' | 'H';
    }
  | { missing: string[] };

/** Draws A–Z of `font` by RENDER_RULE, or names the letters it has no outline for. */
export async function renderFont(font: opentype.Font, size = 32): Promise<RenderedFont> {
  const outlines = letterOutlines(font);
  const missing = LETTERS.filter((_, i) => outlines[i] === null);
  if (missing.length > 0) return { missing };
  const letters = outlines as Outline[];
  const { capHeight, from } = capHeightOf(font, letters[LETTERS.indexOf('H')])!;
  const { placed, fit } = placeByRule(letters, capHeight, size);
  return { pixels: await rasterise(placed, size), fit, capHeightFrom: from };
}

export interface RenderedLetters {
  /** Letter → size × size grey pixels, white ink on black, for each capital the font has, A→Z. */
  glyphs: Map<string, Uint8Array>;
  fit: { scale: number; letter: string };
  capHeightFrom: 'OS/2' | 'H';
}

/**
 * Draws the capitals `font` has by RENDER_RULE, for a font still being drawn; the shrink that
 * fits them is over these letters alone. Null when it has none, or neither an H nor an OS/2 cap
 * height to scale by.
 */
export async function renderLetters(font: opentype.Font, size = 32): Promise<RenderedLetters | null> {
  const outlines = letterOutlines(font);
  const letters = outlines.filter((outline): outline is Outline => outline !== null);
  const cap = capHeightOf(font, outlines[LETTERS.indexOf('H')] ?? undefined);
  if (letters.length === 0 || cap === null) return null;
  const { placed, fit } = placeByRule(letters, cap.capHeight, size);
  const pixels = await rasterise(placed, size);
  const glyphs = new Map(letters.map(({ letter }, i) => [letter, pixels.slice(i * size * size, (i + 1) * size * size)]));
  return { glyphs, fit, capHeightFrom: cap.from };
}

/** A FontInfo from the font's name table: family and style, and its licence when it states one. */
export function fontInfo(font: opentype.Font, source: string): FontInfo {
  const family = englishName(font, 'preferredFamily') ?? englishName(font, 'fontFamily') ?? basename(source);
  const style = englishName(font, 'preferredSubfamily') ?? englishName(font, 'fontSubfamily');
  const license = nameTableLicense(font);
  return { name: style ? `${family} ${style}` : family, source, ...(license && { license }) };
}

/** The name table's licence description (its first paragraph) and licence URL, when present. */
export function nameTableLicense(font: opentype.Font): string | undefined {
  const text = englishName(font, 'license')?.split(/\n\s*\n/)[0].replace(/\s+/g, ' ').trim();
  const url = englishName(font, 'licenseURL')?.trim();
  const short = text && text.length > 300 ? `${text.slice(0, 299)}…` : text;
  const parts = [short, url && !short?.includes(url) ? url : undefined].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** Parses font bytes (TTF, OTF, WOFF; one face of a TTC); throws opentype.js's own error. */
export function parseFont(bytes: Uint8Array): opentype.Font {
  return opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** A letter glyph set from fonts and their renderFont pixels (26 × size × size each), in order. */
export function glyphSetOfFonts(fonts: FontInfo[], rendered: Uint8Array[], size = 32): GlyphSet {
  const count = fonts.length * LETTERS.length;
  const pixels = new Uint8Array(count * size * size);
  rendered.forEach((glyphs, font) => pixels.set(glyphs, font * LETTERS.length * size * size));
  return {
    height: size,
    width: size,
    channels: 1,
    count,
    pixels,
    labels: Int32Array.from({ length: count }, (_, i) => i % LETTERS.length),
    fontIds: Int32Array.from({ length: count }, (_, i) => Math.floor(i / LETTERS.length)),
    classNames: [...LETTERS],
    fonts,
  };
}

export const fontsImporter: Importer = {
  format: 'fonts',
  extensions: [...FONT_EXTENSIONS],

  async sniff(path) {
    try {
      const info = await statNamed(path);
      if (info.isFile()) return await startsLikeFont(path, true);
      for await (const file of fontFilesUnder(path)) {
        if (await startsLikeFont(file, false)) return true;
      }
      return false;
    } catch {
      return false;
    }
  },

  async read(path, opts = {}) {
    const info = await statNamed(path, 'Give a font file (.ttf, .otf, .woff) or a folder of them.');
    const files: string[] = [];
    if (info.isDirectory()) {
      opts.onProgress?.({ phase: 'finding fonts', done: 0, total: null });
      for await (const file of fontFilesUnder(path)) files.push(file);
      if (files.length === 0) {
        throw new UserError(
          `${path} holds no font files (${[...FONT_EXTENSIONS].join(', ')}). Point Fontloom at a font file ` +
            'or at a folder that contains some.',
        );
      }
    } else {
      files.push(path);
    }
    return importFonts(files, info.isDirectory() ? path : null, opts);
  },
};

type Outline = { letter: string; pathData: string; box: { x1: number; y1: number; x2: number; y2: number } };

/** Each letter's outline in font units (y down, origin on the baseline), or null when it has none. */
function letterOutlines(font: opentype.Font): (Outline | null)[] {
  return LETTERS.map((letter) => {
    const index = font.charToGlyphIndex(letter);
    if (!index) return null;
    const path = font.glyphs.get(index).getPath(0, 0, font.unitsPerEm, {}, font);
    const box = path.getBoundingBox();
    if (path.commands.length === 0 || box.isEmpty() || box.x2 <= box.x1 || box.y2 <= box.y1) return null;
    return { letter, pathData: path.toPathData(2), box: { x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2 } };
  });
}

/** OS/2 sCapHeight where it is near the drawn H (some fonts declare nonsense), else H's top; without H, sCapHeight or null. */
function capHeightOf(font: opentype.Font, h: Outline | undefined): { capHeight: number; from: 'OS/2' | 'H' } | null {
  const declared = font.tables.os2?.sCapHeight as number | undefined;
  if (!h) return declared ? { capHeight: declared, from: 'OS/2' } : null;
  const measured = -h.box.y1;
  if (declared && declared >= CAP_HEIGHT_SANE.min * measured && declared <= CAP_HEIGHT_SANE.max * measured) {
    return { capHeight: declared, from: 'OS/2' };
  }
  return { capHeight: measured, from: 'H' };
}

/** Scales outlines so that `capHeight` becomes the geometry's cap height, shrinks them all to fit, and centres each on its ink. */
function placeByRule(letters: Outline[], capHeight: number, size: number) {
  const baseline = (GLYPH_GEOMETRY.baseline * size) / 32;
  const capScale = (GLYPH_GEOMETRY.capHeight * size) / 32 / capHeight;
  const fit = fitScale(letters, capScale, size, baseline);
  const scale = capScale * fit.scale;
  const placed = letters.map((letter): Placed => ({
    pathData: letter.pathData,
    x: size / 2 - (scale * (letter.box.x1 + letter.box.x2)) / 2,
    y: baseline,
    scale,
  }));
  return { placed, fit };
}

/** The uniform shrink (≤ 1) about the baseline that keeps every letter inside the cell. */
function fitScale(letters: Outline[], scale: number, size: number, baseline: number) {
  let fit = { scale: 1, letter: '' };
  letters.forEach(({ letter, box }) => {
    const room = Math.min(
      size / ((box.x2 - box.x1) * scale),
      box.y1 < 0 ? baseline / (-box.y1 * scale) : Infinity,
      box.y2 > 0 ? (size - baseline) / (box.y2 * scale) : Infinity,
    );
    if (room < fit.scale) fit = { scale: room, letter };
  });
  return fit;
}

interface Placed {
  pathData: string;
  /** Where the glyph's origin goes in its cell, in output pixels, and output pixels per font unit. */
  x: number;
  y: number;
  scale: number;
}

/**
 * Renders the 26 letters in a row of cells at SUPERSAMPLE× and averages each SUPERSAMPLE² block
 * into one pixel. Cells are a pixel apart so that no antialiasing spills into a neighbour.
 */
async function rasterise(letters: Placed[], size: number): Promise<Uint8Array> {
  const cell = size * SUPERSAMPLE;
  const pitch = (size + 1) * SUPERSAMPLE;
  const width = letters.length * pitch;
  const paths = letters.map(({ pathData, x, y, scale }, i) => {
    const s = SUPERSAMPLE;
    return `<path transform="translate(${i * pitch + x * s} ${y * s}) scale(${scale * s})" d="${pathData}"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${cell}">` +
    `<rect width="${width}" height="${cell}" fill="#000"/><g fill="#fff">${paths.join('')}</g></svg>`;
  const grey = await sharp(Buffer.from(svg)).extractChannel(0).raw().toBuffer();
  const pixels = new Uint8Array(letters.length * size * size);
  const area = SUPERSAMPLE * SUPERSAMPLE;
  for (let letter = 0; letter < letters.length; letter++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let sum = 0;
        for (let dy = 0; dy < SUPERSAMPLE; dy++) {
          const start = (y * SUPERSAMPLE + dy) * width + letter * pitch + x * SUPERSAMPLE;
          for (let dx = 0; dx < SUPERSAMPLE; dx++) sum += grey[start + dx];
        }
        pixels[(letter * size + y) * size + x] = Math.round(sum / area);
      }
    }
  }
  return pixels;
}

type Magic = 'sfnt' | 'woff' | 'woff2' | 'collection';

export function fontMagic(head: Buffer): Magic | null {
  if (head.length < 4) return null;
  const tag = head.toString('latin1', 0, 4);
  if (head.readUInt32BE(0) === 0x00010000 || tag === 'OTTO' || tag === 'true') return 'sfnt';
  if (tag === 'wOFF') return 'woff';
  if (tag === 'wOF2') return 'woff2';
  if (tag === 'ttcf') return 'collection';
  return null;
}

async function startsLikeFont(file: string, named: boolean): Promise<boolean> {
  const head = await readHead(file, 4, { named });
  return head !== null && fontMagic(head) !== null;
}

/**
 * Font-named entries under `dir`, breadth first and sorted, so a shallow font is found quickly.
 * Only real folders are entered; a font-named link or special file is listed, to be refused when read.
 */
async function* fontFilesUnder(dir: string): AsyncGenerator<string> {
  const queue = [dir];
  while (queue.length > 0) {
    const current = queue.shift()!;
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) queue.push(full);
      else if (FONT_EXTENSIONS.has(extname(entry.name).toLowerCase())) yield full;
    }
  }
}

/** Why a file gave no font, worded to follow its path: "x.ttf could not be read as a font: …". */
class Unusable extends Error {}

interface DrawnFace {
  info: FontInfo;
  rendered: RenderedFont;
}

async function importFonts(files: string[], folder: string | null, opts: ImportOptions): Promise<Imported> {
  const notes: string[] = [];
  const fonts: FontInfo[] = [];
  const pixels: Uint8Array[] = [];
  const budget = importBudget(folder ?? files[0], MAX_IMPORT_BYTES);
  for (const [done, file] of files.entries()) {
    opts.onProgress?.({ phase: 'rendering fonts', done, total: files.length });
    let drawn: DrawnFace[];
    try {
      drawn = await drawFile(file, { named: folder === null, cap: FONT_CAP, budget });
    } catch (err) {
      const why = err instanceof Unusable ? `${file} ${err.message}` : err instanceof RefusedFile ? err.message : null;
      if (why === null) throw err;
      // A lone file that is not a font is the user's mistake; junk in a folder (links, FIFOs and oversized files too) is only noted.
      if (folder === null) throw new UserError(why);
      notes.push(`${why} Skipped.`);
      continue;
    }
    for (const { info, rendered } of drawn) {
      if ('missing' in rendered) {
        notes.push(`${info.name} (${info.source}) lacks ${rendered.missing.join(', ')}: skipped.`);
        continue;
      }
      if (rendered.fit.scale < 1) {
        notes.push(
          `${info.name} (${info.source}) is drawn at ${Math.round(rendered.fit.scale * 100)}% of the common ` +
            `cap height so that its ${rendered.fit.letter} fits in the 32×32 cell.`,
        );
      }
      fonts.push(info);
      pixels.push(rendered.pixels);
    }
  }
  opts.onProgress?.({ phase: 'rendering fonts', done: files.length, total: files.length });
  const where = folder ?? files[0];
  if (fonts.length === 0) {
    throw new UserError(
      `${where} holds no usable font: a font needs outlines for all 26 capitals A–Z.\n` +
        notes.map((note) => `- ${note}`).join('\n'),
    );
  }
  const suggestedName = folder ? basename(folder) : basename(files[0], extname(files[0]));
  return { set: glyphSetOfFonts(fonts, pixels), notes, suggestedName };
}

/** Reads, parses and draws every face in one file; throws Unusable when it cannot (RefusedFile when it may not). */
async function drawFile(file: string, read: OpenOptions): Promise<DrawnFace[]> {
  const faces = facesOf(await readRegular(file, read));
  const drawn: DrawnFace[] = [];
  for (const [i, font] of faces.entries()) {
    const info = fontInfo(font, faces.length > 1 ? `${file}#${i}` : file);
    try {
      drawn.push({ info, rendered: await renderFont(font) });
    } catch (err) {
      // opentype.js parses glyph outlines lazily, so a damaged font can fail only when drawn.
      throw new Unusable(`could not be read as a font: opentype.js could not draw ${info.name} (${(err as Error).message}): it may be damaged.`);
    }
  }
  return drawn;
}

/** The fonts in a font file: one, or each face of a collection. */
function facesOf(bytes: Buffer): opentype.Font[] {
  const magic = fontMagic(bytes);
  if (magic === 'woff2') {
    throw new Unusable(
      'is a WOFF2 font, which Fontloom cannot read (opentype.js has no WOFF2 decoder). ' +
        'Convert it to WOFF, TTF or OTF first (e.g. with woff2_decompress).',
    );
  }
  if (magic === null) {
    throw new Unusable(
      `could not be read as a font: it does not begin as TrueType, OpenType and WOFF fonts do (${beginning(bytes)}). ` +
        'It may be another kind of file named like a font, or a damaged one.',
    );
  }
  if (magic === 'collection') {
    return collectionFaces(bytes).map(parseOrExplain);
  }
  return [parseOrExplain(bytes)];
}

function parseOrExplain(bytes: Uint8Array): opentype.Font {
  try {
    return parseFont(bytes);
  } catch (err) {
    throw new Unusable(`could not be read as a font: it begins as a font does, but its tables are damaged (opentype.js: ${(err as Error).message}).`);
  }
}

/** A file's first bytes as a person can read them: as text when they are text, else in hex. */
function beginning(bytes: Buffer): string {
  if (bytes.length === 0) return 'it is empty';
  const head = bytes.subarray(0, 16);
  const text = head.toString('latin1');
  if (/^[\x20-\x7e\t\r\n]+$/.test(text)) return `it begins “${text.replace(/\s+/g, ' ').trim()}${bytes.length > head.length ? '…' : ''}”`;
  return `its first bytes are ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}

/**
 * Each face of a TTC as a standalone sfnt. Table offsets in a collection are absolute, so a copy
 * of the whole file with the face's table directory written over the collection header reads as
 * that one font (opentype.js reads only single fonts).
 */
function collectionFaces(bytes: Buffer): Buffer[] {
  if (bytes.length < 12) throw new Unusable('could not be read as a font: its collection header is cut short.');
  const count = bytes.readUInt32BE(8);
  if (count < 1 || 12 + 4 * count > bytes.length) {
    throw new Unusable('could not be read as a font: its collection header is damaged.');
  }
  return Array.from({ length: count }, (_, i) => {
    const offset = bytes.readUInt32BE(12 + 4 * i);
    const tables = offset + 6 <= bytes.length ? bytes.readUInt16BE(offset + 4) : 0;
    const directoryEnd = offset + 12 + 16 * tables;
    const unpackable = tables > 0 && directoryEnd <= bytes.length && Array.from({ length: tables })
      .every((_, t) => bytes.readUInt32BE(offset + 12 + 16 * t + 8) >= 12 + 16 * tables);
    if (!unpackable) {
      throw new Unusable(`could not be read as a font: face ${i} of the collection has a layout Fontloom cannot unpack.`);
    }
    const face = Buffer.from(bytes);
    bytes.copy(face, 0, offset, directoryEnd);
    return face;
  });
}

function englishName(font: opentype.Font, key: string): string | undefined {
  const name = font.getEnglishName(key);
  return typeof name === 'string' && name.trim() !== '' ? name.trim() : undefined;
}
