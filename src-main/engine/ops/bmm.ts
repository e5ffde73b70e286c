// Matrix products on wasm with Fontloom's SIMD kernels; tf.matMul elsewhere.
// - batchMatMul, for self-attention: a [B, M, K] · b [B, K, N]. wasm's own BatchMatMul runs a
//   batch of more than one matrix on a plain loop; ours keeps 4×4 blocks in registers (M and N
//   multiples of 4).
// - matMul2d, for the filter gradient: one [M, K] · [K, N] product, 4×8 blocks, B read in place,
//   where XNNPACK's fully-connected path packs B on every call (B is new each step) (figures: docs/ARCHITECTURE.md, "Kernels").
import * as tf from '@tensorflow/tfjs-core';
import { once, registerHostKernel, simdOnActiveBackend, simdOnSingleThreadEngine } from './host-kernels.ts';
import { swapLastAxes } from './transpose.ts';

const BMM = 'FontloomBatchMatMul';
const GEMM = 'FontloomMatMul';
/** Floats of b per k-slice: 256 KB, well inside a core's L2. */
const GEMM_SLICE_FLOATS = 65536;
const register = once(() => {
  registerHostKernel(GEMM, (host, { a, b }) => {
    const [m, k] = a.shape;
    const n = b.shape[1];
    const out = host.output([m, n]);
    const simd = host.simd!;
    const [aAt, bAt, cAt] = [simd.offset(a), simd.offset(b), simd.offset(out.info)];
    // k in slices whose rows of b (slice × n floats) stay in a core's cache across all of a's rows.
    const slice = Math.max(64, Math.floor(GEMM_SLICE_FLOATS / n));
    for (let k0 = 0; k0 < k; k0 += slice) {
      simd.kernels.gemm(aAt + 4 * k0, bAt + 4 * k0 * n, cAt, m, Math.min(slice, k - k0), n, k, k0 > 0 ? 1 : 0);
    }
    return out.info;
  });
  registerHostKernel(BMM, (host, { a, b }) => {
    const [batch, m, k] = a.shape;
    const n = b.shape[2];
    const out = host.output([batch, m, n]);
    const simd = host.simd!;
    simd.kernels.bmm(simd.offset(a), simd.offset(b), simd.offset(out.info), batch, m, k, n);
    return out.info;
  });
  tf.registerGradient({
    kernelName: BMM,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [tf.Tensor3D, tf.Tensor3D];
      const d = dy as tf.Tensor3D;
      return {
        a: () => batchMatMul(d, swapLastAxes(b)),
        b: () => batchMatMul(swapLastAxes(a), d),
      };
    },
  });
});

/** a [B, M, K] · b [B, K, N] → [B, M, N]. */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [, m] = a.shape;
  const n = b.shape[2];
  if (m % 4 !== 0 || n % 4 !== 0 || a.dtype !== 'float32' || b.dtype !== 'float32' || !simdOnActiveBackend()) {
    return tf.matMul(a, b);
  }
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(`batchMatMul: shapes [${a.shape}] and [${b.shape}] do not multiply`);
  }
  register();
  return tf.engine().runKernel(BMM, { a, b }) as tf.Tensor3D;
}

/**
 * a [M, K] · b [K, N] → [M, N], for products inside gradients (no gradient of its own on the
 * SIMD path, which serves engines without XNNPACK's thread pool).
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [m, k] = a.shape;
  const [kb, n] = b.shape;
  if (m % 4 !== 0 || n % 8 !== 0 || a.dtype !== 'float32' || b.dtype !== 'float32' || !simdOnSingleThreadEngine()) {
    return tf.matMul(a, b);
  }
  if (k !== kb) throw new Error(`matMul2d: shapes [${a.shape}] and [${b.shape}] do not multiply`);
  register();
  return tf.engine().runKernel(GEMM, { a, b }) as tf.Tensor2D;
}
