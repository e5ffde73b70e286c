// Within one section of a contour (from corner to corner, or round a contour that has none): long
// straight runs become lines, and the curved stretches between them are cut at their horizontal
// and vertical extremes and covered by the fewest cubics that stay within the tolerance of the
// samples, each tangent to the next. See fit.ts for the whole of the fitting.
import { fitCubic, type Cubic } from './cubic-fit.ts';
import type { Point } from './outline.ts';
import { angleBetween, dist, offChord, sub, unit } from './vector.ts';

export interface FitOptions {
  /** How far (font units) the fitted outline may stray from the traced one. */
  tolerance: number;
  /** On-curve points at the horizontal and vertical extremes of curves. */
  extremes: boolean;
}

/** A segment as fitted, in font units. */
export type Fitted = { kind: 'line'; to: Point } | { kind: 'cubic'; c1: Point; c2: Point; to: Point };

/** Samples from one end of a stretch of outline to the other, and the tangent each end must keep (null: free, at a corner). */
export interface Stretch {
  points: Point[];
  startTangent: Point | null;
  endTangent: Point | null;
}

/** A curve may end every this many samples (16 font units at fit.ts's spacing of 4). */
const CANDIDATE_STEP = 4;
/** A curve's tangent at a sample: the chord over this many samples either side. */
const TANGENT_REACH = 4;
/** Straight runs at least this long from a corner become lines, and at least MIN_FREE_LINE long between curves (shorter straight bits stay inside curves). */
const MIN_LINE = 100;
const MIN_FREE_LINE = 200;
/** A run bowing more than this share of its length (or SAG_FLOOR units) is a gentle curve, not a line. */
const LINE_SAG = 0.01;
const SAG_FLOOR = 1.5;
/** A curve's extreme counts when its tangent turns at least this far either side of it. */
const EXTREME_TURN = Math.sin((12 * Math.PI) / 180);
/** Extremes nearer than this (font units) to a curve's end are left to that end. */
const EXTREME_MARGIN = 24;

/** A section's lines and cubics, from its first point to its last. */
export function fitSection(section: Stretch, options: FitOptions): Fitted[] {
  const { points } = section;
  const last = points.length - 1;
  // From corner to corner within the tolerance: a flat side (a stem's end, a serif), however short.
  if (!section.startTangent && !section.endTangent && maxDeviation(points, 0, last) <= options.tolerance) return [{ kind: 'line', to: points[last] }];
  const runs = lineRuns(points, options.tolerance, !section.startTangent && !section.endTangent);
  const out: Fitted[] = [];
  let at = 0;
  let startTangent = section.startTangent;
  for (const [a, b] of [...runs, [points.length - 1, points.length - 1] as const]) {
    if (a > at) {
      const endTangent = a === points.length - 1 ? section.endTangent : unit(sub(points[b], points[a]));
      out.push(...fitCurve({ points: points.slice(at, a + 1), startTangent, endTangent }, options));
    }
    if (b > a) {
      out.push({ kind: 'line', to: points[b] });
      startTangent = unit(sub(points[b], points[a]));
    }
    at = b;
  }
  return out;
}

/**
 * Long straight runs of a section as [start, end] sample indices, longest first taken, none
 * overlapping, in order: each long enough (MIN_LINE, MIN_FREE_LINE), every sample within the tolerance of its
 * chord, and bowing less than a gentle curve would.
 */
function lineRuns(points: readonly Point[], tolerance: number, cornered: boolean): [number, number][] {
  const last = points.length - 1;
  // A run from a corner needs MIN_LINE; one between curves MIN_FREE_LINE (shorter ones there are a bowl's pixel facets).
  const longEnough = (a: number, b: number) => dist(points[a], points[b]) >= (cornered && (a === 0 || b === last) ? MIN_LINE : MIN_FREE_LINE);
  const candidates = candidateIndices(0, last);
  const chosen: [number, number][] = [];
  for (;;) {
    let best: [number, number] | null = null;
    const bounds = [0, ...chosen.flat(), last];
    for (let g = 0; g < bounds.length; g += 2) {
      const [lo, hi] = [bounds[g], bounds[g + 1]];
      const inGap = [...new Set([lo, ...candidates.filter((c) => c > lo && c < hi), hi])];
      for (let s = 0; s < inGap.length - 1; s++) {
        const end = longestStraight(points, inGap, s, tolerance);
        if (end !== null && longEnough(inGap[s], end) && (!best || end - inGap[s] > best[1] - best[0])) best = [inGap[s], end];
      }
    }
    if (!best) break;
    chosen.push(best);
    chosen.sort((x, y) => x[0] - y[0]);
  }
  return joinRuns(points, chosen, tolerance);
}

