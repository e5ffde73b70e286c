import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { concatChannels, maxPool2 } from '../src-main/engine/ops/layout.ts';
import { Rng } from '../src-main/engine/rng.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

async function same(a: tf.Tensor, b: tf.Tensor, what: string): Promise<void> {
  expect(a.shape, what).toEqual(b.shape);
  expect(Array.from(await a.data()), what).toEqual(Array.from(await b.data()));
}

describe.each(['cpu', 'wasm'] as const)('the UNet’s pooling and concatenation kernels on %s', (backend) => {
  for (const [n, h, w, c] of [[2, 8, 8, 3], [3, 7, 9, 5], [1, 32, 32, 16]]) {
    // The reference is tfjs's cpu backend: wasm's own MaxPoolGrad drops some windows' gradient
    // (4 of 96 windows for the first shape here), which these kernels replace.
    it(`max-pool 2×2 of [${n},${h},${w},${c}] equals tf.maxPool on cpu in value and gradient`, async () => {
      const rng = new Rng(n * 100 + h * 10 + c);
      const xv = rng.normal(n * h * w * c);
      const rv = rng.normal(n * Math.floor(h / 2) * Math.floor(w / 2) * c);
      const pooled: [number, number, number, number] = [n, Math.floor(h / 2), Math.floor(w / 2), c];
      const run = (pool: (v: tf.Tensor4D) => tf.Tensor4D) => {
        const [x, r] = [tf.tensor4d(xv, [n, h, w, c]), tf.tensor4d(rv, pooled)];
        const y = tf.tidy(() => pool(x));
        const [dx] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(pool(v as tf.Tensor4D), r)))([x]);
        tf.dispose([x, r]);
        return [y, dx];
      };
      await tf.setBackend('cpu');
      const [yRef, dRef] = run((v) => tf.maxPool(v, 2, 2, 'valid'));
      const ref = [Array.from(await yRef.data()), Array.from(await dRef.data())];
      tf.dispose([yRef, dRef]);
      expect(await tf.setBackend(backend)).toBe(true);
      const [y, dx] = run(maxPool2);
      expect(y.shape).toEqual(pooled);
      expect(Array.from(await y.data()), 'value').toEqual(ref[0]);
      expect(Array.from(await dx.data()), 'gradient').toEqual(ref[1]);
      // One gradient per window, none lost.
      expect(Array.from(await dx.data()).filter((v) => v !== 0).length).toBe(pooled.reduce((a, b) => a * b, 1));
      tf.dispose([y, dx]);
    });
  }

  it('sends a tied window’s gradient to its first maximum in row-major order, as PyTorch does', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.tensor4d([1, 5, 5, 2], [1, 2, 2, 1]);
    const [dx] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(maxPool2(v as tf.Tensor4D), 3)))([x]);
    expect(Array.from(await dx.data())).toEqual([0, 3, 0, 0]);
    tf.dispose([x, dx]);
  });

  it('concatenates along channels as tf.concat does, and splits the gradient back', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const rng = new Rng(5);
    const a = tf.tensor4d(rng.normal(2 * 4 * 4 * 3), [2, 4, 4, 3]);
    const b = tf.tensor4d(rng.normal(2 * 4 * 4 * 5), [2, 4, 4, 5]);
    const r = tf.tensor4d(rng.normal(2 * 4 * 4 * 8), [2, 4, 4, 8]);
    const ours = tf.tidy(() => concatChannels(a, b));
    const ref = tf.tidy(() => tf.concat([a, b], 3));
    await same(ours, ref, 'value');
    const g = (f: (p: tf.Tensor4D, q: tf.Tensor4D) => tf.Tensor4D) => tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(f(p as tf.Tensor4D, q as tf.Tensor4D), r)))([a, b]);
    const [dOurs, dRef] = [g(concatChannels), g((p, q) => tf.concat([p, q], 3))];
    await same(dOurs[0], dRef[0], 'gradient of a');
    await same(dOurs[1], dRef[1], 'gradient of b');
    expect(() => concatChannels(a, tf.zeros([2, 4, 5, 5]) as tf.Tensor4D)).toThrow(/\[2,4,4,3\] and \[2,4,5,5\] differ outside channels/);
    tf.dispose([a, b, r, ours, ref, ...dOurs, ...dRef]);
  });

  it('leaves no tensor behind across repeated forward and backward passes', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D;
    const step = () => tf.tidy(() => tf.grads((v: tf.Tensor) => tf.sum(concatChannels(maxPool2(v as tf.Tensor4D), maxPool2(v as tf.Tensor4D))))([x])[0].sum());
    step().dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) step().dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
