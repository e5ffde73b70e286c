// Potrace's curves redrawn the way a type designer draws: few points, straight stems, smooth bowls.
// A traced contour follows every ripple of the bitmap's edge in dozens of short curves. Here it is
// sampled evenly by arc length and lightly smoothed, cut at its corners (where the direction turns
// sharply within a short stretch; a corner rounded off by the bitmap becomes sharp again, where its
// two sides meet), long straight runs become lines, and what lies between is covered by the fewest
// cubics that stay within a tolerance of the samples, each tangent to its neighbours. Lines within
// a few degrees of horizontal or vertical are made exactly so, with the handles that meet them,
// and where a curve passes a horizontal or vertical extreme an on-curve point is put there.
// Everything is in font units: the same tolerances serve a 32-px glyph and a 128-px one.
import { cubicAt } from './cubic-fit.ts';
import { fitSection, type FitOptions, type Fitted } from './fit-section.ts';
import type { Contour, Point } from './outline.ts';
import { add, angleBetween, dist, intersect, length, offChord, scale, sub, unit } from './vector.ts';

export const DEFAULT_FIT: FitOptions = { tolerance: 12, extremes: true };

/** Font units between the samples a contour is measured at. */
const SPACING = 4;
/** The samples are averaged over about this much arc length (a Gaussian's σ), which irons out the bitmap's staircase. */
const SMOOTHING = 8;
/** A corner is where the direction over this much arc length before a point and after it differs by more than CORNER_TURN. */
const CORNER_WINDOW = 28;
const CORNER_TURN = (40 * Math.PI) / 180;
/** A corner made sharp again lies at most this far (font units) from the rounded one the bitmap gave (twice as far for a rounded corner). */
const CORNER_REACH = 18;
/** A rounded corner turns this much within 2 × CORNER_WINDOW either side… */
const ROUND_CORNER_TURN = (35 * Math.PI) / 180;
/** …and over 4 × CORNER_WINDOW either side at most this many times as much. */
const STRAIGHT_ON = 1.15;
/** Lines and handles this close to horizontal or vertical are made exactly so… */
const SNAP = (2.5 * Math.PI) / 180;
/** …and so are lines whose ends are this close (font units) to level or upright: a short stem end is hard to find to a degree. */
const SNAP_OFFSET = 8;
/** Lines meeting at less than this turn may become one line. */
const LINE_BEND = (10 * Math.PI) / 180;
/** Cubics whose handles lie this close (font units) to their chord are lines. */
const STRAIGHT_CUBIC = 1.5;

export function fitContours(contours: readonly Contour[], options: FitOptions = DEFAULT_FIT): Contour[] {
  return contours.flatMap((contour) => {
    const fitted = fitContour(contour, options);
    return fitted ? [fitted] : [];
  });
}

/** One contour refitted; null when it is too small to keep a shape (a speck). */
function fitContour(contour: Contour, options: FitOptions): Contour | null {
  const samples = smoothCyclic(resample(contour));
  if (samples.length < 8) return null;
  const corners = findCorners(samples);
  const segments: Fitted[] = [];
  let start: Point;
  if (corners.length === 0) {
    // No corner: start at the top, itself an extreme, and come back round to it.
    const top = samples.reduce((best, p, i) => (p.y > samples[best].y ? i : best), 0);
    const points = [...samples.slice(top), ...samples.slice(0, top + 1)];
    let tangent = unit(sub(samples[(top + 2) % samples.length], samples[(top - 2 + samples.length) % samples.length]));
    if (options.extremes) tangent = { x: Math.sign(tangent.x) || 1, y: 0 };
    start = points[0];
    segments.push(...fitSection({ points, startTangent: tangent, endTangent: tangent }, options));
  } else {
    start = corners[0].point;
    corners.forEach((corner, k) => {
      const next = corners[(k + 1) % corners.length];
      segments.push(...fitSection({ points: sectionPoints(samples, corner, next), startTangent: null, endTangent: null }, options));
    });
  }
  return tidy(start, segments, options.tolerance);
}

