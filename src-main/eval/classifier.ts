// A small letter classifier that reads glyphs the way a person checks a sample sheet: trained on
// a dataset's training fonts, scored on its held-out fonts, then used to read generated glyphs
// (legibility) and to embed them (its penultimate layer is the feature space of glyph FID).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { conv2dSame } from '../engine/ops/conv.ts';
import { AdamW, oneCycle, oneCycleAt } from '../engine/optim.ts';
import { Rng, rngFor } from '../engine/rng.ts';

/**
 * Bumped whenever the network, its training or its weight layout changes: cached classifiers
 * of another version are retrained, never reused.
 */
export const CLASSIFIER_VERSION = 2;

/** Width of the penultimate layer: the features glyph FID compares. */
export const FEATURES = 128;

const WIDTHS = [16, 32, 64];
const SHIFT = 2;
const PEAK_LR = 2e-3;

export interface ClassifierData {
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
  labels: Int32Array;
  classes: number;
  train: Int32Array;
  val: Int32Array;
}

export interface ClassifierShape {
  classes: number;
  /** Square glyph side in pixels; a multiple of 8. */
  size: number;
  channels: number;
}

export interface NamedWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface Classifier {
  readonly shape: ClassifierShape;
  /** Class index per glyph (uint8 NHWC, white on black). */
  predict(images: Uint8Array, n: number): Promise<Int32Array>;
  /** The penultimate layer per glyph: n × FEATURES, row-major. */
  features(images: Uint8Array, n: number): Promise<Float32Array>;
  /** Every weight, by name, in a fixed order (for saving). */
  weights(): Promise<NamedWeight[]>;
  dispose(): void;
}

export interface TrainedClassifier extends Classifier {
  /** Share of held-out glyphs read correctly (null without held-out glyphs). */
  heldOutAccuracy: number | null;
  epochs: number;
}

type Weights = Map<string, tf.Variable>;

/** Names and shapes of every weight, in the order they are created and saved. */
function layout(shape: ClassifierShape): Array<{ name: string; shape: number[]; fanIn: number }> {
  const out: Array<{ name: string; shape: number[]; fanIn: number }> = [];
  let cin = shape.channels;
  WIDTHS.forEach((w, i) => {
    out.push({ name: `conv${i + 1}.weight`, shape: [3, 3, cin, w], fanIn: 9 * cin });
    out.push({ name: `conv${i + 1}.bias`, shape: [w], fanIn: 0 });
    cin = w;
  });
  const flat = (shape.size / 8) * (shape.size / 8) * cin;
  out.push({ name: 'fc1.weight', shape: [flat, FEATURES], fanIn: flat });
  out.push({ name: 'fc1.bias', shape: [FEATURES], fanIn: 0 });
  out.push({ name: 'fc2.weight', shape: [FEATURES, shape.classes], fanIn: FEATURES });
  out.push({ name: 'fc2.bias', shape: [shape.classes], fanIn: 0 });
  return out;
}

/** He-uniform weights (for ReLU) and zero biases, from a seed. */
function initialWeights(shape: ClassifierShape, seed: number): Weights {
  const rng = new Rng(seed);
  const weights: Weights = new Map();
  for (const entry of layout(shape)) {
    const n = entry.shape.reduce((a, b) => a * b, 1);
    const bound = entry.fanIn ? Math.sqrt(6 / entry.fanIn) : 0;
    const values = Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * bound);
    weights.set(entry.name, tf.tidy(() => tf.variable(tf.tensor(values, entry.shape), true)));
  }
  return weights;
}

/** Penultimate features: three conv → ReLU → maxpool stages, then a dense ReLU layer. */
function embed(w: Weights, x: tf.Tensor4D): tf.Tensor2D {
  let h = x;
  for (let i = 1; i <= WIDTHS.length; i++) {
    const conv = tf.add<tf.Tensor4D>(conv2dSame(h, w.get(`conv${i}.weight`) as tf.Tensor4D), w.get(`conv${i}.bias`)!);
    h = tf.maxPool(tf.relu(conv), 2, 2, 'valid');
  }
  const flat = tf.reshape<tf.Rank.R2>(h, [h.shape[0], -1]);
  return tf.relu(tf.add<tf.Tensor2D>(tf.matMul(flat, w.get('fc1.weight') as tf.Tensor2D), w.get('fc1.bias')!));
}

function logits(w: Weights, features: tf.Tensor2D): tf.Tensor2D {
  return tf.add<tf.Tensor2D>(tf.matMul(features, w.get('fc2.weight') as tf.Tensor2D), w.get('fc2.bias')!);
}

/** Training glyphs as floats in [0, 1], each shifted by up to SHIFT pixels (black comes in). */
function shiftedBatch(data: ClassifierData, items: ArrayLike<number>, rng: Rng): tf.Tensor4D {
  const { height: h, width: w, channels: c } = data;
  const per = h * w * c;
  const out = new Float32Array(items.length * per);
  for (let i = 0; i < items.length; i++) {
    const dy = rng.int(-SHIFT, SHIFT + 1);
    const dx = rng.int(-SHIFT, SHIFT + 1);
    const src = items[i] * per;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        if (sx < 0 || sx >= w) continue;
        for (let k = 0; k < c; k++) out[i * per + (y * w + x) * c + k] = data.pixels[src + (sy * w + sx) * c + k] / 255;
      }
    }
  }
  return tf.tensor4d(out, [items.length, h, w, c]);
}

