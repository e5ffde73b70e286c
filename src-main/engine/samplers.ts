// Samplers as short functions over the schedule, one signature each (`SamplerStep`), named as
// in the DDPM and DDIM papers. Coefficients are computed in float64 on the host; only the
// tensor arithmetic runs on the backend.
import * as tf from '@tensorflow/tfjs-core';
import type { SamplerName } from '../contract/api.ts';
import type { NoiseSchedule } from './schedule.ts';

export interface StepInput {
  /** x_t */
  x: tf.Tensor4D;
  /** the model's ε for x_t (after guidance; a v output converted by epsFromOutput) */
  eps: tf.Tensor4D;
  t: number;
  /** the next timestep (< t); 0 is the last */
  tPrev: number;
  /** fresh standard-normal noise shaped like x (ignored where the step adds none) */
  noise: tf.Tensor4D;
  /** DDIM's η: 0 deterministic, 1 ancestral */
  eta: number;
}

export type SamplerStep = (schedule: NoiseSchedule, input: StepInput) => tf.Tensor4D;

/** The scalars of one DDPM step (the tests check the step they make by hand). */
function ddpmCoefficients(s: NoiseSchedule, t: number, tPrev: number) {
  // With tPrev = t − 1 this is the reference's Algorithm 2 exactly; larger strides use the
  // same posterior with α' = ᾱ_t / ᾱ_prev.
  const alpha = s.alphaBar[t] / s.alphaBar[tPrev];
  const beta = 1 - alpha;
  return {
    xScale: 1 / Math.sqrt(alpha),
    epsScale: beta / (Math.sqrt(alpha) * Math.sqrt(1 - s.alphaBar[t])),
    sigma: tPrev > 0 ? Math.sqrt(beta) : 0,
  };
}

/** x_{t−1} = 1/√α (x_t − β/√(1−ᾱ_t) ε) + √β z, with no noise on the last step. */
export const ddpmStep: SamplerStep = (s, { x, eps, t, tPrev, noise }) => {
  const c = ddpmCoefficients(s, t, tPrev);
  const mean = tf.sub<tf.Tensor4D>(tf.mul(x, c.xScale), tf.mul(eps, c.epsScale));
  return c.sigma > 0 ? tf.add<tf.Tensor4D>(mean, tf.mul(noise, c.sigma)) : mean;
};

function ddimCoefficients(s: NoiseSchedule, t: number, tPrev: number, eta: number) {
  const aT = s.alphaBar[t];
  const aPrev = s.alphaBar[tPrev];
  const sigma = tPrev > 0 ? eta * Math.sqrt((1 - aPrev) / (1 - aT)) * Math.sqrt(1 - aT / aPrev) : 0;
  return { aT, aPrev, sigma, dirScale: Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma)) };
}

/** x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev−σ²)·ε + σz, with x̂0 = (x_t − √(1−ᾱ_t)ε)/√ᾱ_t. */
export const ddimStep: SamplerStep = (s, { x, eps, t, tPrev, noise, eta }) => {
  const c = ddimCoefficients(s, t, tPrev, eta);
  const x0 = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - c.aT))), Math.sqrt(c.aT));
  const next = tf.add<tf.Tensor4D>(tf.mul(x0, Math.sqrt(c.aPrev)), tf.mul(eps, c.dirScale));
  return c.sigma > 0 ? tf.add<tf.Tensor4D>(next, tf.mul(noise, c.sigma)) : next;
};

export const SAMPLERS: Readonly<Record<SamplerName, SamplerStep>> = { ddpm: ddpmStep, ddim: ddimStep };

/**
 * The timesteps a sampler visits, descending from T−1 and ending at 0 (the clean image):
 * `steps` = T−1 gives the reference's 999, 998, …, 1, 0; fewer spreads them evenly.
 */
export function timesteps(schedule: NoiseSchedule, steps: number): number[] {
  const last = schedule.steps - 1;
  const n = Math.max(1, Math.min(steps, last));
  const ts: number[] = [];
  for (let i = 0; i < n; i++) ts.push(Math.round(last - (i * (last - 1)) / Math.max(1, n - 1)));
  const unique = [...new Set(ts)];
  unique.push(0);
  return unique;
}

/** Classifier-free guidance: ε = ε_u + s·(ε_c − ε_u), and likewise for v (the mix is linear). */
export function guide(cond: tf.Tensor4D, uncond: tf.Tensor4D, scale: number): tf.Tensor4D {
  return tf.add<tf.Tensor4D>(uncond, tf.mul(tf.sub(cond, uncond), scale));
}

/**
 * Guidance on two conditions (letter, then style; after InstructPix2Pix):
 * ε = ε_∅∅ + s_c·(ε_c∅ − ε_∅∅) + s_s·(ε_cs − ε_c∅). With s_c = s_s it is `guide(ε_cs, ε_∅∅, s)`.
 */
export function guideTwice(both: tf.Tensor4D, letterOnly: tf.Tensor4D, neither: tf.Tensor4D, letterScale: number, styleScale: number): tf.Tensor4D {
  return tf.add<tf.Tensor4D>(
    tf.add(neither, tf.mul(tf.sub(letterOnly, neither), letterScale)),
    tf.mul(tf.sub(both, letterOnly), styleScale),
  );
}

/** Clamp to [−1, 1] and map to 0..255 (rounded) on the host. */
export async function toUint8(x: tf.Tensor): Promise<Uint8Array> {
  const data = await x.data();
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.min(1, Math.max(-1, data[i]));
    out[i] = Math.round(((v + 1) / 2) * 255);
  }
  return out;
}
