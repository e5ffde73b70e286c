import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { groupNorm1, groupNorm1Composed } from '../src-main/engine/ops/groupnorm.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { tensorRelativeError } from './helpers/compare.ts';
import { onBackendOrSkip } from './helpers/backends.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

type Norm = (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number) => tf.Tensor4D;

/** The definition in tfjs ops, its gradients left to tfjs's autodiff: the reference. */
const autodiffNorm: Norm = (x, g, b, eps) => {
  const { mean, variance } = tf.moments(x, [1, 2, 3], true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
};

function valueAndGrads(norm: Norm, x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, r: tf.Tensor4D) {
  const y = tf.tidy(() => norm(x, g, b, 1e-5));
  const grads = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
    tf.sum(tf.mul(norm(xi as tf.Tensor4D, gi as tf.Tensor1D, bi as tf.Tensor1D, 1e-5), r)))([x, g, b]);
  return [y, ...grads];
}

// Shapes of the UNet's norms (a single channel included), and samples with a large offset, where
// a one-pass variance without a shift loses its digits.
const cases = [
  { n: 3, h: 8, w: 8, c: 16, offset: 0 },
  { n: 2, h: 32, w: 32, c: 1, offset: 0 },
  { n: 4, h: 4, w: 4, c: 64, offset: 0 },
  { n: 2, h: 16, w: 16, c: 8, offset: 300 },
];

function caseTensors(k: (typeof cases)[number]) {
  const rng = new Rng(k.n * 7919 + k.c * 31 + k.h);
  const size = k.n * k.h * k.w * k.c;
  const x = tf.tensor4d(Float32Array.from(rng.normal(size), (v, i) => v * (1 + (i % 3)) + k.offset), [k.n, k.h, k.w, k.c]);
  const g = tf.tensor1d(Float32Array.from(rng.normal(k.c), (v) => 1 + 0.5 * v));
  const b = tf.tensor1d(rng.normal(k.c));
  const r = tf.tensor4d(rng.normal(size), x.shape);
  return { x, g, b, r };
}

async function expectSameAsAutodiff(norm: Norm, k: (typeof cases)[number]) {
  const { x, g, b, r } = caseTensors(k);
  const ours = valueAndGrads(norm, x, g, b, r);
  const ref = valueAndGrads(autodiffNorm, x, g, b, r);
  const names = ['value', 'dx', 'dγ', 'dβ'];
  // The offset case loses float32 digits in the reference itself (x − μ at 300).
  const tolerance = k.offset ? 1e-3 : 1e-5;
  for (let i = 0; i < 4; i++) expect(await tensorRelativeError(ours[i], ref[i]), names[i]).toBeLessThan(tolerance);
  tf.dispose([x, g, b, r, ...ours, ...ref]);
}

/** Repeated forward and backward passes (gradients of x, γ and β) leave the tensor count flat. */
function expectNoLeak(norm: Norm) {
  const x = tf.randomNormal([2, 4, 4, 3]) as tf.Tensor4D;
  const g = tf.ones([3]) as tf.Tensor1D;
  const b = tf.zeros([3]) as tf.Tensor1D;
  const loss = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.square(norm(xi as tf.Tensor4D, gi as tf.Tensor1D, bi as tf.Tensor1D, 1e-5)));
  const step = () => tf.tidy(() => tf.addN(tf.grads(loss)([x, g, b]).map((t) => t.sum())));
  step().dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step().dispose();
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, g, b]);
}

describe.each(['cpu', 'webgpu'] as const)('the composed GroupNorm(1, C) with its written-out gradient, on %s', (backend) => {
  for (const k of cases) {
    it(`equals autodiff of the definition in value and in the gradients of x, γ and β for [${k.n},${k.h},${k.w},${k.c}]${k.offset ? ` offset by ${k.offset}` : ''}`, async (ctx) => {
      await onBackendOrSkip(backend, ctx);
      await expectSameAsAutodiff(groupNorm1Composed, k);
    });
  }

  it('leaves no tensor behind across repeated forward and backward passes', async (ctx) => {
    await onBackendOrSkip(backend, ctx);
    expectNoLeak(groupNorm1Composed);
  });
});

describe.each(['cpu', 'wasm'] as const)('the fused GroupNorm(1, C) on %s', (backend) => {
  for (const k of cases) {
    it(`equals autodiff of the definition in value and in the gradients of x, γ and β for [${k.n},${k.h},${k.w},${k.c}]${k.offset ? ` offset by ${k.offset}` : ''}`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      await expectSameAsAutodiff(groupNorm1, k);
    });
  }

  it('normalises each sample to mean 0 and variance 1 before γ and β', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.tensor4d([1, 2, 3, 4, 10, 10, 10, 14], [2, 2, 1, 2]);
    const y = tf.tidy(() => groupNorm1(x, tf.ones([2]), tf.zeros([2]), 0));
    const v = await y.data();
    // Sample 1: mean 2.5, variance 1.25; sample 2: mean 11, variance 3.
    const s1 = [1, 2, 3, 4].map((t) => (t - 2.5) / Math.sqrt(1.25));
    const s2 = [10, 10, 10, 14].map((t) => (t - 11) / Math.sqrt(3));
    [...s1, ...s2].forEach((e, i) => expect(v[i]).toBeCloseTo(e, 5));
    tf.dispose([x, y]);
  });

  it('leaves no tensor behind across repeated forward and backward passes', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    expectNoLeak(groupNorm1);
  });
});