/** The contour's outline as evenly spaced points (SPACING apart, or a little less), closed, not repeating its start. */
function resample(contour: Contour): Point[] {
  const fine: Point[] = [contour.start];
  let from = contour.start;
  for (const s of contour.segments) {
    if (s.kind === 'cubic') {
      const hull = dist(from, s.c1) + dist(s.c1, s.c2) + dist(s.c2, s.to);
      const steps = Math.max(4, Math.ceil(hull));
      const cubic = { p0: from, p1: s.c1, p2: s.c2, p3: s.to };
      for (let i = 1; i <= steps; i++) fine.push(cubicAt(cubic, i / steps));
    } else {
      fine.push(s.to);
    }
    from = s.to;
  }
  const lengths = [0];
  for (let i = 1; i < fine.length; i++) lengths.push(lengths[i - 1] + dist(fine[i - 1], fine[i]));
  const total = lengths[lengths.length - 1];
  const n = Math.ceil(total / SPACING);
  if (n < 8) return [];
  const out: Point[] = [];
  let k = 0;
  for (let i = 0; i < n; i++) {
    const s = (i * total) / n;
    while (k < fine.length - 2 && lengths[k + 1] < s) k++;
    const span = lengths[k + 1] - lengths[k];
    const f = span > 0 ? (s - lengths[k]) / span : 0;
    out.push({ x: fine[k].x + f * (fine[k + 1].x - fine[k].x), y: fine[k].y + f * (fine[k + 1].y - fine[k].y) });
  }
  return out;
}

