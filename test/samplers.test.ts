import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cosineSchedule, linearSchedule } from '../src-main/engine/schedule.ts';
import { ddimStep, ddpmStep, guide, SAMPLERS, timesteps, toUint8 } from '../src-main/engine/samplers.ts';
import { epsFromOutput, sampleImages } from '../src-main/engine/diffusion.ts';
import { CPU_RECIPE, getPreset } from '../src-main/contract/presets.ts';
import type { UNet } from '../src-main/engine/unet.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The schedule, independently of schedule.ts: β_t = 1e-4 + (0.02 − 1e-4)·t/999, ᾱ_t = ∏(1 − β_s).
const betaAt = (t: number) => 1e-4 + ((0.02 - 1e-4) * t) / 999;
function alphaBarAt(t: number): number {
  let prod = 1;
  for (let s = 0; s <= t; s++) prod *= 1 - betaAt(s);
  return prod;
}

const schedule = linearSchedule();
const SHAPE: [number, number, number, number] = [1, 2, 3, 1];
// Float32-exact values, so the float64 expectations start from the very numbers the tensors hold.
const X = Float32Array.from([0.8, -0.3, 1.2, -1.7, 0.05, 0.4]);
const EPS = Float32Array.from([0.5, -1.1, 0.3, 0.9, -0.2, -0.6]);
const Z = Float32Array.from([-0.4, 0.7, 1.5, -0.9, 0.1, -1.3]);

const tensor = (a: Float32Array) => tf.tensor4d(a, SHAPE);

async function read(t: tf.Tensor): Promise<number[]> {
  const out = Array.from(await t.data());
  t.dispose();
  return out;
}

/** float32 tensors against float64 expectations: ~1e-5 relative to the values' scale. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}: got ${actual[i]}, expected ${expected[i]}`).toBeLessThan(
      rel * scale,
    );
  }
}

async function step(sampler: typeof ddpmStep, t: number, tPrev: number, eta = 0): Promise<number[]> {
  const [x, eps, noise] = [tensor(X), tensor(EPS), tensor(Z)];
  const out = sampler(schedule, { x, eps, t, tPrev, noise, eta });
  tf.dispose([x, eps, noise]);
  return read(out);
}

describe('a DDPM step (the reference’s Algorithm 2)', () => {
  it('takes x_500 to x_499 = 1/√α_t·(x_t − (1−α_t)/√(1−ᾱ_t)·ε) + √β_t·z', async () => {
    const t = 500;
    const beta = betaAt(t);
    const alpha = 1 - beta;
    const alphaBar = alphaBarAt(t);
    const expected = Array.from(X, (x, i) => (1 / Math.sqrt(alpha)) * (x - ((1 - alpha) / Math.sqrt(1 - alphaBar)) * EPS[i]) + Math.sqrt(beta) * Z[i]);
    expectClose(await step(ddpmStep, t, t - 1), expected);
  });

  it('adds no noise on the last step, from t = 1 to the clean image at t = 0', async () => {
    const t = 1;
    const alpha = 1 - betaAt(t);
    const alphaBar = alphaBarAt(t);
    const expected = Array.from(X, (x, i) => (1 / Math.sqrt(alpha)) * (x - ((1 - alpha) / Math.sqrt(1 - alphaBar)) * EPS[i]));
    expectClose(await step(ddpmStep, t, 0), expected);
  });
});

describe('a DDIM step', () => {
  /** x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev−σ²)·ε + σz, σ = η√((1−ᾱ_prev)/(1−ᾱ_t))·√(1−ᾱ_t/ᾱ_prev). */
  function ddimByHand(t: number, tPrev: number, eta: number): number[] {
    const aT = alphaBarAt(t);
    const aPrev = alphaBarAt(tPrev);
    const sigma = eta * Math.sqrt((1 - aPrev) / (1 - aT)) * Math.sqrt(1 - aT / aPrev);
    return Array.from(X, (x, i) => {
      const x0 = (x - Math.sqrt(1 - aT) * EPS[i]) / Math.sqrt(aT);
      return Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev - sigma * sigma) * EPS[i] + sigma * Z[i];
    });
  }

  it('is deterministic with η = 0: t = 800 → 600 ignores the noise', async () => {
    const expected = ddimByHand(800, 600, 0);
    expectClose(await step(ddimStep, 800, 600, 0), expected);
  });

  it('with η = 1 adds σ·z, the DDPM posterior’s spread over the stride 800 → 600', async () => {
    const deterministic = ddimByHand(800, 600, 0);
    const expected = ddimByHand(800, 600, 1);
    expect(expected).not.toEqual(deterministic);
    expectClose(await step(ddimStep, 800, 600, 1), expected);
  });

  it('lands on the predicted clean image x̂0 at t = 0, even with η = 1', async () => {
    // At the last step the sampler adds no noise: σ = 0 there by convention (as in DDPM).
    const aT = alphaBarAt(50);
    const aPrev = alphaBarAt(0);
    const expected = Array.from(X, (x, i) => {
      const x0 = (x - Math.sqrt(1 - aT) * EPS[i]) / Math.sqrt(aT);
      return Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev) * EPS[i];
    });
    expectClose(await step(ddimStep, 50, 0, 1), expected);
  });

  it('is registered by name next to DDPM', () => {
    expect(SAMPLERS.ddpm).toBe(ddpmStep);
    expect(SAMPLERS.ddim).toBe(ddimStep);
  });
});