/**
 * Runs that meet end to end become one where one line stays within the tolerance of both (a stem
 * drawn slightly bent); otherwise each draws back a step, so that a curve turns smoothly from one
 * to the other instead of a kink no corner was found at.
 */
function joinRuns(points: readonly Point[], runs: [number, number][], tolerance: number): [number, number][] {
  const out: [number, number][] = [];
  for (const run of runs) {
    const previous = out[out.length - 1];
    if (!previous || previous[1] !== run[0]) {
      out.push([...run]);
    } else if (maxDeviation(points, previous[0], run[1]) <= tolerance) {
      previous[1] = run[1];
    } else {
      previous[1] -= Math.min(CANDIDATE_STEP, previous[1] - previous[0] - 1);
      out.push([run[0] + Math.min(CANDIDATE_STEP, run[1] - run[0] - 1), run[1]]);
    }
  }
  return out;
}

/** The furthest candidate after `indices[s]` that a straight line reaches from it, or null. */
function longestStraight(points: readonly Point[], indices: readonly number[], s: number, tolerance: number): number | null {
  const a = indices[s];
  let reach = s;
  for (let e = s + 1; e < indices.length; e++) {
    if (maxDeviation(points, a, indices[e]) > tolerance) break;
    reach = e;
  }
  for (let e = reach; e > s; e--) {
    const b = indices[e];
    if (Math.abs(sag(points, a, b)) <= Math.max(SAG_FLOOR, LINE_SAG * dist(points[a], points[b]))) return b;
  }
  return null;
}

/** Largest distance of the samples a..b from their chord. */
function maxDeviation(points: readonly Point[], a: number, b: number): number {
  let worst = 0;
  for (let i = a + 1; i < b; i++) worst = Math.max(worst, Math.abs(offChord(points[a], points[b], points[i])));
  return worst;
}

/** How far a parabola fitted to the samples a..b (across their chord) bows at its middle. */
function sag(points: readonly Point[], a: number, b: number): number {
  const length = dist(points[a], points[b]);
  if (length === 0 || b - a < 3) return 0;
  const dir = unit(sub(points[b], points[a]));
  // Least squares of the offset r against u ∈ [−1, 1] along the chord: r ≈ c0 + c1·u + c2·u²; sag = c2.
  const sums = [0, 0, 0, 0, 0];
  const rhs = [0, 0, 0];
  for (let i = a; i <= b; i++) {
    const dx = points[i].x - points[a].x;
    const dy = points[i].y - points[a].y;
    const u = (2 * (dx * dir.x + dy * dir.y)) / length - 1;
    const r = dy * dir.x - dx * dir.y;
    const u2 = u * u;
    sums[0] += 1;
    sums[1] += u;
    sums[2] += u2;
    sums[3] += u2 * u;
    sums[4] += u2 * u2;
    rhs[0] += r;
    rhs[1] += r * u;
    rhs[2] += r * u2;
  }
  const m = [[sums[0], sums[1], sums[2]], [sums[1], sums[2], sums[3]], [sums[2], sums[3], sums[4]]];
  const det = (q: number[][]) => q[0][0] * (q[1][1] * q[2][2] - q[1][2] * q[2][1]) - q[0][1] * (q[1][0] * q[2][2] - q[1][2] * q[2][0]) + q[0][2] * (q[1][0] * q[2][1] - q[1][1] * q[2][0]);
  const d = det(m);
  if (Math.abs(d) < 1e-12) return 0;
  return det(m.map((row, i) => [row[0], row[1], rhs[i]])) / d;
}

/** Where a curve may end: every CANDIDATE_STEP samples from a to b, b included (the last step not too short). */
function candidateIndices(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i += CANDIDATE_STEP) out.push(i);
  if (out.length > 1 && b - out[out.length - 1] < CANDIDATE_STEP / 2) out.pop();
  out.push(b);
  return out;
}

/** A curved stretch as cubics: cut at its extremes (if asked), each piece covered by the fewest cubics. */
function fitCurve(stretch: Stretch, options: FitOptions): Fitted[] {
  const pieces = options.extremes ? cutAtExtremes(stretch) : [stretch];
  return pieces.flatMap((piece) => fewestCubics(piece, options.tolerance));
}

/** Tangent at sample i of a stretch: the chord over TANGENT_REACH samples either side. */
function tangentAt(points: readonly Point[], i: number): Point {
  return unit(sub(points[Math.min(points.length - 1, i + TANGENT_REACH)], points[Math.max(0, i - TANGENT_REACH)]));
}

/**
 * The stretch cut where its tangent passes exactly horizontal or vertical and turns on through at
 * least EXTREME_TURN either side (a ripple around the axis is no extreme), at least
 * EXTREME_MARGIN from either end. The cut's tangent is the axis itself.
 */
