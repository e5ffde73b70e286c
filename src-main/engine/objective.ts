// What the network learns: its target (ε, or v = √ᾱ·ε − √(1−ᾱ)·x₀ after Salimans & Ho 2022),
// how the loss weighs each timestep (plain, or Min-SNR-γ after Hang et al. 2023), and how an
// output reads back as ε for the samplers. Scales are √ᾱ and √(1−ᾱ): numbers for one timestep,
// or per-sample [n, 1, 1, 1] tensors that broadcast over a batch.
import * as tf from '@tensorflow/tfjs-core';
import type { NoiseSchedule } from './schedule.ts';

export const PREDICTIONS = ['eps', 'v'] as const;
export type Prediction = (typeof PREDICTIONS)[number];

export const WEIGHTINGS = ['mse', 'min-snr'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];

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
export function predictionTarget(
  prediction: Prediction,
  x0: tf.Tensor4D,
  eps: tf.Tensor4D,
  sqrtAlphaBar: Scale,
  sqrtOneMinus: Scale,
): tf.Tensor4D {
  return prediction === 'v' ? vTarget(x0, eps, sqrtAlphaBar, sqrtOneMinus) : eps;
}

/** The network's output read as ε (the identity for ε-prediction). */
export function outputAsEps(
  prediction: Prediction,
  xt: tf.Tensor4D,
  out: tf.Tensor4D,
  sqrtAlphaBar: Scale,
  sqrtOneMinus: Scale,
): tf.Tensor4D {
  return prediction === 'v' ? epsFromV(xt, out, sqrtAlphaBar, sqrtOneMinus) : out;
}

/** The samplers' view of one timestep's output: ε, whatever the network predicts. */
export function epsFromOutput(schedule: NoiseSchedule, prediction: Prediction, xt: tf.Tensor4D, out: tf.Tensor4D, t: number): tf.Tensor4D {
  const alphaBar = schedule.alphaBar[t];
  return outputAsEps(prediction, xt, out, Math.sqrt(alphaBar), Math.sqrt(1 - alphaBar));
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
export function lossWeights(
  schedule: NoiseSchedule,
  t: ArrayLike<number>,
  objective: { prediction: Prediction; weighting: Weighting; snrGamma: number },
): Float32Array {
  return Float32Array.from({ length: t.length }, (_, i) =>
    objective.weighting === 'min-snr' ? minSnrWeight(schedule.alphaBar[t[i]], objective.prediction, objective.snrGamma) : 1,
  );
}

/** Each sample's mean squared error over its pixels, times its weight; then the batch mean. */
export function weightedMse(out: tf.Tensor4D, target: tf.Tensor4D, weights: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.mul(tf.mean(tf.squaredDifference(out, target), [1, 2, 3]), weights));
}
