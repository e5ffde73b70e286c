// One cubic Bézier through a run of points by least squares (Schneider, "An algorithm for
// automatically fitting digitized curves", Graphics Gems, 1990): the ends are the run's ends, each
// end's tangent is either given (only the handle's length is fitted, so neighbouring curves stay
// tangent) or free, the points are parameterised by chord length and then moved to their nearest
// parameters by Newton steps.
import type { Point } from './outline.ts';

export interface Cubic {
  p0: Point;
  p1: Point;
  p2: Point;
  p3: Point;
}

export interface CubicFit {
  cubic: Cubic;
  /** Largest distance from a point to its place on the curve. */
  error: number;
}

/** Newton reparameterisations after the chord-length start. */
const NEWTON_ROUNDS = 3;
/** A handle longer than this share of the chord makes a loop or a cusp, not a letter's curve. */
const MAX_HANDLE = 1.2;
/** A free handle (at a corner) turns at most this far from the chord. */
const FREE_HANDLE_TURN = Math.PI / 3;

export function cubicAt(c: Cubic, t: number): Point {
  const s = 1 - t;
  const [a, b, d, e] = [s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t];
  return { x: a * c.p0.x + b * c.p1.x + d * c.p2.x + e * c.p3.x, y: a * c.p0.y + b * c.p1.y + d * c.p2.y + e * c.p3.y };
}

/**
 * The cubic from points[0] to points[n−1] nearest the points, with the start's tangent direction
 * `startTangent` and the end's `endTangent` (both in the direction of travel, unit length) where
 * given; null when no sensible cubic exists (a handle pointing backwards, or one so long it loops).
 */
export function fitCubic(points: readonly Point[], startTangent: Point | null, endTangent: Point | null): CubicFit | null {
  const p0 = points[0];
  const p3 = points[points.length - 1];
  const chord = Math.hypot(p3.x - p0.x, p3.y - p0.y);
  if (chord === 0) return null;
  let u = chordLengthParameters(points);
  let cubic = solveHandles(points, u, p0, p3, startTangent, endTangent);
  if (!cubic) return null;
  for (let round = 0; round < NEWTON_ROUNDS; round++) {
    const c = cubic;
    u = u.map((t, i) => newtonStep(c, points[i], t));
    cubic = solveHandles(points, u, p0, p3, startTangent, endTangent);
    if (!cubic) return null;
  }
  if (!sensibleHandles(cubic, chord, startTangent, endTangent)) return null;
  let error = 0;
  for (let i = 1; i < points.length - 1; i++) {
    const q = cubicAt(cubic, newtonStep(cubic, points[i], u[i]));
    error = Math.max(error, Math.hypot(q.x - points[i].x, q.y - points[i].y));
  }
  return { cubic, error };
}

function chordLengthParameters(points: readonly Point[]): number[] {
  const u = [0];
  for (let i = 1; i < points.length; i++) u.push(u[i - 1] + Math.hypot(points[i].x - points[i - 1].x, points[i].y - points[i - 1].y));
  const total = u[u.length - 1];
  return u.map((s) => s / total);
}

/**
 * The inner control points by linear least squares: p1 = p0 + α·startTangent (or free), p2 =
 * p3 − β·endTangent (or free). Unknowns: α or (p1x, p1y), then β or (p2x, p2y).
 */
function solveHandles(points: readonly Point[], u: readonly number[], p0: Point, p3: Point, startTangent: Point | null, endTangent: Point | null): Cubic | null {
  if (startTangent && endTangent) return solveHandleLengths(points, u, p0, p3, startTangent, endTangent);
  const n = (startTangent ? 1 : 2) + (endTangent ? 1 : 2);
  const ata = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const atb = new Array<number>(n).fill(0);
  // The unknowns' columns for a point's x and y residuals.
  const x = new Array<number>(n);
  const y = new Array<number>(n);
  points.forEach((p, i) => {
    const t = u[i];
    const s = 1 - t;
    const [b0, b1, b2, b3] = [s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t];
    let k = 0;
    if (startTangent) {
      [x[k], y[k++]] = [b1 * startTangent.x, b1 * startTangent.y];
    } else {
      [x[k], y[k++]] = [b1, 0];
      [x[k], y[k++]] = [0, b1];
    }
    if (endTangent) {
      [x[k], y[k++]] = [-b2 * endTangent.x, -b2 * endTangent.y];
    } else {
      [x[k], y[k++]] = [b2, 0];
      [x[k], y[k++]] = [0, b2];
    }
    // The fixed part: p0 and p3 with their own weights, and inside the tangent form of p1 or p2.
    const w0 = b0 + (startTangent ? b1 : 0);
    const w3 = b3 + (endTangent ? b2 : 0);
    const rx = p.x - w0 * p0.x - w3 * p3.x;
    const ry = p.y - w0 * p0.y - w3 * p3.y;
    for (let a = 0; a < n; a++) {
      atb[a] += x[a] * rx + y[a] * ry;
      for (let b = 0; b < n; b++) ata[a][b] += x[a] * x[b] + y[a] * y[b];
    }
  });
  const v = solveLinear(ata, atb);
  if (!v) return null;
  let k = 0;
  const p1 = startTangent ? { x: p0.x + v[k] * startTangent.x, y: p0.y + v[k++] * startTangent.y } : { x: v[k++], y: v[k++] };
  const p2 = endTangent ? { x: p3.x - v[k] * endTangent.x, y: p3.y - v[k] * endTangent.y } : { x: v[k++], y: v[k] };
  return { p0, p1, p2, p3 };
}

