import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { batchMatMul } from '../src-main/engine/bmm.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { relativeError } from './helpers/compare.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

type Shape3 = [number, number, number];

/** Value and both gradients of Σ(f(a, b) · r), read back as arrays. */
async function valueAndGrads(f: (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D, a: Float32Array, b: Float32Array, r: Float32Array, shapes: [Shape3, Shape3, Shape3]) {
  const [at, bt, rt] = [tf.tensor3d(a, shapes[0]), tf.tensor3d(b, shapes[1]), tf.tensor3d(r, shapes[2])];
  const y = tf.tidy(() => f(at, bt));
  const [da, db] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor3D, z as tf.Tensor3D), rt)))([at, bt]);
  const out = [await y.data(), await da.data(), await db.data()];
  tf.dispose([at, bt, rt, y, da, db]);
  return out;
}

describe('batched matrix products for attention', () => {
  // Attention's shapes (n·heads batches; 8×8 and 4×4 maps; head sizes 16 and 8), shapes that
  // are not multiples of 4 (tf.matMul's path, or the kernel for one side's gradient), one batch.
  const all: Array<[number, number, number, number]> = [[128, 64, 16, 64], [128, 64, 64, 16], [64, 16, 8, 16], [3, 12, 5, 8], [2, 6, 4, 7], [1, 4, 4, 4]];
  for (const [batch, m, k, n] of all) {
    it(`on wasm equal tf.matMul on cpu in value and both gradients for [${batch},${m},${k}]·[${batch},${k},${n}]`, async () => {
      const rng = new Rng(batch * 7 + m * 5 + k * 3 + n);
      const a = rng.normal(batch * m * k);
      const b = rng.normal(batch * k * n);
      const r = rng.normal(batch * m * n);
      const shapes: [Shape3, Shape3, Shape3] = [[batch, m, k], [batch, k, n], [batch, m, n]];
      await tf.setBackend('cpu');
      const ref = await valueAndGrads((x, z) => tf.matMul(x, z), a, b, r, shapes);
      expect(await tf.setBackend('wasm')).toBe(true);
      const ours = await valueAndGrads(batchMatMul, a, b, r, shapes);
      ['value', 'd/da', 'd/db'].forEach((what, i) => expect(relativeError(ours[i], ref[i]), what).toBeLessThan(1e-5));
    });
  }

  it('refuses shapes that do not multiply, saying which', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const [a, b] = [tf.zeros([2, 4, 4]) as tf.Tensor3D, tf.zeros([2, 5, 4]) as tf.Tensor3D];
    expect(() => batchMatMul(a, b)).toThrow(/\[2,4,4\] and \[2,5,4\] do not multiply/);
    tf.dispose([a, b]);
  });
});
