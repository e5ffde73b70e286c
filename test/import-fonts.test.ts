import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import opentype from 'opentype.js';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GLYPH_GEOMETRY, type GlyphSet } from '../src-main/data/glyphset.ts';
import { fontsImporter } from '../src-main/data/importers/fonts.ts';
import { LETTERS } from '../src-main/data/importers/types.ts';
import { UserError } from '../src-main/errors.ts';
import { makeFifo, releaseFifos } from './helpers/special-files.ts';

const PT_SANS = fileURLToPath(new URL('fixtures/fonts/pt-sans-latin-400-normal.woff', import.meta.url));
const DEJAVU_SANS = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
/** The documented rows at 32 px: flat bottoms end on row 24, H's top is row 5. */
const BASELINE_ROW = 24;
const CAP_ROW = 5;
const FLAT_BOTTOMED = ['E', 'H', 'L', 'T', 'Z'];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-fonts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function glyph(set: GlyphSet, font: number, letter: string): Uint8Array {
  const i = font * 26 + LETTERS.indexOf(letter);
  return set.pixels.subarray(i * 32 * 32, (i + 1) * 32 * 32);
}

const POSITIONS = Array.from({ length: 32 }, (_, i) => i);

/** Rows holding solid ink (at least half white), top to bottom. */
function inkRows(pixels: Uint8Array): number[] {
  return POSITIONS.filter((y) => POSITIONS.some((x) => pixels[y * 32 + x] >= 128));
}

/** Columns holding solid ink, left to right. */
function inkColumns(pixels: Uint8Array): number[] {
  return POSITIONS.filter((x) => POSITIONS.some((y) => pixels[y * 32 + x] >= 128));
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return err as Error;
}

function rectangle(x1: number, y1: number, x2: number, y2: number): opentype.Path {
  const path = new opentype.Path();
  path.moveTo(x1, y1);
  path.lineTo(x2, y1);
  path.lineTo(x2, y2);
  path.lineTo(x1, y2);
  path.close();
  return path;
}

/**
 * A font built on the spot: each letter in `outlined` is a 600×700 block (cap height 700), `empty`
 * letters map to a glyph with no outline, the rest are absent; `wide` letters are 3000 units wide.
 */
function makeFont(family: string, outlined: readonly string[], opts: { empty?: string[]; wide?: string[] } = {}): Buffer {
  const glyphs = [new opentype.Glyph({ name: '.notdef', advanceWidth: 500, path: new opentype.Path() })];
  for (const letter of outlined) {
    const width = opts.wide?.includes(letter) ? 3000 : 600;
    glyphs.push(new opentype.Glyph({
      name: letter, unicode: letter.charCodeAt(0), advanceWidth: width + 100, path: rectangle(50, 0, 50 + width, 700),
    }));
  }
  for (const letter of opts.empty ?? []) {
    glyphs.push(new opentype.Glyph({ name: letter, unicode: letter.charCodeAt(0), advanceWidth: 600, path: new opentype.Path() }));
  }
  const font = new opentype.Font({ familyName: family, styleName: 'Regular', unitsPerEm: 1000, ascender: 800, descender: -200, glyphs });
  return Buffer.from(font.toArrayBuffer());
}

/** A TrueType collection ('ttcf') holding the given single fonts, table offsets made absolute. */
function makeCollection(fonts: Buffer[]): Buffer {
  const header = Buffer.alloc(12 + 4 * fonts.length);
  header.write('ttcf', 0, 'latin1');
  header.writeUInt32BE(0x00010000, 4);
  header.writeUInt32BE(fonts.length, 8);
  let offset = header.length;
  const parts = fonts.map((font, i) => {
    const copy = Buffer.from(font);
    header.writeUInt32BE(offset, 12 + 4 * i);
    for (let t = 0; t < copy.readUInt16BE(4); t++) {
      const at = 12 + 16 * t + 8;
      copy.writeUInt32BE(copy.readUInt32BE(at) + offset, at);
    }
    offset += copy.length;
    return copy;
  });
  return Buffer.concat([header, ...parts]);
}

