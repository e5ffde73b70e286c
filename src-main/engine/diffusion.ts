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
import { SAMPLERS, guide, guideTwice, timesteps, toUint8 } from './samplers.ts';
import { makeSchedule, type NoiseSchedule } from './schedule.ts';
import { oneHot, styleRows, type UNet } from './unet.ts';
import { FusedTrainer, fusedApplies } from './gpu/fused.ts';
import { webgpuDevice } from './runtime/backend.ts';
import { UserError } from '../errors.ts';

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
  /**
   * A style model's references: glyphs of each sample's font (other letters than the sample's),
   * in sample order; `owner[r]` is the sample reference r belongs to. A sample without
   * references trains without style (classifier-free guidance on style).
   */
  refs?: { x: Float32Array; owner: Int32Array };
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
    refs: b.refs && sliceRefs(b.refs, per, start, end),
  };
}

function sliceRefs(refs: NonNullable<StepBatch['refs']>, per: number, start: number, end: number): NonNullable<StepBatch['refs']> {
  let first = 0;
  while (first < refs.owner.length && refs.owner[first] < start) first++;
  let last = first;
  while (last < refs.owner.length && refs.owner[last] < end) last++;
  return { x: refs.x.subarray(first * per, last * per), owner: refs.owner.subarray(first, last).map((o) => o - start) };
}

/**
 * The style rows of n samples from their references: each sample's code is the mean of its
 * references' codes (so the order and number of references do not matter); a sample without
 * references gets the all-zero "no style" row.
 */
