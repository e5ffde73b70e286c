// How good a font's outlines are as outlines, glyph by glyph: how many points they spend, how often
// they wobble, and how even their strokes are across the alphabet. Pure arithmetic on contours;
// nothing here draws, traces or reads a file (eval/outline-fonts.ts reads fonts into contours).
//
// - points: on-curve points (a segment's end; a closed contour's start is its last end) and all
//   points, on-curve plus off-curve controls (two per cubic, one per quadratic). A TrueType
//   on-curve point that is exactly the midpoint of two quadratic controls is implied by the format
//   and not stored, so it is not counted; zero-length lines are not points either.
// - inflections: each contour is walked as a polygon (lines whole, Béziers cut into
//   CURVE_SAMPLES chords) and the signed turning angle at each vertex is taken, corners included.
//   Consecutive turns of one sign make a lobe; a lobe turning less than MIN_LOBE_TURN in all is a
//   wiggle and dropped, straight stretches (no turn) join the lobes around them. The inflections
//   are the sign changes between the lobes left, round the closed contour. A rectangle or a circle
//   turns one way all round: 0. A concave corner (the inside corner of an L) counts twice, in and
//   out, in a real font and a traced one alike; a wobbly stem adds two per wave.
// - stroke width: the glyph filled (nonzero winding) at RASTER_CAP_HEIGHT pixels per cap height,
//   the exact Euclidean distance d of each ink pixel to the nearest background pixel, and the
//   median over the ridge (the medial axis) of twice the distance there: where the axis passes
//   between two neighbouring ink pixels whose nearest background pixels lie on opposite sides,
//   d₁ + d₂ (see ridgeWidths). A stem's ridge is its centre line, so this is its width; a disc's
//   ridge is its centre, so a filled disc's "stroke" is its diameter; corners' spurs, whose sides
//   meet at 90°, are left out. The alphabet's variation is the coefficient of variation
//   (standard deviation ÷ mean) of its glyphs' widths.

import { lowerEnvelope } from '../data/lower-envelope.ts';

export interface Point {
  x: number;
  y: number;
}

/** A segment as fonts hold them: TrueType's quadratics, CFF's cubics, lines. */
export type OutlineSegment =
  | { kind: 'line'; to: Point }
  | { kind: 'quad'; c: Point; to: Point }
  | { kind: 'cubic'; c1: Point; c2: Point; to: Point };

/** A closed contour in font units, y up: it starts at `start` and its last segment ends there. */
export interface OutlineContour {
  start: Point;
  segments: OutlineSegment[];
}

export interface GlyphOutline {
  name: string;
  contours: OutlineContour[];
}

export interface GlyphFigures {
  name: string;
  onCurvePoints: number;
  points: number;
  inflections: number;
  /** In pixels at RASTER_CAP_HEIGHT px per cap height; null for a glyph with no ink. */
  strokeWidth: number | null;
}

export interface AlphabetFigures {
  glyphs: GlyphFigures[];
  /** Medians over the glyphs. */
  onCurvePerGlyph: number;
  pointsPerGlyph: number;
  inflectionsPerGlyph: number;
  /** Coefficient of variation of the glyphs' stroke widths; null with fewer than two inked glyphs. */
  strokeWidthVariation: number | null;
  /** Median stroke width as a share of the cap height (the weight); null with no ink. */
  strokeWidthOfCap: number | null;
}

/** Béziers are cut into this many chords to follow their turning. */
export const CURVE_SAMPLES = 32;
/** A lobe of one turning sign that turns less than this in all (radians, about 8.6°) is a wiggle. */
export const MIN_LOBE_TURN = 0.15;
/** Stroke widths are measured on the glyph filled at this many pixels per cap height. */
export const RASTER_CAP_HEIGHT = 128;
/** Two neighbours straddle the medial axis when the directions to their nearest background pixels are at least 120° apart (cosine ≤ this). */
const RIDGE_OPPOSITE = -0.5;
/** Turns smaller than this (radians) are rounding noise on a straight line, not a sign. */
const STRAIGHT = 1e-9;

