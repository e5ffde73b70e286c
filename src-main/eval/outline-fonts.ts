// Fonts as eval --outlines measures them: a font's capitals read from its own outlines (opentype.js,
// font units, y up) into eval/outlines.ts's contours, and the font rendered back to 32-px glyphs
// placed as the dataset's are (data/importers/fonts.ts: renderLetters), for the letter classifier.
import type opentype from 'opentype.js';
import { renderLetters } from '../data/importers/fonts.ts';
import { measureAlphabet, median, type AlphabetFigures, type GlyphOutline, type OutlineContour, type OutlineSegment, type Point } from './outlines.ts';

/** One font's figures: its outlines, and how many of its capitals the classifier reads as themselves at 32 px. */
export interface FontFigures extends AlphabetFigures {
  name: string;
  /** Share of the letters read as their letter when the font is drawn at 32 px; null without a classifier. */
  legibility: number | null;
  /** Letters the font lacks (they are measured as absent, not as empty). */
  missing: string[];
}

/** Medians of per-font figures, and legibility over every letter of every font. */
export interface FontSetFigures {
  fonts: number;
  onCurvePerGlyph: number | null;
  pointsPerGlyph: number | null;
  inflectionsPerGlyph: number | null;
  strokeWidthVariation: number | null;
  strokeWidthOfCap: number | null;
  legibility: number | null;
}

/** Reads glyphs (uint8 NHWC, white on black) and answers each one's class index. */
export type LetterReader = (images: Uint8Array, n: number) => Promise<Int32Array>;

/** The contours of a glyph's path, in font units as the font stores them. */
export function contoursOfPath(commands: readonly opentype.PathCommand[]): OutlineContour[] {
  const contours: OutlineContour[] = [];
  let current: OutlineContour | null = null;
  let at: Point = { x: 0, y: 0 };
  const close = () => {
    if (current && current.segments.length > 0) {
      if (at.x !== current.start.x || at.y !== current.start.y) current.segments.push({ kind: 'line', to: current.start });
      contours.push(current);
    }
    current = null;
  };
  for (const c of commands) {
    if (c.type === 'M') {
      close();
      current = { start: { x: c.x, y: c.y }, segments: [] };
      at = current.start;
      continue;
    }
    if (c.type === 'Z') {
      close();
      continue;
    }
    if (!current) current = { start: at, segments: [] };
    const to = { x: c.x, y: c.y };
    const segment: OutlineSegment =
      c.type === 'L' ? { kind: 'line', to }
      : c.type === 'Q' ? { kind: 'quad', c: { x: c.x1, y: c.y1 }, to }
      : { kind: 'cubic', c1: { x: c.x1, y: c.y1 }, c2: { x: c.x2, y: c.y2 }, to };
    (current as OutlineContour).segments.push(segment);
    at = to;
  }
  close();
  return contours;
}

/** The font's cap height in its units: its H's top where it has an H (OS/2 sCapHeight is often absent), else sCapHeight, else 70% of the em. */
export function capHeightOf(font: opentype.Font): number {
  const h = font.charToGlyph('H');
  const top = h && h.index !== 0 ? h.getBoundingBox().y2 : 0;
  if (top > 0) return top;
  return (font.tables.os2?.sCapHeight as number | undefined) || 0.7 * font.unitsPerEm;
}

/** The capitals `letters` asks for that the font has (glyph 0 is .notdef: absent), as outlines. */
export function letterOutlines(font: opentype.Font, letters: readonly string[]): { glyphs: GlyphOutline[]; missing: string[] } {
  const glyphs: GlyphOutline[] = [];
  const missing: string[] = [];
  for (const letter of letters) {
    const glyph = font.charToGlyph(letter);
    if (!glyph || glyph.index === 0) missing.push(letter);
    else glyphs.push({ name: letter, contours: contoursOfPath(glyph.path.commands) });
  }
  return { glyphs, missing };
}

/**
 * Measures a font's capitals `letters` and, given a reader, how many of them it reads as their
 * letter when the font is drawn at `size` px by the dataset's rule.
 */
export async function measureFont(font: opentype.Font, name: string, letters: readonly string[], read?: LetterReader, size = 32): Promise<FontFigures> {
  const { glyphs, missing } = letterOutlines(font, letters);
  const figures = measureAlphabet(glyphs, capHeightOf(font));
  return { name, ...figures, legibility: read ? await legibilityOf(font, letters, read, size) : null, missing };
}

/** Share of `letters` read as themselves, the font drawn at `size` px placed as the dataset's glyphs are; a letter the font lacks counts as misread. */
async function legibilityOf(font: opentype.Font, letters: readonly string[], read: LetterReader, size: number): Promise<number> {
  const drawn = await renderLetters(font, size);
  if (!drawn) return 0;
  const shown = letters.filter((l) => drawn.glyphs.has(l));
  const images = new Uint8Array(shown.length * size * size);
  shown.forEach((l, i) => images.set(drawn.glyphs.get(l)!, i * size * size));
  const answers = shown.length > 0 ? await read(images, shown.length) : new Int32Array(0);
  const right = shown.filter((l, i) => answers[i] === letters.indexOf(l)).length;
  return right / letters.length;
}

/** A set of fonts summarised: the median of each per-font figure, legibility over all their letters. */
export function summariseFonts(fonts: readonly FontFigures[]): FontSetFigures {
  const med = (pick: (f: FontFigures) => number | null): number | null => {
    const values = fonts.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
    return values.length > 0 ? median(values) : null;
  };
  const read = fonts.flatMap((f) => (f.legibility === null ? [] : [f.legibility]));
  return {
    fonts: fonts.length,
    onCurvePerGlyph: med((f) => f.onCurvePerGlyph),
    pointsPerGlyph: med((f) => f.pointsPerGlyph),
    inflectionsPerGlyph: med((f) => f.inflectionsPerGlyph),
    strokeWidthVariation: med((f) => f.strokeWidthVariation),
    strokeWidthOfCap: med((f) => f.strokeWidthOfCap),
    legibility: read.length > 0 ? read.reduce((a, b) => a + b, 0) / read.length : null,
  };
}
