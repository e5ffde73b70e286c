// Side bearings as a type designer sets them, by eye rather than by ruler: a straight upright side
// (H, the left of B, D, E) takes the full bearing, a round side (O, C, G, the right of D) less, since
// a curve touches its extreme only at one height and the white beside it looks wider, and an open
// or diagonal side (A, V, W, Y, T's arms, L's right) less still. Each side is read from the ink:
// how far in from the glyph's extreme the ink lies at heights across the cap height.
import { boundsOf, flatten, type Contour } from './outline.ts';

export type SideShape = 'straight' | 'round' | 'open';

/** A straight upright side's bearing: about a tenth of the cap height, as text faces space their H. */
export const SIDE_BEARING = 70;
/** The bearing of each shape of side, as a share of SIDE_BEARING. */
const BEARING_SHARE: Record<SideShape, number> = { straight: 1, round: 0.6, open: 0.25 };

/** Heights the side is read at, as shares of the cap height: the ends left out (serifs, overshoot, feet). */
const PROFILE_HEIGHTS = Array.from({ length: 17 }, (_, k) => 0.1 + (0.8 * k) / 16);
/** The middle of the cap height, where a straight side runs at one depth however its ends are finished. */
const MIDDLE = [0.2, 0.8] as const;
/** A straight side's depth varies less than this across the middle (a share of the cap height)… */
const STRAIGHT_SPREAD = 0.04;
/** …and it lies at most this deep behind the glyph's extreme (serifs reach out this far; T's arms further). */
const SERIF_REACH = 0.2;
/** A round side lies on average at most this deep behind its extreme; an open or diagonal one deeper. */
const ROUND_DEPTH = 0.15;

export function sideBearing(shape: SideShape): number {
  return SIDE_BEARING * BEARING_SHARE[shape];
}

/** The shapes of a glyph's left and right sides, its contours in font units on the baseline (y = 0) with this cap height. */
export function sideShapes(contours: readonly Contour[], capHeight: number): { left: SideShape; right: SideShape } {
  const box = boundsOf(contours);
  if (!box) return { left: 'straight', right: 'straight' };
  const polygons = contours.map((c) => flatten(c, 16));
  const width = box.xMax - box.xMin;
  const left: number[] = [];
  const right: number[] = [];
  for (const share of PROFILE_HEIGHTS) {
    const ink = inkAcross(polygons, share * capHeight);
    left.push(ink ? ink.from - box.xMin : width);
    right.push(ink ? box.xMax - ink.to : width);
  }
  return { left: shapeOf(left, capHeight), right: shapeOf(right, capHeight) };
}

/** A side from its depths (font units behind the glyph's extreme) at PROFILE_HEIGHTS. */
function shapeOf(depths: readonly number[], capHeight: number): SideShape {
  const middle = depths.filter((_, k) => PROFILE_HEIGHTS[k] >= MIDDLE[0] && PROFILE_HEIGHTS[k] <= MIDDLE[1]);
  const spread = Math.max(...middle) - Math.min(...middle);
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  if (spread <= STRAIGHT_SPREAD * capHeight && mean(middle) <= SERIF_REACH * capHeight) return 'straight';
  return mean(depths) <= ROUND_DEPTH * capHeight ? 'round' : 'open';
}

/** The leftmost and rightmost ink (nonzero winding) on the horizontal line at y; null where there is none. */
function inkAcross(polygons: readonly (readonly { x: number; y: number }[])[], y: number): { from: number; to: number } | null {
  const crossings: { x: number; winding: number }[] = [];
  for (const polygon of polygons) {
    for (let i = 0; i < polygon.length; i++) {
      const a = polygon[i];
      const b = polygon[(i + 1) % polygon.length];
      if (a.y <= y !== b.y <= y) crossings.push({ x: a.x + ((y - a.y) * (b.x - a.x)) / (b.y - a.y), winding: b.y > a.y ? 1 : -1 });
    }
  }
  crossings.sort((p, q) => p.x - q.x);
  let winding = 0;
  let from: number | null = null;
  let to: number | null = null;
  for (const crossing of crossings) {
    const before = winding;
    winding += crossing.winding;
    if (before === 0 && winding !== 0 && from === null) from = crossing.x;
    if (before !== 0 && winding === 0) to = crossing.x;
  }
  return from === null || to === null ? null : { from, to };
}