describe('a step from a v-prediction model (cosine schedule)', () => {
  // ᾱ of the cosine schedule, written out: f((t+1)/T)/f(0), f(u) = cos²((u + 0.008)/1.008 · π/2).
  const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const cosineAlphaBarAt = (t: number) => f((t + 1) / 1000) / f(0);
  const cosine = cosineSchedule();
  const V = Float32Array.from([0.3, -0.6, 1.1, -0.2, 0.05, 0.9]);
  /** ε = √(1−ᾱ_t)·x_t + √ᾱ_t·v, by hand. */
  const epsByHand = (t: number) => Array.from(X, (x, i) => Math.sqrt(1 - cosineAlphaBarAt(t)) * x + Math.sqrt(cosineAlphaBarAt(t)) * V[i]);

  async function vStep(sampler: typeof ddpmStep, t: number, tPrev: number, eta = 0): Promise<number[]> {
    const [x, v, noise] = [tensor(X), tensor(V), tensor(Z)];
    const eps = epsFromOutput({ schedule: cosine, recipe: CPU_RECIPE }, x, v, t);
    const out = sampler(cosine, { x, eps, t, tPrev, noise, eta });
    tf.dispose([x, v, eps, noise]);
    return read(out);
  }

  it('DDPM takes x_500 to x_499 = 1/√α_t·(x_t − β_t/√(1−ᾱ_t)·ε) + √β_t·z with ε read from v', async () => {
    const t = 500;
    const alpha = cosineAlphaBarAt(t) / cosineAlphaBarAt(t - 1);
    const beta = 1 - alpha;
    const eps = epsByHand(t);
    const expected = Array.from(X, (x, i) => (1 / Math.sqrt(alpha)) * (x - (beta / Math.sqrt(1 - cosineAlphaBarAt(t))) * eps[i]) + Math.sqrt(beta) * Z[i]);
    expectClose(await vStep(ddpmStep, t, t - 1), expected);
  });

  it('DDIM (η = 0) takes x_800 to x_600 = √ᾱ_600·x̂0 + √(1−ᾱ_600)·ε, where x̂0 = √ᾱ·x_t − √(1−ᾱ)·v', async () => {
    const [aT, aPrev] = [cosineAlphaBarAt(800), cosineAlphaBarAt(600)];
    const eps = epsByHand(800);
    const expected = Array.from(X, (x, i) => {
      const x0 = Math.sqrt(aT) * x - Math.sqrt(1 - aT) * V[i];
      return Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev) * eps[i];
    });
    expectClose(await vStep(ddimStep, 800, 600, 0), expected);
  });
});

