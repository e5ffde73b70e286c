// One training step's loss and gradients for a batch given as host arrays, so the same code runs
// on the main thread and in a gradient worker (each on its share of the batch).
import * as tf from '@tensorflow/tfjs-core';
import { predictionTarget, weightedMse } from './objective.ts';
import type { Prediction } from './objective.ts';
import type { NoiseSchedule } from './schedule.ts';
import { oneHot, type UNet } from './unet.ts';

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
export function lossAndGrads(
  model: UNet,
  schedule: NoiseSchedule,
  prediction: Prediction,
  b: StepBatch,
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const { size, channels, classes } = model.shape;
  const shape: [number, number, number, number] = [b.n, size, size, channels];
  const x0 = tf.tensor4d(b.x0, shape);
  const eps = tf.tensor4d(b.eps, shape);
  const [sa, sb] = noiseScales(schedule, b.t);
  const xt = tf.add<tf.Tensor4D>(tf.mul(x0, sa), tf.mul(eps, sb));
  const target = predictionTarget(prediction, x0, eps, sa, sb);
  const rows = oneHot(b.labels, classes);
  // With plain mse every weight is 1 and this is the reference's mean over the whole batch.
  const w = tf.tensor1d(b.weights);
  return tf.variableGrads(() => weightedMse(model.apply(xt, b.t, rows), target, w), [...model.variables.values()]);
}
