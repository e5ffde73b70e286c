import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dFilterGrad, conv2dSame, flipFilter } from '../src-main/engine/ops/conv.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { relativeError, tensorRelativeError } from './helpers/compare.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Case = { batch: number; size: number; cin: number; cout: number; k: number };

/** The value and both gradients of Σ(conv(x, w) · r) for a random upstream gradient r. */
function valueAndGrads(conv: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, w: tf.Tensor4D, r: tf.Tensor4D) {
  const y = conv(x, w);
  const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(conv(xi as tf.Tensor4D, wi as tf.Tensor4D), r)))([x, w]);
  return { y, dx, dw };
}

// Shapes the UNet meets: batch 1–4, feature maps 4/8/16/32, 1–16 channels in and out. Drawn once
// from a seeded generator, plus the extremes, so a failure names a shape that reproduces.
function cases(): Case[] {
  const rng = new Rng(2024);
  const sizes = [4, 8, 16, 32];
  const drawn: Case[] = [
    { batch: 1, size: 4, cin: 1, cout: 1, k: 3 },
    { batch: 4, size: 32, cin: 16, cout: 16, k: 3 },
    { batch: 2, size: 32, cin: 1, cout: 8, k: 3 }, // the glyph input layer
    { batch: 3, size: 8, cin: 16, cout: 3, k: 3 },
  ];
  for (let i = 0; i < 6; i++) {
    drawn.push({ batch: rng.int(1, 5), size: sizes[rng.int(0, 4)], cin: rng.int(1, 17), cout: rng.int(1, 17), k: 3 });
  }
  return drawn;
}

describe('the 3×3 same convolution with gradients built from forward convolutions', () => {
  for (const c of cases()) {
    it(`equals tf.conv2d in value and both gradients for x [${c.batch},${c.size},${c.size},${c.cin}] and ${c.cout} filters`, async () => {
      const rng = new Rng(c.batch * 1000003 + c.size * 1009 + c.cin * 31 + c.cout);
      const x = tf.tensor4d(rng.normal(c.batch * c.size * c.size * c.cin), [c.batch, c.size, c.size, c.cin]);
      const w = tf.tensor4d(rng.normal(c.k * c.k * c.cin * c.cout), [c.k, c.k, c.cin, c.cout]);
      const r = tf.tensor4d(rng.normal(c.batch * c.size * c.size * c.cout), [c.batch, c.size, c.size, c.cout]);

      const ours = valueAndGrads(conv2dSame, x, w, r);
      const tfjs = valueAndGrads((xi, wi) => tf.conv2d(xi, wi, 1, 'same'), x, w, r);

      expect(ours.y.shape).toEqual([c.batch, c.size, c.size, c.cout]);
      expect(ours.dx.shape).toEqual(x.shape);
      expect(ours.dw.shape).toEqual(w.shape);
      expect(await tensorRelativeError(ours.y, tfjs.y), 'value').toBeLessThan(1e-4);
      expect(await tensorRelativeError(ours.dx, tfjs.dx), 'input gradient').toBeLessThan(1e-4);
      expect(await tensorRelativeError(ours.dw, tfjs.dw), 'filter gradient').toBeLessThan(1e-4);
      tf.dispose([x, w, r, ours.y, ours.dx, ours.dw, tfjs.y, tfjs.dx, tfjs.dw]);
    });
  }

  for (const k of [1, 5]) {
    it(`reads the kernel size from the filter: a ${k}×${k} kernel matches tf.conv2d too`, async () => {
      const rng = new Rng(k);
      const x = tf.tensor4d(rng.normal(2 * 8 * 8 * 3), [2, 8, 8, 3]);
      const w = tf.tensor4d(rng.normal(k * k * 3 * 4), [k, k, 3, 4]);
      const r = tf.tensor4d(rng.normal(2 * 8 * 8 * 4), [2, 8, 8, 4]);
      const ours = valueAndGrads(conv2dSame, x, w, r);
      const tfjs = valueAndGrads((xi, wi) => tf.conv2d(xi, wi, 1, 'same'), x, w, r);
      expect(await tensorRelativeError(ours.y, tfjs.y), 'value').toBeLessThan(1e-4);
      expect(await tensorRelativeError(ours.dx, tfjs.dx), 'input gradient').toBeLessThan(1e-4);
      expect(await tensorRelativeError(ours.dw, tfjs.dw), 'filter gradient').toBeLessThan(1e-4);
      tf.dispose([x, w, r, ours.y, ours.dx, ours.dw, tfjs.y, tfjs.dx, tfjs.dw]);
    });
  }

  it('gets the filter gradient right where padding matters most: a 4×4 map is mostly border', async () => {
    // A hand-checkable case: x = 1 everywhere, dy = 1 everywhere, so dW[kh,kw] counts the output
    // pixels whose input tap (h+kh−1, w+kw−1) lies inside the 4×4 map: 3·3 at corners, 3·4 at
    // edges, 4·4 at the centre.
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 1, 1]) as tf.Tensor4D;
    const [, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(conv2dSame(xi as tf.Tensor4D, wi as tf.Tensor4D)))([x, w]);
    expect(Array.from(await dw.data())).toEqual([9, 12, 9, 12, 16, 12, 9, 12, 9]);
    tf.dispose([x, w, dw]);
  });

  it('does not leak tensors through its custom gradient', () => {
    const x = tf.ones([2, 8, 8, 3]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 3, 4]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(conv2dSame(xi as tf.Tensor4D, wi as tf.Tensor4D)))([x, w]);
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose(grads);
    tf.dispose([x, w]);
  });
});

