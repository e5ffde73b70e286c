// A glyph set drawn procedurally for tests: no font files, no network, deterministic for a seed.
// Letters are stick figures (polylines in a unit box, y down); each "font" varies stroke
// thickness, scale, width, offset and slant, so fonts differ while letters stay legible.

import { deriveSeed, rngFor } from '../../src-main/engine/rng.ts';
import type { GlyphSet } from '../../src-main/data/glyphset.ts';

export interface SyntheticOptions {
  fonts: number;
  size?: number;
  seed?: number;
  classes?: string[];
}

type Point = readonly [number, number];
type Stroke = readonly Point[];

interface FontStyle {
  thickness: number; // stroke width as a fraction of the glyph size
  scale: number;
  widthScale: number;
  dx: number; // offsets as fractions of the glyph size
  dy: number;
  slant: number; // horizontal shift per unit of height, positive leans right
}

export const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

/** Points on an ellipse from angle a0 to a1 in degrees (0 = right, 90 = down). */
function arc(cx: number, cy: number, rx: number, ry: number, a0: number, a1: number): Point[] {
  const steps = Math.max(2, Math.ceil(Math.abs(a1 - a0) / 20));
  return Array.from({ length: steps + 1 }, (_, i) => {
    const a = ((a0 + ((a1 - a0) * i) / steps) * Math.PI) / 180;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as const;
  });
}

const P_BOWL: Point[] = [[0, 1], [0, 0], [0.6, 0], ...arc(0.6, 0.25, 0.4, 0.25, -90, 90), [0, 0.5]];
const O_RING: Point[] = arc(0.5, 0.5, 0.5, 0.5, 0, 360);

const STICK_LETTERS: Record<string, Stroke[]> = {
  A: [[[0, 1], [0.5, 0], [1, 1]], [[0.22, 0.6], [0.78, 0.6]]],
  B: [[[0, 0], [0, 1]], [[0, 0], [0.55, 0], ...arc(0.55, 0.25, 0.38, 0.25, -90, 90), [0, 0.5]],
    [[0, 0.5], [0.6, 0.5], ...arc(0.6, 0.75, 0.4, 0.25, -90, 90), [0, 1]]],
  C: [arc(0.5, 0.5, 0.5, 0.5, -40, -320)],
  D: [[[0, 0], [0, 1]], [[0, 0], [0.45, 0], ...arc(0.45, 0.5, 0.55, 0.5, -90, 90), [0, 1]]],
  E: [[[1, 0], [0, 0], [0, 1], [1, 1]], [[0, 0.5], [0.75, 0.5]]],
  F: [[[1, 0], [0, 0], [0, 1]], [[0, 0.5], [0.75, 0.5]]],
  G: [[...arc(0.5, 0.5, 0.5, 0.5, -40, -360), [0.55, 0.5]]],
  H: [[[0, 0], [0, 1]], [[1, 0], [1, 1]], [[0, 0.5], [1, 0.5]]],
  I: [[[0.5, 0], [0.5, 1]], [[0.2, 0], [0.8, 0]], [[0.2, 1], [0.8, 1]]],
  J: [[[0.3, 0], [1, 0]], [[0.8, 0], ...arc(0.45, 0.7, 0.35, 0.3, 0, 180)]],
  K: [[[0, 0], [0, 1]], [[1, 0], [0, 0.6]], [[0.3, 0.4], [1, 1]]],
  L: [[[0, 0], [0, 1], [1, 1]]],
  M: [[[0, 1], [0, 0], [0.5, 0.6], [1, 0], [1, 1]]],
  N: [[[0, 1], [0, 0], [1, 1], [1, 0]]],
  O: [O_RING],
  P: [P_BOWL],
  Q: [O_RING, [[0.6, 0.65], [1, 1]]],
  R: [P_BOWL, [[0.45, 0.5], [1, 1]]],
  S: [[...arc(0.5, 0.25, 0.45, 0.25, -20, -270), ...arc(0.5, 0.75, 0.45, 0.25, -90, 160)]],
  T: [[[0, 0], [1, 0]], [[0.5, 0], [0.5, 1]]],
  U: [[[0, 0], ...arc(0.5, 0.6, 0.5, 0.4, 180, 0), [1, 0]]],
  V: [[[0, 0], [0.5, 1], [1, 0]]],
  W: [[[0, 0], [0.25, 1], [0.5, 0.4], [0.75, 1], [1, 0]]],
  X: [[[0, 0], [1, 1]], [[1, 0], [0, 1]]],
  Y: [[[0, 0], [0.5, 0.5], [1, 0]], [[0.5, 0.5], [0.5, 1]]],
  Z: [[[0, 0], [1, 0], [0, 1], [1, 1]]],
};

