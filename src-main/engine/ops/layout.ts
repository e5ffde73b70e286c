// Max-pooling 2×2 and channel concatenation, the UNet's two data-movement layers, with host
// kernels on wasm and cpu: wasm's MaxPoolGrad, Concat and SplitV take several passes' time over
// the floats where one pass does (figures: docs/ARCHITECTURE.md, "Kernels"). (wasm's MaxPoolGrad also drops some windows' gradient: 4
// of 96 in test/layout's first shape.)
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsApply, once, registerHostKernel } from './host-kernels.ts';

const POOL_GRAD = 'FontloomMaxPool2Grad';
const CONCAT = 'FontloomConcatChannels';
const SPLIT = 'FontloomSplitChannels';
const register = once(() => {
  // The gradient goes to the window's first maximum in row-major order, as PyTorch's max_pool2d.
  registerHostKernel(POOL_GRAD, (host, { x, dy }) => {
    const [n, h, w, c] = x.shape;
    const [ho, wo] = [dy.shape[1], dy.shape[2]];
    const out = host.output(x.shape);
    const [src, d, dx] = [host.read(x), host.read(dy), out.values];
    dx.fill(0);
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < ho; i++) {
        for (let j = 0; j < wo; j++) {
          const p = ((b * h + 2 * i) * w + 2 * j) * c;
          const q = p + w * c;
          for (let k = 0; k < c; k++, o++) {
            let at = p + k;
            if (src[p + c + k] > src[at]) at = p + c + k;
            if (src[q + k] > src[at]) at = q + k;
            if (src[q + c + k] > src[at]) at = q + c + k;
            dx[at] = d[o];
          }
        }
      }
    }
    return out.info;
  });
  registerHostKernel(CONCAT, (host, { a, b }) => {
    const ca = a.shape[3];
    const cb = b.shape[3];
    const out = host.output([...a.shape.slice(0, 3), ca + cb]);
    const [av, bv, dst] = [host.read(a), host.read(b), out.values];
    const pixels = av.length / ca;
    let o = 0;
    for (let p = 0; p < pixels; p++) {
      for (let k = p * ca, end = k + ca; k < end; k++) dst[o++] = av[k];
      for (let k = p * cb, end = k + cb; k < end; k++) dst[o++] = bv[k];
    }
    return out.info;
  });
  registerHostKernel(SPLIT, (host, { x }, attrs) => {
    const ca = attrs.first as number;
    const c = x.shape[3];
    const cb = c - ca;
    const a = host.output([...x.shape.slice(0, 3), ca]);
    const b = host.output([...x.shape.slice(0, 3), cb]);
    const [src, av, bv] = [host.read(x), a.values, b.values];
    const pixels = src.length / c;
    let i = 0;
    for (let p = 0; p < pixels; p++) {
      for (let k = p * ca, end = k + ca; k < end; k++) av[k] = src[i++];
      for (let k = p * cb, end = k + cb; k < end; k++) bv[k] = src[i++];
    }
    return [a.info, b.info];
  });
  tf.registerGradient({
    kernelName: CONCAT,
    inputsToSave: ['a'],
    gradFunc: (dy, saved) => {
      const [da, db] = tf.engine().runKernel(SPLIT, { x: dy as tf.Tensor }, { first: saved[0].shape[3] as number }) as tf.Tensor[];
      return { a: () => da, b: () => db };
    },
  });
});

/** 2×2 max-pooling with stride 2 ('valid'), NHWC: the backend's own pooling, our gradient. */
export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  if (!hostKernelsApply(x)) return tf.maxPool(x, 2, 2, 'valid');
  register();
  const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    save([input]);
    return {
      value: tf.maxPool(input, 2, 2, 'valid'),
      gradFunc: (dy, saved) => tf.engine().runKernel(POOL_GRAD, { x: saved[0], dy: dy as tf.Tensor }) as tf.Tensor,
    };
  });
  return pool(x) as tf.Tensor4D;
}

/** a and b side by side along channels: [N, H, W, Ca + Cb]. */
export function concatChannels(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  if (!hostKernelsApply(a, b)) return tf.concat([a, b], 3);
  const [sa, sb] = [a.shape, b.shape];
  if (sa[0] !== sb[0] || sa[1] !== sb[1] || sa[2] !== sb[2]) throw new Error(`concatChannels: [${sa}] and [${sb}] differ outside channels`);
  register();
  return tf.engine().runKernel(CONCAT, { a, b }) as tf.Tensor4D;
}
