// The training loop: the recipe's target (ε or v) on noised images, the squared error weighed
// per sample (plain or Min-SNR-γ), classifier-free label dropout per sample, AdamW under
// OneCycle, EMA after each update, validation ε-MSE on held-out fonts.
// Every random draw of step k comes from (seed, k), so a resumed run repeats an unbroken one.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node build registers no gradients; the @tensorflow/tfjs bundle registers them all
// (into the same engine) without touching the backend choice.
import '@tensorflow/tfjs';
import { AdamW, oneCycle, oneCycleAt, type OneCycleConfig } from './optim.ts';
import { Ema } from './ema.ts';
import type { BackendName } from '../contract/api.ts';
import { checkRecipe, getPreset, REFERENCE_RECIPE, stepsPerEpoch, type TrainConfig } from '../contract/presets.ts';
import { batchStyleRows, lossAndGrads, lossWeights, makeDiffusion, noiseScales, outputAsEps, sliceBatch, type Diffusion, type StepBatch } from './diffusion.ts';
import { createUNet, oneHot, type ModelShape, type UNet } from './unet.ts';
import { fitStylePrior, glyphCodes, meanCode, type StylePrior } from './style.ts';
import { rngFor } from './rng.ts';
import { EngineWorker, flatWeights, unflatGrads } from './runtime/parallel.ts';
import { webgpuDevice } from './runtime/backend.ts';
import { FusedTrainer, fusedApplies } from './gpu/fused.ts';

/** The glyphs a run trains on, already split by font into item indices. */
export interface TrainingData {
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
  labels: Int32Array;
  classNames: readonly string[];
  train: Int32Array;
  val: Int32Array;
  /** Font per glyph: a style model's references are other glyphs of the same font. */
  fontIds?: Int32Array;
}

/** The glyphs of each font within a split (items, in item order). */
function fontsOf(data: TrainingData, items: Int32Array): Map<number, number[]> {
  const fonts = new Map<number, number[]>();
  if (!data.fontIds) return fonts;
  for (const item of items) {
    const f = data.fontIds[item];
    const list = fonts.get(f);
    if (list) list.push(item);
    else fonts.set(f, [item]);
  }
  return fonts;
}

/** Up to k glyphs of the item's font other than the item itself, without repeats. */
function referencesFor(item: number, font: readonly number[], k: number, rng: { next(): number }): number[] {
  const others = font.filter((i) => i !== item);
  const take = Math.min(k, others.length);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(rng.next() * (others.length - i));
    [others[i], others[j]] = [others[j], others[i]];
  }
  return others.slice(0, take);
}

export interface StepResult {
  step: number;
  loss: number;
  lr: number;
}

/**
 * A config read back from run.json or a checkpoint. Those written before recipes existed hold
 * a flat `schedule: "linear"` and no recipe: they trained with the reference recipe.
 */
export function trainConfigFromJson(stored: TrainConfig, where: string): TrainConfig {
  const { schedule: _legacy, ...config } = stored as TrainConfig & { schedule?: unknown };
  return { ...config, recipe: checkRecipe(stored.recipe ?? REFERENCE_RECIPE, where) };
}

export function modelShapeOf(data: TrainingData, config?: Pick<TrainConfig, 'style'>): ModelShape {
  const shape = { channels: data.channels, classes: data.classNames.length, size: data.height };
  return config?.style ? { ...shape, style: config.style.dim } : shape;
}

/** Images as floats in [−1, 1], NHWC. */
function imageFloats(data: TrainingData, items: ArrayLike<number>): Float32Array {
  const per = data.height * data.width * data.channels;
  const out = new Float32Array(items.length * per);
  for (let i = 0; i < items.length; i++) {
    const src = items[i] * per;
    for (let j = 0; j < per; j++) out[i * per + j] = data.pixels[src + j] / 127.5 - 1;
  }
  return out;
}

function batchImages(data: TrainingData, items: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(imageFloats(data, items), [items.length, data.height, data.width, data.channels]);
}

