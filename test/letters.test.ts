import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import opentype from 'opentype.js';
import sharp from 'sharp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GLYPH_GEOMETRY } from '../src-main/data/glyphset.ts';
import { parseFont, renderFont } from '../src-main/data/importers/fonts.ts';
import { LETTERS } from '../src-main/data/importers/types.ts';
import { lettersFromImages, normaliseLetterImage, readLetters } from '../src-main/data/letters.ts';
import { UserError } from '../src-main/errors.ts';

const PT_SANS = fileURLToPath(new URL('fixtures/fonts/pt-sans-latin-400-normal.woff', import.meta.url));
const DEJAVU_SANS = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const SIZE = 32;
/** The documented rows at 32 px: flat bottoms end on row 24, H's top is row 5. */
const BASELINE_ROW = GLYPH_GEOMETRY.baseline - 1;
const CAP_ROW = GLYPH_GEOMETRY.baseline - GLYPH_GEOMETRY.capHeight;
/**
 * Mean |difference| per pixel, out of 255, between a letter as the dataset draws it and the same
 * letter drawn 200 px high and read back. Measured for PT Sans (dark on light, 200 px): H 2.4,
 * A 3.9, R 3.8, W 3.7, O 6.6 (round letters overshoot the cap height and baseline in the font, and
 * an image's ink is scaled to the cap height); DejaVu Serif's worst capital, G, 10.0. Q, scaled
 * whole including its tail and stood on the baseline, is 40.
 */
const SAME_LETTER_MAD = 10;

let font: opentype.Font;
/** PT Sans as the dataset draws it: letter → 32×32 pixels. */
const dataset = new Map<string, Uint8Array>();
let dir: string;