export function measureGlyph(glyph: GlyphOutline, capHeight: number): GlyphFigures {
  const contours = glyph.contours.map(withoutEmptyLines).filter((c) => c.segments.length > 0);
  let onCurvePoints = 0;
  let points = 0;
  let inflections = 0;
  for (const contour of contours) {
    const counted = countPoints(contour);
    onCurvePoints += counted.onCurve;
    points += counted.onCurve + counted.offCurve;
    inflections += countInflections(contour);
  }
  return { name: glyph.name, onCurvePoints, points, inflections, strokeWidth: strokeWidth(contours, capHeight) };
}

/** The figures of one alphabet (a font's A–Z), its glyphs measured at the font's cap height. */
export function measureAlphabet(glyphs: readonly GlyphOutline[], capHeight: number): AlphabetFigures {
  const figures = glyphs.map((g) => measureGlyph(g, capHeight));
  const widths = figures.flatMap((f) => (f.strokeWidth === null ? [] : [f.strokeWidth]));
  return {
    glyphs: figures,
    onCurvePerGlyph: median(figures.map((f) => f.onCurvePoints)),
    pointsPerGlyph: median(figures.map((f) => f.points)),
    inflectionsPerGlyph: median(figures.map((f) => f.inflections)),
    strokeWidthVariation: widths.length >= 2 ? coefficientOfVariation(widths) : null,
    strokeWidthOfCap: widths.length > 0 ? median(widths) / RASTER_CAP_HEIGHT : null,
  };
}

/** Points a contour stores: on-curve ends (less TrueType's implied midpoints) and off-curve controls. */
export function countPoints(contour: OutlineContour): { onCurve: number; offCurve: number } {
  const segments = contour.segments;
  let onCurve = 0;
  let offCurve = 0;
  segments.forEach((segment, i) => {
    offCurve += segment.kind === 'cubic' ? 2 : segment.kind === 'quad' ? 1 : 0;
    const next = segments[(i + 1) % segments.length];
    if (!(segment.kind === 'quad' && next.kind === 'quad' && isMidpoint(segment.to, segment.c, next.c))) onCurve++;
  });
  return { onCurve, offCurve };
}

/** Sign changes of the contour's turning, round the closed contour (see the top of this file). */
export function countInflections(contour: OutlineContour): number {
  const lobes = turningLobes(polygonOf(contour)).filter((turn) => Math.abs(turn) >= MIN_LOBE_TURN);
  let changes = 0;
  for (let i = 0; i < lobes.length; i++) {
    if (Math.sign(lobes[i]) !== Math.sign(lobes[(i + 1) % lobes.length])) changes++;
  }
  return changes;
}

