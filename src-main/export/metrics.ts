// Where a generated glyph sits in font units. The dataset draws every letter by one rule
// (GLYPH_GEOMETRY, data/glyphset.ts): at 32 px the baseline is the pixel edge y = 25 and
// the cap height is 20 px, other sizes scaled by size / 32. So one pixel is CAP_HEIGHT / 20
// font units (35 at 32 px) and the rule's baseline and cap height are font y = 0 and 700: the 32-px
// cell spans y = −245 (its bottom) to 875 (its top). A font is then set where its own letters
// stand (fontFrame): the baseline where its flat-bottomed letters end, the cap height where its
// flat-topped ones do, whatever the model made of the rule; round letters keep their overshoot.
import { GLYPH_GEOMETRY } from '../data/glyphset.ts';
import { alignFlats, boundsOf, mapContours, roundContours, type Bounds, type Contour } from './outline.ts';
import { sideBearing, sideShapes } from './spacing.ts';

export const UNITS_PER_EM = 1000;
/** A common cap height for a 1000-unit em; the rule's 20 px map to it. */
export const CAP_HEIGHT = 700;
/** Advance of a glyph with no ink (an all-black sample): a typical capital's width. */
export const EMPTY_ADVANCE = 600;
/** Word space for capitals, wider than a lowercase face's quarter em. */
export const SPACE_ADVANCE = 300;

/** A glyph cell of height × width pixels in font units. */
export interface Cell {
  /** Font units per source pixel. */
  unitsPerPixel: number;
  /** The baseline as a pixel edge, from the top. */
  baselinePx: number;
  /** Font y of the cell's top and bottom edges. */
  top: number;
  bottom: number;
  /** Width in font units (x from the cell's left edge). */
  width: number;
}

export function cellOf(height: number, width: number): Cell {
  const baselinePx = (GLYPH_GEOMETRY.baseline * height) / 32;
  const unitsPerPixel = CAP_HEIGHT / ((GLYPH_GEOMETRY.capHeight * height) / 32);
  return {
    unitsPerPixel,
    baselinePx,
    top: baselinePx * unitsPerPixel,
    bottom: (baselinePx - height) * unitsPerPixel,
    width: width * unitsPerPixel,
  };
}

/** A pixel-space point (x right, y down, from the cell's top-left corner) in font units. */
export function pixelToFont(cell: Cell, x: number, y: number): { x: number; y: number } {
  return { x: x * cell.unitsPerPixel, y: (cell.baselinePx - y) * cell.unitsPerPixel };
}

/** Letters that stand flat on the baseline in nearly every design (no overshoot, no tail). */
const FLAT_BOTTOMS = [...'BDEFHIKLMNPRTXZ'];
/** Letters whose top is flat at the cap height in nearly every design (no apex, no overshoot). */
const FLAT_TOPS = [...'BDEFHIKLNPRTZ'];
/** Fewer flat letters than this with ink, and the font keeps the dataset's rule. */
const MIN_FLAT = 3;
/** The cap height the letters show may differ from the rule's by this factor at most; beyond, it is clamped. */
const MAX_RESCALE = 1.3;

/** Flat feet and tops this near (font units) the baseline or the cap height are set exactly on it. */
const ALIGNMENT_ZONE = 12;

/** Where a font's letters stand: its baseline (cell y) and the scale that brings its cap height to CAP_HEIGHT. */
export interface FontFrame {
  baseline: number;
  scale: number;
}

/**
 * The baseline is the median bottom of the flat-bottomed letters, the cap height the median top of
 * the flat-topped ones: a font the model drew a little low or a little small still stands on y = 0
 * and reaches CAP_HEIGHT. With too few such letters, the dataset's rule.
 */
export function fontFrame(glyphs: readonly { name: string; contours: readonly Contour[] }[]): FontFrame {
  const edge = (letters: readonly string[], pick: (b: Bounds) => number) =>
    glyphs.filter((g) => letters.includes(g.name.toUpperCase())).flatMap((g) => {
      const box = boundsOf(g.contours);
      return box ? [pick(box)] : [];
    });
  const bottoms = edge(FLAT_BOTTOMS, (b) => b.yMin);
  const tops = edge(FLAT_TOPS, (b) => b.yMax);
  if (bottoms.length < MIN_FLAT || tops.length < MIN_FLAT) return { baseline: 0, scale: 1 };
  const baseline = median(bottoms);
  const top = median(tops);
  const scale = Math.min(MAX_RESCALE, Math.max(1 / MAX_RESCALE, CAP_HEIGHT / Math.max(1, top - baseline)));
  return { baseline, scale };
}

/** A glyph as the font sets it: on the font's baseline, its sides' bearings before and after the ink, whole units. */
export interface PlacedGlyph {
  name: string;
  contours: Contour[];
  bounds: Bounds | null;
  advance: number;
}

/** Every traced glyph (cell coordinates) set in the font, and the font's vertical metrics. */
export function placeGlyphs(glyphs: readonly { name: string; contours: readonly Contour[] }[], cell: Cell): { glyphs: PlacedGlyph[]; metrics: VerticalMetrics } {
  const frame = fontFrame(glyphs);
  const placed = glyphs.map((g) => placeGlyph(g.name, g.contours, frame));
  return { glyphs: placed, metrics: verticalMetrics(placed, cell, frame) };
}

/** Moves a traced glyph (cell coordinates) to its place in the font, spaced by its sides' shapes, and rounds it to whole units. */
function placeGlyph(name: string, contours: readonly Contour[], frame: FontFrame): PlacedGlyph {
  const framed = mapContours(contours, (p) => ({ x: p.x * frame.scale, y: (p.y - frame.baseline) * frame.scale }));
  const upright = alignFlats(framed, [0, CAP_HEIGHT], ALIGNMENT_ZONE);
  const inFrame = boundsOf(upright);
  if (!inFrame) return { name, contours: [], bounds: null, advance: EMPTY_ADVANCE };
  const sides = sideShapes(upright, CAP_HEIGHT);
  const dx = sideBearing(sides.left) - inFrame.xMin;
  const placed = roundContours(mapContours(upright, (p) => ({ x: p.x + dx, y: p.y })));
  const bounds = boundsOf(placed)!;
  return { name, contours: placed, bounds, advance: Math.ceil(bounds.xMax + sideBearing(sides.right)) };
}

export interface VerticalMetrics {
  unitsPerEm: number;
  /** Line top and bottom: the dataset cell's, widened if any glyph reaches beyond it. */
  ascender: number;
  descender: number;
  capHeight: number;
  xHeight: number;
}

/** The line: the dataset cell's top and bottom where the font frame puts them, widened if any glyph reaches beyond. */
export function verticalMetrics(glyphs: readonly PlacedGlyph[], cell: Cell, frame: FontFrame): VerticalMetrics {
  const boxes = glyphs.flatMap((g) => (g.bounds ? [g.bounds] : []));
  return {
    unitsPerEm: UNITS_PER_EM,
    ascender: Math.ceil(Math.max((cell.top - frame.baseline) * frame.scale, ...boxes.map((b) => b.yMax))),
    descender: Math.floor(Math.min((cell.bottom - frame.baseline) * frame.scale, ...boxes.map((b) => b.yMin))),
    capHeight: CAP_HEIGHT,
    // Lowercase a–z are the capitals' outlines (see otf.ts), so the x-height is the cap height.
    xHeight: CAP_HEIGHT,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