/** Runs `head` over the glyphs in chunks of 256 and gathers its rows. */
async function mapChunks<T extends Int32Array | Float32Array>(
  w: Weights,
  shape: ClassifierShape,
  images: Uint8Array,
  n: number,
  out: T,
  head: (features: tf.Tensor2D) => tf.Tensor,
): Promise<T> {
  const per = shape.size * shape.size * shape.channels;
  if (images.length < n * per) throw new Error(`classifier: ${n} glyphs need ${n * per} bytes, got ${images.length}`);
  const rowLength = out.length / Math.max(1, n);
  for (let start = 0; start < n; start += 256) {
    const count = Math.min(256, n - start);
    const result = tf.tidy(() => {
      const pixels = Float32Array.from(images.subarray(start * per, (start + count) * per), (v) => v / 255);
      return head(embed(w, tf.tensor4d(pixels, [count, shape.size, shape.size, shape.channels])));
    });
    out.set((await result.data()) as T, start * rowLength);
    result.dispose();
  }
  return out;
}

function wrap(w: Weights, shape: ClassifierShape): Classifier {
  return {
    shape,
    predict: (images, n) => mapChunks(w, shape, images, n, new Int32Array(n), (f) => tf.argMax(logits(w, f), 1)),
    features: (images, n) => mapChunks(w, shape, images, n, new Float32Array(n * FEATURES), (f) => f),
    async weights() {
      const out: NamedWeight[] = [];
      for (const [name, v] of w) out.push({ name, shape: v.shape, values: (await v.data()) as Float32Array });
      return out;
    },
    dispose: () => tf.dispose([...w.values()]),
  };
}

/** A classifier from saved weights; throws if a name or shape does not fit `shape`'s network. */
export function classifierFromWeights(shape: ClassifierShape, saved: readonly NamedWeight[]): Classifier {
  const byName = new Map(saved.map((s) => [s.name, s]));
  const expected = layout(shape);
  for (const entry of expected) {
    const found = byName.get(entry.name);
    if (!found || found.shape.join('×') !== entry.shape.join('×') || found.values.length !== entry.shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`classifier weights do not fit: ${entry.name} should be ${entry.shape.join('×')}, found ${found ? found.shape.join('×') : 'nothing'}`);
    }
  }
  const w: Weights = new Map(expected.map((e) => [e.name, tf.tidy(() => tf.variable(tf.tensor(byName.get(e.name)!.values, e.shape), false))]));
  return wrap(w, shape);
}

/** Share of glyphs `items` that the classifier reads as their own label. */
async function accuracyOn(classifier: Classifier, data: ClassifierData, items: Int32Array): Promise<number> {
  const per = data.height * data.width * data.channels;
  const images = new Uint8Array(items.length * per);
  items.forEach((item, i) => images.set(data.pixels.subarray(item * per, (item + 1) * per), i * per));
  const predicted = await classifier.predict(images, items.length);
  return predicted.filter((p, i) => p === data.labels[items[i]]).length / items.length;
}

/**
 * Trains on `data.train` with Adam under the OneCycle schedule (engine/optim.ts) and random
 * shifts of up to two pixels; reports accuracy on `data.val` (fonts it never saw).
 */
export async function trainClassifier(
  data: ClassifierData,
  opts: { epochs?: number; batch?: number; seed?: number; onEpoch?: (epoch: number, epochs: number, loss: number) => void } = {},
): Promise<TrainedClassifier> {
  const epochs = opts.epochs ?? 8;
  const batchSize = Math.min(opts.batch ?? 128, data.train.length);
  const seed = opts.seed ?? 0;
  const shape: ClassifierShape = { classes: data.classes, size: data.height, channels: data.channels };
  const w = initialWeights(shape, seed);
  const variables = [...w.values()];
  const optimizer = new AdamW(w);
  const stepsPerEpoch = Math.floor(data.train.length / batchSize);
  const cycle = oneCycle(PEAK_LR, epochs * stepsPerEpoch);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = rngFor(seed, 'classifier-order', epoch).permutation(data.train.length);
    const rng = rngFor(seed, 'classifier-shift', epoch);
    let sum = 0;
    for (let b = 0; b < stepsPerEpoch; b++) {
      const items = Array.from(order.subarray(b * batchSize, (b + 1) * batchSize), (i) => data.train[i]);
      const labels = Int32Array.from(items, (i) => data.labels[i]);
      const loss = tf.tidy(() => {
        const x = shiftedBatch(data, items, rng);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), data.classes);
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, logits(w, embed(w, x))) as tf.Scalar, variables);
        optimizer.apply(grads, { ...oneCycleAt(cycle, optimizer.step), beta2: 0.999, eps: 1e-8, weightDecay: 0 });
        return value;
      });
      sum += (await loss.data())[0];
      loss.dispose();
    }
    opts.onEpoch?.(epoch + 1, epochs, sum / Math.max(1, stepsPerEpoch));
  }
  optimizer.dispose();
  const classifier = wrap(w, shape);
  const heldOutAccuracy = data.val.length > 0 ? await accuracyOn(classifier, data, data.val) : null;
  return { ...classifier, heldOutAccuracy, epochs };
}
