import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { dense } from '../src-main/engine/ops/dense.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { tensorRelativeError } from './helpers/compare.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(['cpu', 'wasm'] as const)('x·W + b with plain products in its gradient, on %s', (backend) => {
  // The UNet's linear layers: time projections, attention in/out projections, the output 1×1.
  for (const [rows, cin, cout] of [[32, 256, 64], [2048, 64, 192], [512, 64, 64], [4096, 16, 1]]) {
    it(`equals tf.matMul + b in value and all three gradients for [${rows},${cin}]·[${cin},${cout}]`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const rng = new Rng(rows + cin * 7 + cout * 13);
      const x = tf.tensor2d(rng.normal(rows * cin), [rows, cin]);
      const w = tf.tensor2d(rng.normal(cin * cout), [cin, cout]);
      const b = tf.tensor1d(rng.normal(cout));
      const r = tf.tensor2d(rng.normal(rows * cout), [rows, cout]);
      const run = (f: (a: tf.Tensor2D, m: tf.Tensor2D, c: tf.Tensor1D) => tf.Tensor2D) => [
        tf.tidy(() => f(x, w, b)),
        ...tf.grads((a: tf.Tensor, m: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, m as tf.Tensor2D, c as tf.Tensor1D), r)))([x, w, b]),
      ];
      const ours = run(dense);
      const ref = run((a, m, c) => tf.add(tf.matMul(a, m), c));
      for (let i = 0; i < 4; i++) expect(await tensorRelativeError(ours[i], ref[i]), ['value', 'dx', 'dW', 'db'][i]).toBeLessThan(1e-5);
      tf.dispose([x, w, b, r, ...ours, ...ref]);
    });
  }
});
