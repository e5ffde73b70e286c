// Styles of a style-conditioned model: a font's style code (the mean of its glyphs' codes), the
// distribution new styles are drawn from, and the way between two styles.
//
// New styles come from a Gaussian fitted to the training fonts' codes after training, not from a
// KL-regularised code: measured with a prototype of this model, a KL term small enough to keep
// the code useful still let the network learn to ignore it (the KL fell to 0.1 nats within about
// 1,100 steps), while a plain code with a Gaussian fitted afterwards gave distinct, consistent
// alphabets (docs/ARCHITECTURE.md, "Styles").
import * as tf from '@tensorflow/tfjs-core';
import { rngFor } from './rng.ts';
import type { UNet } from './unet.ts';

/** The training fonts' style codes and the Gaussian fitted to them. */
export interface StylePrior {
  dim: number;
  /** Mean code. */
  mean: number[];
  /** Lower-triangular Cholesky factor L of the covariance (row-major dim × dim): Σ = L·Lᵀ. */
  chol: number[];
  /** Each training font's code (its glyphs' mean), in the order of `fontIds`. */
  codes: number[][];
  fontIds: number[];
}

/** How many glyphs the encoder reads at once. */
const ENCODE_CHUNK = 256;

/**
 * Per-glyph style codes [count × dim] of uint8 glyphs (count × size × size × channels, 0..255,
 * white on black), read in chunks.
 */
export async function glyphCodes(model: UNet, pixels: Uint8Array, count: number): Promise<Float32Array> {
  const { size, channels } = model.shape;
  const dim = model.shape.style ?? 0;
  if (dim === 0) throw new Error('this model is not style-conditioned');
  const per = size * size * channels;
  const out = new Float32Array(count * dim);
  for (let start = 0; start < count; start += ENCODE_CHUNK) {
    const n = Math.min(ENCODE_CHUNK, count - start);
    const floats = new Float32Array(n * per);
    for (let j = 0; j < n * per; j++) floats[j] = pixels[start * per + j] / 127.5 - 1;
    const codes = tf.tidy(() => model.encodeStyle(tf.tensor4d(floats, [n, size, size, channels])));
    out.set((await codes.data()) as Float32Array, start * dim);
    codes.dispose();
  }
  return out;
}

/** The style of a set of glyphs: the mean of their codes (any number, any order). */
export async function styleOf(model: UNet, pixels: Uint8Array, count: number): Promise<Float32Array> {
  if (count === 0) throw new Error('a style needs at least one glyph');
  return meanCode(await glyphCodes(model, pixels, count), count, model.shape.style ?? 0);
}

export function meanCode(codes: Float32Array, count: number, dim: number): Float32Array {
  const out = new Float32Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) out[j] += codes[i * dim + j] / count;
  return out;
}

/**
 * Fits N(μ, Σ) to font codes [fonts × dim] (Σ with a small ridge, so a few fonts still give a
 * usable factor).
 */
export function fitStylePrior(codes: Float32Array, fontIds: readonly number[], dim: number): StylePrior {
  const n = fontIds.length;
  if (n === 0) throw new Error('no fonts to fit a style prior to');
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += codes[i * dim + j] / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      const da = codes[i * dim + a] - mean[a];
      for (let b = 0; b <= a; b++) cov[a * dim + b] += (da * (codes[i * dim + b] - mean[b])) / Math.max(1, n - 1);
    }
  }
  let trace = 0;
  for (let a = 0; a < dim; a++) trace += cov[a * dim + a];
  const ridge = 1e-4 * Math.max(trace / dim, 1e-6);
  for (let a = 0; a < dim; a++) cov[a * dim + a] += ridge;
  return {
    dim,
    mean: [...mean],
    chol: [...cholesky(cov, dim)],
    codes: fontIds.map((_, i) => [...codes.subarray(i * dim, (i + 1) * dim)].map((v) => Math.round(v * 1e5) / 1e5)),
    fontIds: [...fontIds],
  };
}

/** Cholesky of a symmetric positive-definite matrix given by its lower triangle. */
function cholesky(a: Float64Array, dim: number): Float64Array {
  const l = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * dim + j];
      for (let k = 0; k < j; k++) sum -= l[i * dim + k] * l[j * dim + k];
      l[i * dim + j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / l[j * dim + j];
    }
  }
  return l;
}

/** A new style: μ + L·z with z ~ N(0, I) drawn from the seed (one seed, one style). */
export function inventStyle(prior: StylePrior, seed: number): Float32Array {
  const { dim } = prior;
  const z = rngFor(seed, 'style').normal(dim);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    let v = prior.mean[i];
    for (let k = 0; k <= i; k++) v += prior.chol[i * dim + k] * z[k];
    out[i] = v;
  }
  return out;
}

/** The style a share t ∈ [0, 1] of the way from a to b. */
export function blendStyles(a: Float32Array, b: Float32Array, t: number): Float32Array {
  return Float32Array.from(a, (v, i) => v + (b[i] - v) * t);
}

/** The nearest training font to a code (Euclidean distance in code space) and its distance. */
export function nearestFont(prior: StylePrior, code: Float32Array): { fontId: number; distance: number } {
  let best = { fontId: -1, distance: Infinity };
  prior.codes.forEach((c, i) => {
    let d = 0;
    for (let j = 0; j < prior.dim; j++) d += (c[j] - code[j]) ** 2;
    if (d < best.distance) best = { fontId: prior.fontIds[i], distance: d };
  });
  return { fontId: best.fontId, distance: Math.sqrt(best.distance) };
}

/** One code for each of `count` rows (a whole alphabet in one style). */
export function repeatCode(code: Float32Array, count: number): Float32Array {
  const out = new Float32Array(code.length * count);
  for (let i = 0; i < count; i++) out.set(code, i * code.length);
  return out;
}