export function batchStyleRows(model: UNet, n: number, refs: tf.Tensor4D | null, owner: ArrayLike<number>): tf.Tensor2D {
  const dim = model.shape.style ?? 0;
  const counts = new Float32Array(n);
  for (let r = 0; r < owner.length; r++) counts[owner[r]] += 1;
  if (!refs || owner.length === 0) return tf.zeros([n, dim + 1]);
  const mean = new Float32Array(n * owner.length);
  for (let r = 0; r < owner.length; r++) mean[owner[r] * owner.length + r] = 1 / counts[owner[r]];
  const codes = tf.matMul(tf.tensor2d(mean, [n, owner.length]), model.encodeStyle(refs)) as tf.Tensor2D;
  return styleRows(codes, counts);
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
  const styled = (d.model.shape.style ?? 0) > 0;
  const refs = styled && b.refs && b.refs.owner.length > 0 ? tf.tensor4d(b.refs.x, [b.refs.owner.length, size, size, channels]) : null;
  return tf.variableGrads(() => {
    const style = styled ? batchStyleRows(d.model, b.n, refs, b.refs?.owner ?? []) : undefined;
    return weightedMse(d.model.apply(xt, b.t, rows, style), target, w);
  }, [...d.model.variables.values()]);
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
 * The branches of one guided step, batched: which rows carry the letter and the style, and how
 * the outputs mix. Without style codes: (letter) and (nothing), mixed by `cfg`. With them and
 * one scale for both: (letter, style) and (nothing). With two scales: (letter, style),
 * (letter) and (nothing), so the letter's and the style's guidance can differ.
 */
export type GuidanceBranches = 'letter' | 'letter-style' | 'letter-style+letter';

export function guidanceBranches(opts: Pick<SampleOptions, 'cfg' | 'styleCfg'>, styled: boolean): { branches: GuidanceBranches; guided: boolean } {
  const styleCfg = opts.styleCfg ?? opts.cfg;
  if (!styled) return { branches: 'letter', guided: opts.cfg !== 1 };
  if (styleCfg === opts.cfg) return { branches: 'letter-style', guided: opts.cfg !== 1 };
  return { branches: 'letter-style+letter', guided: true };
}

/**
 * Glyphs to start the reverse process from instead of pure noise (SDEdit, Meng et al. 2022):
 * `x0` (one image per label, the whole batch, in [−1, 1] NHWC) is noised to the sampler's
 * timestep at `strength` of the way from clean (0) to pure noise (1), and drawn from there.
 * Completion starts from the nearest training font's letters, so the model carries the given
 * letters' style onto real letterforms rather than inventing every form from noise.
 */
export interface StartFrom {
  x0: Float32Array;
  strength: number;
}

/**
 * The strength a start needs to cover its own error: the first timestep whose noise-to-signal
 * ratio √((1−ᾱ)/ᾱ) reaches `cover` × `rms` (the start's estimated root-mean-square error in the
 * [−1, 1] pixel scale), as a share of the chain. A start that nearly matches is only touched up;
 * a distant one is redrawn from further back. At least `min`.
 */
export function strengthFor(schedule: NoiseSchedule, rms: number, cover: number, min = 0.02): number {
  const want = cover * rms;
  const last = schedule.steps - 1;
  for (let t = 1; t <= last; t++) {
    const a = schedule.alphaBar[t];
    if (Math.sqrt((1 - a) / a) >= want) return Math.max(min, t / last);
  }
  return 1;
}

/** Index into `ts` (timesteps()) where a start at `strength` begins: at least one step is drawn. */
export function startIndex(ts: readonly number[], strength: number): number {
  if (!(strength > 0 && strength <= 1)) throw new Error(`a start strength is in (0, 1], got ${strength}`);
  return Math.min(ts.length - 2, Math.max(0, Math.round((1 - strength) * (ts.length - 1))));
}

/**
 * The fused engine's forward pass planned for `rows` images with the model's weights, or null
 * where this GPU cannot hold the plan (its largest binding is too small): drawing then goes
 * through tfjs's webgpu kernels, as it would with FONTLOOM_FUSED=0.
 */
async function fusedForward(d: Diffusion, rows: number): Promise<FusedTrainer | null> {
  let fused: FusedTrainer | null = null;
  try {
    fused = new FusedTrainer(await webgpuDevice(), d.model, d.schedule, d.recipe, rows, { beta: 0, start: 0 }, 'forward');
    await fused.load(d.model, d.model);
    return fused;
  } catch (err) {
    fused?.dispose();
    if (err instanceof UserError) return null;
    throw err;
  }
}

/**
 * One image per label, as uint8 NHWC in 0..255. With `rows`, only those rows of the batch are
 * drawn, with exactly the noise the whole batch would give them: two engines drawing halves
 * produce the batch one engine would. A style model draws row i in the style whose code is
 * `styles[i·dim … (i+1)·dim)` (one code per label, for the whole batch). With `start`, it
 * begins from those glyphs partly noised (see StartFrom).
 */
export async function sampleImages(
  d: Diffusion,
  labels: readonly number[],
  opts: SampleOptions,
  onStep?: (done: number, total: number) => void,
  rows: RowRange = { start: 0, count: labels.length },
  styles?: Float32Array,
  start?: StartFrom,
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
  const dim = model.shape.style ?? 0;
  if (styles && dim === 0) throw new Error('this model is not style-conditioned: it draws without a style');
  if (styles && styles.length !== total * dim) throw new Error(`expected ${total} style codes of ${dim}, found ${styles.length} numbers`);
  const { branches, guided } = guidanceBranches(opts, styles !== undefined);
  const styleCfg = opts.styleCfg ?? opts.cfg;
  const addsNoise = opts.sampler === 'ddpm' || opts.eta > 0;
  // Conditions per branch, stacked in the order the outputs are sliced below.
  const [classRows, styleInput] = tf.tidy(() => {
    const cond = oneHot(labels.slice(rows.start, rows.start + n), classes);
    const none = tf.zerosLike(cond);
    if (branches === 'letter') return [guided ? tf.concat([cond, none]) : cond, undefined];
    const codes = tf.tensor2d(styles!.subarray(rows.start * dim, (rows.start + n) * dim), [n, dim]);
    const style = styleRows(codes, new Array(n).fill(true));
    const noStyle = tf.zerosLike(style);
    if (!guided) return [cond, style];
    if (branches === 'letter-style') return [tf.concat([cond, none]), tf.concat([style, noStyle])];
    return [tf.concat([cond, cond, none]), tf.concat([style, noStyle, noStyle])];
  }) as [tf.Tensor2D, tf.Tensor2D | undefined];
  const copies = classRows.shape[0] / n;
  const ts = timesteps(d.schedule, opts.steps);
  if (start && start.x0.length !== total * perImage) throw new Error(`a start needs ${total} images of ${perImage} numbers, found ${start.x0.length} numbers`);
  const first = start ? startIndex(ts, start.strength) : 0;
  const initial = rng.normal(total * perImage);
  // On webgpu the forward passes run on the fused engine, planned for this batch: each branch's
  // labels and style rows as the tfjs path stacks them above.
  const fused = fusedApplies() ? await fusedForward(d, copies * n) : null;
  const fusedRows = fused ? copies * n : 0;
  const withLetter = (copy: number) => copy === 0 || (branches === 'letter-style+letter' && copy === 1);
  const rowLabels = Int32Array.from({ length: fusedRows }, (_, i) => (withLetter(Math.floor(i / n)) ? labels[rows.start + (i % n)] : -1));
  let rowStyles: Float32Array | undefined;
  if (fused && styles) {
    rowStyles = new Float32Array(fusedRows * (dim + 1));
    for (let i = 0; i < n; i++) {
      rowStyles.set(styles.subarray((rows.start + i) * dim, (rows.start + i + 1) * dim), i * (dim + 1));
      rowStyles[i * (dim + 1) + dim] = 1;
    }
  }
  let x = start
    ? tf.tidy(() => {
        const alphaBar = d.schedule.alphaBar[ts[first]];
        return tf.add<tf.Tensor4D>(tf.mul(tf.tensor4d(mine(start.x0), shape), Math.sqrt(alphaBar)), tf.mul(tf.tensor4d(mine(initial), shape), Math.sqrt(1 - alphaBar)));
      })
    : tf.tensor4d(mine(initial), shape);
  try {
    for (let i = first; i < ts.length - 1; i++) {
      const t = ts[i];
      const tPrev = ts[i + 1];
      const batch = copies * n;
      let fusedOut: tf.Tensor4D | null = null;
      if (fused) {
        const xs = (await x.data()) as Float32Array;
        const input = new Float32Array(batch * perImage);
        for (let c = 0; c < copies; c++) input.set(xs, c * n * perImage);
        fusedOut = tf.tensor4d(await fused.forward(input, new Array(batch).fill(t), rowLabels, rowStyles), [batch, size, size, channels]);
      }
      const next = tf.tidy(() => {
        const out = fusedOut ?? model.apply(copies > 1 ? tf.concat(new Array(copies).fill(x)) : x, new Array(batch).fill(t), classRows, styleInput);
        const part = (i: number) => tf.slice(out, i * n, n);
        const guidedOut = !guided ? out : copies === 2 ? guide(part(0), part(1), opts.cfg) : guideTwice(part(0), part(1), part(2), opts.cfg, styleCfg);
        const eps = epsFromOutput(d, x, guidedOut, t);
        const noise = addsNoise ? tf.tensor4d(mine(rng.normal(total * perImage)), shape) : tf.zeros(shape);
        return step(d.schedule, { x, eps, t, tPrev, noise: noise as tf.Tensor4D, eta: opts.eta });
      });
      fusedOut?.dispose();
      x.dispose();
      x = next;
      onStep?.(i + 1 - first, ts.length - 1 - first);
    }
    return await toUint8(x);
  } finally {
    fused?.dispose();
    x.dispose();
    tf.dispose([classRows, ...(styleInput ? [styleInput] : [])]);
  }
}