beforeAll(async () => {
  font = parseFont(await readFile(PT_SANS));
  const rendered = await renderFont(font, SIZE);
  if ('missing' in rendered) throw new Error('PT Sans lacks letters');
  LETTERS.forEach((letter, i) => dataset.set(letter, rendered.pixels.slice(i * SIZE * SIZE, (i + 1) * SIZE * SIZE)));
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-letters-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Ink = 'dark on light' | 'light on dark' | 'grey on cream' | 'black on transparent' | 'white on transparent';

/** A PT Sans letter `px` high as a designer might export it: anywhere on a larger canvas, any polarity. */
async function letterImage(letter: string, opts: { px?: number; ink?: Ink; format?: 'png' | 'jpeg' } = {}): Promise<Buffer> {
  const { px = 200, ink = 'dark on light', format = 'png' } = opts;
  const path = font.getPath(letter, 0, 0, px);
  const box = path.getBoundingBox();
  const [left, top] = [px * 0.2, px * 0.35];
  const [width, height] = [Math.ceil(box.x2 - box.x1 + 2.5 * left), Math.ceil(box.y2 - box.y1 + 1.5 * top)];
  const [paper, pen] = {
    'dark on light': ['#fff', '#000'],
    'light on dark': ['#000', '#fff'],
    'grey on cream': ['#f3ead0', '#444'],
    'black on transparent': [null, '#000'],
    'white on transparent': [null, '#fff'],
  }[ink];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    (paper ? `<rect width="${width}" height="${height}" fill="${paper}"/>` : '') +
    `<path transform="translate(${left - box.x1} ${top - box.y1})" fill="${pen}" d="${path.toPathData(3)}"/></svg>`;
  const image = sharp(Buffer.from(svg));
  return format === 'jpeg' ? image.jpeg({ quality: 80 }).toBuffer() : image.png().toBuffer();
}

/** Mean absolute difference per pixel, 0–255. */
function meanDifference(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((sum, v, i) => sum + Math.abs(v - b[i]), 0) / a.length;
}

const POSITIONS = Array.from({ length: SIZE }, (_, i) => i);

/** Rows holding solid ink (at least half white), top to bottom. */
function inkRows(pixels: Uint8Array): number[] {
  return POSITIONS.filter((y) => POSITIONS.some((x) => pixels[y * SIZE + x] >= 128));
}

function inkColumns(pixels: Uint8Array): number[] {
  return POSITIONS.filter((x) => POSITIONS.some((y) => pixels[y * SIZE + x] >= 128));
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return err as Error;
}

/** A font still being drawn: PT Sans's outlines for `letters` only (font units, y up). */
function halfDrawnFont(letters: string[]): Buffer {
  const glyphs = [new opentype.Glyph({ name: '.notdef', advanceWidth: 500, path: new opentype.Path() })];
  for (const letter of letters) {
    const source = font.charToGlyph(letter);
    glyphs.push(new opentype.Glyph({ name: letter, unicode: letter.charCodeAt(0), advanceWidth: source.advanceWidth, path: source.path }));
  }
  const made = new opentype.Font({
    familyName: 'Unfinished', styleName: 'Regular', unitsPerEm: font.unitsPerEm, ascender: font.ascender, descender: font.descender, glyphs,
  });
  return Buffer.from(made.toArrayBuffer());
}

describe('reading a folder of letter images', () => {
  it('reads letters in either polarity, at any size and in PNG or JPEG, placed as the dataset places them', async () => {
    await writeFile(join(dir, 'A.png'), await letterImage('A', { px: 200, ink: 'light on dark' }));
    await writeFile(join(dir, 'h.PNG'), await letterImage('H', { px: 120 }));
    await writeFile(join(dir, 'M.jpg'), await letterImage('M', { px: 300, format: 'jpeg' }));
    await writeFile(join(dir, 'notes.txt'), 'my font, in progress');
    await writeFile(join(dir, 'B2.png'), await letterImage('B'));
    await writeFile(join(dir, 'B.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dir, '.DS_Store'), 'Finder');
    await mkdir(join(dir, 'old'));
    await symlink(join(dir, 'A.png'), join(dir, 'C.png'));

    const given = await readLetters(dir, { size: SIZE });
    expect(given.size).toBe(SIZE);
    expect([...given.letters.keys()]).toEqual(['A', 'H', 'M']);
    expect(given.source).toBe(`folder ${dir} (A.png, h.PNG, M.jpg)`);
    expect(given.skipped).toEqual([
      'B.svg: not an image Fontloom reads (.png .jpg .jpeg .webp .gif .tif .tiff)',
      'B2.png: not a letter A–Z (name each image after its letter, e.g. A.png)',
      'C.png: not a regular file (links inside the folder are not followed: put the image itself there)',
      'notes.txt: not an image Fontloom reads (.png .jpg .jpeg .webp .gif .tif .tiff)',
      'old: a folder (letters are read from the folder given, not from folders inside it)',
    ]);
    for (const [letter, pixels] of given.letters) {
      expect(pixels).toHaveLength(SIZE * SIZE);
      expect(Math.max(...pixels), `${letter} is white ink`).toBe(255);
      expect([pixels[0], pixels[SIZE - 1], pixels[SIZE * SIZE - 1]], `${letter} is on black`).toEqual([0, 0, 0]);
      expect(meanDifference(pixels, dataset.get(letter)!), letter).toBeLessThan(SAME_LETTER_MAD);
    }
    const h = given.letters.get('H')!;
    expect([inkRows(h)[0], inkRows(h).at(-1)]).toEqual([CAP_ROW, BASELINE_ROW]);
    const columns = inkColumns(h);
    expect(Math.abs(columns[0] - (SIZE - 1 - columns.at(-1)!))).toBeLessThanOrEqual(1);
  });

  it('counts transparent pixels as background, whatever the colour of the ink', async () => {
    for (const ink of ['black on transparent', 'white on transparent'] as const) {
      const glyph = await normaliseLetterImage(await letterImage('R', { px: 150, ink }), 'R', SIZE);
      expect(meanDifference(glyph!, dataset.get('R')!), ink).toBeLessThan(SAME_LETTER_MAD);
    }
  });

  it('takes grey ink on tinted paper, JPEG artefacts and all, to full white on black', async () => {
    const glyph = (await normaliseLetterImage(await letterImage('R', { px: 300, ink: 'grey on cream', format: 'jpeg' }), 'R', SIZE))!;
    expect(Math.max(...glyph)).toBe(255);
    expect(meanDifference(glyph, dataset.get('R')!)).toBeLessThan(SAME_LETTER_MAD);
  });

  it('gives only the letters asked for, and names the folder and the letter when one is missing', async () => {
    for (const letter of ['A', 'B', 'H', 'M', 'Q']) await writeFile(join(dir, `${letter}.png`), await letterImage(letter, { px: 60 }));
    const given = await readLetters(dir, { size: SIZE, letters: 'hamb' });
    expect([...given.letters.keys()]).toEqual(['A', 'B', 'H', 'M']);
    expect(given.skipped).toEqual(['Q.png: not among the letters asked for']);

    const err = await rejection(readLetters(dir, { size: SIZE, letters: 'HAMBZ' }));
    expect(err.message).toBe(`${dir} has no image of Z, which was asked for: expected Z.png (or .jpg, .webp …).`);
    expect((await rejection(readLetters(dir, { size: SIZE, letters: 'H4M' }))).message).toContain('"4" is not one');
    expect((await rejection(readLetters(dir, { size: SIZE, letters: 'HAMA' }))).message).toContain('name A twice');
  });

  it('refuses two images of one letter, naming both', async () => {
    await writeFile(join(dir, 'A.png'), await letterImage('A', { px: 60 }));
    await writeFile(join(dir, 'a.jpeg'), await letterImage('A', { px: 60, format: 'jpeg' }));
    const err = await rejection(readLetters(dir, { size: SIZE }));
    expect(err.message).toBe(`${dir} has 2 images of A: A.png and a.jpeg. Keep one.`);
  });

  it('skips a blank image with the reason, and refuses a folder with no usable letter, naming it', async () => {
    const white = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#fff' } }).png().toBuffer();
    const clear = await sharp({ create: { width: 80, height: 80, channels: 4, background: '#0000' } }).png().toBuffer();
    await writeFile(join(dir, 'Q.png'), white);
    await writeFile(join(dir, 'H.png'), await letterImage('H', { px: 60 }));
    const given = await readLetters(dir, { size: SIZE });
    expect([...given.letters.keys()]).toEqual(['H']);
    expect(given.skipped).toEqual(['Q.png: blank image (no ink stands out from its background)']);
    expect(await normaliseLetterImage(clear, 'X', SIZE)).toBeNull();

    await rm(join(dir, 'H.png'));
    await writeFile(join(dir, 'hello.png'), white);
    const err = await rejection(readLetters(dir, { size: SIZE }));
    expect(err.message).toBe(
      `${dir}: no letter images found: expected files named A.png … Z.png (one letter per file). Skipped: ` +
        'hello.png: not a letter A–Z (name each image after its letter, e.g. A.png); ' +
        'Q.png: blank image (no ink stands out from its background).',
    );
  });

  it('names the path when it does not exist, is a lone image, or holds an image that cannot be read', async () => {
    const missing = join(dir, 'nowhere');
    expect((await rejection(readLetters(missing, { size: SIZE }))).message).toBe(
      `${missing} does not exist. Give a folder of letter images (A.png … Z.png) or a font file (.ttf, .otf, .woff).`,
    );
    await writeFile(join(dir, 'A.png'), Buffer.from('a PNG name on plain text'));
    expect((await rejection(readLetters(join(dir, 'A.png'), { size: SIZE }))).message).toContain(
      `${join(dir, 'A.png')} is one image: give the folder that holds the letter images`,
    );
    expect((await rejection(readLetters(dir, { size: SIZE }))).message).toMatch(
      new RegExp(`^${join(dir, 'A.png')} is not an image Fontloom can read \\(.+\\)\\. Save it as PNG or JPEG`),
    );
  });

  it('refuses an image over 50 MB or 40 megapixels, naming it and the limit', async () => {
    const big = join(dir, 'B.png');
    await writeFile(big, await letterImage('B', { px: 60 }));
    await truncate(big, 60 * 2 ** 20); // sparse
    expect((await rejection(readLetters(dir, { size: SIZE }))).message).toBe(
      `${big} is 60.0 MB, over the 50.0 MB limit for a letter image. Is it the right file?`,
    );
    const huge = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#000' } }).png({ compressionLevel: 1 }).toBuffer();
    expect((await rejection(normaliseLetterImage(huge, 'H', SIZE))).message).toBe(
      'The image of H is 8000×6000, over the 40 megapixel limit for a letter image. A few hundred pixels a side is plenty.',
    );
  });
});

describe('reading the letters of a font file', () => {
  it('draws a TTF font\'s letters exactly as the dataset does, --letters picking H, A, M and B', async (ctx) => {
    if (!existsSync(DEJAVU_SANS)) {
      console.log(`skipped: ${DEJAVU_SANS} is missing (install fonts-dejavu-core)`);
      ctx.skip();
    }
    const given = await readLetters(DEJAVU_SANS, { size: SIZE, letters: 'HAMB' });
    expect([...given.letters.keys()]).toEqual(['A', 'B', 'H', 'M']);
    expect(given.source).toBe(`font ${DEJAVU_SANS}`);
    expect(given.skipped).toEqual([]);
    const rendered = await renderFont(parseFont(await readFile(DEJAVU_SANS)), SIZE);
    if ('missing' in rendered) throw new Error('DejaVu Sans lacks letters');
    for (const [letter, pixels] of given.letters) {
      const i = LETTERS.indexOf(letter);
      expect(pixels, letter).toEqual(rendered.pixels.slice(i * SIZE * SIZE, (i + 1) * SIZE * SIZE));
    }
  });

  it('gives every capital of a half-drawn font, as the dataset would draw them, and names what it lacks', async () => {
    const file = join(dir, 'unfinished.otf');
    await writeFile(file, halfDrawnFont(['H', 'A', 'M', 'B']));
    const given = await readLetters(file, { size: SIZE });
    expect([...given.letters.keys()]).toEqual(['A', 'B', 'H', 'M']);
    expect(given.skipped).toEqual([`${LETTERS.filter((l) => !'HAMB'.includes(l)).join(', ')}: not in the font`]);
    for (const [letter, pixels] of given.letters) expect(meanDifference(pixels, dataset.get(letter)!), letter).toBeLessThan(1);

    expect((await rejection(readLetters(file, { size: SIZE, letters: 'HQ' }))).message).toBe(
      `${file} has no Q, which was asked for (its capitals: ABHM).`,
    );
    await writeFile(file, halfDrawnFont([]));
    expect((await rejection(readLetters(file, { size: SIZE }))).message).toContain(`${file} has no H and declares no cap height`);
  });

  it('reads a WOFF and refuses a WOFF2, saying how to convert it', async () => {
    expect((await readLetters(PT_SANS, { size: SIZE, letters: 'r' })).letters.get('R')).toEqual(dataset.get('R'));
    const woff2 = join(dir, 'face.woff2');
    await writeFile(woff2, Buffer.concat([Buffer.from('wOF2'), Buffer.alloc(60)]));
    expect((await rejection(readLetters(woff2, { size: SIZE }))).message).toMatch(/WOFF2.*Convert it to WOFF, TTF or OTF/s);
  });
});

describe('letters from images in memory (the studio)', () => {
  it('takes the letter from each name, skips other names and refuses two images of one letter', async () => {
    const a = await letterImage('A', { px: 80, ink: 'light on dark' });
    const h = await letterImage('H', { px: 80, format: 'jpeg' });
    const given = await lettersFromImages([{ name: 'h', bytes: h }, { name: 'A.png', bytes: a }, { name: 'logo.png', bytes: a }], { size: SIZE });
    expect([...given.letters.keys()]).toEqual(['A', 'H']);
    expect(given.source).toBe('images (A.png, h)');
    expect(given.skipped).toEqual(['logo.png: not a letter A–Z (name each image after its letter, e.g. A.png)']);
    expect((await rejection(lettersFromImages([{ name: 'a.png', bytes: a }, { name: 'A', bytes: a }], { size: SIZE }))).message).toBe(
      'Two images are named for A: a.png and A. Keep one.',
    );
    expect((await rejection(lettersFromImages([{ name: 'A.png', bytes: new Uint8Array(10) }], { size: SIZE }))).message).toMatch(
      /^A\.png is not an image Fontloom can read/,
    );
  });
});

describe('placing a letter image as the dataset places the font\'s letter', () => {
  it('reads a letter drawn 200 px high back to within a few levels of the dataset\'s glyph', async () => {
    const differences = new Map<string, number>();
    for (const letter of ['H', 'A', 'O', 'R', 'W', 'Q']) {
      const glyph = await normaliseLetterImage(await letterImage(letter, { px: 200 }), letter, SIZE);
      differences.set(letter, meanDifference(glyph!, dataset.get(letter)!));
    }
    for (const letter of ['H', 'A', 'O', 'R', 'W']) expect(differences.get(letter), letter).toBeLessThan(SAME_LETTER_MAD);
    // Q's tail descends below the baseline in the font; from an image alone it stands on it.
    expect(differences.get('Q')).toBeGreaterThan(SAME_LETTER_MAD);
    const q = await normaliseLetterImage(await letterImage('Q'), 'Q', SIZE);
    expect(inkRows(q!).at(-1)).toBe(BASELINE_ROW);
  });

  it('fits a letter wider than it is tall by width, inside the cell', async () => {
    const wide = await sharp({ create: { width: 900, height: 100, channels: 3, background: '#fff' } })
      .composite([{ input: { create: { width: 800, height: 40, channels: 3, background: '#000' } }, left: 50, top: 30 }])
      .png()
      .toBuffer();
    const glyph = (await normaliseLetterImage(wide, 'W', SIZE))!;
    expect(inkColumns(glyph)).toEqual(POSITIONS.slice(1, SIZE - 1));
    expect(inkRows(glyph).at(-1)).toBe(BASELINE_ROW);
    expect(inkRows(glyph).length).toBeLessThanOrEqual(3);
  });
});
