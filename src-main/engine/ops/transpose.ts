// Swapping the last two axes of a matrix or a batch of them: dense layers' xᵀ, the filter
// gradient's planes (NHWC as [N·H·W, C] → [C, N·H·W]) and attention's products. wasm's Transpose
// moves one float at a time (figures: docs/ARCHITECTURE.md, "Kernels"); on wasm with Fontloom's SIMD kernels, 4×4 blocks are turned in
// registers (rows and columns multiples of 4). Elsewhere, tf.transpose.
import * as tf from '@tensorflow/tfjs-core';
import { once, registerHostKernel, simdOnActiveBackend } from './host-kernels.ts';

const SWAP = 'FontloomSwapLastAxes';
const register = once(() => {
  registerHostKernel(SWAP, (host, { x }) => {
    const shape = x.shape;
    const [rows, cols] = shape.slice(-2);
    const batch = shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const out = host.output([...shape.slice(0, -2), cols, rows]);
    const simd = host.simd!;
    simd.kernels.transpose(simd.offset(x), simd.offset(out.info), batch, rows, cols);
    return out.info;
  });
  tf.registerGradient({ kernelName: SWAP, gradFunc: (dy) => ({ x: () => swapLastAxes(dy as tf.Tensor) }) });
});

/** x [..., R, C] → [..., C, R]. */
export function swapLastAxes<T extends tf.Tensor>(x: T): T {
  const rank = x.rank;
  const [rows, cols] = x.shape.slice(-2);
  if (rank < 2 || rows % 4 !== 0 || cols % 4 !== 0 || x.dtype !== 'float32' || !simdOnActiveBackend()) {
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return tf.transpose(x, perm) as T;
  }
  register();
  return tf.engine().runKernel(SWAP, { x }) as T;
}