/** Stroke width in pixels at RASTER_CAP_HEIGHT per `capHeight` font units; null with no ink. */
export function strokeWidth(contours: readonly OutlineContour[], capHeight: number): number | null {
  const raster = fillContours(contours, RASTER_CAP_HEIGHT / capHeight);
  if (!raster) return null;
  const widths = ridgeWidths(raster);
  return widths.length > 0 ? median(widths) : null;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function coefficientOfVariation(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return mean > 0 ? Math.sqrt(variance) / mean : NaN;
}

function isMidpoint(p: Point, a: Point, b: Point): boolean {
  return Math.abs(2 * p.x - a.x - b.x) < 1e-6 && Math.abs(2 * p.y - a.y - b.y) < 1e-6;
}

function samePoint(a: Point, b: Point): boolean {
  return a.x === b.x && a.y === b.y;
}

/** Drops lines that go nowhere (fonts write them, and a closing line back onto the start). */
function withoutEmptyLines(contour: OutlineContour): OutlineContour {
  const segments: OutlineSegment[] = [];
  let from = contour.start;
  for (const segment of contour.segments) {
    if (segment.kind === 'line' && samePoint(from, segment.to)) continue;
    segments.push(segment);
    from = segment.to;
  }
  return { start: contour.start, segments };
}

/** The contour as a closed polygon: lines whole, curves in CURVE_SAMPLES chords; the start is not repeated at the end. */
export function polygonOf(contour: OutlineContour, curveSamples = CURVE_SAMPLES): Point[] {
  const points: Point[] = [];
  let from = contour.start;
  for (const segment of contour.segments) {
    if (segment.kind !== 'line') {
      for (let i = 1; i < curveSamples; i++) points.push(segmentAt(from, segment, i / curveSamples));
    }
    points.push(segment.to);
    from = segment.to;
  }
  // The last point is the start again; repeated points would give chords of no direction.
  return points.filter((p, i) => !samePoint(p, points[(i + 1) % points.length]));
}

function segmentAt(from: Point, segment: Exclude<OutlineSegment, { kind: 'line' }>, t: number): Point {
  const s = 1 - t;
  if (segment.kind === 'quad') {
    const [a, b, c] = [s * s, 2 * s * t, t * t];
    return { x: a * from.x + b * segment.c.x + c * segment.to.x, y: a * from.y + b * segment.c.y + c * segment.to.y };
  }
  const [a, b, c, d] = [s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t];
  return {
    x: a * from.x + b * segment.c1.x + c * segment.c2.x + d * segment.to.x,
    y: a * from.y + b * segment.c1.y + c * segment.c2.y + d * segment.to.y,
  };
}

/** Total turning of each maximal run of one sign round a closed polygon (straight vertices skipped). */
function turningLobes(polygon: readonly Point[]): number[] {
  const n = polygon.length;
  if (n < 3) return [];
  const turns: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = polygon[(i + n - 1) % n];
    const b = polygon[i];
    const c = polygon[(i + 1) % n];
    const [ux, uy, vx, vy] = [b.x - a.x, b.y - a.y, c.x - b.x, c.y - b.y];
    const turn = Math.atan2(ux * vy - uy * vx, ux * vx + uy * vy);
    if (Math.abs(turn) > STRAIGHT) turns.push(turn);
  }
  if (turns.length === 0) return [];
  // Start the walk at a sign change, so that no lobe is cut in two by where the contour starts.
  const first = turns.findIndex((t, i) => Math.sign(t) !== Math.sign(turns[(i + turns.length - 1) % turns.length]));
  if (first < 0) return [turns.reduce((a, b) => a + b, 0)];
  const lobes: number[] = [];
  for (let k = 0; k < turns.length; k++) {
    const turn = turns[(first + k) % turns.length];
    if (lobes.length > 0 && Math.sign(lobes[lobes.length - 1]) === Math.sign(turn)) lobes[lobes.length - 1] += turn;
    else lobes.push(turn);
  }
  return lobes;
}

/** Ink as 0/1 pixels, y down, with a one-pixel margin of background all round. */
interface Raster {
  width: number;
  height: number;
  ink: Uint8Array;
}

/** Fills the contours (nonzero winding) at `scale` pixels per font unit, sampling each pixel's centre. */
export function fillContours(contours: readonly OutlineContour[], scale: number): Raster | null {
  const polygons = contours.map((c) => polygonOf(c, 16)).filter((p) => p.length >= 3);
  const all = polygons.flat();
  if (all.length === 0) return null;
  const xMin = Math.min(...all.map((p) => p.x));
  const yMax = Math.max(...all.map((p) => p.y));
  const width = Math.ceil((Math.max(...all.map((p) => p.x)) - xMin) * scale) + 3;
  const height = Math.ceil((yMax - Math.min(...all.map((p) => p.y))) * scale) + 3;
  // Pixel (col, row) has its centre at font x = xMin + (col − 1 + ½)/scale, y = yMax − (row − 1 + ½)/scale.
  const edges = polygons.flatMap((polygon) =>
    polygon.map((p, i) => {
      const q = polygon[(i + 1) % polygon.length];
      return { x0: (p.x - xMin) * scale + 1, y0: (yMax - p.y) * scale + 1, x1: (q.x - xMin) * scale + 1, y1: (yMax - q.y) * scale + 1 };
    }),
  );
  const ink = new Uint8Array(width * height);
  for (let row = 0; row < height; row++) {
    const y = row + 0.5;
    const crossings: { x: number; winding: number }[] = [];
    for (const e of edges) {
      if (e.y0 <= y !== e.y1 <= y) crossings.push({ x: e.x0 + ((y - e.y0) * (e.x1 - e.x0)) / (e.y1 - e.y0), winding: e.y1 > e.y0 ? 1 : -1 });
    }
    crossings.sort((a, b) => a.x - b.x);
    let winding = 0;
    for (let k = 0; k < crossings.length - 1; k++) {
      winding += crossings[k].winding;
      if (winding === 0) continue;
      const from = Math.max(0, Math.ceil(crossings[k].x - 0.5));
      const to = Math.min(width - 1, Math.floor(crossings[k + 1].x - 0.5));
      for (let col = from; col <= to; col++) ink[row * width + col] = 1;
    }
  }
  return ink.some((v) => v) ? { width, height, ink } : null;
}

