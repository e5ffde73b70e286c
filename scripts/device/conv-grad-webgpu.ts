// The 3×3 'same' convolution's filter gradient on the webgpu backend, three ways, at the shapes of
// the tiny and seed presets' convolutions: as now (a convolution of x with dy as its kernel), tfjs's
// own Conv2DBackpropFilter kernel, and one matMul over nine shifted copies of x. Milliseconds per
// call (the median of 5 runs of 10 calls, each run ended by a read) and each variant's relative
// error against the first. For scripts/device/run.sh; bundled by scripts/device/pack.sh.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/runtime/backend.ts';
import { conv2dFilterGradByConvolution } from '../../src-main/engine/ops/conv.ts';

const info = await initBackend('webgpu');

function byKernel(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const filterShape: [number, number, number, number] = [3, 3, x.shape[3], dy.shape[3]];
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape }) as tf.Tensor4D;
}

function byShiftedMatMul(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const taps: tf.Tensor4D[] = [];
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) taps.push(tf.slice(padded, [0, kh, kw, 0], [n, h, w, ci]));
  const cols = tf.reshape(tf.concat(taps, 3), [n * h * w, 9 * ci]);
  return tf.reshape(tf.matMul(cols, tf.reshape(dy, [n * h * w, co]), true, false), [3, 3, ci, co]);
}

const variants: Array<[string, (x: tf.Tensor4D, dy: tf.Tensor4D) => tf.Tensor4D]> = [
  ['as-convolution', (x, dy) => conv2dFilterGradByConvolution(x, dy, 3)],
  ['Conv2DBackpropFilter', byKernel],
  ['shifted-matmul', byShiftedMatMul],
];

const rows: Array<Record<string, unknown>> = [];
for (const [n, hw, ci, co] of [[32, 32, 16, 16], [32, 16, 32, 32], [32, 8, 64, 64], [4, 32, 64, 64], [4, 16, 128, 128], [4, 4, 256, 256]]) {
  const x = tf.randomNormal([n, hw, hw, ci]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, hw, hw, co]) as tf.Tensor4D;
  const ref = tf.tidy(() => variants[0][1](x, dy));
  const row: Record<string, unknown> = { shape: `x [${n},${hw},${hw},${ci}] dy ${co}` };
  for (const [name, f] of variants) {
    const times: number[] = [];
    let err = NaN;
    try {
      for (let rep = 0; rep < 6; rep++) {
        const t0 = performance.now();
        let last: tf.Tensor | null = null;
        for (let i = 0; i < 10; i++) {
          last?.dispose();
          last = tf.tidy(() => f(x, dy));
        }
        await last!.data();
        if (rep > 0) times.push((performance.now() - t0) / 10);
        if (rep === 5) {
          const e = tf.tidy(() => tf.div(tf.norm(tf.sub(last!, ref)), tf.norm(ref)));
          err = (await e.data())[0];
          e.dispose();
        }
        last!.dispose();
      }
      times.sort((a, b) => a - b);
      row[name] = `${times[2].toFixed(2)} ms (err ${err.toExponential(1)})`;
    } catch (e) {
      row[name] = `failed: ${(e as Error).message.slice(0, 80)}`;
    }
  }
  tf.dispose([x, dy, ref]);
  rows.push(row);
}
console.log(JSON.stringify({ adapter: info.adapter, rows }));
