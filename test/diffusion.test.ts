// What the network learns, checked by hand in float64: the v target and its way back to x₀ and ε
// (Salimans & Ho), Min-SNR-γ weights (Hang et al.), and the weighted loss of a tiny batch.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CPU_RECIPE } from '../src-main/contract/presets.ts';
import { cosineSchedule } from '../src-main/engine/schedule.ts';
import { epsFromOutput, epsFromV, lossWeights, minSnrWeight, predictionTarget, vTarget, weightedMse, x0FromV } from '../src-main/engine/diffusion.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// ᾱ of the cosine schedule, independently of schedule.ts: f((t+1)/T)/f(0) for t < 999.
const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
const alphaBarAt = (t: number) => f((t + 1) / 1000) / f(0);

const schedule = cosineSchedule();
const SHAPE: [number, number, number, number] = [1, 2, 3, 1];
// Float32-exact inputs, so the float64 expectations start from the very numbers the tensors hold.
const X0 = Float32Array.from([0.75, -1, 0.5, -0.25, 1, 0]);
const EPS = Float32Array.from([0.5, -1.125, 0.25, 0.875, -0.1875, -0.625]);

const tensor = (a: ArrayLike<number>, shape = SHAPE) => tf.tensor4d(Float32Array.from(a), shape);

async function read(t: tf.Tensor): Promise<number[]> {
  const out = Array.from(await t.data());
  t.dispose();
  return out;
}

function expectWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}: got ${actual[i]}, expected ${expected[i]}`).toBeLessThan(tol);
  }
}

describe('v-prediction (Salimans & Ho)', () => {
  for (const t of [1, 250, 500, 900]) {
    it(`at t = ${t}: v = √ᾱ·ε − √(1−ᾱ)·x₀, and v with x_t gives back x₀ and ε`, async () => {
      const aBar = alphaBarAt(t);
      const [a, b] = [Math.sqrt(aBar), Math.sqrt(1 - aBar)];
      const xtByHand = Array.from(X0, (x0, i) => a * x0 + b * EPS[i]);
      const vByHand = Array.from(X0, (x0, i) => a * EPS[i] - b * x0);

      const [x0, eps] = [tensor(X0), tensor(EPS)];
      const v = vTarget(x0, eps, Math.sqrt(schedule.alphaBar[t]), Math.sqrt(1 - schedule.alphaBar[t]));
      const vValues = Array.from(await v.data());
      expectWithin(vValues, vByHand, 1e-6);
      expectWithin(await read(predictionTarget('v', x0, eps, a, b)), vByHand, 1e-6);
      expect(await read(predictionTarget('eps', x0, eps, a, b))).toEqual(Array.from(EPS));

      // Round trip: (x_t, v) → x₀ and ε → v again.
      const xt = tensor(xtByHand);
      const x0Back = x0FromV(xt, v, a, b);
      const epsBack = epsFromV(xt, v, a, b);
      expectWithin(await x0Back.data(), X0, 1e-6);
      expectWithin(await epsBack.data(), EPS, 1e-6);
      expectWithin(await read(vTarget(x0Back, epsBack, a, b)), vByHand, 1e-6);
      tf.dispose([x0, eps, v, xt, x0Back, epsBack]);
    });
  }

  it('lets a sampler read a v output as ε = √(1−ᾱ_t)·x_t + √ᾱ_t·v, and an ε output as itself', async () => {
    const t = 700;
    const aBar = alphaBarAt(t);
    const V = Float32Array.from([0.3, -0.6, 1.1, -0.2, 0.05, 0.9]);
    const XT = Float32Array.from([1.2, -0.4, 0.7, -1.5, 0.25, 0.6]);
    const [xt, out] = [tensor(XT), tensor(V)];
    const expected = Array.from(XT, (x, i) => Math.sqrt(1 - aBar) * x + Math.sqrt(aBar) * V[i]);
    expectWithin(await read(epsFromOutput({ schedule, recipe: CPU_RECIPE }, xt, out, t)), expected, 1e-6);
    expect(await read(epsFromOutput({ schedule, recipe: { ...CPU_RECIPE, prediction: 'eps' } }, xt, out, t))).toEqual(Array.from(V));
    tf.dispose([xt, out]);
  });
});

describe('Min-SNR-γ loss weights (Hang et al.)', () => {
  // ᾱ for a given SNR = ᾱ/(1−ᾱ): ᾱ = SNR/(1 + SNR).
  const alphaBarForSnr = (snr: number) => snr / (1 + snr);
  const cases: Array<[number, number, number]> = [
    // SNR, ε weight min(SNR,5)/SNR, v weight min(SNR,5)/(SNR+1)
    [0.5, 1, 0.5 / 1.5],
    [5, 1, 5 / 6],
    [50, 5 / 50, 5 / 51],
  ];
  for (const [snr, epsWeight, vWeight] of cases) {
    it(`at SNR ${snr} with γ = 5: ${epsWeight.toFixed(4)} for ε-prediction, ${vWeight.toFixed(4)} for v`, () => {
      expect(minSnrWeight(alphaBarForSnr(snr), 'eps', 5)).toBeCloseTo(epsWeight, 12);
      expect(minSnrWeight(alphaBarForSnr(snr), 'v', 5)).toBeCloseTo(vWeight, 12);
    });
  }

  it('gives every timestep weight 1 under plain mse, and Min-SNR weights per timestep otherwise', () => {
    const t = [1, 300, 600, 999];
    expect(Array.from(lossWeights(schedule, t, { prediction: 'v', weighting: 'mse', snrGamma: 5 }))).toEqual([1, 1, 1, 1]);
    const weights = lossWeights(schedule, t, { prediction: 'v', weighting: 'min-snr', snrGamma: 5 });
    for (let i = 0; i < t.length; i++) {
      const aBar = t[i] === 999 ? 0.001 * alphaBarAt(998) : alphaBarAt(t[i]);
      const snr = aBar / (1 - aBar);
      expect(weights[i]).toBeCloseTo(Math.fround(Math.min(snr, 5) / (snr + 1)), 7);
    }
  });
});

describe('the weighted loss of a tiny batch', () => {
  it('is each sample’s mean squared v error over its pixels, times its Min-SNR weight, averaged over the batch', async () => {
    // Two samples of 2×2×1 pixels at t = 100 (high SNR, weight capped by γ) and t = 800 (low SNR).
    const shape: [number, number, number, number] = [2, 2, 2, 1];
    const t = [100, 800];
    const x0 = Float32Array.from([0.5, -1, 1, 0.25, -0.5, 0.75, -0.25, 1]);
    const eps = Float32Array.from([1.5, -0.5, 0.125, -2, 0.625, -1.25, 0.375, 0.875]);
    const out = Float32Array.from([0.25, 0.5, -0.75, 1, -0.125, 0.5, 1.25, -0.375]);

    let byHand = 0;
    for (let i = 0; i < 2; i++) {
      const aBar = alphaBarAt(t[i]);
      const snr = aBar / (1 - aBar);
      const weight = Math.min(snr, 5) / (snr + 1);
      let sse = 0;
      for (let j = 0; j < 4; j++) {
        const k = i * 4 + j;
        const v = Math.sqrt(aBar) * eps[k] - Math.sqrt(1 - aBar) * x0[k];
        sse += (out[k] - v) ** 2;
      }
      byHand += (weight * sse) / 4 / 2;
    }

    const scales = (fn: (aBar: number) => number) => tf.tensor4d(t.map((ti) => fn(schedule.alphaBar[ti])), [2, 1, 1, 1]);
    const [sa, sb] = [scales(Math.sqrt), scales((a) => Math.sqrt(1 - a))];
    const [x0T, epsT, outT] = [tensor(x0, shape), tensor(eps, shape), tensor(out, shape)];
    const target = predictionTarget('v', x0T, epsT, sa, sb);
    const weights = tf.tensor1d(lossWeights(schedule, t, { prediction: 'v', weighting: 'min-snr', snrGamma: 5 }));
    const [loss] = await read(weightedMse(outT, target, weights));
    expect(Math.abs(loss - byHand) / byHand).toBeLessThan(1e-6);

    // With weight 1 everywhere it is the plain mean over the whole batch, as in the reference.
    const ones = tf.ones([2]) as tf.Tensor1D;
    const [plain] = await read(weightedMse(outT, epsT, ones));
    const plainByHand = Array.from(out, (o, k) => (o - eps[k]) ** 2).reduce((a, b) => a + b, 0) / 8;
    expect(Math.abs(plain - plainByHand) / plainByHand).toBeLessThan(1e-6);
    tf.dispose([sa, sb, x0T, epsT, outT, target, weights, ones]);
  });
});
