// The 128-pixel stage: a small convolutional network that takes a 32-pixel glyph (and its letter)
// to four times its size. It works at the glyph's own resolution and only at the end spreads each
// pixel's features over a 4×4 block of output pixels (a pixel shuffle), adding what it learned to
// a bilinear upscale of the input. Its view is local (a few pixels around each one), so it learns
// how letter edges look up close, not whole letters: the diffusion model decides the shape, the
// upsampler draws it finely. It regresses grey levels (ink 1, background 0), so its edges stay
// antialiased and the exporter's threshold cuts them where the ink is.
import * as tf from '@tensorflow/tfjs-core';
// The full package registers the gradients training needs.
import '@tensorflow/tfjs';
import { conv2dSame } from './ops/conv.ts';
import { gelu } from './ops/gelu.ts';
import { AdamW, oneCycle, oneCycleAt, type OneCycleConfig } from './optim.ts';
import { rngFor } from './rng.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';
import type { NamedFloats } from './state-dict.ts';

export interface UpsamplerConfig {
  /** Output side ÷ input side. */
  factor: number;
  /** Feature channels of the hidden convolutions. */
  width: number;
  /** Hidden 3×3 convolutions after the first. */
  depth: number;
  /** Letter classes (an extra, last row of the letter table stands for "no letter"). */
  classes: number;
}

export const DEFAULT_UPSAMPLER: UpsamplerConfig = { factor: 4, width: 32, depth: 3, classes: 26 };

export interface Upsampler {
  config: UpsamplerConfig;
  /** By name, in a fixed order (see parameterShapes). */
  params: Map<string, tf.Variable>;
}

/** Every parameter's name and shape, in the order files store them. */
export function parameterShapes(c: UpsamplerConfig): [string, number[]][] {
  const shapes: [string, number[]][] = [
    ['in.weight', [3, 3, 1, c.width]],
    ['in.bias', [c.width]],
    ['letter', [c.classes + 1, c.width]],
  ];
  for (let i = 0; i < c.depth; i++) shapes.push([`hidden.${i}.weight`, [3, 3, c.width, c.width]], [`hidden.${i}.bias`, [c.width]]);
  shapes.push(['out.weight', [3, 3, c.width, c.factor * c.factor]], ['out.bias', [c.factor * c.factor]]);
  return shapes;
}

/** A new upsampler: He-initialised convolutions, a zero output layer (so it starts as bilinear upscaling). */
export function createUpsampler(config: UpsamplerConfig = DEFAULT_UPSAMPLER, seed = 0): Upsampler {
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of parameterShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (name === 'out.weight' || name.endsWith('bias')) values = new Float32Array(size);
    else {
      const fanIn = name === 'letter' ? 1 : shape[0] * shape[1] * shape[2];
      const scale = name === 'letter' ? 0.1 : Math.sqrt(2 / fanIn);
      values = rngFor(seed, `upsampler-${name}`).normal(size).map((v) => v * scale);
    }
    params.set(name, tf.variable(tf.tensor(values, shape), true));
  }
  return { config, params };
}

/**
 * Glyphs in [0, 1] (N×h×w×1, ink 1) to N×(h·f)×(w·f)×1, not yet clamped; `labels` are letter
 * classes, or `classes` for a glyph of no known letter.
 */
export function upsample(u: Upsampler, x: tf.Tensor4D, labels: tf.Tensor1D): tf.Tensor4D {
  const { factor, depth, width } = u.config;
  const p = (name: string) => u.params.get(name)!;
  const [n, h, w] = x.shape;
  // A one-hot product rather than a gather: wasm has no kernel for a gather's gradient.
  const letter = tf.reshape(tf.matMul(tf.cast(tf.oneHot(labels, u.config.classes + 1), 'float32'), p('letter')), [n, 1, 1, width]);
  let features: tf.Tensor4D = gelu(tf.add(tf.add(conv2dSame(x, p('in.weight') as tf.Tensor4D), p('in.bias')), letter));
  for (let i = 0; i < depth; i++) {
    const f: tf.Tensor4D = gelu(tf.add(conv2dSame(features, p(`hidden.${i}.weight`) as tf.Tensor4D), p(`hidden.${i}.bias`)));
    features = i === 0 ? f : tf.add(features, f);
  }
  const blocks = tf.add(conv2dSame(features, p('out.weight') as tf.Tensor4D), p('out.bias')); // N×h×w×f²
  // Pixel shuffle: channel (i, j) of input pixel (y, x) is output pixel (y·f + i, x·f + j).
  const detail = tf.reshape(tf.transpose(tf.reshape(blocks, [n, h, w, factor, factor]), [0, 1, 3, 2, 4]), [n, h * factor, w * factor, 1]);
  const base = tf.image.resizeBilinear(x, [h * factor, w * factor], false, true);
  return tf.add(base, detail);
}

