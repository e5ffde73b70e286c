// The diffusion model: a UNet, its noise schedule and its parameterisation (the recipe), as one
// value that training and sampling both take. Here are the forward process x_t = √ᾱ·x₀ + √(1−ᾱ)·ε,
// what the network learns (ε, or v = √ᾱ·ε − √(1−ᾱ)·x₀ after Salimans & Ho 2022), how the loss
// weighs each timestep (plain, or Min-SNR-γ after Hang et al. 2023), the loss of a batch, and the
// reverse process that draws glyphs with classifier-free guidance. The samplers' single steps
// are in samplers.ts, the schedule's numbers in schedule.ts, the network in unet.ts.
import * as tf from '@tensorflow/tfjs-core';
import type { SampleOptions } from '../contract/api.ts';
import type { Prediction, Recipe } from '../contract/presets.ts';
import { rngFor } from './rng.ts';
import { SAMPLERS, guide, timesteps, toUint8 } from './samplers.ts';
import { makeSchedule, type NoiseSchedule } from './schedule.ts';
import { oneHot, type UNet } from './unet.ts';

export interface Diffusion {
  readonly model: UNet;
  readonly schedule: NoiseSchedule;
  readonly recipe: Recipe;
}

/** The diffusion model a run trains or draws with: its network and its recipe. */
export function makeDiffusion(model: UNet, recipe: Recipe): Diffusion {
  return { model, schedule: makeSchedule(recipe.schedule), recipe };
}

// ---- Parameterisation. Scales are √ᾱ and √(1−ᾱ): numbers for one timestep, or per-sample
// [n, 1, 1, 1] tensors that broadcast over a batch.

type Scale = number | tf.Tensor;

/** v = √ᾱ·ε − √(1−ᾱ)·x₀ */
export function vTarget(x0: tf.Tensor4D, eps: tf.Tensor4D, sqrtAlphaBar: Scale, sqrtOneMinus: Scale): tf.Tensor4D {
  return tf.sub(tf.mul(eps, sqrtAlphaBar), tf.mul(x0, sqrtOneMinus));
}

/** ε = √(1−ᾱ)·x_t + √ᾱ·v */
export function epsFromV(xt: tf.Tensor4D, v: tf.Tensor4D, sqrtAlphaBar: Scale, sqrtOneMinus: Scale): tf.Tensor4D {
  return tf.add(tf.mul(xt, sqrtOneMinus), tf.mul(v, sqrtAlphaBar));
}

/** x₀ = √ᾱ·x_t − √(1−ᾱ)·v */
export function x0FromV(xt: tf.Tensor4D, v: tf.Tensor4D, sqrtAlphaBar: Scale, sqrtOneMinus: Scale): tf.Tensor4D {
  return tf.sub(tf.mul(xt, sqrtAlphaBar), tf.mul(v, sqrtOneMinus));
}

/** What the network is trained to output for x_t = √ᾱ·x₀ + √(1−ᾱ)·ε. */
export function predictionTarget(prediction: Prediction, x0: tf.Tensor4D, eps: tf.Tensor4D, sqrtAlphaBar: Scale, sqrtOneMinus: Scale): tf.Tensor4D {
  return prediction === 'v' ? vTarget(x0, eps, sqrtAlphaBar, sqrtOneMinus) : eps;
}

/** The network's output read as ε (the identity for ε-prediction). */
export function outputAsEps(prediction: Prediction, xt: tf.Tensor4D, out: tf.Tensor4D, sqrtAlphaBar: Scale, sqrtOneMinus: Scale): tf.Tensor4D {
  return prediction === 'v' ? epsFromV(xt, out, sqrtAlphaBar, sqrtOneMinus) : out;
}

/** The samplers' view of one timestep's output: ε, whatever the network predicts. */
export function epsFromOutput(d: Omit<Diffusion, 'model'>, xt: tf.Tensor4D, out: tf.Tensor4D, t: number): tf.Tensor4D {
  const alphaBar = d.schedule.alphaBar[t];
  return outputAsEps(d.recipe.prediction, xt, out, Math.sqrt(alphaBar), Math.sqrt(1 - alphaBar));
}

/**
 * Min-SNR-γ: with SNR = ᾱ/(1−ᾱ), weight min(SNR, γ)/SNR for ε-prediction and
 * min(SNR, γ)/(SNR + 1) for v-prediction (the same weight on x₀'s error either way).
 */
export function minSnrWeight(alphaBar: number, prediction: Prediction, gamma: number): number {
  const snr = alphaBar / (1 - alphaBar);
  return Math.min(snr, gamma) / (prediction === 'v' ? snr + 1 : snr);
}

/** Per-sample loss weights for timesteps t, computed in float64. */
export function lossWeights(schedule: NoiseSchedule, t: ArrayLike<number>, recipe: Pick<Recipe, 'prediction' | 'weighting' | 'snrGamma'>): Float32Array {
  return Float32Array.from({ length: t.length }, (_, i) =>
    recipe.weighting === 'min-snr' ? minSnrWeight(schedule.alphaBar[t[i]], recipe.prediction, recipe.snrGamma) : 1,
  );
}

/** Each sample's mean squared error over its pixels, times its weight; then the batch mean. */
export function weightedMse(out: tf.Tensor4D, target: tf.Tensor4D, weights: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.mul(tf.mean(tf.squaredDifference(out, target), [1, 2, 3]), weights));
}

