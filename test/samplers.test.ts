import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { linearSchedule } from '../src-main/engine/schedule.ts';
import { ddimStep, ddpmStep, guide, SAMPLERS, timesteps, toUint8 } from '../src-main/engine/samplers.ts';

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
