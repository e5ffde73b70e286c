// Batched matrix products for self-attention: a [B, M, K] · b [B, K, N]. wasm's own BatchMatMul
// runs a batch of more than one matrix on a plain loop (~2.6 GFLOP/s here, a tenth of XNNPACK's
// GEMM); on wasm with Fontloom's SIMD kernels this is a 4×4 register-blocked kernel instead
// (M and N multiples of 4). Elsewhere, tf.matMul.
import * as tf from '@tensorflow/tfjs-core';
import { registerHostKernel, simdOnActiveBackend } from './host-kernels.ts';
import { swapLastAxes } from './transpose.ts';

const BMM = 'FontloomBatchMatMul';
let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
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
}

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