/** Both tangents given: only the handles' lengths α and β are fitted, a 2 × 2 system solved directly. */
function solveHandleLengths(points: readonly Point[], u: readonly number[], p0: Point, p3: Point, t0: Point, t1: Point): Cubic | null {
  let [c11, c12, c22, x1, x2] = [0, 0, 0, 0, 0];
  for (let i = 0; i < points.length; i++) {
    const t = u[i];
    const s = 1 - t;
    const [b0, b1, b2, b3] = [s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t];
    const [a1x, a1y, a2x, a2y] = [b1 * t0.x, b1 * t0.y, -b2 * t1.x, -b2 * t1.y];
    const rx = points[i].x - (b0 + b1) * p0.x - (b2 + b3) * p3.x;
    const ry = points[i].y - (b0 + b1) * p0.y - (b2 + b3) * p3.y;
    c11 += a1x * a1x + a1y * a1y;
    c12 += a1x * a2x + a1y * a2y;
    c22 += a2x * a2x + a2y * a2y;
    x1 += a1x * rx + a1y * ry;
    x2 += a2x * rx + a2y * ry;
  }
  const det = c11 * c22 - c12 * c12;
  if (Math.abs(det) < 1e-12 * Math.max(1e-300, c11 * c22)) return null;
  const alpha = (x1 * c22 - x2 * c12) / det;
  const beta = (c11 * x2 - c12 * x1) / det;
  return { p0, p1: { x: p0.x + alpha * t0.x, y: p0.y + alpha * t0.y }, p2: { x: p3.x - beta * t1.x, y: p3.y - beta * t1.y }, p3 };
}

/** Gaussian elimination with partial pivoting; null for a singular system. */
function solveLinear(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  const scale = Math.max(...m.flatMap((row) => row.map(Math.abs)), 1e-300);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (Math.abs(m[pivot][col]) < 1e-12 * scale) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = col + 1; r < n; r++) {
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = m[r][n];
    for (let c = r + 1; c < n; c++) sum -= m[r][c] * x[c];
    x[r] = sum / m[r][r];
  }
  return x;
}

/**
 * Handles that leave each end forwards (a free one within FREE_HANDLE_TURN of the chord: a handle
 * swung further out is a curve no one would draw, however near the points it passes) and are no
 * longer than MAX_HANDLE chords.
 */
function sensibleHandles(c: Cubic, chord: number, startTangent: Point | null, endTangent: Point | null): boolean {
  const out = { x: c.p1.x - c.p0.x, y: c.p1.y - c.p0.y };
  const back = { x: c.p3.x - c.p2.x, y: c.p3.y - c.p2.y };
  const along = { x: c.p3.x - c.p0.x, y: c.p3.y - c.p0.y };
  const forwards = (h: Point, tangent: Point | null) => (tangent
    ? h.x * tangent.x + h.y * tangent.y > 1e-6 * chord
    : h.x * along.x + h.y * along.y >= Math.cos(FREE_HANDLE_TURN) * Math.hypot(h.x, h.y) * chord);
  return forwards(out, startTangent) && forwards(back, endTangent) &&
    Math.hypot(out.x, out.y) <= MAX_HANDLE * chord && Math.hypot(back.x, back.y) <= MAX_HANDLE * chord;
}

/** One Newton step towards the parameter of the curve's point nearest p. */
function newtonStep(c: Cubic, p: Point, t: number): number {
  const q = cubicAt(c, t);
  const s = 1 - t;
  const d1 = {
    x: 3 * (s * s * (c.p1.x - c.p0.x) + 2 * s * t * (c.p2.x - c.p1.x) + t * t * (c.p3.x - c.p2.x)),
    y: 3 * (s * s * (c.p1.y - c.p0.y) + 2 * s * t * (c.p2.y - c.p1.y) + t * t * (c.p3.y - c.p2.y)),
  };
  const d2 = {
    x: 6 * (s * (c.p2.x - 2 * c.p1.x + c.p0.x) + t * (c.p3.x - 2 * c.p2.x + c.p1.x)),
    y: 6 * (s * (c.p2.y - 2 * c.p1.y + c.p0.y) + t * (c.p3.y - 2 * c.p2.y + c.p1.y)),
  };
  const dx = q.x - p.x;
  const dy = q.y - p.y;
  const numerator = dx * d1.x + dy * d1.y;
  const denominator = d1.x * d1.x + d1.y * d1.y + dx * d2.x + dy * d2.y;
  if (Math.abs(denominator) < 1e-12) return t;
  return Math.min(1, Math.max(0, t - numerator / denominator));
}