describe('the filter flip behind the input gradient', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`equals reverse over the kernel's rows and columns with channels swapped, on ${backend}`, async () => {
      if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      expect(await tf.setBackend(backend)).toBe(true);
      const rng = new Rng(99);
      const w = tf.tensor4d(rng.normal(3 * 3 * 5 * 7), [3, 3, 5, 7]);
      const ours = flipFilter(w);
      const ref = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
      expect(ours.shape).toEqual([3, 3, 7, 5]);
      expect([...(await ours.data())]).toEqual([...(await ref.data())]);
      tf.dispose([w, ours, ref]);
      await tf.setBackend('cpu');
    });
  }
});

describe('the filter gradient on wasm, with Fontloom’s SIMD kernels', () => {
  // Shifted planes times the output gradient, for maps of 1,024 pixels or more that neither 3×3
  // kernel below takes (widths that are not a multiple of 4, kernels of 1 and 5). The reference is
  // tfjs's own filter gradient on the cpu backend.
  const shapes: Array<[number, number, number, number, number, number]> = [
    [2, 24, 30, 5, 7, 3],
    [1, 36, 33, 3, 4, 5],
    [2, 32, 32, 1, 8, 3],
    [4, 16, 17, 6, 5, 1],
    // Fontloom's nine-tap filter-gradient kernel (3×3, channels a multiple of 4, filters of 8, 256
    // pixels a map, sides that Winograd's tiles do not fit).
    [2, 17, 19, 8, 8, 3],
    [1, 32, 9, 12, 16, 3],
    [2, 18, 18, 8, 8, 3],
    // Winograd's (even sides, tiles in fours, channels in fours, filters in eights): the sums run
    // over every tile of every image.
    [2, 32, 32, 16, 8, 3],
    [4, 16, 16, 32, 16, 3],
    [3, 16, 16, 64, 32, 3],
    [2, 8, 8, 64, 64, 3],
    [3, 4, 4, 128, 16, 3],
    [2, 20, 24, 12, 16, 3],
  ];
  for (const [n, h, w, ci, co, k] of shapes) {
    it(`equals tf.conv2d's on cpu for x [${n},${h},${w},${ci}], ${co} filters of ${k}×${k}`, async () => {
      await import('@tensorflow/tfjs-backend-wasm');
      const rng = new Rng(n * 131 + h * 17 + w + ci * 7 + co + k);
      const xv = rng.normal(n * h * w * ci);
      const dyv = rng.normal(n * h * w * co);
      await tf.setBackend('cpu');
      const [xc, dyc] = [tf.tensor4d(xv, [n, h, w, ci]), tf.tensor4d(dyv, [n, h, w, co])];
      const [dwRef] = tf.grads((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xc, f as tf.Tensor4D, 1, 'same'), dyc)))([tf.zeros([k, k, ci, co])]);
      const ref = await dwRef.data();
      tf.dispose([xc, dyc, dwRef]);
      expect(await tf.setBackend('wasm')).toBe(true);
      const [x, dy] = [tf.tensor4d(xv, [n, h, w, ci]), tf.tensor4d(dyv, [n, h, w, co])];
      const dw = tf.tidy(() => conv2dFilterGrad(x, dy, k));
      expect(dw.shape).toEqual([k, k, ci, co]);
      expect(relativeError(await dw.data(), ref)).toBeLessThan(1e-5);
      tf.dispose([x, dy, dw]);
      await tf.setBackend('cpu');
    });
  }
});

