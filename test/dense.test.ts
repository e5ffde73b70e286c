import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { dense } from '../src-main/engine/dense.ts';
import { Rng } from '../src-main/engine/rng.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

async function maxRelative(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [av, bv] = [await a.data(), await b.data()];
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < bv.length; i++) {
    diff = Math.max(diff, Math.abs(av[i] - bv[i]));
    scale = Math.max(scale, Math.abs(bv[i]));
  }
  return diff / scale;
}

describe.each(['cpu', 'wasm'] as const)('x·W with plain products in its gradient, on %s', (backend) => {
  // The UNet's linear layers: time projections, attention in/out projections, the output 1×1.
  for (const [rows, cin, cout] of [[32, 256, 64], [2048, 64, 192], [512, 64, 64], [4096, 16, 1]]) {
    it(`equals tf.matMul in value and both gradients for [${rows},${cin}]·[${cin},${cout}]`, async () => {
      expect(await tf.setBackend(backend)).toBe(true);
      const rng = new Rng(rows + cin * 7 + cout * 13);
      const x = tf.tensor2d(rng.normal(rows * cin), [rows, cin]);
      const w = tf.tensor2d(rng.normal(cin * cout), [cin, cout]);
      const r = tf.tensor2d(rng.normal(rows * cout), [rows, cout]);
      const run = (f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) => [
        tf.tidy(() => f(x, w)),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D), r)))([x, w]),
      ];
      const ours = run(dense);
      const ref = run((a, b) => tf.matMul(a, b));
      for (let i = 0; i < 3; i++) expect(await maxRelative(ours[i], ref[i]), ['value', 'dx', 'dW'][i]).toBeLessThan(1e-5);
      tf.dispose([x, w, r, ...ours, ...ref]);
    });
  }
});
