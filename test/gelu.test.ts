import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { erfOverSqrt2, gelu, geluComposed } from '../src-main/engine/ops/gelu.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { tensorRelativeError } from './helpers/compare.ts';

/** erf(z) = 2/√π · e^(−z²) · Σ 2ⁿz^(2n+1)/(1·3·…·(2n+1)): positive terms only, so float64 keeps ~1e-15. */
function erfSeries(signed: number): number {
  const z = Math.abs(signed);
  let term = z;
  let sum = z;
  for (let n = 1; n < 1000 && term > 1e-17 * sum; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(signed) * (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
}

describe('the rational erf(x/√2) behind the fused GELU', () => {
  it('is within 1e-8 of the series everywhere on [−8, 8] (float32 resolves 6e-8 near 1)', () => {
    let worst = 0;
    for (let x = -8; x <= 8; x += 0.0005) {
      const exact = erfSeries(x / Math.SQRT2);
      worst = Math.max(worst, Math.abs(erfOverSqrt2(x) - exact));
    }
    expect(worst).toBeLessThan(1e-8);
  });
});

const backends = ['cpu', 'wasm'] as const;
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(backends)('the fused GELU on %s', (backend) => {
  it('equals x·Φ(x) composed from tfjs ops (value and gradient) within 1e-6 relative', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const rng = new Rng(7);
    // Wide enough to cross the clamp at ±5.75 both ways, dense near 0 where the curve bends.
    const values = Float32Array.from(rng.normal(20000), (v, i) => (i % 4 === 0 ? v * 4 : v));
    const x = tf.tensor4d(values, [5, 20, 20, 10]);
    const r = tf.randomNormal(x.shape, 0, 1, 'float32', 3);
    const ours = tf.tidy(() => gelu(x));
    const ref = tf.tidy(() => geluComposed(x));
    const [dOurs] = tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(gelu(xi), r)))([x]);
    const [dRef] = tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(geluComposed(xi), r)))([x]);
    expect(await tensorRelativeError(ours, ref), 'value').toBeLessThan(1e-6);
    expect(await tensorRelativeError(dOurs, dRef), 'gradient').toBeLessThan(1e-6);
    // A length that is not a multiple of 4: the SIMD kernel's last few floats are done apart.
    const odd = tf.tensor1d(Float32Array.from({ length: 23 }, (_, i) => (i - 11) * 0.7));
    const [oddOurs, oddRef] = [tf.tidy(() => gelu(odd)), tf.tidy(() => geluComposed(odd))];
    const [dOdd, dOddRef] = [tf.grad((v: tf.Tensor) => tf.sum(gelu(v)))(odd), tf.grad((v: tf.Tensor) => tf.sum(geluComposed(v)))(odd)];
    const close = (a: Float32Array | Int32Array | Uint8Array, b: Float32Array | Int32Array | Uint8Array) => a.every((v, i) => Math.abs(v - b[i]) <= 2e-6 * Math.max(1, Math.abs(b[i])));
    expect(close(await oddOurs.data(), await oddRef.data()), 'value, odd length').toBe(true);
    expect(close(await dOdd.data(), await dOddRef.data()), 'gradient, odd length').toBe(true);
    tf.dispose([odd, oddOurs, oddRef, dOdd, dOddRef]);
    // Known points: GELU(0) = 0, GELU(1) = Φ(1) = 0.841345, GELU(−1) = −0.158655, GELU(10) = 10.
    const known = tf.tidy(() => gelu(tf.tensor1d([0, 1, -1, 10, -10])));
    const k = await known.data();
    expect(k[0]).toBe(0);
    expect(k[1]).toBeCloseTo(0.8413447, 6);
    expect(k[2]).toBeCloseTo(-0.1586553, 6);
    expect(k[3]).toBe(10);
    expect(k[4]).toBeCloseTo(0, 7);
    tf.dispose([x, r, ours, ref, dOurs, dRef, known]);
  });

  it('leaves no tensor behind across repeated forward and backward passes', async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    const x = tf.randomNormal([2, 8, 8, 4]);
    const step = () => tf.tidy(() => tf.grads((xi: tf.Tensor) => tf.sum(gelu(xi)))([x])[0].sum());
    (await step().data());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) step().dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('the SIMD kernels behind the fused GELU on wasm', () => {
  it('compile here and run over the wasm backend’s memory', async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
    const { simdKernelsFor } = await import('../src-main/engine/ops/simd.ts');
    const backend = tf.backend() as unknown as { wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory } };
    const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
    expect(memory).toBeInstanceOf(WebAssembly.Memory);
    // Null would mean the TypeScript loops do all the work: correct, but not the speed measured.
    expect(simdKernelsFor(memory!)).not.toBeNull();
  });
});