/** Mean squared error of the upsampled glyphs against `target` (N×H×W×1 in [0, 1]). */
export function upsamplerLoss(u: Upsampler, x: tf.Tensor4D, labels: tf.Tensor1D, target: tf.Tensor4D): tf.Scalar {
  return tf.mean(tf.squaredDifference(upsample(u, x, labels), target));
}

/**
 * uint8 glyphs (count × size × size, one channel, white ink on black) to uint8 glyphs `factor`
 * times the size, in batches; `labels[i]` is glyph i's letter (or `classes` for none).
 */
export async function upsampleGlyphs(u: Upsampler, glyphs: Uint8Array, count: number, size: number, labels: ArrayLike<number>, batch = 16): Promise<Uint8Array> {
  const big = size * u.config.factor;
  const out = new Uint8Array(count * big * big);
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const pixels = glyphs.subarray(start * size * size, (start + n) * size * size);
    const values = tf.tidy(() => {
      const x = tf.div(tf.tensor4d(Float32Array.from(pixels), [n, size, size, 1]), 255) as tf.Tensor4D;
      const y = upsample(u, x, tf.tensor1d(Int32Array.from({ length: n }, (_, i) => labels[start + i]), 'int32'));
      return tf.mul(tf.clipByValue(y, 0, 1), 255);
    });
    const data = await values.data(); // not dataSync: WebGPU in Node cannot read back synchronously
    values.dispose();
    for (let i = 0; i < data.length; i++) out[start * big * big + i] = Math.round(data[i]);
  }
  return out;
}

export function disposeUpsampler(u: Upsampler): void {
  for (const v of u.params.values()) v.dispose();
}

/** The upsampler as safetensors bytes, its config in the metadata. */
export async function encodeUpsampler(u: Upsampler, metadata: Record<string, string> = {}): Promise<Uint8Array[]> {
  const tensors: NamedFloats[] = await Promise.all(
    parameterShapes(u.config).map(async ([name, shape]) => ({ name, shape, values: (await u.params.get(name)!.data()) as Float32Array })),
  );
  return encodeSafetensors(tensors, { ...metadata, fontloom: 'upsampler', config: JSON.stringify(u.config) });
}

/** An upsampler from safetensors bytes; `file` names it in messages. */
export function decodeUpsampler(bytes: Uint8Array, file: string): { upsampler: Upsampler; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  if (metadata.fontloom !== 'upsampler' || !metadata.config) throw new Error(`${file} is not a Fontloom upsampler (its metadata has no fontloom: upsampler and config)`);
  const config = JSON.parse(metadata.config) as UpsamplerConfig;
  const params = new Map<string, tf.Variable>();
  for (const [name, shape] of parameterShapes(config)) {
    const t = tensors.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!t || t.dtype !== 'F32' || t.bytes.byteLength !== size * 4) {
      for (const v of params.values()) v.dispose();
      throw new Error(`${file}: tensor ${name} is missing or not float32 of shape ${shape.join('×')}`);
    }
    const values = new Float32Array(size);
    new Uint8Array(values.buffer).set(t.bytes);
    params.set(name, tf.variable(tf.tensor(values, shape), false));
  }
  return { upsampler: { config, params }, metadata };
}

export interface UpsamplerBatch {
  /** N×h×w×1 in [0, 1]. */
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
  /** N×(h·f)×(w·f)×1 in [0, 1]. */
  target: tf.Tensor4D;
}

/** Training under AdamW with a one-cycle learning rate: `step` takes one batch and returns its loss. */
export class UpsamplerTrainer {
  private readonly optimizer: AdamW;
  private readonly schedule: OneCycleConfig;
  constructor(readonly upsampler: Upsampler, readonly totalSteps: number, maxLr = 2e-3) {
    this.optimizer = new AdamW(upsampler.params);
    this.schedule = oneCycle(maxLr, totalSteps);
  }

  get step(): number {
    return this.optimizer.step;
  }

  async trainStep(batch: UpsamplerBatch): Promise<number> {
    const { lr, beta1 } = oneCycleAt(this.schedule, this.optimizer.step);
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => upsamplerLoss(this.upsampler, batch.x, batch.labels, batch.target), [...this.upsampler.params.values()]);
      this.optimizer.apply(grads, { lr, beta1, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
      return value;
    });
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