export class Trainer {
  readonly model: UNet;
  readonly ema: UNet;
  /** The model being trained, with its schedule and recipe. */
  readonly diffusion: Diffusion;
  /** The same diffusion model drawn with the EMA's weights. */
  readonly emaDiffusion: Diffusion;
  readonly optimizer: AdamW;
  readonly emaUpdater: Ema;
  readonly lrSchedule: OneCycleConfig;
  readonly batch: number;
  readonly stepsPerEpoch: number;
  /** Updates applied so far; the next step trains step `step`. */
  step = 0;
  /** Tensors alive in the gradient worker's engine after its last share (null without one). */
  workerTensors: number | null = null;
  private order: { epoch: number; perm: Int32Array } | null = null;
  private worker: EngineWorker | null = null;
  /**
   * The fused WebGPU engine, where it trains (see fusedApplies): it holds the weights, Adam's
   * moments and the EMA on the device, and `sync` copies them into the tfjs variables.
   */
  fused: FusedTrainer | null = null;
  private fusedAhead = false;
  /** A style model's fonts: training glyphs by font, and validation glyphs by font. */
  private readonly trainFonts: Map<number, number[]>;
  private readonly valFonts: Map<number, number[]>;

  constructor(readonly config: TrainConfig, readonly data: TrainingData) {
    if (data.train.length === 0) throw new Error('the training split is empty');
    const preset = getPreset(config.preset);
    if (config.style && !data.fontIds) throw new Error('a style model needs the font of every glyph');
    const shape = modelShapeOf(data, config);
    this.trainFonts = config.style ? fontsOf(data, data.train) : new Map();
    this.valFonts = config.style ? fontsOf(data, data.val) : new Map();
    this.model = createUNet(preset, shape, config.seed);
    this.ema = createUNet(preset, shape, config.seed);
    this.diffusion = makeDiffusion(this.model, config.recipe);
    this.emaDiffusion = { ...this.diffusion, model: this.ema };
    this.optimizer = new AdamW(this.model.variables);
    this.emaUpdater = new Ema(this.ema.variables, this.model.variables, config.emaBeta, config.emaStart);
    this.lrSchedule = oneCycle(config.lr, config.steps);
    this.batch = Math.min(config.batch, data.train.length);
    // Whole batches only, so every step has the same shape (the last partial batch is skipped).
    this.stepsPerEpoch = stepsPerEpoch(data.train.length, this.batch);
  }

  get epoch(): number {
    return Math.floor(this.step / this.stepsPerEpoch);
  }

  private batchItems(step: number): Int32Array {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    if (this.order?.epoch !== epoch) {
      const perm = rngFor(this.config.seed, 'order', epoch).permutation(this.data.train.length);
      this.order = { epoch, perm: perm.map((i) => this.data.train[i]) };
    }
    const start = (step % this.stepsPerEpoch) * this.batch;
    return this.order.perm.subarray(start, start + this.batch);
  }

