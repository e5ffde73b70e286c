// GELU as PyTorch's default, x·Φ(x) = ½x(1 + erf(x/√2)), in one pass over memory on the wasm and
// cpu backends. Composed from tfjs ops it takes five passes, one of them wasm's scalar Erf, about
// nine times XNNPACK's sigmoid (figures: docs/ARCHITECTURE.md, "Kernels"), and its gradient five more with an Exp; these two kernels
// read and write the tensors' memory once each.
//
// erf(x/√2) is evaluated as x·P(x²)/Q(x²) for |x| ≤ 5.75 and ±1 beyond, a rational fit of
// degrees 13/10 made for Fontloom by iterated least squares on 4,000 Chebyshev nodes: largest
// error 2·10⁻⁹ over the whole line (float32's own step near 1 is 6·10⁻⁸), so this is the exact
// GELU to float32 precision, not the tanh approximation. The gradient is the fit's own derivative
// (no exp): ½(1 + E(x)) + ½x·E′(x), consistent with the forward to rounding.
// Other backends (webgpu, tensorflow) compose it from tfjs ops as before.
import * as tf from '@tensorflow/tfjs-core';
import { constant } from './constants.ts';
import { hostKernelsApply, once, registerHostKernel } from './host-kernels.ts';

const GELU = 'FontloomGelu';
const GELU_GRAD = 'FontloomGeluGrad';
/** The fit: erf(x/√2) ≈ x·P(x²)/Q(x²) on |x| ≤ clamp; coefficients lowest power first, Q's first is 1. */
export const ERF_FIT = {
  clamp: 5.75,
  p: [
    0.7978845699945748, 0.06529105043046017, 0.009615149549188521, 0.00033998413449745564, 1.703582639803101e-5,
    1.0727164274257117e-7, -1.551478354163561e-10,
  ],
  q: [1, 0.24849696664848758, 0.028466713802484566, 0.0019345969474910615, 8.217379799140787e-5, 2.022370623597216e-6],
} as const;
const CLAMP = ERF_FIT.clamp;
const [P0, P1, P2, P3, P4, P5, P6] = ERF_FIT.p;
const [, Q1, Q2, Q3, Q4, Q5] = ERF_FIT.q;

/** erf(x/√2), from the rational fit above. */
export function erfOverSqrt2(x: number): number {
  if (x >= CLAMP) return 1;
  if (x <= -CLAMP) return -1;
  const s = x * x;
  const p = P0 + s * (P1 + s * (P2 + s * (P3 + s * (P4 + s * (P5 + s * P6)))));
  const q = 1 + s * (Q1 + s * (Q2 + s * (Q3 + s * (Q4 + s * Q5))));
  return (x * p) / q;
}

function geluForward(x: Float32Array, y: Float32Array, from = 0): void {
  for (let i = from; i < x.length; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + erfOverSqrt2(v));
  }
}

function geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, from = 0): void {
  for (let i = from; i < x.length; i++) {
    const v = x[i];
    if (v >= CLAMP) {
      dx[i] = dy[i];
      continue;
    }
    if (v <= -CLAMP) {
      dx[i] = 0;
      continue;
    }
    const s = v * v;
    const p = P0 + s * (P1 + s * (P2 + s * (P3 + s * (P4 + s * (P5 + s * P6)))));
    const q = 1 + s * (Q1 + s * (Q2 + s * (Q3 + s * (Q4 + s * Q5))));
    // d/ds of P and Q, for E′(x) = P/Q + 2x²·(P′Q − PQ′)/Q² = (P + 2s·(P′ − Q′·P/Q))/Q.
    const dp = P1 + s * (2 * P2 + s * (3 * P3 + s * (4 * P4 + s * (5 * P5 + s * 6 * P6))));
    const dq = Q1 + s * (2 * Q2 + s * (3 * Q3 + s * (4 * Q4 + s * 5 * Q5)));
    const r = 1 / q;
    const pr = p * r;
    const e = v * pr;
    const de = r * (p + 2 * s * (dp - pr * dq));
    dx[i] = dy[i] * (0.5 * (1 + e) + 0.5 * v * de);
  }
}

const registerKernels = once(() => {
  // On wasm the SIMD kernels take four floats a step and these loops only the last n mod 4.
  registerHostKernel(GELU, (host, { x }) => {
    const out = host.output(x.shape);
    const n = out.values.length;
    const simd = host.simd;
    simd?.kernels.gelu(simd.offset(x), simd.offset(out.info), n);
    geluForward(host.read(x), host.read(out.info), simd ? n - (n % 4) : 0);
    return out.info;
  });
  registerHostKernel(GELU_GRAD, (host, { x, dy }) => {
    const out = host.output(x.shape);
    const n = out.values.length;
    const simd = host.simd;
    simd?.kernels.gelu_grad(simd.offset(x), simd.offset(dy), simd.offset(out.info), n);
    geluBackward(host.read(x), host.read(dy), host.read(out.info), simd ? n - (n % 4) : 0);
    return out.info;
  });
  tf.registerGradient({
    kernelName: GELU,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return { x: () => tf.engine().runKernel(GELU_GRAD, { x, dy: dy as tf.Tensor }) as tf.Tensor };
    },
  });
});

/** x·Φ(x) through tfjs ops, for backends without the fused kernel. */
export function geluComposed<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, constant(0.5)), tf.add(tf.erf(tf.mul(x, constant(Math.SQRT1_2))), constant(1))) as T;
}

/** GELU as PyTorch's default (exact, not the tanh approximation). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (!hostKernelsApply(x)) return geluComposed(x);
  registerKernels();
  return tf.engine().runKernel(GELU, { x }) as T;
}