/** A Gaussian average of each point with its neighbours round the closed contour. */
function smoothCyclic(points: Point[]): Point[] {
  const n = points.length;
  if (n === 0) return points;
  const sigma = SMOOTHING / SPACING;
  const reach = Math.ceil(2.5 * sigma);
  const weights = Array.from({ length: 2 * reach + 1 }, (_, k) => Math.exp(-((k - reach) ** 2) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  return points.map((_, i) => {
    let x = 0;
    let y = 0;
    for (let k = -reach; k <= reach; k++) {
      const p = points[(((i + k) % n) + n) % n];
      x += weights[k + reach] * p.x;
      y += weights[k + reach] * p.y;
    }
    return { x: x / total, y: y / total };
  });
}

interface Corner {
  index: number;
  /** Where the two sides meet: the rounded-off corner made sharp again. */
  point: Point;
  /** Samples either side left out of the sides' fits: the rounding. */
  trim: number;
}

/**
 * The contour's corners, each the strongest turn within its reach: a sharp one turns CORNER_TURN
 * within CORNER_WINDOW either side; a rounded one (a corner the bitmap's pixels softened, radius
 * up to about a pixel and a half at 32 px) turns ROUND_CORNER_TURN within twice that, between
 * sides that run straight on beyond it (over four windows it turns little more), unlike a bowl,
 * whose turning grows with the length looked at.
 */
function findCorners(points: readonly Point[]): Corner[] {
  const n = points.length;
  const w = Math.max(2, Math.round(CORNER_WINDOW / SPACING));
  if (n < 4 * w) return [];
  const at = (i: number) => points[((i % n) + n) % n];
  const turnOver = (reach: number) => points.map((p, i) => angleBetween(sub(p, at(i - reach)), sub(at(i + reach), p)));
  const [sharp, round, wide] = [turnOver(w), turnOver(2 * w), turnOver(4 * w)];
  const found = points.map((_, i) =>
    sharp[i] >= CORNER_TURN ? { strength: sharp[i], reach: w }
    : round[i] >= ROUND_CORNER_TURN && wide[i] <= STRAIGHT_ON * round[i] ? { strength: round[i], reach: 2 * w }
    : null);
  const indices: number[] = [];
  for (let i = 0; i < n; i++) {
    const here = found[i];
    if (!here) continue;
    // The strongest within its reach; of equal ones, the first.
    let strongest = true;
    for (let k = 1; k <= here.reach && strongest; k++) {
      const [before, after] = [found[(i - k + n) % n], found[(i + k) % n]];
      strongest = (!before || before.strength < here.strength) && (!after || after.strength <= here.strength);
    }
    if (strongest) indices.push(i);
  }
  return indices.map((i, k) => {
    const reach = found[i]!.reach;
    const gapBefore = (i - indices[(k - 1 + indices.length) % indices.length] + n) % n || n;
    const gapAfter = (indices[(k + 1) % indices.length] - i + n) % n || n;
    // Each side's line is fitted beyond the rounding, no further than a third of the way to the next corner.
    const near = (gap: number) => Math.max(1, Math.min(reach, Math.floor(gap / 3)));
    const far = (gap: number) => Math.max(near(gap) + 1, Math.min(2 * reach, Math.floor((2 * gap) / 3)));
    const before = sideLine(Array.from({ length: far(gapBefore) - near(gapBefore) + 1 }, (_, j) => at(i - near(gapBefore) - j)));
    const after = sideLine(Array.from({ length: far(gapAfter) - near(gapAfter) + 1 }, (_, j) => at(i + near(gapAfter) + j)));
    const meet = intersect(before.through, add(before.through, before.direction), after.through, add(after.through, after.direction));
    const point = meet && dist(meet, points[i]) <= (CORNER_REACH * reach) / w ? meet : points[i];
    return { index: i, point, trim: Math.min(near(gapBefore), near(gapAfter)) };
  });
}

/** The line nearest a run of points (total least squares): through their centroid along their main direction. */
function sideLine(points: readonly Point[]): { through: Point; direction: Point } {
  const through = scale(points.reduce(add, { x: 0, y: 0 }), 1 / points.length);
  let [xx, xy, yy] = [0, 0, 0];
  for (const p of points) {
    const d = sub(p, through);
    xx += d.x * d.x;
    xy += d.x * d.y;
    yy += d.y * d.y;
  }
  const angle = 0.5 * Math.atan2(2 * xy, xx - yy);
  return { through, direction: { x: Math.cos(angle), y: Math.sin(angle) } };
}

/** The samples from one corner to the next, the rounding at each end left out, the corners' points at the ends. */
function sectionPoints(samples: readonly Point[], from: Corner, to: Corner): Point[] {
  const n = samples.length;
  const gap = (to.index - from.index + n) % n || n;
  const inner: Point[] = [];
  for (let k = from.trim; k <= gap - to.trim; k++) inner.push(samples[(from.index + k) % n]);
  return [from.point, ...inner, to.point];
}

/**
 * The fitted segments as a contour, finished: flat cubics become lines, lines in one direction
 * become one, lines near horizontal or vertical become exactly so (the handles beside them follow),
 * and handles at smooth points near horizontal or vertical become exactly so.
 */
function tidy(start: Point, fitted: readonly Fitted[], tolerance: number): Contour | null {
  let segments: Fitted[] = [];
  let from = start;
  for (const s of fitted) {
    if (s.kind === 'line' && dist(from, s.to) < 0.5) continue;
    segments.push(s.kind === 'cubic' && offChordOf(from, s) <= STRAIGHT_CUBIC ? { kind: 'line', to: s.to } : s);
    from = s.to;
  }
  if (segments.length < 2) return null;
  segments = mergeLines(segments, tolerance);
  snapLines(segments);
  alignHandles(segments);
  return { start: segments[segments.length - 1].to, segments };
}

/**
 * Runs of lines that carry on in nearly one direction (each turn under LINE_BEND) become one line
 * where every point they pass through lies within the tolerance of it: a stem drawn slightly
 * bowed is one straight stem.
 */
function mergeLines(segments: Fitted[], tolerance: number): Fitted[] {
  const n = segments.length;
  const end = (k: number) => segments[((k % n) + n) % n].to;
  const joins = (k: number) => {
    // Whether line k and line k + 1 may join (before the tolerance is checked).
    const [a, b] = [segments[k % n], segments[(k + 1) % n]];
    return a.kind === 'line' && b.kind === 'line' && angleBetween(sub(a.to, end(k - 1)), sub(b.to, a.to)) < LINE_BEND;
  };
  // Start the walk after a point where nothing joins, so that no run is cut in two by the contour's start.
  const first = segments.findIndex((_, k) => !joins(k));
  if (first < 0) return segments;
  const out: Fitted[] = [];
  let k = first + 1;
  while (k <= first + n) {
    const from = end(k - 1);
    let last = k;
    const passed: Point[] = [];
    while (last < first + n && joins(last)) {
      const through = [...passed, end(last)];
      if (!through.every((p) => Math.abs(offChord(from, end(last + 1), p)) <= tolerance)) break;
      passed.push(end(last));
      last++;
    }
    out.push(last > k ? { kind: 'line', to: end(last) } : segments[k % n]);
    k = last + 1;
  }
  return out.length < n ? out : segments;
}

/** Lines within SNAP (or SNAP_OFFSET) of horizontal or vertical are made exact by moving their ends (and the handles at those ends). */
function snapLines(segments: Fitted[]): void {
  const n = segments.length;
  const end = (k: number) => segments[(k + n) % n].to;
  for (let k = 0; k < n; k++) {
    const s = segments[k];
    if (s.kind !== 'line') continue;
    const from = end(k - 1);
    const d = sub(s.to, from);
    const angle = Math.atan2(Math.abs(d.y), Math.abs(d.x));
    if ((angle < SNAP || Math.abs(d.y) <= SNAP_OFFSET) && Math.abs(d.x) > Math.abs(d.y) && d.y !== 0) {
      const y = (from.y + s.to.y) / 2;
      moveNode(segments, k - 1, { x: from.x, y });
      moveNode(segments, k, { x: s.to.x, y });
    } else if ((Math.PI / 2 - angle < SNAP || Math.abs(d.x) <= SNAP_OFFSET) && Math.abs(d.y) > Math.abs(d.x) && d.x !== 0) {
      const x = (from.x + s.to.x) / 2;
      moveNode(segments, k - 1, { x, y: from.y });
      moveNode(segments, k, { x, y: s.to.y });
    }
  }
}

/** Moves the end of segment k (the start of k + 1), with the handles on either side of it. */
function moveNode(segments: Fitted[], k: number, to: Point): void {
  const n = segments.length;
  const i = (k + n) % n;
  const here = segments[i];
  const delta = sub(to, here.to);
  if (delta.x === 0 && delta.y === 0) return;
  segments[i] = here.kind === 'cubic' ? { ...here, c2: add(here.c2, delta), to } : { kind: 'line', to };
  const next = segments[(i + 1) % n];
  if (next.kind === 'cubic') segments[(i + 1) % n] = { ...next, c1: add(next.c1, delta) };
}

/**
 * At smooth points (not corners), handles are turned onto the line they continue, or where two
 * cubics meet nearly level or upright, onto the exact horizontal or vertical.
 */
function alignHandles(segments: Fitted[]): void {
  const n = segments.length;
  for (let k = 0; k < n; k++) {
    const a = segments[k];
    const b = segments[(k + 1) % n];
    if (a.kind === 'line' && b.kind === 'line') continue;
    const node = a.to;
    const from = segments[(k - 1 + n) % n].to;
    const inDir = a.kind === 'cubic' ? sub(node, a.c2) : sub(node, from);
    const outDir = b.kind === 'cubic' ? sub(b.c1, node) : sub(b.to, node);
    if (length(inDir) === 0 || length(outDir) === 0 || angleBetween(inDir, outDir) >= CORNER_TURN / 2) continue;
    let dir: Point;
    if (a.kind === 'line') dir = unit(inDir);
    else if (b.kind === 'line') dir = unit(outDir);
    else dir = snapDirection(unit(add(unit(inDir), unit(outDir))));
    if (a.kind === 'cubic') segments[k] = { ...a, c2: sub(node, scale(dir, length(inDir))) };
    if (b.kind === 'cubic') segments[(k + 1) % n] = { ...b, c1: add(node, scale(dir, length(outDir))) };
  }
}

/** A direction within SNAP of an axis, made exactly that axis; any other left as it is. */
function snapDirection(d: Point): Point {
  const angle = Math.atan2(Math.abs(d.y), Math.abs(d.x));
  if (angle < SNAP) return { x: Math.sign(d.x), y: 0 };
  if (Math.PI / 2 - angle < SNAP) return { x: 0, y: Math.sign(d.y) };
  return d;
}

/** How far a cubic's handles lie from its chord, at most. */
function offChordOf(from: Point, s: { c1: Point; c2: Point; to: Point }): number {
  if (dist(from, s.to) === 0) return Math.max(dist(from, s.c1), dist(from, s.c2));
  return Math.max(Math.abs(offChord(from, s.to, s.c1)), Math.abs(offChord(from, s.to, s.c2)));
}
