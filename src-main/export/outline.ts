// Glyph outlines as a font holds them: closed contours of lines and cubic Béziers in font units,
// y up. Winding follows the PostScript/CFF convention: outer contours run counter-clockwise
// (positive signed area), counters (the holes of A, B, O…) clockwise, so a nonzero fill is right.

export interface Point {
  x: number;
  y: number;
}

export type Segment = { kind: 'line'; to: Point } | { kind: 'cubic'; c1: Point; c2: Point; to: Point };

/** A closed contour: it starts at `start` and its last segment ends there again. */
export interface Contour {
  start: Point;
  segments: Segment[];
}

export interface Bounds {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

/** Points along the contour, every cubic cut into `steps` chords: enough for areas and insideness. */
export function flatten(contour: Contour, steps = 8): Point[] {
  const points: Point[] = [contour.start];
  let from = contour.start;
  for (const segment of contour.segments) {
    if (segment.kind === 'cubic') {
      for (let i = 1; i < steps; i++) points.push(cubicAt(from, segment.c1, segment.c2, segment.to, i / steps));
    }
    points.push(segment.to);
    from = segment.to;
  }
  return points;
}

/** Shoelace area of the flattened contour: > 0 counter-clockwise when y points up. */
export function signedArea(contour: Contour): number {
  const points = flatten(contour);
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i];
    const b = points[(i + 1) % points.length];
    twice += a.x * b.y - b.x * a.y;
  }
  return twice / 2;
}

/** The same contour traced the other way round. */
export function reverseContour(contour: Contour): Contour {
  const froms = [contour.start, ...contour.segments.slice(0, -1).map((s) => s.to)];
  const segments: Segment[] = [];
  for (let i = contour.segments.length - 1; i >= 0; i--) {
    const segment = contour.segments[i];
    const to = froms[i];
    segments.push(segment.kind === 'cubic' ? { kind: 'cubic', c1: segment.c2, c2: segment.c1, to } : { kind: 'line', to });
  }
  return { start: contour.start, segments };
}

/** Even-odd ray test against a flattened contour. */
export function insidePolygon(polygon: readonly Point[], p: Point): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i];
    const b = polygon[j];
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

/**
 * Orients every contour by how deeply it nests, whatever the tracer did: a contour inside an even
 * number of others is ink (counter-clockwise), inside an odd number a counter (clockwise).
 */
export function normaliseWinding(contours: readonly Contour[]): Contour[] {
  const polygons = contours.map((c) => flatten(c));
  return contours.map((contour, i) => {
    const depth = polygons.filter((polygon, j) => j !== i && containsContour(polygon, polygons[i])).length;
    const wantCounterClockwise = depth % 2 === 0;
    return signedArea(contour) > 0 === wantCounterClockwise ? contour : reverseContour(contour);
  });
}

/** Whether `inner` lies inside `outer`, by a majority of a few of its points (robust to a point on an edge). */
function containsContour(outer: readonly Point[], inner: readonly Point[]): boolean {
  const probes = Math.min(5, inner.length);
  let votes = 0;
  for (let k = 0; k < probes; k++) {
    if (insidePolygon(outer, inner[Math.floor((k * inner.length) / probes)])) votes++;
  }
  return votes * 2 > probes;
}

export function mapContours(contours: readonly Contour[], f: (p: Point) => Point): Contour[] {
  return contours.map((c) => ({
    start: f(c.start),
    segments: c.segments.map((s): Segment =>
      s.kind === 'cubic' ? { kind: 'cubic', c1: f(s.c1), c2: f(s.c2), to: f(s.to) } : { kind: 'line', to: f(s.to) },
    ),
  }));
}

/**
 * Every point rounded to whole font units, as a font stores them, and what rounding leaves of no
 * length dropped: a line onto its own start, a cubic whose four points meet, a contour of less
 * than two segments. Points that lay level or upright with each other still do.
 */
export function roundContours(contours: readonly Contour[]): Contour[] {
  const round = (p: Point): Point => ({ x: Math.round(p.x), y: Math.round(p.y) });
  const same = (a: Point, b: Point) => a.x === b.x && a.y === b.y;
  return contours.flatMap((contour) => {
    const start = round(contour.start);
    const segments: Segment[] = [];
    let from = start;
    for (const s of contour.segments) {
      const to = round(s.to);
      if (s.kind === 'line') {
        if (!same(from, to)) segments.push({ kind: 'line', to });
      } else {
        const [c1, c2] = [round(s.c1), round(s.c2)];
        if (!(same(from, to) && same(from, c1) && same(from, c2))) segments.push({ kind: 'cubic', c1, c2, to });
      }
      if (segments.length > 0) from = segments[segments.length - 1].to;
    }
    return segments.length >= 2 ? [{ start, segments }] : [];
  });
}

