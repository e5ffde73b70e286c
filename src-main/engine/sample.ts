// Draws images from a model: the reverse process over the sampler's timesteps, with
// classifier-free guidance batched (conditional and unconditional rows in one forward pass).
// Guidance mixes the raw outputs; reading them as ε is linear in the output (for fixed x_t
// and t), so mixing v and then converting equals converting and then mixing ε.
import * as tf from '@tensorflow/tfjs-core';
import { epsFromOutput } from './objective.ts';
import { SAMPLERS, guide, timesteps, toUint8, type SamplerName } from './samplers.ts';
import type { NoiseSchedule } from './schedule.ts';
import { oneHot, type UNet } from './unet.ts';
import { rngFor } from './rng.ts';

export interface SampleOptions {
  sampler: SamplerName;
  /** Denoising steps: DDPM's full chain is T−1 (999); DDIM is meant for few (e.g. 50). */
  steps: number;
  /** Guidance scale s in ε_u + s(ε_c − ε_u); 1 is plain conditional sampling. */
  cfg: number;
  seed: number;
  /** DDIM's η (0: deterministic). DDPM ignores it. */
  eta: number;
}

export const DEFAULT_SAMPLE: SampleOptions = { sampler: 'ddim', steps: 50, cfg: 3, seed: 0, eta: 0 };

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
  model: UNet,
  schedule: NoiseSchedule,
  labels: readonly number[],
  opts: SampleOptions,
  onStep?: (done: number, total: number) => void,
  rows: RowRange = { start: 0, count: labels.length },
): Promise<Uint8Array> {
  const { channels, classes, size } = model.shape;
  const total = labels.length;
  const n = rows.count;
  const shape: [number, number, number, number] = [n, size, size, channels];
  const perImage = size * size * channels;
  const mine = (all: Float32Array) => all.subarray(rows.start * perImage, (rows.start + n) * perImage);
  const rng = rngFor(opts.seed, 'sample');
  const step = SAMPLERS[opts.sampler];
  // A model is built from its run's preset and recipe, so it knows what its outputs are.
  const { prediction } = model.preset.recipe;
  const guided = opts.cfg !== 1;
  const addsNoise = opts.sampler === 'ddpm' || opts.eta > 0;
  const classRows = tf.tidy(() => {
    const cond = oneHot(labels.slice(rows.start, rows.start + n), classes);
    return guided ? tf.concat([cond, tf.zerosLike(cond)]) : cond;
  });
  const ts = timesteps(schedule, opts.steps);
  let x = tf.tensor4d(mine(rng.normal(total * perImage)), shape);
  try {
    for (let i = 0; i < ts.length - 1; i++) {
      const t = ts[i];
      const tPrev = ts[i + 1];
      const next = tf.tidy(() => {
        const batch = guided ? 2 * n : n;
        const out = model.apply(guided ? tf.concat([x, x]) : x, new Array(batch).fill(t), classRows);
        const guidedOut = guided ? guide(tf.slice(out, 0, n), tf.slice(out, n, n), opts.cfg) : out;
        const eps = epsFromOutput(schedule, prediction, x, guidedOut, t);
        const noise = addsNoise ? tf.tensor4d(mine(rng.normal(total * perImage)), shape) : tf.zeros(shape);
        return step(schedule, { x, eps, t, tPrev, noise: noise as tf.Tensor4D, eta: opts.eta });
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
