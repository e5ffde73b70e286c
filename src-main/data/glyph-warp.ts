// Reshapes a stored glyph the way a type designer adapts one font towards another: slant, width,
// height and stroke weight. Completion uses it to bring its nearest training font's letters to
// the given letters' proportions before the model redraws them (jobs/nearest-font.ts: fitWarp).

import type { GlyphWarp } from '../contract/api.ts';
import { lowerEnvelope } from './lower-envelope.ts';

/** Samples per pixel side: the importer's own antialiasing (4 × 4 means). */
const SUPER = 4;

/**
 * A glyph's ink as a signed distance field at SUPER× resolution, in pixels of the glyph: positive
 * inside the ink (how far to its edge), negative outside. A stroke weight is a level of it, so
 * thickening or thinning keeps every stroke's shape, thin ones included.
 */
export interface InkField {
  size: number;
  /** The ink's centre of mass, in pixels (x right, y down). */
  cx: number;
  cy: number;
  distance: Float32Array;
  blank: boolean;
}

/** The distance field of one single-channel glyph (uint8, ink 255, `size`²). */
export function inkField(glyph: Uint8Array, size: number): InkField {
  let mass = 0;
  let my = 0;
  let mx = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = glyph[y * size + x];
      mass += v;
      my += v * (y + 0.5);
      mx += v * (x + 0.5);
    }
  }
  const n = size * SUPER;
  const inside = inkSamples(glyph, size);
  const toInk = squaredDistanceTo(inside, n, 1);
  const toPaper = squaredDistanceTo(inside, n, 0);
  const distance = new Float32Array(n * n);
  // Half a sample either side of the edge, so the edge sits between the two samples.
  for (let i = 0; i < n * n; i++) distance[i] = (inside[i] ? Math.sqrt(toPaper[i]) - 0.5 : 0.5 - Math.sqrt(toInk[i])) / SUPER;
  return { size, cx: mass ? mx / mass : size / 2, cy: mass ? my / mass : size / 2, distance, blank: mass === 0 };
}

/**
 * The glyph of `field` reshaped by `warp`: each output pixel is the mean of SUPER × SUPER samples,
 * each ink where the warped point's distance is above −weight / 2, so the result is antialiased as
 * imported glyphs are.
 */
export function warpField(field: InkField, warp: GlyphWarp): Uint8Array {
  const { size, cx, cy } = field;
  const out = new Uint8Array(size * size);
  if (field.blank) return out;
  const n = size * SUPER;
  const level = -warp.weight / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let ink = 0;
      for (let j = 0; j < SUPER; j++) {
        const py = y + (j + 0.5) / SUPER;
        const sy = cy + (py - cy) / warp.height;
        for (let i = 0; i < SUPER; i++) {
          const px = x + (i + 0.5) / SUPER;
          // The output point leans right by slant × its height above the centre, then scales.
          const sx = cx + (px - cx + warp.slant * (py - cy)) / warp.width;
          // Each sample's own coverage, so an edge inside it greys it rather than flipping it.
          ink += Math.min(1, Math.max(0, 0.5 + (sampleDistance(field.distance, n, sx * SUPER, sy * SUPER) - level) * SUPER));
        }
      }
      out[y * size + x] = Math.round((255 * ink) / (SUPER * SUPER));
    }
  }
  return out;
}

/** One glyph reshaped by `warp` (see warpField). */
export function warpGlyph(glyph: Uint8Array, size: number, warp: GlyphWarp): Uint8Array {
  return warpField(inkField(glyph, size), warp);
}

/**
 * The glyph's ink at SUPER× resolution: in each pixel, as many samples as its grey covers (so
 * their means give the glyph back), those where its bilinear surface is inkiest.
 */
function inkSamples(glyph: Uint8Array, size: number): Uint8Array {
  const n = size * SUPER;
  const inside = new Uint8Array(n * n);
  const order = Array.from({ length: SUPER * SUPER }, (_, k) => k);
  const surface = new Float32Array(SUPER * SUPER);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const count = Math.round((glyph[y * size + x] * SUPER * SUPER) / 255);
      if (count === 0) continue;
      for (let k = 0; k < SUPER * SUPER; k++) surface[k] = bilinear(glyph, size, x + ((k % SUPER) + 0.5) / SUPER, y + (Math.floor(k / SUPER) + 0.5) / SUPER);
      order.sort((a, b) => surface[b] - surface[a] || a - b);
      for (let k = 0; k < count; k++) inside[(y * SUPER + Math.floor(order[k] / SUPER)) * n + x * SUPER + (order[k] % SUPER)] = 1;
    }
  }
  return inside;
}

/** The glyph's grey at a point in pixels (pixel centres at integer + ½; outside the cell is paper). */
function bilinear(glyph: Uint8Array, size: number, x: number, y: number): number {
  const fx = x - 0.5;
  const fy = y - 0.5;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const tx = fx - x0;
  const ty = fy - y0;
  return (greyAt(glyph, size, y0, x0) * (1 - tx) + greyAt(glyph, size, y0, x0 + 1) * tx) * (1 - ty) + (greyAt(glyph, size, y0 + 1, x0) * (1 - tx) + greyAt(glyph, size, y0 + 1, x0 + 1) * tx) * ty;
}

function greyAt(glyph: Uint8Array, size: number, y: number, x: number): number {
  return y < 0 || y >= size || x < 0 || x >= size ? 0 : glyph[y * size + x];
}

/** The distance field at a point in samples; beyond the field, paper at the distance to its edge. */
function sampleDistance(distance: Float32Array, n: number, x: number, y: number): number {
  const fx = x - 0.5;
  const fy = y - 0.5;
  if (fx < 0 || fy < 0 || fx > n - 1 || fy > n - 1) {
    const cx = Math.min(n - 1, Math.max(0, fx));
    const cy = Math.min(n - 1, Math.max(0, fy));
    return Math.min(distance[Math.round(cy) * n + Math.round(cx)], 0) - Math.hypot(fx - cx, fy - cy) / SUPER;
  }
  const x0 = Math.min(n - 2, Math.floor(fx));
  const y0 = Math.min(n - 2, Math.floor(fy));
  const tx = fx - x0;
  const ty = fy - y0;
  const i = y0 * n + x0;
  // Hot: no closures here (the fit calls this millions of times).
  return (distance[i] * (1 - tx) + distance[i + 1] * tx) * (1 - ty) + (distance[i + n] * (1 - tx) + distance[i + n + 1] * tx) * ty;
}

/** Squared Euclidean distance (in samples) from each sample to the nearest one whose mask is `to`. */
function squaredDistanceTo(mask: Uint8Array, n: number, to: 0 | 1): Float32Array {
  const far = 4 * n * n;
  const d = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) d[i] = mask[i] === to ? 0 : far;
  const line = new Float32Array(n);
  const argmin = new Int32Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  // Separable exact transform: columns, then rows.
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) line[y] = d[y * n + x];
    lowerEnvelope(line, n, argmin, v, z);
    for (let y = 0; y < n; y++) d[y * n + x] = (y - argmin[y]) ** 2 + line[argmin[y]];
  }
  for (let y = 0; y < n; y++) {
    line.set(d.subarray(y * n, (y + 1) * n));
    lowerEnvelope(line, n, argmin, v, z);
    for (let x = 0; x < n; x++) d[y * n + x] = (x - argmin[x]) ** 2 + line[argmin[x]];
  }
  return d;
}
