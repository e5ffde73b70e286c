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
import { oneHot, styleRows, type UNet } from './unet.ts';
import { lossWeights, noiseScales, predictionTarget, weightedMse, type Diffusion } from './diffusion.ts';

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

/**
 * Steps of `refineStyle` a completion takes by default: none. Measured on the default model
 * (`fontloom eval --style --refine 100`, 12 held-out fonts from HAMB): IoU 0.579 against 0.577
 * with the encoder's reading alone, style score 0.63 against 0.64, at about 20 s more per
 * completion; only a serif from outside the dataset gained (style −0.37 → 0.00). Asked for with
 * --refine N.
 */
export const REFINE_STEPS = 0;

/**
 * Refines a style read from given glyphs: starting from the encoder's code, a few steps of Adam
 * on the code alone (the network stays as it is) lower the model's own denoising loss on those
 * glyphs, as training measures it, so the style carries more of their finer design than the
 * encoder's one glance does. `glyphs` are uint8 (count × size × size × channels) with their
 * classes; each step sees every glyph at `repeats` random timesteps (seeded).
 */
export async function refineStyle(
  d: Diffusion,
  glyphs: Uint8Array,
  classes: readonly number[],
  start: Float32Array,
  opts: { steps: number; lr?: number; repeats?: number; seed?: number },
): Promise<Float32Array> {
  const { size, channels } = d.model.shape;
  const dim = d.model.shape.style ?? 0;
  const per = size * size * channels;
  const repeats = opts.repeats ?? 4;
  const n = classes.length * repeats;
  const x0 = new Float32Array(n * per);
  for (let i = 0; i < n; i++) for (let j = 0; j < per; j++) x0[i * per + j] = glyphs[(i % classes.length) * per + j] / 127.5 - 1;
  const labels = Array.from({ length: n }, (_, i) => classes[i % classes.length]);
  const code = tf.tidy(() => tf.variable(tf.tensor2d(start, [1, dim]), true));
  const lr = opts.lr ?? 0.05;
  const m = new Float32Array(dim);
  const v = new Float32Array(dim);
  try {
    for (let step = 0; step < opts.steps; step++) {
      const rng = rngFor(opts.seed ?? 0, 'refine-style', step);
      const t = Int32Array.from({ length: n }, () => rng.int(1, d.schedule.steps));
      const eps = rng.normal(n * per);
      const weights = lossWeights(d.schedule, t, d.recipe);
      const grad = tf.tidy(() => {
        const clean = tf.tensor4d(x0, [n, size, size, channels]);
        const noise = tf.tensor4d(eps, [n, size, size, channels]);
        const [sa, sb] = noiseScales(d.schedule, t);
        const xt = tf.add<tf.Tensor4D>(tf.mul(clean, sa), tf.mul(noise, sb));
        const target = predictionTarget(d.recipe.prediction, clean, noise, sa, sb);
        const rows = oneHot(labels, d.model.shape.classes);
        const w = tf.tensor1d(weights);
        const { grads } = tf.variableGrads(() => {
          const style = styleRows(tf.tile(code, [n, 1]) as tf.Tensor2D, new Array(n).fill(true));
          return weightedMse(d.model.apply(xt, t, rows, style), target, w);
        }, [code]);
        return grads[code.name];
      });
      const g = (await grad.data()) as Float32Array;
      grad.dispose();
      // Adam on the code (β 0.9, 0.999), in plain numbers: it is only `dim` of them.
      const values = (await code.data()) as Float32Array;
      const next = new Float32Array(dim);
      for (let i = 0; i < dim; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        const mHat = m[i] / (1 - 0.9 ** (step + 1));
        const vHat = v[i] / (1 - 0.999 ** (step + 1));
        next[i] = values[i] - (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
      }
      tf.tidy(() => code.assign(tf.tensor2d(next, [1, dim])));
    }
    return Float32Array.from((await code.data()) as Float32Array);
  } finally {
    code.dispose();
  }
}
