// x·W + b with gradients that use no transposed matMul and no axis-0 Sum. tfjs's own gradient of
// matMul multiplies by transposed operands, which wasm's BatchMatMul runs on a slow path, and sums
// a bias's gradient over rows with a Sum that transposes first (figures: docs/ARCHITECTURE.md, "Kernels"); here the transposes are
// explicit, every product a plain one, and the bias gradient is 1ᵀ·dy.
import * as tf from '@tensorflow/tfjs-core';
import { matMul2d } from './bmm.ts';
import { swapLastAxes } from './transpose.ts';

export function dense(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi, bi, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.fused.matMul({ a: xi, b: wi, bias: bi }),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const d = dy as tf.Tensor2D;
        const ones = tf.ones([1, d.shape[0]]) as tf.Tensor2D;
        return [matMul2d(d, swapLastAxes(ws)), matMul2d(swapLastAxes(xs), d), tf.reshape(tf.matMul(ones, d), [d.shape[1]])];
      },
    };
  });
  return op(x, w, bias) as tf.Tensor2D;
}