describe('sampling from a v-prediction model', () => {
  // A stand-in network that always predicts v for one fixed image: whatever the noise, its x̂0 is
  // that image. A sampler that reads v correctly lands on it; one that took v for ε would not.
  const size = 8;
  const target = Float32Array.from({ length: size * size }, (_, i) => ((i % size) / (size - 1)) * 1.6 - 0.8);
  const cosine = cosineSchedule();
  const stub: UNet = {
    preset: getPreset('micro'),
    shape: { channels: 1, classes: 2, size },
    variables: new Map(),
    encodeStyle: () => {
      throw new Error('not a style model');
    },
    apply: (x, t) => {
      const aBar = cosine.alphaBar[t[0]];
      const x0 = tf.tensor4d(target, [1, size, size, 1]);
      return tf.div(tf.sub(tf.mul(x, Math.sqrt(aBar)), x0), Math.sqrt(1 - aBar));
    },
    dispose: () => {},
  };
  const expected = Array.from(target, (v) => ((v + 1) / 2) * 255);

  for (const [sampler, steps] of [['ddim', 10], ['ddpm', 999]] as const) {
    it(`${sampler.toUpperCase()} with ${steps} steps and guidance draws the image the model's v points at`, async () => {
      const before = tf.memory().numTensors;
      const pixels = await sampleImages({ model: stub, schedule: cosine, recipe: CPU_RECIPE }, [0, 1], { sampler, steps, cfg: 3, seed: 2, eta: 0 });
      expect(tf.memory().numTensors).toBe(before);
      expect(pixels.length).toBe(2 * size * size);
      // The last step adds √(1−ᾱ_0)·ε ≈ 0.0064·ε, under 4 of 255 levels for |ε| < 4.
      for (let i = 0; i < pixels.length; i++) expect(Math.abs(pixels[i] - expected[i % (size * size)])).toBeLessThan(4);
    });
  }
});

describe('the timesteps a sampler visits', () => {
  it('are 999, 998, …, 1, 0 for the reference’s 999 steps', () => {
    const expected = Array.from({ length: 1000 }, (_, i) => 999 - i);
    expect(timesteps(schedule, 999)).toEqual(expected);
  });

  it('are 51 strictly descending steps from 999 to 0 for a 50-step DDIM', () => {
    const ts = timesteps(schedule, 50);
    expect(ts).toHaveLength(51);
    expect(ts[0]).toBe(999);
    expect(ts[50]).toBe(0);
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeLessThan(ts[i - 1]);
    for (const t of ts) expect(Number.isInteger(t)).toBe(true);
  });
});

describe('classifier-free guidance', () => {
  const cond = Float32Array.from([0.5, -1.0, 2.0, 0.25, -0.75, 1.5]);
  const uncond = Float32Array.from([0.25, 0.5, -1.0, 0.0, -0.5, 1.0]);

  for (const s of [0, 1, 3]) {
    it(`mixes ε = ε_u + ${s}·(ε_c − ε_u)`, async () => {
      const [c, u] = [tensor(cond), tensor(uncond)];
      const out = await read(guide(c, u, s));
      tf.dispose([c, u]);
      expectClose(out, Array.from(cond, (ec, i) => uncond[i] + s * (ec - uncond[i])));
    });
  }
});

describe('turning samples into pixels', () => {
  it('maps −1 to 0, 1 to 255 and 0 to 128, and clamps what overshoots', async () => {
    const x = tf.tensor1d([-1, 1, 0, -3, 2.5, 0.5, -0.5]);
    const px = await toUint8(x);
    x.dispose();
    // 0 → 127.5 rounds to 128; ±0.5 → 191.25 and 63.75 round to 191 and 64.
    expect(Array.from(px)).toEqual([0, 255, 128, 0, 255, 191, 64]);
  });
});
