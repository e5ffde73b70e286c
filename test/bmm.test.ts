import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { batchMatMul, matMul2d } from '../src-main/engine/ops/bmm.ts';
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

describe('one matrix product on wasm’s SIMD kernel (the filter gradient’s GEMM)', () => {
  // The filter gradient's shapes (9·Ci rows, N·H·W inner, Co columns), and shapes off the 4×8 grid.
  // k beyond one slice of b (2,048 rows at n = 32), with a partial last slice: [16,5000]·[5000,32].
  for (const [m, k, n] of [[288, 4096, 32], [16, 5000, 32], [1152, 256, 128], [144, 1000, 16], [12, 7, 8], [9, 64, 16], [8, 5, 12]]) {
    it(`equals tf.matMul on cpu for [${m},${k}]·[${k},${n}]`, async () => {
      const rng = new Rng(m + k * 3 + n * 7);
      const a = rng.normal(m * k);
      const b = rng.normal(k * n);
      await tf.setBackend('cpu');
      const refT = tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n]));
      const ref = await refT.data();
      tf.dispose(refT);
      expect(await tf.setBackend('wasm')).toBe(true);
      const [at, bt] = [tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])];
      const out = matMul2d(at, bt);
      expect(out.shape).toEqual([m, n]);
      expect(relativeError(await out.data(), ref)).toBeLessThan(1e-5);
      tf.dispose([at, bt, out]);
    });
  }
});