// ---- Training: the loss of a batch given as host arrays, so the same code runs on the main
// thread and in an engine worker (each on its share of the batch).

export interface StepBatch {
  n: number;
  /** Clean images in [−1, 1], NHWC. */
  x0: Float32Array;
  /** The noise mixed in, shaped like x0. */
  eps: Float32Array;
  t: Int32Array;
  /** Class per sample; −1 trains it without its label (classifier-free guidance). */
  labels: Int32Array;
  /** Per-sample loss weights (all 1 for plain MSE). */
  weights: Float32Array;
}

/** The samples [start, end) of a batch, as views. */
export function sliceBatch(b: StepBatch, start: number, end: number): StepBatch {
  const per = b.x0.length / b.n;
  return {
    n: end - start,
    x0: b.x0.subarray(start * per, end * per),
    eps: b.eps.subarray(start * per, end * per),
    t: b.t.subarray(start, end),
    labels: b.labels.subarray(start, end),
    weights: b.weights.subarray(start, end),
  };
}

/** √ᾱ_t and √(1−ᾱ_t) per sample, shaped to broadcast over an image batch. */
export function noiseScales(schedule: NoiseSchedule, t: ArrayLike<number>): [tf.Tensor4D, tf.Tensor4D] {
  const a = new Float32Array(t.length);
  const b = new Float32Array(t.length);
  for (let i = 0; i < t.length; i++) {
    a[i] = Math.sqrt(schedule.alphaBar[t[i]]);
    b[i] = Math.sqrt(1 - schedule.alphaBar[t[i]]);
  }
  return [tf.tensor4d(a, [t.length, 1, 1, 1]), tf.tensor4d(b, [t.length, 1, 1, 1])];
}

/** The weighted loss of the batch and its gradient per variable (keyed by tfjs variable name). */
export function lossAndGrads(d: Diffusion, b: StepBatch): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const { size, channels, classes } = d.model.shape;
  const shape: [number, number, number, number] = [b.n, size, size, channels];
  const x0 = tf.tensor4d(b.x0, shape);
  const eps = tf.tensor4d(b.eps, shape);
  const [sa, sb] = noiseScales(d.schedule, b.t);
  const xt = tf.add<tf.Tensor4D>(tf.mul(x0, sa), tf.mul(eps, sb));
  const target = predictionTarget(d.recipe.prediction, x0, eps, sa, sb);
  const rows = oneHot(b.labels, classes);
  // With plain mse every weight is 1 and this is the reference's mean over the whole batch.
  const w = tf.tensor1d(b.weights);
  return tf.variableGrads(() => weightedMse(d.model.apply(xt, b.t, rows), target, w), [...d.model.variables.values()]);
}

// ---- Sampling: the reverse process over the sampler's timesteps, with classifier-free guidance
// batched (conditional and unconditional rows in one forward pass). Guidance mixes the raw
// outputs; reading them as ε is linear in the output (for fixed x_t and t), so mixing v and then
// converting equals converting and then mixing ε.

/** Rows [start, start + count) of a batch: how a batch is shared between engines. */
export interface RowRange {
  start: number;
  count: number;
}

/**
 * One image per label, as uint8 NHWC in 0..255. With `rows`, only those rows of the batch are
 * drawn, with exactly the noise the whole batch would give them: two engines drawing halves
 * produce the batch one engine would.
 */
export async function sampleImages(
  d: Diffusion,
  labels: readonly number[],
  opts: SampleOptions,
  onStep?: (done: number, total: number) => void,
  rows: RowRange = { start: 0, count: labels.length },
): Promise<Uint8Array> {
  const { model } = d;
  const { channels, classes, size } = model.shape;
  const total = labels.length;
  const n = rows.count;
  const shape: [number, number, number, number] = [n, size, size, channels];
  const perImage = size * size * channels;
  const mine = (all: Float32Array) => all.subarray(rows.start * perImage, (rows.start + n) * perImage);
  const rng = rngFor(opts.seed, 'sample');
  const step = SAMPLERS[opts.sampler];
  const guided = opts.cfg !== 1;
  const addsNoise = opts.sampler === 'ddpm' || opts.eta > 0;
  const classRows = tf.tidy(() => {
    const cond = oneHot(labels.slice(rows.start, rows.start + n), classes);
    return guided ? tf.concat([cond, tf.zerosLike(cond)]) : cond;
  });
  const ts = timesteps(d.schedule, opts.steps);
  let x = tf.tensor4d(mine(rng.normal(total * perImage)), shape);
  try {
    for (let i = 0; i < ts.length - 1; i++) {
      const t = ts[i];
      const tPrev = ts[i + 1];
      const next = tf.tidy(() => {
        const batch = guided ? 2 * n : n;
        const out = model.apply(guided ? tf.concat([x, x]) : x, new Array(batch).fill(t), classRows);
        const guidedOut = guided ? guide(tf.slice(out, 0, n), tf.slice(out, n, n), opts.cfg) : out;
        const eps = epsFromOutput(d, x, guidedOut, t);
        const noise = addsNoise ? tf.tensor4d(mine(rng.normal(total * perImage)), shape) : tf.zeros(shape);
        return step(d.schedule, { x, eps, t, tPrev, noise: noise as tf.Tensor4D, eta: opts.eta });
      });
      x.dispose();
      x = next;
      onStep?.(i + 1, ts.length - 1);
    }
    return await toUint8(x);
  } finally {
    x.dispose();
    classRows.dispose();
  }
}