/**
 * A width at every place the medial axis passes between two neighbouring ink pixels: where their
 * nearest background pixels lie on opposite sides (the directions to them at least
 * RIDGE_OPPOSITE apart), the stroke's width there is the sum of their two distances. A stem 20
 * pixels wide gives 20 at each row whatever its parity; a disc gives its diameter at its centre;
 * a slanted staircase edge, whose neighbours' nearest background pixels lie side by side, gives none.
 */
export function ridgeWidths(raster: Raster): number[] {
  const { width, height, ink } = raster;
  const { distance, nearestX, nearestY } = distanceTransform(raster);
  const widths: number[] = [];
  const across = (p: number, x: number, y: number, q: number, qx: number, qy: number) => {
    const [ux, uy, vx, vy] = [nearestX[p] - x, nearestY[p] - y, nearestX[q] - qx, nearestY[q] - qy];
    return ux * vx + uy * vy <= RIDGE_OPPOSITE * Math.hypot(ux, uy) * Math.hypot(vx, vy);
  };
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const p = y * width + x;
      if (!ink[p]) continue;
      if (ink[p + 1] && across(p, x, y, p + 1, x + 1, y)) widths.push(distance[p] + distance[p + 1]);
      if (ink[p + width] && across(p, x, y, p + width, x, y + 1)) widths.push(distance[p] + distance[p + width]);
    }
  }
  return widths;
}

/**
 * Exact Euclidean distance from each pixel to the nearest background pixel, and which pixel that
 * is (Felzenszwalb and Huttenlocher's lower envelope of parabolas, by columns then by rows).
 */
function distanceTransform({ width, height, ink }: Raster): { distance: Float64Array; nearestX: Int32Array; nearestY: Int32Array } {
  const far = (width + height) ** 2;
  // Pass 1: along each column, the nearest background row.
  const columnRow = new Int32Array(width * height).fill(-1);
  for (let x = 0; x < width; x++) {
    let last = -1;
    for (let y = 0; y < height; y++) {
      if (!ink[y * width + x]) last = y;
      columnRow[y * width + x] = last;
    }
    last = -1;
    for (let y = height - 1; y >= 0; y--) {
      if (!ink[y * width + x]) last = y;
      const p = y * width + x;
      if (last >= 0 && (columnRow[p] < 0 || last - y < y - columnRow[p])) columnRow[p] = last;
    }
  }
  // Pass 2: along each row, the lower envelope of (x − i)² + (column distance at i)².
  const distance = new Float64Array(width * height);
  const nearestX = new Int32Array(width * height);
  const nearestY = new Int32Array(width * height);
  const f = new Float64Array(width);
  const argmin = new Int32Array(width);
  const v = new Int32Array(width);
  const z = new Float64Array(width + 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = columnRow[y * width + x];
      f[x] = r < 0 ? far : (y - r) ** 2;
    }
    lowerEnvelope(f, width, argmin, v, z);
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const i = argmin[x];
      distance[p] = Math.sqrt((x - i) ** 2 + f[i]);
      nearestX[p] = i;
      nearestY[p] = columnRow[y * width + i];
    }
  }
  return { distance, nearestX, nearestY };
}
