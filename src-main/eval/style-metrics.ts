// The numbers that say whether alphabets share a style, in the style judge's embedding (unit
// vectors, one per glyph; eval/style-judge.ts) and in pixels:
// - within-alphabet similarity s: the mean pairwise cosine between an alphabet's letters;
//   consistency calibrates it, (s − s_random) / (s_real − s_random), so real held-out fonts score
//   1 and alphabets whose letters come from different random fonts score 0;
// - variety: the mean cosine distance (1 − cos) between alphabets' centroids;
// - novelty: each alphabet's nearest training font by centroid cosine distance;
// - completion: pixel IoU and L1 after centring each glyph on its ink, and a style score, the
//   calibrated cosine between each drawn letter and the real font's centroid.
// Everything here is pure arithmetic on arrays; nothing trains or draws.
import { rngFor } from '../engine/rng.ts';

/** n unit vectors of `dims` numbers, row-major. */
export interface Embeddings {
  dims: number;
  rows: Float32Array;
}

/** What a calibrated figure maps to 1 (real fonts) and to 0 (letters of random other fonts). */
export interface CalibrationPair {
  real: number;
  random: number;
}

/** Alphabets as rows of glyph items: alphabet a, class c is items[a · classes + c]. */
export interface Alphabets {
  classes: number;
  /** Font id of each alphabet. */
  fonts: number[];
  /** fonts.length × classes item indices, alphabet-major. */
  items: Int32Array;
  /** Fonts left out because they lack a letter. */
  skipped: number;
}

