// Point arithmetic for fitting outlines, in font units.
import type { Point } from './outline.ts';

export const sub = (a: Point, b: Point): Point => ({ x: a.x - b.x, y: a.y - b.y });
export const add = (a: Point, b: Point): Point => ({ x: a.x + b.x, y: a.y + b.y });
export const scale = (a: Point, k: number): Point => ({ x: a.x * k, y: a.y * k });
export const length = (a: Point): number => Math.hypot(a.x, a.y);
export const dist = (a: Point, b: Point): number => Math.hypot(a.x - b.x, a.y - b.y);

/** The direction of a, or +x for no direction at all. */
export function unit(a: Point): Point {
  const len = length(a);
  return len > 0 ? { x: a.x / len, y: a.y / len } : { x: 1, y: 0 };
}

/** The angle (0 to π) between two directions. */
export function angleBetween(u: Point, v: Point): number {
  return Math.abs(Math.atan2(u.x * v.y - u.y * v.x, u.x * v.x + u.y * v.y));
}

/** Signed distance of p from the line through a and b (the distance from a when a = b). */
export function offChord(a: Point, b: Point, p: Point): number {
  const d = sub(b, a);
  const len = length(d);
  if (len === 0) return dist(a, p);
  return ((p.x - a.x) * d.y - (p.y - a.y) * d.x) / len;
}

/** Where the line through a and b meets the line through c and d; null when they are parallel. */
export function intersect(a: Point, b: Point, c: Point, d: Point): Point | null {
  const r = sub(b, a);
  const s = sub(d, c);
  const denominator = r.x * s.y - r.y * s.x;
  if (Math.abs(denominator) < 1e-9 * (length(r) * length(s) || 1)) return null;
  const t = ((c.x - a.x) * s.y - (c.y - a.y) * s.x) / denominator;
  return { x: a.x + t * r.x, y: a.y + t * r.y };
}
