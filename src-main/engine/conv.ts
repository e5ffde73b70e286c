// A k×k (odd), stride-1, 'same' convolution whose two gradients are themselves forward
// convolutions. tfjs's Conv2DBackpropFilter is missing on wasm and very slow on cpu (35 s of a
// 38 s micro training step), and wasm's Conv2DBackpropInput is its slowest kernel; as
// convolutions, every backend runs them with its fast Conv2D kernel.
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsApply, registerHostKernel } from './host-kernels.ts';

/** dW[kh,kw,ci,co] = Σ_{n,h,w} x_pad[n,h+kh,w+kw,ci] · dy[n,h,w,co], for a k×k kernel. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  const p = (k - 1) / 2;
  const input = tf.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const kernel = tf.transpose(dy, [1, 2, 0, 3]); // [H, W, N, Co]
  const grad = tf.conv2d(input, kernel, 1, [[0, 0], [p, p], [p, p], [0, 0]]); // [Ci, k, k, Co]
  return tf.transpose(grad, [1, 2, 0, 3]);
}

const FLIP = 'FontloomFlipFilter';
let flipRegistered = false;

/**
 * W rotated 180° with in/out channels swapped: out[i, j, co, ci] = w[kh−1−i, kw−1−j, ci, co].
 * One host pass on wasm/cpu (wasm's Reverse kernel takes ~1 ms for a 3×3×64×64 filter, once per
 * convolution per step); Reverse + Transpose elsewhere.
 */
export function flipFilter(w: tf.Tensor4D): tf.Tensor4D {
  if (!hostKernelsApply(w)) return tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
  if (!flipRegistered) {
    flipRegistered = true;
    registerHostKernel(FLIP, (host, { w: filter }) => {
      const [kh, kw, ci, co] = filter.shape;
      const out = host.output([kh, kw, co, ci]);
      const src = host.read(filter);
      const dst = out.values;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const from = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
          const to = (i * kw + j) * co * ci;
          for (let a = 0; a < ci; a++) {
            for (let b = 0; b < co; b++) dst[to + b * ci + a] = src[from + a * co + b];
          }
        }
      }
      return out.info;
    });
  }
  return tf.engine().runKernel(FLIP, { w }) as tf.Tensor4D;
}

/** dx = conv(dy, W rotated 180° with in/out channels swapped), for stride 1 and 'same' padding. */
export function conv2dInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(dy, flipFilter(w), 1, 'same');
}

export function conv2dSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const conv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, fi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xi, fi]);
    return {
      value: tf.conv2d(xi, fi, 1, 'same'),
      gradFunc: (dy, saved) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        return [conv2dInputGrad(d, fs), conv2dFilterGrad(xs, d, fs.shape[0])];
      },
    };
  });
  return conv(x, w) as tf.Tensor4D;
}
