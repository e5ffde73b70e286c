// From generated bitmaps to outlines and a font, checked the way a type designer would: counters
// are holes, letters share a baseline and cap height, the font opens and maps the letters.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import opentype from 'opentype.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFont, renderFont } from '../src-main/data/importers/fonts.ts';
import { UserError } from '../src-main/errors.ts';
import { exportGlyphs, traceOutlines } from '../src-main/export/index.ts';
import { boundsOf, signedArea, flatten, insidePolygon } from '../src-main/export/outline.ts';
import { traceGlyphs } from '../src-main/export/trace.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const SIZE = 32;

let dir: string;
let dejavu: Uint8Array;

/** Real letters drawn by the dataset's own rule (the fonts importer) from DejaVu Sans. */
async function dejavuLetters(): Promise<Uint8Array> {
  const rendered = await renderFont(parseFont(await readFile('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf')));
  if (!('pixels' in rendered)) throw new Error(`DejaVu Sans lacks ${rendered.missing.join(', ')}`);
  return rendered.pixels;
}

/** One 32×32 glyph drawn by a predicate on pixel centres (white ink on black). */
function drawn(ink: (x: number, y: number) => boolean): Uint8Array {
  const pixels = new Uint8Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) if (ink(x + 0.5, y + 0.5)) pixels[y * SIZE + x] = 255;
  return pixels;
}

const ring = drawn((x, y) => {
  const r = Math.hypot(x - 16, y - 15);
  return r >= 5 && r <= 10;
});
const square = drawn((x, y) => x > 8 && x < 24 && y > 5 && y < 25);
const black = new Uint8Array(SIZE * SIZE);

function oneGlyph(pixels: Uint8Array, name: string) {
  return { images: pixels, height: SIZE, width: SIZE, channels: 1, classNames: [name] };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-export-'));
  dejavu = await dejavuLetters();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tracing a generated glyph', () => {
  it('traces an O to an outer contour and a counter of opposite winding inside it', async () => {
    const { glyphs, warnings } = await traceGlyphs(oneGlyph(ring, 'O'));
    expect(warnings).toEqual([]);
    const [outer, counter] = [...glyphs[0].contours].sort((a, b) => Math.abs(signedArea(b)) - Math.abs(signedArea(a)));
    expect(glyphs[0].contours).toHaveLength(2);
    expect(signedArea(outer)).toBeGreaterThan(0); // counter-clockwise, y up: ink
    expect(signedArea(counter)).toBeLessThan(0); // clockwise: the hole
    expect(insidePolygon(flatten(outer), counter.start)).toBe(true);
    // Radii 10 and 5 px at 35 units a pixel: the areas are those of the drawn disc and hole.
    expect(signedArea(outer) / 35 ** 2).toBeCloseTo(Math.PI * 10 ** 2, -1);
    expect(-signedArea(counter) / 35 ** 2).toBeCloseTo(Math.PI * 5 ** 2, -1);
  });

  it('traces a filled square to one contour with its corners where the pixels are', async () => {
    const { glyphs } = await traceGlyphs(oneGlyph(square, 'I'), { alphaMax: 0 });
    expect(glyphs[0].contours).toHaveLength(1);
    const box = boundsOf(glyphs[0].contours)!;
    // Columns 8–23 and rows 5–24: x from 8 px to 24 px, y from the baseline (row 25) to 20 px above it.
    expect(box.xMin).toBeCloseTo(8 * 35, -1);
    expect(box.xMax).toBeCloseTo(24 * 35, -1);
    expect(box.yMin).toBeCloseTo(0, -1);
    expect(box.yMax).toBeCloseTo(20 * 35, -1);
  });

  it('gives an all-black glyph no contours and a warning naming it, and traces the rest', async () => {
    const images = new Uint8Array([...black, ...ring]);
    const { glyphs, warnings } = await traceGlyphs({ images, height: SIZE, width: SIZE, channels: 1, classNames: ['Q', 'O'] });
    expect(glyphs[0].contours).toEqual([]);
    expect(glyphs[1].contours).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Q: no pixel reaches the threshold 128.*empty glyph/);
  });

  it('reads an RGB glyph as its grey luminance', async () => {
    const rgb = new Uint8Array(ring.length * 3);
    ring.forEach((v, i) => rgb.fill(v, i * 3, i * 3 + 3));
    const grey = await traceGlyphs(oneGlyph(ring, 'O'));
    const colour = await traceGlyphs({ images: rgb, height: SIZE, width: SIZE, channels: 3, classNames: ['O'] });
    expect(colour.glyphs[0].contours).toEqual(grey.glyphs[0].contours);
  });

  it('thins the letters as the threshold rises', async () => {
    const o = dejavu.subarray(14 * SIZE * SIZE, 15 * SIZE * SIZE);
    const ink = async (threshold: number) => {
      const { glyphs } = await traceGlyphs(oneGlyph(o, 'O'), { threshold });
      return glyphs[0].contours.reduce((sum, c) => sum + signedArea(c), 0);
    };
    expect(await ink(200)).toBeLessThan(await ink(60));
  });

  it('puts every letter on one baseline and cap height, from the dataset’s rendering rule', async () => {
    const { glyphs } = await traceGlyphs({ images: dejavu, height: SIZE, width: SIZE, channels: 1, classNames: LETTERS });
    const box = (letter: string) => boundsOf(glyphs[LETTERS.indexOf(letter)].contours)!;
    for (const flat of ['E', 'H', 'L', 'T', 'Z']) {
      expect(Math.abs(box(flat).yMin), `${flat} stands on the baseline`).toBeLessThan(20);
    }
    for (const tall of ['E', 'H', 'T']) expect(Math.abs(box(tall).yMax - 700), `${tall} reaches the cap height`).toBeLessThan(20);
    expect(box('Q').yMin, 'Q’s tail goes below the baseline').toBeLessThan(-50);
  });

  it('previews each glyph as an SVG over its bitmap cell', async () => {
    const { svg, warnings } = await traceOutlines({ images: dejavu, height: SIZE, width: SIZE, channels: 1, classNames: LETTERS });
    expect(warnings).toEqual([]);
    expect(svg).toHaveLength(26);
    // The cell is 32 px at 35 units a pixel, its top 25 px above the baseline.
    expect(svg[0]).toMatch(/viewBox="0 -875 1120 1120"/);
    expect(svg[0]).toMatch(/<path d="M/);
  });
});