describe('importing font files', () => {
  it('renders A–Z of a WOFF from the default set as 32×32 white-on-black glyphs', async () => {
    const { set, notes, suggestedName } = await fontsImporter.read(PT_SANS);
    expect(set.count).toBe(26);
    expect([set.height, set.width, set.channels]).toEqual([32, 32, 1]);
    expect(set.classNames).toEqual(LETTERS);
    expect(Array.from(set.labels)).toEqual(LETTERS.map((_, i) => i));
    expect(set.fonts).toHaveLength(1);
    expect(set.fonts[0].name).toBe('PT Sans Regular');
    expect(set.fonts[0].source).toBe(PT_SANS);
    expect(set.fonts[0].license).toBe('http://scripts.sil.org/OFL_web'); // its name table's licence URL
    expect(notes).toEqual([]);
    expect(suggestedName).toBe('pt-sans-latin-400-normal');
    for (const letter of LETTERS) {
      const pixels = glyph(set, 0, letter);
      const ink = pixels.filter((v) => v >= 128).length;
      const background = pixels.filter((v) => v === 0).length;
      expect(ink, `${letter} has ink`).toBeGreaterThan(20);
      expect(background, `${letter} is on black`).toBeGreaterThan(ink);
      expect(Math.max(...pixels), `${letter} is white`).toBe(255);
      expect([pixels[0], pixels[31], pixels[31 * 32], pixels[1023]], `${letter}'s corners`).toEqual([0, 0, 0, 0]);
    }
  });

  it('stands flat-bottomed letters on the baseline row and H on the cap-height row', async () => {
    const { set } = await fontsImporter.read(PT_SANS);
    expect(GLYPH_GEOMETRY.baseline - 1).toBe(BASELINE_ROW);
    expect(GLYPH_GEOMETRY.baseline - GLYPH_GEOMETRY.capHeight).toBe(CAP_ROW);
    for (const letter of FLAT_BOTTOMED) expect(inkRows(glyph(set, 0, letter)).at(-1), letter).toBe(BASELINE_ROW);
    expect(inkRows(glyph(set, 0, 'H'))[0]).toBe(CAP_ROW);
  });

  it('centres each letter on its own ink', async () => {
    const { set } = await fontsImporter.read(PT_SANS);
    for (const letter of ['H', 'L', 'O', 'P']) {
      const columns = inkColumns(glyph(set, 0, letter));
      const left = columns[0];
      const right = 31 - columns.at(-1)!;
      expect(Math.abs(left - right), letter).toBeLessThanOrEqual(1);
    }
  });

  it('lines up two different fonts (PT Sans WOFF, DejaVu Sans TTF) on baseline and cap height', async (ctx) => {
    if (!existsSync(DEJAVU_SANS)) {
      console.log(`skipped: ${DEJAVU_SANS} is missing (install fonts-dejavu-core)`);
      ctx.skip();
    }
    await copyFile(PT_SANS, join(dir, 'pt-sans.woff'));
    await copyFile(DEJAVU_SANS, join(dir, 'DejaVuSans.ttf'));
    const { set } = await fontsImporter.read(dir);
    expect(set.fonts.map((f) => f.name)).toEqual(['DejaVu Sans Book', 'PT Sans Regular']);
    for (const letter of ['E', 'H']) {
      const [dejavu, pt] = [inkRows(glyph(set, 0, letter)), inkRows(glyph(set, 1, letter))];
      expect([dejavu[0], dejavu.at(-1)], `DejaVu ${letter}`).toEqual([CAP_ROW, BASELINE_ROW]);
      expect([pt[0], pt.at(-1)], `PT Sans ${letter}`).toEqual([CAP_ROW, BASELINE_ROW]);
    }
  });

  it('imports the fonts in a folder, noting a junk .ttf and ignoring other files', async () => {
    await mkdir(join(dir, 'nested/deeper'), { recursive: true });
    await copyFile(PT_SANS, join(dir, 'nested/deeper/pt-sans.woff'));
    await writeFile(join(dir, 'junk.ttf'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256)));
    await writeFile(join(dir, 'readme.txt'), 'not a font, not a font file name either');
    const { set, notes, suggestedName } = await fontsImporter.read(dir);
    expect(set.count).toBe(26);
    expect(set.fonts[0].name).toBe('PT Sans Regular');
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain(join(dir, 'junk.ttf'));
    expect(notes[0]).toMatch(/junk\.ttf could not be read as a font: it does not begin as TrueType, OpenType and WOFF fonts do \(its first bytes are 0d 6e cf 30\)\..* Skipped\.$/);
    expect(suggestedName).toBe(dir.split('/').at(-1));
  });

  it('refuses a lone .ttf that is not a font, naming it and saying why it could not be read', async () => {
    const junk = join(dir, 'x.ttf');
    await writeFile(junk, Buffer.from('this is plain text wearing a .ttf name'));
    const err = await rejection(fontsImporter.read(junk));
    expect(err.message).toContain(`${junk} could not be read as a font: it does not begin as TrueType, OpenType and WOFF fonts do (it begins “this is plain te…”)`);
  });

  it('says a font whose first bytes are a font\'s but whose tables are cut short is damaged', async () => {
    const cut = join(dir, 'cut.ttf');
    await writeFile(cut, (await readFile(DEJAVU_SANS)).subarray(0, 64));
    const err = await rejection(fontsImporter.read(cut));
    expect(err.message).toContain(`${cut} could not be read as a font: it begins as a font does, but its tables are damaged (opentype.js: `);
  });

  it('refuses a lone WOFF2 and notes one in a folder, saying how to convert it', async () => {
    const woff2 = join(dir, 'face.woff2');
    await writeFile(woff2, Buffer.concat([Buffer.from('wOF2'), Buffer.alloc(60)]));
    expect((await rejection(fontsImporter.read(woff2))).message).toMatch(/WOFF2.*convert it to WOFF, TTF or OTF/is);
    await copyFile(PT_SANS, join(dir, 'pt-sans.woff'));
    const { set, notes } = await fontsImporter.read(dir);
    expect(set.fonts).toHaveLength(1);
    expect(notes).toEqual([expect.stringContaining(`${woff2} is a WOFF2 font`)]);
  });

  it('skips a font lacking letters with a note naming them', async () => {
    await writeFile(join(dir, 'partial.otf'), makeFont('Partial', ['A', 'B', 'C'], { empty: ['D'] }));
    await copyFile(PT_SANS, join(dir, 'pt-sans.woff'));
    const { set, notes } = await fontsImporter.read(dir);
    expect(set.fonts.map((f) => f.name)).toEqual(['PT Sans Regular']);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^Partial Regular \(.*partial\.otf\) lacks D, E, F, .*, Z: skipped\.$/);
    expect(notes[0]).not.toMatch(/lacks A|[, ]B,|[, ]C,/);
  });

  it('refuses a folder whose only fonts lack letters', async () => {
    await writeFile(join(dir, 'one.otf'), makeFont('One', ['A', 'B', 'C']));
    await writeFile(join(dir, 'two.otf'), makeFont('Two', LETTERS.filter((l) => l !== 'Q')));
    const err = await rejection(fontsImporter.read(dir));
    expect(err.message).toContain(`${dir} holds no usable font`);
    expect(err.message).toMatch(/One Regular .* lacks D, E/);
    expect(err.message).toMatch(/Two Regular .* lacks Q: skipped/);
  });

  it('refuses a folder with no font files at all', async () => {
    await writeFile(join(dir, 'notes.txt'), 'hello');
    expect((await rejection(fontsImporter.read(dir))).message).toContain(`${dir} holds no font files`);
  });

  it('shrinks a font whose W is too wide for the cell, uniformly about the baseline, and says so', async () => {
    const file = join(dir, 'wide.otf');
    await writeFile(file, makeFont('Wide', LETTERS, { wide: ['W'] }));
    const { set, notes } = await fontsImporter.read(file);
    expect(notes).toEqual([expect.stringMatching(/^Wide Regular .* is drawn at \d+% of the common cap height so that its W fits/)]);
    const w = glyph(set, 0, 'W');
    // The 3000×700 block spans the cell's 32 columns and keeps its proportions (about 7.5 rows),
    // so it was scaled down whole, not cut at the edges.
    expect(inkColumns(w)).toHaveLength(32);
    expect(inkRows(w)).toEqual([18, 19, 20, 21, 22, 23, 24]);
    const h = inkRows(glyph(set, 0, 'H'));
    expect(h.at(-1)).toBe(BASELINE_ROW);
    expect(h[0]).toBeGreaterThan(CAP_ROW);
  });

  it('reads every face of a TrueType collection', async () => {
    const file = join(dir, 'pair.ttc');
    await writeFile(file, makeCollection([makeFont('First', LETTERS), makeFont('Second', LETTERS)]));
    expect(await fontsImporter.sniff(file)).toBe(true);
    const { set } = await fontsImporter.read(file);
    expect(set.fonts.map((f) => [f.name, f.source])).toEqual([
      ['First Regular', `${file}#0`],
      ['Second Regular', `${file}#1`],
    ]);
    expect(inkRows(glyph(set, 1, 'E'))).toEqual(Array.from({ length: 20 }, (_, i) => CAP_ROW + i));
  });
});