/** The fonts among `items` that have every class, each with its first glyph of every class. */
export function completeAlphabets(set: { labels: Int32Array; fontIds: Int32Array }, items: ArrayLike<number>, classes: number): Alphabets {
  const byFont = new Map<number, Int32Array>();
  for (let k = 0; k < items.length; k++) {
    const item = items[k];
    const font = set.fontIds[item];
    let row = byFont.get(font);
    if (!row) byFont.set(font, (row = new Int32Array(classes).fill(-1)));
    if (row[set.labels[item]] < 0) row[set.labels[item]] = item;
  }
  const fonts = [...byFont.keys()].filter((f) => byFont.get(f)!.every((i) => i >= 0)).sort((a, b) => a - b);
  const out = new Int32Array(fonts.length * classes);
  fonts.forEach((f, a) => out.set(byFont.get(f)!, a * classes));
  return { classes, fonts, items: out, skipped: byFont.size - fonts.length };
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

export function row(e: Embeddings, i: number): Float32Array {
  return e.rows.subarray(i * e.dims, (i + 1) * e.dims);
}

/** The mean of rows `rows` (not renormalised: cosine ignores length). */
export function centroid(e: Embeddings, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(e.dims);
  for (let k = 0; k < rows.length; k++) {
    const r = row(e, rows[k]);
    for (let d = 0; d < e.dims; d++) out[d] += r[d] / rows.length;
  }
  return out;
}

/** Rows start … start + count − 1. */
export function span(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

/** Mean pairwise cosine among unit rows `rows`: (|Σe|² − n) / (n(n − 1)). */
export function withinSimilarity(e: Embeddings, rows: ArrayLike<number>): number {
  const n = rows.length;
  const sum = centroid(e, rows);
  let sq = 0;
  for (let d = 0; d < e.dims; d++) sq += (sum[d] * n) ** 2;
  return (sq - n) / (n * (n - 1));
}

/** (raw − random) / (real − random): 1 where real fonts sit, 0 where random mixes do. */
export function calibrate(raw: number, pair: CalibrationPair): number {
  return (raw - pair.random) / (pair.real - pair.random);
}

/** Within-alphabet similarity of each alphabet of `classes` consecutive rows. */
export function alphabetSimilarities(e: Embeddings, alphabets: number, classes: number): number[] {
  return Array.from({ length: alphabets }, (_, a) => withinSimilarity(e, span(a * classes, classes)));
}

/**
 * `count` alphabets mixed from `fonts` fonts: entry [m][c] is the font that gives alphabet m its
 * class c, every class from a different font where there are at least as many fonts as classes
 * (else each font as few times as possible), drawn from `seed`.
 */
export function randomMixes(fonts: number, classes: number, count: number, seed: number): number[][] {
  return Array.from({ length: count }, (_, m) => {
    const rng = rngFor(seed, 'style-random-mix', m);
    const picks: number[] = [];
    while (picks.length < classes) picks.push(...rng.permutation(fonts));
    return picks.slice(0, classes);
  });
}

/** Rows of mixed alphabets, given rows laid out font-major (font f, class c at f · classes + c). */
export function mixRows(mix: number[], classes: number): number[] {
  return mix.map((font, c) => font * classes + c);
}

/** Mean within-alphabet similarity of random mixes of the font-major alphabets in `e`. */
export function randomMixSimilarity(e: Embeddings, fonts: number, classes: number, count: number, seed: number): number {
  const mixes = randomMixes(fonts, classes, count, seed);
  return mixes.reduce((s, mix) => s + withinSimilarity(e, mixRows(mix, classes)), 0) / mixes.length;
}

/**
 * Letter-to-font cosines of font-major alphabets in `e`: `real`, the mean cos(letter, centroid of
 * its own font); `random`, the mean cos(the same letter of another random font, centroid).
 */
export function letterCalibration(e: Embeddings, fonts: number, classes: number, seed: number): CalibrationPair {
  const rng = rngFor(seed, 'style-letter-calibration');
  let real = 0;
  let random = 0;
  for (let f = 0; f < fonts; f++) {
    const c0 = centroid(e, span(f * classes, classes));
    for (let c = 0; c < classes; c++) {
      const other = (f + 1 + rng.int(0, fonts - 1)) % fonts;
      real += cosine(row(e, f * classes + c), c0);
      random += cosine(row(e, other * classes + c), c0);
    }
  }
  return { real: real / (fonts * classes), random: random / (fonts * classes) };
}

/** Centroid of each alphabet of `classes` consecutive rows. */
export function alphabetCentroids(e: Embeddings, alphabets: number, classes: number): Float32Array[] {
  return Array.from({ length: alphabets }, (_, a) => centroid(e, span(a * classes, classes)));
}

/** Mean cosine distance (1 − cos) over pairs of centroids; null with fewer than two. */
export function variety(centroids: readonly Float32Array[]): number | null {
  if (centroids.length < 2) return null;
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < centroids.length; a++) {
    for (let b = a + 1; b < centroids.length; b++) {
      sum += 1 - cosine(centroids[a], centroids[b]);
      pairs += 1;
    }
  }
  return sum / pairs;
}

/** The candidate centroid nearest to `c` by cosine distance, and that distance. */
export function nearestCentroid(c: Float32Array, candidates: readonly Float32Array[]): { index: number; distance: number } {
  let index = -1;
  let distance = Infinity;
  candidates.forEach((x, i) => {
    const d = 1 - cosine(c, x);
    if (d < distance) {
      distance = d;
      index = i;
    }
  });
  return { index, distance };
}

/** The q-quantile (0 ≤ q ≤ 1) of `values`, interpolated between neighbours. */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  return lo + 1 < s.length ? s[lo] + (s[lo + 1] - s[lo]) * (at - lo) : s[lo];
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Glyph geometry in pixels: a square side and its channels. */
export interface GlyphShape {
  size: number;
  channels: number;
}

/**
 * The glyph moved by whole pixels so its ink's centre of mass sits at the cell's centre (black
 * comes in, ink pushed past an edge is lost); a blank glyph is returned as it is.
 */
export function centreGlyph(glyph: Uint8Array, { size, channels }: GlyphShape): Uint8Array {
  let mass = 0;
  let my = 0;
  let mx = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let k = 0; k < channels; k++) {
        const v = glyph[(y * size + x) * channels + k];
        mass += v;
        my += v * y;
        mx += v * x;
      }
    }
  }
  if (mass === 0) return glyph.slice();
  const dy = Math.round((size - 1) / 2 - my / mass);
  const dx = Math.round((size - 1) / 2 - mx / mass);
  const out = new Uint8Array(glyph.length);
  for (let y = 0; y < size; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= size) continue;
    for (let x = 0; x < size; x++) {
      const sx = x - dx;
      if (sx < 0 || sx >= size) continue;
      for (let k = 0; k < channels; k++) out[(y * size + x) * channels + k] = glyph[(sy * size + sx) * channels + k];
    }
  }
  return out;
}

/** Intersection over union of the inked pixels (≥ 50%); two blank glyphs agree fully. */
export function pixelIoU(a: Uint8Array, b: Uint8Array): number {
  let both = 0;
  let either = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] >= 128;
    const y = b[i] >= 128;
    if (x && y) both += 1;
    if (x || y) either += 1;
  }
  return either ? both / either : 1;
}

/** Mean absolute difference of pixels scaled to [0, 1]. */
export function pixelL1(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length / 255;
}

/** Sum of squared pixel differences. */
export function pixelSquaredDistance(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return sum;
}
