// Outlines a type designer would keep, from 32-px glyphs and from 128-px ones alike: rectangles
// are four corners and four lines, round shapes a few smooth curves with points at their extremes,
// stems exactly upright; and the font stands on its baseline, reaches its cap height, and spaces
// round and open letters closer than straight ones.
import { readFile } from 'node:fs/promises';
import opentype from 'opentype.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFont, renderFont } from '../src-main/data/importers/fonts.ts';
import { countInflections } from '../src-main/eval/outlines.ts';
import { otfOfGlyphs } from '../src-main/export/index.ts';
import { boundsOf, signedArea, type Contour, type Point } from '../src-main/export/outline.ts';
import { traceGlyphs } from '../src-main/export/trace.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const SIZES = [32, 128];
/** Font units per pixel of a 32-px glyph (the dataset's cap height of 20 px is 700 units). */
const UNIT = 35;

/**
 * One glyph `size` px square, antialiased as the model and the dataset draw them: each pixel's grey
 * is how much of it the shape covers. The shape is given in 32-px glyph coordinates (x right, y down).
 */
function drawn(size: number, inside: (x: number, y: number) => boolean): Uint8Array {
  const pixels = new Uint8Array(size * size);
  const per = size / 32;
  const sub = 4;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      let covered = 0;
      for (let a = 0; a < sub; a++) for (let b = 0; b < sub; b++) if (inside((col + (b + 0.5) / sub) / per, (row + (a + 0.5) / sub) / per)) covered++;
      pixels[row * size + col] = Math.round((255 * covered) / (sub * sub));
    }
  }
  return pixels;
}

/** One shape's outline, its edge where the pixels are half covered (a lone shape's grey levels are too few to choose a threshold from). */
async function traceOne(size: number, pixels: Uint8Array): Promise<Contour[]> {
  const { glyphs, warnings } = await traceGlyphs({ images: pixels, height: size, width: size, channels: 1, classNames: ['A'] }, { threshold: 128 });
  expect(warnings).toEqual([]);
  return glyphs[0].contours;
}

/** Each segment with the point it starts from. */
function segmentsOf(contour: Contour) {
  let from = contour.start;
  return contour.segments.map((segment) => {
    const piece = { from, segment };
    from = segment.to;
    return piece;
  });
}

const level = (a: Point, b: Point) => a.y === b.y;
const upright = (a: Point, b: Point) => a.x === b.x;

describe.each(SIZES)('fitting the outline of a %i-px glyph', (size) => {
  it('traces a filled rectangle to its four corners joined by four lines, each level or upright', async () => {
    const contours = await traceOne(size, drawn(size, (x, y) => x > 9 && x < 23 && y > 5 && y < 25));
    expect(contours).toHaveLength(1);
    const pieces = segmentsOf(contours[0]);
    expect(pieces.map((p) => p.segment.kind)).toEqual(['line', 'line', 'line', 'line']);
    for (const { from, segment } of pieces) expect(level(from, segment.to) || upright(from, segment.to)).toBe(true);
    const box = boundsOf(contours)!;
    // Columns 9–23 and rows 5–25: 9 px to 23 px across, the baseline (row 25) to 20 px above it.
    expect(Math.abs(box.xMin - 9 * UNIT)).toBeLessThan(10);
    expect(Math.abs(box.xMax - 23 * UNIT)).toBeLessThan(10);
    expect(Math.abs(box.yMin)).toBeLessThan(10);
    expect(Math.abs(box.yMax - 20 * UNIT)).toBeLessThan(10);
  });

  it('traces a disc to a few curves that never turn back, with on-curve points at its four extremes', async () => {
    const contours = await traceOne(size, drawn(size, (x, y) => Math.hypot(x - 16, y - 15) <= 10));
    expect(contours).toHaveLength(1);
    const pieces = segmentsOf(contours[0]);
    expect(pieces.length).toBeLessThanOrEqual(8);
    expect(pieces.every((p) => p.segment.kind === 'cubic')).toBe(true);
    expect(countInflections(contours[0])).toBe(0);
    const box = boundsOf(contours)!;
    // At the top, bottom, left and right there is a point whose handles lie level (top, bottom) or upright (sides).
    const extremes: [(p: Point) => boolean, (a: Point, b: Point) => boolean][] = [
      [(p) => Math.abs(p.y - box.yMax) < 1, level],
      [(p) => Math.abs(p.y - box.yMin) < 1, level],
      [(p) => Math.abs(p.x - box.xMin) < 1, upright],
      [(p) => Math.abs(p.x - box.xMax) < 1, upright],
    ];
    for (const [at, flat] of extremes) {
      const k = pieces.findIndex((p) => at(p.segment.to));
      expect(k).toBeGreaterThanOrEqual(0);
      const [before, after] = [pieces[k].segment, pieces[(k + 1) % pieces.length].segment];
      if (before.kind !== 'cubic' || after.kind !== 'cubic') throw new Error('a disc is curves');
      expect(flat(before.c2, before.to) && flat(before.to, after.c1)).toBe(true);
    }
    // The drawn radius is 10 px.
    expect(Math.abs((box.xMax - box.xMin) / 2 - 10 * UNIT)).toBeLessThan(12);
  });

  it('draws the long sides of a tall bar exactly upright', async () => {
    // 4.2 px wide: its sides fall inside pixels, as a stem the model draws does.
    const contours = await traceOne(size, drawn(size, (x, y) => x > 13.5 && x < 17.7 && y > 5 && y < 25));
    const sides = segmentsOf(contours[0]).filter(({ from, segment }) => Math.abs(segment.to.y - from.y) > 10 * UNIT);
    expect(sides).toHaveLength(2);
    for (const { from, segment } of sides) {
      expect(segment.kind).toBe('line');
      expect(upright(from, segment.to)).toBe(true);
    }
    expect(Math.abs(Math.abs(sides[0].from.x - sides[1].from.x) - 4.2 * UNIT)).toBeLessThan(10);
  });

  it('traces a ring to an outer contour and a counter inside it wound the other way', async () => {
    const contours = await traceOne(size, drawn(size, (x, y) => Math.hypot(x - 16, y - 15) <= 10 && Math.hypot(x - 16, y - 15) >= 5.5));
    expect(contours).toHaveLength(2);
    const [outer, counter] = [...contours].sort((a, b) => Math.abs(signedArea(b)) - Math.abs(signedArea(a)));
    expect(signedArea(outer)).toBeGreaterThan(0);
    expect(signedArea(counter)).toBeLessThan(0);
    for (const contour of contours) expect(countInflections(contour)).toBe(0);
  });
});