/** A fixed random scribble for class names that are not A–Z, keyed by the name itself. */
function scribble(name: string): Stroke[] {
  const rng = rngFor(deriveSeed(0, `class:${name}`), 'scribble');
  return Array.from({ length: 3 }, () =>
    Array.from({ length: 3 }, () => [rng.next(), rng.next()] as const),
  );
}

function strokesFor(name: string): Stroke[] {
  return STICK_LETTERS[name] ?? scribble(name);
}

function fontStyle(seed: number, font: number): FontStyle {
  const rng = rngFor(seed, 'synthetic-font', font);
  const between = (lo: number, hi: number) => lo + (hi - lo) * rng.next();
  return {
    thickness: between(0.04, 0.11),
    scale: between(0.85, 1.05),
    widthScale: between(0.8, 1.1),
    dx: between(-0.05, 0.05),
    dy: between(-0.05, 0.05),
    slant: between(-0.25, 0.25),
  };
}

/** Maps a unit-box point to pixel coordinates for this style (an affine map, so lines stay lines). */
function placePoint([u, v]: Point, style: FontStyle, size: number): Point {
  const boxHeight = 0.7 * size * style.scale;
  const boxWidth = 0.6 * size * style.scale * style.widthScale;
  const y = size * (0.5 + style.dy) + (v - 0.5) * boxHeight;
  const x = size * (0.5 + style.dx) + (u - 0.5) * boxWidth + style.slant * (0.5 - v) * boxHeight;
  return [x, y];
}

function distanceToSegment(px: number, py: number, [ax, ay]: Point, [bx, by]: Point): number {
  const ex = bx - ax;
  const ey = by - ay;
  const lengthSq = ex * ex + ey * ey;
  const t = lengthSq === 0 ? 0 : Math.min(1, Math.max(0, ((px - ax) * ex + (py - ay) * ey) / lengthSq));
  return Math.hypot(px - (ax + t * ex), py - (ay + t * ey));
}

/** Draws one anti-aliased segment into `out` (size × size), keeping the brighter value per pixel. */
function drawSegment(out: Uint8Array, size: number, a: Point, b: Point, halfWidth: number): void {
  const reach = halfWidth + 1;
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0]) - reach));
  const x1 = Math.min(size - 1, Math.ceil(Math.max(a[0], b[0]) + reach));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1]) - reach));
  const y1 = Math.min(size - 1, Math.ceil(Math.max(a[1], b[1]) + reach));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const coverage = halfWidth + 0.5 - distanceToSegment(x + 0.5, y + 0.5, a, b);
      const ink = Math.round(255 * Math.min(1, Math.max(0, coverage)));
      const i = y * size + x;
      if (ink > out[i]) out[i] = ink;
    }
  }
}

function drawGlyph(out: Uint8Array, size: number, strokes: Stroke[], style: FontStyle): void {
  const halfWidth = (style.thickness * size) / 2;
  for (const stroke of strokes) {
    const placed = stroke.map((p) => placePoint(p, style, size));
    for (let i = 1; i < placed.length; i++) drawSegment(out, size, placed[i - 1], placed[i], halfWidth);
  }
}

/** `fonts` × classes glyphs, font-major (item = font × classes + class), 1 channel. */
export function syntheticGlyphSet(options: SyntheticOptions): GlyphSet {
  const { fonts, size = 32, seed = 0, classes = LETTERS } = options;
  const count = fonts * classes.length;
  const pixels = new Uint8Array(count * size * size);
  const labels = new Int32Array(count);
  const fontIds = new Int32Array(count);
  const strokes = classes.map(strokesFor);
  for (let font = 0; font < fonts; font++) {
    const style = fontStyle(seed, font);
    classes.forEach((_, label) => {
      const item = font * classes.length + label;
      labels[item] = label;
      fontIds[item] = font;
      drawGlyph(pixels.subarray(item * size * size, (item + 1) * size * size), size, strokes[label], style);
    });
  }
  return {
    height: size,
    width: size,
    channels: 1,
    count,
    pixels,
    labels,
    fontIds,
    classNames: [...classes],
    fonts: Array.from({ length: fonts }, (_, f) => ({ name: `synthetic-${seed}-${f}`, source: 'test/helpers/synthetic.ts' })),
  };
}