describe('the 3×3 convolution on wasm with Fontloom’s kernels (Winograd F(2×2, 3×3), or all nine taps in registers)', () => {
  // On engines without a pool (as here), with a multiple of 8 filters: Winograd for even sides
  // whose 2×2 tiles come in fours and channels in fours (tiny's and small's shapes, 8×8 and 4×4
  // maps, a map that is not square, 12 channels); the nine-tap kernel for other maps of 256 pixels
  // or more: odd heights and widths, 81 tiles, one input channel, and 5 filters (the value stays
  // with XNNPACK; its input gradient, 8 filters over the flipped filter, takes a kernel). The
  // reference is tfjs on cpu, value and input gradient.
  const shapes: Array<[number, number, number, number, number]> = [
    [2, 32, 32, 16, 16],
    [3, 16, 16, 32, 32],
    [2, 16, 16, 64, 8],
    [2, 8, 8, 64, 64],
    [2, 4, 4, 128, 16],
    [1, 20, 24, 12, 16],
    [2, 17, 19, 5, 8],
    [1, 32, 9, 3, 16],
    [2, 18, 18, 8, 8],
    [2, 32, 32, 1, 16],
    [2, 16, 16, 8, 5],
  ];
  for (const [n, h, w, ci, co] of shapes) {
    it(`equals tf.conv2d on cpu for x [${n},${h},${w},${ci}] and ${co} filters, value and input gradient`, async () => {
      await import('@tensorflow/tfjs-backend-wasm');
      const rng = new Rng(n * 7 + h * 131 + w * 17 + ci * 3 + co);
      const [xv, wv, rv] = [rng.normal(n * h * w * ci), rng.normal(9 * ci * co), rng.normal(n * h * w * co)];
      const run = () => {
        const [x, f, r] = [tf.tensor4d(xv, [n, h, w, ci]), tf.tensor4d(wv, [3, 3, ci, co]), tf.tensor4d(rv, [n, h, w, co])];
        const y = conv2dSame(x, f);
        const [dx] = tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(conv2dSame(xi as tf.Tensor4D, f), r)))([x]);
        tf.dispose([x, f, r]);
        return [y, dx];
      };
      await tf.setBackend('cpu');
      const ref = run();
      const [yRef, dxRef] = [await ref[0].data(), await ref[1].data()];
      tf.dispose(ref);
      expect(await tf.setBackend('wasm')).toBe(true);
      const tensorsBefore = tf.memory().numTensors;
      const ours = run();
      expect(ours[0].shape).toEqual([n, h, w, co]);
      expect(relativeError(await ours[0].data(), yRef), 'value').toBeLessThan(1e-5);
      expect(relativeError(await ours[1].data(), dxRef), 'input gradient').toBeLessThan(1e-5);
      tf.dispose(ours);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      await tf.setBackend('cpu');
    });
  }

  it('are the kernels that run on a wasm engine without a pool: Winograd for tiny’s maps, nine taps for odd ones, each with its filter gradient', async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    expect(await tf.setBackend('wasm')).toBe(true);
    const kernelsOf = async (shape: [number, number, number, number]) => {
      const [xi, fi] = [tf.ones(shape) as tf.Tensor4D, tf.ones([3, 3, shape[3], 8]) as tf.Tensor4D];
      const { kernelNames } = await tf.profile(() => conv2dSame(xi, fi));
      tf.dispose([xi, fi]);
      return kernelNames.filter((k) => k !== ''); // '' is customGrad's own scope
    };
    for (const size of [32, 16, 8, 4]) expect(await kernelsOf([1, size, size, 8])).toEqual(['FontloomConv3x3Winograd']);
    expect(await kernelsOf([1, 17, 19, 8])).toEqual(['FontloomConv3x3']);
    expect(await kernelsOf([1, 2, 2, 8])).toEqual(['Conv2D']);
    const [x, f] = [tf.ones([1, 16, 16, 8]) as tf.Tensor4D, tf.ones([3, 3, 8, 8]) as tf.Tensor4D];
    const dy = tf.ones([1, 16, 16, 8]) as tf.Tensor4D;
    const grads = await tf.profile(() => conv2dFilterGrad(x, dy, 3));
    expect(grads.kernelNames).toEqual(['FontloomConv3x3WinogradFilterGrad']);
    const [xOdd, dyOdd] = [tf.ones([1, 17, 19, 8]) as tf.Tensor4D, tf.ones([1, 17, 19, 8]) as tf.Tensor4D];
    const oddGrads = await tf.profile(() => conv2dFilterGrad(xOdd, dyOdd, 3));
    expect(oddGrads.kernelNames).toEqual(['FontloomConv3x3FilterGrad']);
    tf.dispose([dy, xOdd, dyOdd]);
    tf.dispose([x, f]);
    await tf.setBackend('cpu');
  });
});