describe('SVG export', () => {
  it('writes A.svg…Z.svg and a specimen, and an O renders with its counter empty', async () => {
    const out = join(dir, 'outlines');
    const result = await exportGlyphs({ images: dejavu, height: SIZE, width: SIZE, channels: 1, classNames: LETTERS, format: 'svg', out });
    expect((await readdir(out)).sort()).toEqual([...LETTERS.map((l) => `${l}.svg`), 'specimen.svg'].sort());
    expect(result.files).toHaveLength(27);
    const o = await readFile(join(out, 'O.svg'), 'utf8');
    expect(o).toMatch(/fill-rule="nonzero"/);
    const { data, info } = await sharp(Buffer.from(o)).resize({ height: 224 }).flatten({ background: '#fff' }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const at = (fx: number, fy: number) => data[Math.round(fy * (info.height - 1)) * info.width + Math.round(fx * (info.width - 1))];
    // The O's middle (half way across, half the cap height up) is paper, its left bowl is ink.
    const capMiddle = (875 - 350) / 1120;
    expect(at(0.5, capMiddle)).toBeGreaterThan(200);
    const darkest = Math.min(...Array.from({ length: 40 }, (_, k) => at(0.05 + k * 0.005, capMiddle)));
    expect(darkest).toBeLessThan(50);
    const specimen = await sharp(join(out, 'specimen.svg')).metadata();
    expect(specimen.width).toBeGreaterThan(specimen.height!);
  });
});

describe('OTF export', () => {
  let font: opentype.Font;
  let warnings: string[];

  beforeAll(async () => {
    const out = join(dir, 'Loom.otf');
    const result = await exportGlyphs({
      images: dejavu, height: SIZE, width: SIZE, channels: 1, classNames: LETTERS, format: 'otf', out, family: 'Loom Sans',
    });
    warnings = result.warnings;
    expect(result.path).toBe(out);
    font = opentype.parse(toArrayBuffer(await readFile(out)));
  });

  it('opens in opentype.js with A–Z at U+0041…U+005A and a–z showing the same letters', () => {
    expect(warnings).toEqual([]);
    expect(font.unitsPerEm).toBe(1000);
    expect(font.glyphs.length).toBeGreaterThanOrEqual(28); // .notdef, space, A–Z
    expect(font.glyphs.get(0).name).toBe('.notdef');
    expect(font.charToGlyph(' ').advanceWidth).toBeGreaterThan(0);
    for (const letter of LETTERS) {
      const glyph = font.charToGlyph(letter);
      expect(glyph.name).toBe(letter);
      expect(glyph.unicodes).toContain(letter.charCodeAt(0));
      expect(font.charToGlyph(letter.toLowerCase()).index).toBe(glyph.index);
      expect(glyph.path.commands.length).toBeGreaterThan(4);
    }
    expect(font.charToGlyph('Ä').name).toBe('.notdef');
  });

  it('names the family as given', () => {
    expect(font.getEnglishName('fontFamily')).toBe('Loom Sans');
    expect(font.getEnglishName('fontSubfamily')).toBe('Regular');
    expect(font.getEnglishName('postScriptName')).toBe('LoomSans-Regular');
  });

  it('has metrics that agree: every glyph under the ascender, over the descender, within its advance', () => {
    const os2 = font.tables.os2;
    const hhea = font.tables.hhea;
    expect(hhea.ascender).toBe(font.ascender);
    expect(os2.sTypoAscender).toBe(font.ascender);
    expect(os2.sTypoDescender).toBe(font.descender);
    expect(os2.sCapHeight).toBe(700);
    expect(os2.usWinAscent).toBeGreaterThanOrEqual(font.ascender);
    expect(os2.usWinDescent).toBeGreaterThanOrEqual(-font.descender);
    for (const letter of LETTERS) {
      const glyph = font.charToGlyph(letter);
      const box = glyph.getBoundingBox();
      expect(box.y2, `${letter} top`).toBeLessThanOrEqual(font.ascender);
      expect(box.y1, `${letter} bottom`).toBeGreaterThanOrEqual(font.descender);
      expect(box.y2, `${letter} top`).toBeLessThanOrEqual(os2.usWinAscent);
      expect(box.x1, `${letter} left bearing`).toBeGreaterThan(0);
      expect(glyph.advanceWidth!, `${letter} advance`).toBeGreaterThan(box.x2);
    }
    const h = font.charToGlyph('H').getBoundingBox();
    expect(Math.abs(h.y2 - os2.sCapHeight)).toBeLessThan(20);
    expect(Math.abs(h.y1)).toBeLessThan(20);
    expect(font.charToGlyph('I').advanceWidth!).toBeLessThan(font.charToGlyph('W').advanceWidth!);
  });

  it('keeps an all-black glyph as an empty glyph with a default width, and says so', async () => {
    const images = new Uint8Array(dejavu);
    images.fill(0, 2 * SIZE * SIZE, 3 * SIZE * SIZE); // C
    const out = join(dir, 'NoC.otf');
    const result = await exportGlyphs({ images, height: SIZE, width: SIZE, channels: 1, classNames: LETTERS, format: 'otf', out });
    expect(result.warnings).toEqual([expect.stringMatching(/^C: .*empty glyph/)]);
    const noC = opentype.parse(toArrayBuffer(await readFile(out)));
    const c = noC.charToGlyph('C');
    expect(c.name).toBe('C');
    expect(c.path.commands).toEqual([]);
    expect(c.advanceWidth).toBeGreaterThan(300);
  });

  it('sanitises a family name a font cannot hold, and says what it used', async () => {
    const out = join(dir, 'Odd.otf');
    const given = 'Lööm/Sans™ <Display> for the "studio" of the year 2025';
    const result = await exportGlyphs({ images: dejavu, height: SIZE, width: SIZE, channels: 1, classNames: LETTERS, format: 'otf', out, family: given });
    const odd = opentype.parse(toArrayBuffer(await readFile(out)));
    const family = odd.getEnglishName('fontFamily');
    expect(family).toMatch(/^[A-Za-z0-9 -]+$/);
    expect(family.length).toBeLessThanOrEqual(31);
    expect(family.startsWith('Loom SansTM Display')).toBe(true); // accents dropped, ™ spelt out
    expect(odd.getEnglishName('postScriptName')).not.toMatch(/\s/);
    expect(odd.getEnglishName('postScriptName').length).toBeLessThanOrEqual(31);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain(given);
    expect(result.warnings[0]).toContain(`"${family}"`);
  });

  it('refuses a font of classes that are not letters, naming them, and writes nothing', async () => {
    const cifar = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    const images = new Uint8Array(cifar.length * SIZE * SIZE * 3);
    const out = join(dir, 'cifar.otf');
    const attempt = exportGlyphs({ images, height: SIZE, width: SIZE, channels: 3, classNames: cifar, format: 'otf', out });
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(/"airplane".*svg or png/);
    expect((await readdir(dir)).filter((f) => f.startsWith('cifar') || f.startsWith('.partial'))).toEqual([]);
  });
});