function cutAtExtremes(stretch: Stretch): Stretch[] {
  const { points } = stretch;
  const tangents = points.map((_, i) => tangentAt(points, i));
  const cuts: { index: number; tangent: Point }[] = [];
  for (const axis of ['x', 'y'] as const) {
    // Along the stretch, the tangent's component across the axis: its sign changes are the extremes.
    const across = tangents.map((t) => (axis === 'y' ? t.y : t.x));
    // Crossings between two places where the tangent stands well off the axis form one cluster; an
    // odd number of them is one extreme (the middle one is kept), an even number a ripple.
    let turned = false;
    let crossings: number[] = [];
    let lastSign = 0;
    for (let i = 0; i < points.length; i++) {
      if (Math.abs(across[i]) >= EXTREME_TURN) {
        if (turned && crossings.length % 2 === 1) {
          const index = crossings[(crossings.length - 1) / 2];
          const along = tangents[index];
          cuts.push({ index, tangent: axis === 'y' ? { x: Math.sign(along.x) || 1, y: 0 } : { x: 0, y: Math.sign(along.y) || 1 } });
        }
        crossings = [];
        turned = true;
      }
      const sign = Math.sign(across[i]);
      if (sign !== 0 && lastSign !== 0 && sign !== lastSign) crossings.push(Math.abs(across[i - 1]) < Math.abs(across[i]) ? i - 1 : i);
      if (sign !== 0) lastSign = sign;
    }
    // Crossings the stretch ends before turning away from lie at its end: left to the end.
  }
  const length = arcLengths(points);
  const kept = cuts
    .filter((c) => length[c.index] >= EXTREME_MARGIN && length[points.length - 1] - length[c.index] >= EXTREME_MARGIN)
    .sort((a, b) => a.index - b.index)
    .filter((c, k, all) => k === 0 || length[c.index] - length[all[k - 1].index] >= EXTREME_MARGIN);
  const pieces: Stretch[] = [];
  let from = 0;
  let startTangent = stretch.startTangent;
  for (const cut of kept) {
    pieces.push({ points: points.slice(from, cut.index + 1), startTangent, endTangent: cut.tangent });
    from = cut.index;
    startTangent = cut.tangent;
  }
  pieces.push({ points: points.slice(from), startTangent, endTangent: stretch.endTangent });
  return pieces;
}

/**
 * The fewest cubics (then the closest) covering the stretch within the tolerance, ending only at
 * candidate samples, tangent to each other where they meet (the local tangent of the samples).
 */
function fewestCubics(stretch: Stretch, tolerance: number): Fitted[] {
  const { points } = stretch;
  if (points.length < 2) return [];
  const ends = candidateIndices(0, points.length - 1);
  const tangentIn = (k: number) => (k === 0 ? stretch.startTangent : tangentAt(points, ends[k]));
  const tangentOut = (k: number) => (k === ends.length - 1 ? stretch.endTangent : tangentAt(points, ends[k]));
  const best: { count: number; error: number; from: number; piece: Fitted }[] = [{ count: 0, error: 0, from: -1, piece: { kind: 'line', to: points[0] } }];
  for (let j = 1; j < ends.length; j++) {
    let failures = 0;
    for (let i = j - 1; i >= 0 && failures < 2; i--) {
      const run = points.slice(ends[i], ends[j] + 1);
      const fit = fitCubic(run, tangentIn(i), tangentOut(j));
      if (!fit || fit.error > tolerance) {
        if (!fit || fit.error > 3 * tolerance) failures++;
        if (i === j - 1 && !best[j]) best[j] = { count: best[i].count + 1, error: Infinity, from: i, piece: fallback(run, fit?.cubic) };
        continue;
      }
      failures = 0;
      const count = best[i].count + 1;
      const error = Math.max(best[i].error, fit.error);
      if (!best[j] || count < best[j].count || (count === best[j].count && error < best[j].error)) {
        best[j] = { count, error, from: i, piece: cubicSegment(fit.cubic) };
      }
    }
  }
  const out: Fitted[] = [];
  for (let j = ends.length - 1; j > 0; j = best[j].from) out.unshift(best[j].piece);
  return out;
}

/** A step no cubic fits within the tolerance (a ragged bit): the closest cubic there is, or a line. */
function fallback(run: readonly Point[], cubic: Cubic | undefined): Fitted {
  return cubic ? cubicSegment(cubic) : { kind: 'line', to: run[run.length - 1] };
}

function cubicSegment(c: Cubic): Fitted {
  return { kind: 'cubic', c1: c.p1, c2: c.p2, to: c.p3 };
}

function arcLengths(points: readonly Point[]): number[] {
  const out = [0];
  for (let i = 1; i < points.length; i++) out.push(out[i - 1] + dist(points[i - 1], points[i]));
  return out;
}
