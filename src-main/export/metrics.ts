// Where a generated glyph sits in font units. The dataset draws every letter by one rule
// (GLYPH_GEOMETRY, data/glyphset.ts): at 32 px the baseline is the pixel edge y = 25 and
// the cap height is 20 px, other sizes scaled by size / 32. So one pixel is CAP_HEIGHT / 20
// font units (35 at 32 px), the baseline is font y = 0 and the cap height font y = 700 for every
// letter: the 32-px cell spans y = −245 (its bottom) to 875 (its top).
import { GLYPH_GEOMETRY } from '../data/glyphset.ts';
import { boundsOf, mapContours, type Bounds, type Contour } from './outline.ts';

export const UNITS_PER_EM = 1000;
/** A common cap height for a 1000-unit em; the rule's 20 px map to it. */
export const CAP_HEIGHT = 700;
/** Space each side of a glyph's ink: about 7% of the cap height, a usual fit for capitals. */
export const SIDE_BEARING = 50;
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

/** A glyph as the font sets it: ink moved to start SIDE_BEARING after the origin, whole units. */
export interface PlacedGlyph {
  name: string;
  contours: Contour[];
  bounds: Bounds | null;
  advance: number;
}

/** Moves a traced glyph (cell coordinates) to its place in the font and rounds it to whole units. */
export function placeGlyph(name: string, contours: readonly Contour[]): PlacedGlyph {
  const inCell = boundsOf(contours);
  if (!inCell) return { name, contours: [], bounds: null, advance: EMPTY_ADVANCE };
  const dx = SIDE_BEARING - inCell.xMin;
  const placed = mapContours(contours, (p) => ({ x: Math.round(p.x + dx), y: Math.round(p.y) }));
  const bounds = boundsOf(placed)!;
  return { name, contours: placed, bounds, advance: Math.ceil(bounds.xMax) + SIDE_BEARING };
}

export interface VerticalMetrics {
  unitsPerEm: number;
  /** Line top and bottom: the dataset cell's, widened if any glyph reaches beyond it. */
  ascender: number;
  descender: number;
  capHeight: number;
  xHeight: number;
}

export function verticalMetrics(glyphs: readonly PlacedGlyph[], cell: Cell): VerticalMetrics {
  const boxes = glyphs.flatMap((g) => (g.bounds ? [g.bounds] : []));
  return {
    unitsPerEm: UNITS_PER_EM,
    ascender: Math.ceil(Math.max(cell.top, ...boxes.map((b) => b.yMax))),
    descender: Math.floor(Math.min(cell.bottom, ...boxes.map((b) => b.yMin))),
    capHeight: CAP_HEIGHT,
    // Lowercase a–z are the capitals' outlines (see otf.ts), so the x-height is the cap height.
    xHeight: CAP_HEIGHT,
  };
}
