// A small letter classifier that reads glyphs the way a person checks a sample sheet: trained on
// a dataset's training fonts, scored on its held-out fonts, then used to read generated glyphs
// (legibility = the share read as the letter that was asked for).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { conv2dSame } from '../engine/conv.ts';
import { Rng, rngFor } from '../engine/rng.ts';

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

export interface Classifier {
  readonly classes: number;
  readonly size: number;
  /** Class index per glyph (uint8 NHWC, white on black). */
  predict(images: Uint8Array, n: number): Promise<Int32Array>;
  dispose(): void;
}

export interface TrainedClassifier extends Classifier {
  /** Share of held-out glyphs read correctly (null without held-out glyphs). */
  heldOutAccuracy: number | null;
  epochs: number;
}

interface Weights {
  conv: tf.Variable[];
  dense1: [tf.Variable, tf.Variable];
  dense2: [tf.Variable, tf.Variable];
}

const WIDTHS = [16, 32, 64];

function makeWeights(channels: number, size: number, classes: number, seed: number): Weights {
  const rng = new Rng(seed);
  const uniform = (shape: number[], fanIn: number) =>
    tf.tidy(() => {
      const n = shape.reduce((a, b) => a * b, 1);
      const bound = Math.sqrt(6 / fanIn); // He-uniform, for ReLU
      return tf.variable(tf.tensor(Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * bound), shape));
    });
  const conv: tf.Variable[] = [];
  let cin = channels;
  for (const w of WIDTHS) {
    conv.push(uniform([3, 3, cin, w], 9 * cin));
    cin = w;
  }
  const flat = (size / 8) * (size / 8) * cin;
  const zeros = (n: number) => tf.tidy(() => tf.variable(tf.zeros([n])));
  return { conv, dense1: [uniform([flat, 128], flat), zeros(128)], dense2: [uniform([128, classes], 128), zeros(classes)] };
}

function forward(w: Weights, x: tf.Tensor4D): tf.Tensor2D {
  let h = x;
  for (const k of w.conv) h = tf.maxPool(tf.relu(conv2dSame(h, k as tf.Tensor4D)), 2, 2, 'valid');
  const flat = tf.reshape<tf.Rank.R2>(h, [h.shape[0], -1]);
  const features = tf.relu(tf.add<tf.Tensor2D>(tf.matMul(flat, w.dense1[0] as tf.Tensor2D), w.dense1[1]));
  return tf.add<tf.Tensor2D>(tf.matMul(features, w.dense2[0] as tf.Tensor2D), w.dense2[1]);
}

/** Glyphs as floats in [0, 1]; for training, shifted by up to `shift` pixels (wrapping black borders). */
function batch(data: ClassifierData, items: ArrayLike<number>, rng: Rng | null, shift: number): tf.Tensor4D {
  const { height: h, width: w, channels: c } = data;
  const per = h * w * c;
  const out = new Float32Array(items.length * per);
  for (let i = 0; i < items.length; i++) {
    const dy = rng ? rng.int(-shift, shift + 1) : 0;
    const dx = rng ? rng.int(-shift, shift + 1) : 0;
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

async function predictWith(w: Weights, images: Uint8Array, n: number, size: number, channels: number): Promise<Int32Array> {
  const out = new Int32Array(n);
  const per = size * size * channels;
  for (let start = 0; start < n; start += 256) {
    const count = Math.min(256, n - start);
    const arg = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(images.subarray(start * per, (start + count) * per), (v) => v / 255), [count, size, size, channels]);
      return tf.argMax(forward(w, x), 1);
    });
    out.set(await arg.data(), start);
    arg.dispose();
  }
  return out;
}

/** Trains on `data.train` with Adam and small random shifts; reports accuracy on `data.val`. */
export async function trainClassifier(
  data: ClassifierData,
  opts: { epochs?: number; batch?: number; seed?: number; onEpoch?: (epoch: number, loss: number) => void } = {},
): Promise<TrainedClassifier> {
  const epochs = opts.epochs ?? 6;
  const batchSize = Math.min(opts.batch ?? 128, data.train.length);
  const seed = opts.seed ?? 0;
  const w = makeWeights(data.channels, data.height, data.classes, seed);
  const variables = [...w.conv, ...w.dense1, ...w.dense2];
  const optimizer = tf.train.adam(2e-3);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = rngFor(seed, 'classifier-order', epoch).permutation(data.train.length);
    const rng = rngFor(seed, 'classifier-shift', epoch);
    let sum = 0;
    let steps = 0;
    for (let start = 0; start + batchSize <= order.length; start += batchSize) {
      const items = Array.from(order.subarray(start, start + batchSize), (i) => data.train[i]);
      const labels = Int32Array.from(items, (i) => data.labels[i]);
      const loss = tf.tidy(() => {
        const x = batch(data, items, rng, 2);
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), data.classes);
        return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(w, x)) as tf.Scalar, true, variables)!;
      });
      sum += (await loss.data())[0];
      loss.dispose();
      steps += 1;
    }
    opts.onEpoch?.(epoch + 1, sum / Math.max(1, steps));
  }
  optimizer.dispose();
  const size = data.height;
  let heldOutAccuracy: number | null = null;
  if (data.val.length > 0) {
    const per = size * size * data.channels;
    const images = new Uint8Array(data.val.length * per);
    data.val.forEach((item, i) => images.set(data.pixels.subarray(item * per, (item + 1) * per), i * per));
    const predicted = await predictWith(w, images, data.val.length, size, data.channels);
    heldOutAccuracy = predicted.filter((p, i) => p === data.labels[data.val[i]]).length / data.val.length;
  }
  return {
    classes: data.classes,
    size,
    heldOutAccuracy,
    epochs,
    predict: (images, n) => predictWith(w, images, n, size, data.channels),
    dispose: () => tf.dispose(variables),
  };
}

export interface Legibility {
  /** Share of all generated glyphs read as the class asked for. */
  overall: number;
  /** The same per class. */
  perClass: number[];
}

export async function legibility(classifier: Classifier, images: Uint8Array, asked: ArrayLike<number>): Promise<Legibility> {
  const read = await classifier.predict(images, asked.length);
  const hits = new Array<number>(classifier.classes).fill(0);
  const totals = new Array<number>(classifier.classes).fill(0);
  let correct = 0;
  for (let i = 0; i < asked.length; i++) {
    totals[asked[i]] += 1;
    if (read[i] === asked[i]) {
      hits[asked[i]] += 1;
      correct += 1;
    }
  }
  return { overall: correct / asked.length, perClass: hits.map((h, k) => (totals[k] ? h / totals[k] : 0)) };
}