  /** The batch of step k: its items, timesteps, label dropout and noise all follow from (seed, k). */
  stepBatch(step: number): StepBatch {
    const items = this.batchItems(step);
    const rng = rngFor(this.config.seed, 'step', step);
    const n = items.length;
    const t = new Int32Array(n);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      t[i] = rng.int(1, this.diffusion.schedule.steps);
      labels[i] = rng.next() < this.config.cfgDropout ? -1 : this.data.labels[items[i]];
    }
    const eps = rng.normal(n * this.data.height * this.data.width * this.data.channels);
    const weights = lossWeights(this.diffusion.schedule, t, this.diffusion.recipe);
    const batch: StepBatch = { n, x0: imageFloats(this.data, items), eps, t, labels, weights };
    if (this.config.style) batch.refs = this.stepRefs(step, items, labels);
    return batch;
  }

  /**
   * Step k's references (their own stream, so a letter-only run's draws are unchanged): a sample
   * trained without its label is trained without style too (the fully unconditional branch);
   * of the others, `style.dropout` are trained without style; the rest get 1..maxRefs other
   * glyphs of their font.
   */
  private stepRefs(step: number, items: Int32Array, labels: Int32Array): NonNullable<StepBatch['refs']> {
    const style = this.config.style!;
    const rng = rngFor(this.config.seed, 'style-refs', step);
    const chosen: number[] = [];
    const owner: number[] = [];
    items.forEach((item, i) => {
      const dropped = rng.next() < style.dropout;
      const k = rng.int(1, style.maxRefs + 1);
      if (labels[i] < 0 || dropped) return;
      const font = this.trainFonts.get(this.data.fontIds![item]) ?? [];
      for (const r of referencesFor(item, font, k, rng)) {
        chosen.push(r);
        owner.push(i);
      }
    });
    return { x: imageFloats(this.data, chosen), owner: Int32Array.from(owner) };
  }

  /**
   * The training fonts' style codes and the Gaussian fitted to them, for the model or the EMA:
   * where a style model's new styles come from. Undefined for a letter-only model.
   */
  async stylePrior(which: 'model' | 'ema'): Promise<StylePrior | undefined> {
    const dim = this.config.style?.dim;
    if (!dim) return undefined;
    await this.sync();
    const model = which === 'ema' ? this.ema : this.model;
    const fontIds: number[] = [];
    const codes: number[] = [];
    const per = this.data.height * this.data.width * this.data.channels;
    for (const [font, items] of this.trainFonts) {
      const pixels = new Uint8Array(items.length * per);
      items.forEach((item, i) => pixels.set(this.data.pixels.subarray(item * per, (item + 1) * per), i * per));
      codes.push(...meanCode(await glyphCodes(model, pixels, items.length), items.length, dim));
      fontIds.push(font);
    }
    return fitStylePrior(Float32Array.from(codes), fontIds, dim);
  }

  /** Shares each batch with a gradient worker on another thread (wasm runs one thread per engine). */
  async startWorker(backend: BackendName): Promise<void> {
    if (this.batch < 2) return;
    this.worker ??= await EngineWorker.start(backend, this.diffusion);
  }

  async stopWorker(): Promise<void> {
    await this.worker?.stop();
    this.worker = null;
  }

  get threads(): number {
    return this.worker ? 2 : 1;
  }

  /** The fused engine's weights, moments and EMA into the tfjs variables, where they are newer. */
  async sync(): Promise<void> {
    if (!this.fused || !this.fusedAhead) return;
    const groups = [
      ['params', this.model.variables],
      ['ema', this.ema.variables],
      ['m', this.optimizer.m],
      ['v', this.optimizer.v],
    ] as const;
    for (const [which, vars] of groups) {
      const values = this.fused.split(await this.fused.read(which));
      tf.tidy(() => {
        for (const [name, v] of vars) v.assign(tf.tensor(values.get(name)!, v.shape));
      });
    }
    this.optimizer.step = this.fused.step;
    this.emaUpdater.step = this.fused.step;
    this.fusedAhead = false;
  }

  private async fusedStep(batch: StepBatch, lr: number, beta1: number): Promise<number> {
    if (!this.fused) {
      const fused = new FusedTrainer(await webgpuDevice(), this.model, this.diffusion.schedule, this.config.recipe, this.batch,
        { beta: this.config.emaBeta, start: this.config.emaStart }, 'train', this.config.style?.maxRefs ?? 0);
      await fused.load(this.model, this.ema, { m: this.optimizer.m, v: this.optimizer.v, step: this.optimizer.step });
      this.fused = fused;
    }
    this.fusedAhead = true;
    return this.fused.run(batch, { lr, beta1, beta2: 0.999, eps: 1e-8, weightDecay: this.config.weightDecay });
  }

  /** One optimizer update; resolves when its loss has been read back. */
  async trainStep(): Promise<StepResult> {
    const step = this.step;
    const batch = this.stepBatch(step);
    const { lr, beta1 } = oneCycleAt(this.lrSchedule, step);
    if (fusedApplies()) {
      const loss = await this.fusedStep(batch, lr, beta1);
      this.step += 1;
      return { step: this.step, loss, lr };
    }
    // The worker takes the second half of the batch; each half's loss is a mean over its samples,
    // so the batch's loss and gradient are the halves' weighted by their sizes.
    const shared = this.worker ? Math.floor(batch.n / 2) : 0;
    const own = batch.n - shared;
    const reply = this.worker?.compute(await flatWeights(this.model), sliceBatch(batch, own, batch.n));
    const part = tf.tidy(() => lossAndGrads(this.diffusion, sliceBatch(batch, 0, own)));
    const theirs = reply ? await reply : null;
    if (theirs) this.workerTensors = theirs.tensors;
    const loss = tf.tidy(() => {
      // A clone: the step's own tensors are disposed below, the loss is read after.
      let value: tf.Tensor = tf.clone(part.value);
      // The worker's half joins inside the optimizer's update (one pass per variable on wasm/cpu).
      const blend = theirs ? { grads: unflatGrads(this.model, theirs.grads), own: own / batch.n, other: shared / batch.n } : undefined;
      if (theirs) value = tf.div(tf.add(tf.mul(part.value, own), theirs.loss * shared), batch.n);
      this.optimizer.apply(part.grads, { lr, beta1, beta2: 0.999, eps: 1e-8, weightDecay: this.config.weightDecay }, blend);
      return value;
    });
    tf.dispose([part.value, ...Object.values(part.grads)]);
    this.emaUpdater.update();
    this.step += 1;
    const value = (await loss.data())[0];
    loss.dispose();
    return { step: this.step, loss: value, lr };
  }

  /**
   * Mean squared ε error over the held-out glyphs, with fixed timesteps and noise. A v output is
   * read as ε first and nothing is weighted, so the number compares across recipes.
   */
  async validate(which: 'model' | 'ema' = 'model'): Promise<number | null> {
    await this.sync();
    const items = this.data.val.subarray(0, this.config.valMax);
    if (items.length === 0) return null;
    const model = which === 'ema' ? this.ema : this.model;
    const rng = rngFor(this.config.seed, 'validation');
    const per = this.data.height * this.data.width * this.data.channels;
    let sum = 0;
    for (let start = 0; start < items.length; start += this.batch) {
      const chunk = items.subarray(start, start + this.batch);
      const t = Int32Array.from(chunk, () => rng.int(1, this.diffusion.schedule.steps));
      const noise = rng.normal(chunk.length * per);
      const labels = Int32Array.from(chunk, (i) => this.data.labels[i]);
      const refs = this.config.style ? this.validationRefs(chunk) : null;
      const sse = tf.tidy(() => {
        const x0 = batchImages(this.data, chunk);
        const eps = tf.tensor4d(noise, x0.shape);
        const [sa, sb] = noiseScales(this.diffusion.schedule, t);
        const xt = tf.add<tf.Tensor4D>(tf.mul(x0, sa), tf.mul(eps, sb));
        const style = refs
          ? batchStyleRows(model, chunk.length, refs.owner.length ? tf.tensor4d(refs.x, [refs.owner.length, this.data.height, this.data.width, this.data.channels]) : null, refs.owner)
          : undefined;
        const out = model.apply(xt, t, oneHot(labels, this.data.classNames.length), style);
        return tf.sum(tf.squaredDifference(outputAsEps(this.diffusion.recipe.prediction, xt, out, sa, sb), eps));
      });
      sum += (await sse.data())[0];
      sse.dispose();
    }
    return sum / (items.length * per);
  }

  /** Four fixed references per validation glyph (other letters of its font), for a style model. */
  private validationRefs(chunk: Int32Array): NonNullable<StepBatch['refs']> {
    const rng = rngFor(this.config.seed, 'validation-refs', chunk[0]);
    const chosen: number[] = [];
    const owner: number[] = [];
    chunk.forEach((item, i) => {
      const font = this.valFonts.get(this.data.fontIds![item]) ?? [];
      for (const r of referencesFor(item, font, 4, rng)) {
        chosen.push(r);
        owner.push(i);
      }
    });
    return { x: imageFloats(this.data, chosen), owner: Int32Array.from(owner) };
  }

  /** Forgets the fused engine (its state is the tfjs variables' again, e.g. after a restore). */
  dropFused(): void {
    this.fused?.dispose();
    this.fused = null;
    this.fusedAhead = false;
  }

  dispose(): void {
    this.dropFused();
    void this.stopWorker();
    this.model.dispose();
    this.ema.dispose();
    this.optimizer.dispose();
  }
}
