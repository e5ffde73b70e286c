import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { swapLastAxes } from '../src-main/engine/ops/transpose.ts';
import { Rng } from '../src-main/engine/rng.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(['cpu', 'wasm'] as const)('swapping a matrix’s last two axes on %s', (backend) => {
  // Multiples of 4 (the SIMD kernel on wasm), a batch of them, and shapes that are not (tf.transpose).
  for (const shape of [[8, 12], [2048, 64], [3, 16, 8], [2, 2, 4, 20], [6, 5], [3, 4, 7]]) {
    it(`equals tf.transpose for [${shape}], value and gradient`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const rng = new Rng(shape.reduce((a, b) => a * 31 + b, 7));
      const size = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(rng.normal(size), shape);
      const perm = [...Array(shape.length).keys()];
      [perm[shape.length - 2], perm[shape.length - 1]] = [perm[shape.length - 1], perm[shape.length - 2]];
      const ours = tf.tidy(() => swapLastAxes(x));
      const ref = tf.tidy(() => tf.transpose(x, perm));
      expect(ours.shape).toEqual(ref.shape);
      expect(Array.from(await ours.data())).toEqual(Array.from(await ref.data()));
      const r = tf.tensor(rng.normal(size), ref.shape);
      const [dx] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(swapLastAxes(v), r)))([x]);
      const [dRef] = tf.grads((v: tf.Tensor) => tf.sum(tf.mul(tf.transpose(v, perm), r)))([x]);
      expect(Array.from(await dx.data())).toEqual(Array.from(await dRef.data()));
      tf.dispose([x, ours, ref, r, dx, dRef]);
    });
  }
});