/** DejaVu Sans's capitals drawn by the dataset's own rule at `size` px. */
async function dejavuAt(size: number): Promise<Uint8Array> {
  const rendered = await renderFont(parseFont(await readFile('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf')), size);
  if (!('pixels' in rendered)) throw new Error(`DejaVu Sans lacks ${rendered.missing.join(', ')}`);
  return rendered.pixels;
}

async function fontOf(images: Uint8Array, size: number, threshold?: number): Promise<opentype.Font> {
  const { bytes, warnings } = await otfOfGlyphs({ images, height: size, width: size, channels: 1, classNames: LETTERS, threshold });
  expect(warnings).toEqual([]);
  return opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

/** A letter's ink box and the white before and after it. */
function spacingOf(font: opentype.Font, letter: string) {
  const glyph = font.charToGlyph(letter);
  const box = glyph.getBoundingBox();
  return { box, left: box.x1, right: glyph.advanceWidth! - box.x2, advance: glyph.advanceWidth! };
}

describe.each(SIZES)('the font built from %i-px letters', (size) => {
  let font: opentype.Font;

  beforeAll(async () => {
    font = await fontOf(await dejavuAt(size), size);
  });

  it('has line metrics that agree: ascender above the cap height, descender below the baseline, OS/2 as hhea', () => {
    const { os2, hhea } = font.tables;
    expect(os2.sCapHeight).toBe(700);
    expect(font.ascender).toBeGreaterThan(os2.sCapHeight);
    expect(font.descender).toBeLessThan(0);
    expect(hhea.ascender).toBe(font.ascender);
    expect(hhea.descender).toBe(font.descender);
    expect(os2.sTypoAscender).toBe(font.ascender);
    expect(os2.sTypoDescender).toBe(font.descender);
    expect(os2.sTypoLineGap).toBe(0);
  });

  it('stands the H on the baseline and reaches the cap height with it, exactly', () => {
    const { box } = spacingOf(font, 'H');
    expect(box.y1).toBe(0);
    expect(box.y2).toBe(font.tables.os2.sCapHeight);
    // Round letters keep their overshoot below the baseline and above the cap height.
    const o = spacingOf(font, 'O').box;
    expect(o.y1).toBeLessThan(0);
    expect(o.y2).toBeGreaterThan(700);
  });

  it('gives every letter an advance beyond its ink, and the space a width of its own', () => {
    for (const letter of LETTERS) {
      const { box, advance } = spacingOf(font, letter);
      expect(advance, letter).toBeGreaterThan(box.x2);
      expect(box.x1, `${letter} starts after the origin`).toBeGreaterThan(0);
    }
    const space = font.charToGlyph(' ');
    expect(space.name).toBe('space');
    expect(space.advanceWidth).toBeGreaterThan(0);
  });

  it('sets round sides closer than straight ones, and open or diagonal sides closer still', () => {
    const [h, o, d, a, v, t] = ['H', 'O', 'D', 'A', 'V', 'T'].map((l) => spacingOf(font, l));
    expect(o.left).toBeLessThan(h.left);
    expect(o.right).toBeLessThan(h.right);
    expect(d.right, 'D: round on the right, straight on the left').toBeLessThan(d.left);
    expect(a.left).toBeLessThan(o.left);
    expect(v.right).toBeLessThan(o.right);
    expect(t.left, "T's arm").toBeLessThan(o.left);
  });
});

describe('one set of decisions for the whole font', () => {
  it('stands letters the model drew a pixel low on the baseline all the same', async () => {
    const letters = await dejavuAt(32);
    const low = new Uint8Array(letters.length);
    for (let g = 0; g < LETTERS.length; g++) low.set(letters.subarray(g * 1024, (g + 1) * 1024 - 32), g * 1024 + 32);
    const font = await fontOf(low, 32);
    for (const letter of ['H', 'E', 'T']) {
      const { box } = spacingOf(font, letter);
      expect(box.y1, letter).toBe(0);
      expect(box.y2, letter).toBe(700);
    }
  });

  it('reads faint letters with a threshold of their own, and keeps a threshold given', async () => {
    const faint = (await dejavuAt(32)).map((v) => Math.round(v * 0.55));
    const input = { images: faint, height: 32, width: 32, channels: 1, classNames: LETTERS };
    const chosen = await traceGlyphs(input);
    // Ink here is at most 140: a level for full-strength glyphs would thin every stroke.
    expect(chosen.threshold).toBeLessThan(100);
    expect(chosen.glyphs.every((g) => g.contours.length > 0)).toBe(true);
    const given = await traceGlyphs(input, { threshold: 120 });
    expect(given.threshold).toBe(120);
    const area = (set: typeof chosen, letter: string) => set.glyphs[LETTERS.indexOf(letter)].contours.reduce((sum, c) => sum + signedArea(c), 0);
    expect(area(given, 'H')).toBeLessThan(0.8 * area(chosen, 'H'));
  });
});