/**
 * Level lines within `zone` of one of `heights` are moved onto it, with the handles at their ends:
 * the flat feet and tops of a font's letters share its baseline and cap height exactly, while the
 * overshoot of its round letters, which are curves, stays where it is.
 */
export function alignFlats(contours: readonly Contour[], heights: readonly number[], zone: number): Contour[] {
  return contours.map((contour) => {
    const segments = contour.segments.map((s): Segment => ({ ...s }));
    const n = segments.length;
    const end = (k: number) => segments[(k + n) % n].to;
    const shifts = new Array<number>(n).fill(0);
    segments.forEach((s, k) => {
      const from = end(k - 1);
      if (s.kind !== 'line' || from.y !== s.to.y) return;
      const height = heights.find((h) => Math.abs(h - s.to.y) <= zone);
      if (height === undefined) return;
      shifts[(k - 1 + n) % n] = height - from.y;
      shifts[k] = height - s.to.y;
    });
    // Node k is the end of segment k and the start of segment k + 1.
    shifts.forEach((dy, k) => {
      if (dy === 0) return;
      const here = segments[k];
      const move = (p: Point): Point => ({ x: p.x, y: p.y + dy });
      segments[k] = here.kind === 'cubic' ? { ...here, c2: move(here.c2), to: move(here.to) } : { kind: 'line', to: move(here.to) };
      const next = segments[(k + 1) % n];
      if (next.kind === 'cubic') segments[(k + 1) % n] = { ...next, c1: move(next.c1) };
    });
    return { start: segments[n - 1].to, segments };
  });
}

/** Exact bounds: on-curve points plus each cubic's extrema; null when there is no contour. */
export function boundsOf(contours: readonly Contour[]): Bounds | null {
  if (contours.length === 0) return null;
  const box: Bounds = { xMin: Infinity, yMin: Infinity, xMax: -Infinity, yMax: -Infinity };
  const include = (p: Point) => {
    box.xMin = Math.min(box.xMin, p.x);
    box.xMax = Math.max(box.xMax, p.x);
    box.yMin = Math.min(box.yMin, p.y);
    box.yMax = Math.max(box.yMax, p.y);
  };
  for (const contour of contours) {
    include(contour.start);
    let from = contour.start;
    for (const segment of contour.segments) {
      include(segment.to);
      if (segment.kind === 'cubic') {
        for (const t of [...extremaT(from.x, segment.c1.x, segment.c2.x, segment.to.x), ...extremaT(from.y, segment.c1.y, segment.c2.y, segment.to.y)]) {
          include(cubicAt(from, segment.c1, segment.c2, segment.to, t));
        }
      }
      from = segment.to;
    }
  }
  return box;
}

/** SVG path data; `flipY` writes y down (SVG's direction) for outlines held y up. */
export function svgPathData(contours: readonly Contour[], flipY: boolean): string {
  const n = (v: number) => `${Math.round(v * 100) / 100}`;
  const pt = (p: Point) => `${n(p.x)} ${n(flipY ? -p.y : p.y)}`;
  return contours
    .map((c) => {
      const parts = [`M${pt(c.start)}`];
      for (const s of c.segments) parts.push(s.kind === 'cubic' ? `C${pt(s.c1)} ${pt(s.c2)} ${pt(s.to)}` : `L${pt(s.to)}`);
      return `${parts.join('')}Z`;
    })
    .join('');
}

function cubicAt(p0: Point, p1: Point, p2: Point, p3: Point, t: number): Point {
  const s = 1 - t;
  const a = s * s * s;
  const b = 3 * s * s * t;
  const c = 3 * s * t * t;
  const d = t * t * t;
  return { x: a * p0.x + b * p1.x + c * p2.x + d * p3.x, y: a * p0.y + b * p1.y + c * p2.y + d * p3.y };
}

/** Parameters in (0, 1) where one coordinate of a cubic has a zero derivative. */
function extremaT(p0: number, p1: number, p2: number, p3: number): number[] {
  // B'(t)/3 = a t² + b t + c
  const a = -p0 + 3 * p1 - 3 * p2 + p3;
  const b = 2 * (p0 - 2 * p1 + p2);
  const c = p1 - p0;
  const roots: number[] = [];
  if (Math.abs(a) < 1e-12) {
    if (Math.abs(b) > 1e-12) roots.push(-c / b);
  } else {
    const disc = b * b - 4 * a * c;
    if (disc >= 0) {
      const root = Math.sqrt(disc);
      roots.push((-b + root) / (2 * a), (-b - root) / (2 * a));
    }
  }
  return roots.filter((t) => t > 0 && t < 1);
}