describe('recognising font files', () => {
  it('knows font files and folders holding them by their first bytes', async () => {
    expect(await fontsImporter.sniff(PT_SANS)).toBe(true);
    await mkdir(join(dir, 'fonts/inside'), { recursive: true });
    await copyFile(PT_SANS, join(dir, 'fonts/inside/a.woff'));
    expect(await fontsImporter.sniff(join(dir, 'fonts'))).toBe(true);
    const otf = join(dir, 'made.otf');
    await writeFile(otf, makeFont('Made', ['A']));
    expect(await fontsImporter.sniff(otf)).toBe(true);
    if (existsSync(DEJAVU_SANS)) expect(await fontsImporter.sniff(DEJAVU_SANS)).toBe(true);
  });

  it('passes over a PNG, a CSV, random bytes and a folder of those', async () => {
    const png = join(dir, 'other/a.png');
    await mkdir(join(dir, 'other'));
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#000' } }).png().toFile(png);
    const csv = join(dir, 'other/letters.csv');
    await writeFile(csv, 'label,p0,p1\n0,0,255\n');
    const noise = join(dir, 'other/noise.ttf');
    await writeFile(noise, Buffer.from([0x13, 0x37, 0xc0, 0xde, 0x00, 0x01, 0x02, 0x03]));
    for (const path of [png, csv, noise, join(dir, 'other'), join(dir, 'missing.ttf')]) {
      expect(await fontsImporter.sniff(path), path).toBe(false);
    }
  });
});

describe('opening regular font files only, within their cap', () => {
  afterEach(releaseFifos);

  it('refuses a lone FIFO named as a font, instead of waiting on it', async () => {
    const fifo = makeFifo(join(dir, 'face.ttf'));
    expect((await rejection(fontsImporter.read(fifo))).message).toBe(
      `${fifo} is a FIFO, not a regular file: Fontloom imports regular files only.`,
    );
    expect(await fontsImporter.sniff(fifo)).toBe(false);
  }, 10_000);

  it('skips a FIFO and a link among a folder\'s fonts with a note naming each, and never opens them', async () => {
    await copyFile(PT_SANS, join(dir, 'pt-sans.woff'));
    const fifo = makeFifo(join(dir, 'pipe.ttf'));
    const link = join(dir, 'linked.woff');
    await symlink(PT_SANS, link);
    const { set, notes } = await fontsImporter.read(dir);
    expect(set.fonts.map((font) => font.source)).toEqual([join(dir, 'pt-sans.woff')]);
    expect(notes).toEqual([
      `${link} is a symbolic link, not a regular file: Fontloom imports regular files only. ` +
        'Links inside a dataset folder are not followed: put the file or folder it points to in its place. Skipped.',
      `${fifo} is a FIFO, not a regular file: Fontloom imports regular files only. Skipped.`,
    ]);
  }, 10_000);

  it('refuses a lone font file over the 32 MB cap, naming it and the cap, and notes one in a folder', async () => {
    const big = join(dir, 'big.otf');
    await writeFile(big, makeFont('Big', LETTERS));
    await truncate(big, 40 * 2 ** 20); // sparse
    const refusal = `${big} is 40.0 MB, over the 32.0 MB limit for a font file. Is it the right file?`;
    expect((await rejection(fontsImporter.read(big))).message).toBe(refusal);
    await copyFile(PT_SANS, join(dir, 'pt-sans.woff'));
    expect((await fontsImporter.read(dir)).notes).toEqual([`${refusal} Skipped.`]);
  });
});
