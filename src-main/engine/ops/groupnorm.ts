// GroupNorm with one group (the reference's nn.GroupNorm(1, C)): each sample normalised over H, W
// and C with the biased variance, then a per-channel affine. On wasm and cpu it is one kernel of
// two passes each way; composed from tfjs ops it is about eight passes forward and twenty back,
// most of a training step's Sum, Multiply and Sub time.
//
// Forward, per sample n (L = H·W·C values): μ, σ² (accumulated in float64, shifted by the first
// value), r = 1/√(σ² + ε); y = (x − μ)·r·γ_c + β_c.
// Backward, with x̂ = (x − μ)·r and g = dy·γ_c: dβ_c = Σ dy, dγ_c = Σ dy·x̂ (over n, h, w), and
// dx = r·(g − mean(g) − x̂·mean(g·x̂)), the means over the sample.
import * as tf from '@tensorflow/tfjs-core';
import { constant } from './constants.ts';
import { hostKernelsApply, once, registerHostKernel, type HostAccess, type Info } from './host-kernels.ts';

const GROUP_NORM = 'FontloomGroupNorm';
const GROUP_NORM_GRAD = 'FontloomGroupNormGrad';

function forward(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number, n: number, c: number,
  y: Float32Array, mean: Float32Array, rstd: Float32Array): void {
  const len = x.length / n;
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    const base = s * len;
    const shift = x[base];
    let sum = 0;
    let sumSq = 0;
    for (let i = base; i < base + len; i++) {
      const d = x[i] - shift;
      sum += d;
      sumSq += d * d;
    }
    const m = sum / len;
    const variance = Math.max(sumSq / len - m * m, 0);
    const mu = shift + m;
    const r = 1 / Math.sqrt(variance + eps);
    mean[s] = mu;
    rstd[s] = r;
    for (let k = 0; k < c; k++) {
      a[k] = r * gamma[k];
      b[k] = beta[k] - mu * a[k];
    }
    for (let i = base; i < base + len; i += c) {
      for (let k = 0; k < c; k++) y[i + k] = x[i + k] * a[k] + b[k];
    }
  }
}

function backward(x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dy: Float32Array,
  n: number, c: number, dx: Float32Array, dGamma: Float32Array, dBeta: Float32Array): void {
  const len = x.length / n;
  const dg = new Float64Array(c);
  const db = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    const base = s * len;
    const mu = mean[s];
    const r = rstd[s];
    let sumG = 0;
    let sumGx = 0;
    for (let i = base; i < base + len; i += c) {
      for (let k = 0; k < c; k++) {
        const xh = (x[i + k] - mu) * r;
        const d = dy[i + k];
        const g = d * gamma[k];
        sumG += g;
        sumGx += g * xh;
        dg[k] += d * xh;
        db[k] += d;
      }
    }
    const m1 = sumG / len;
    const m2 = sumGx / len;
    for (let i = base; i < base + len; i += c) {
      for (let k = 0; k < c; k++) {
        const xh = (x[i + k] - mu) * r;
        dx[i + k] = r * (dy[i + k] * gamma[k] - m1 - xh * m2);
      }
    }
  }
  for (let k = 0; k < c; k++) {
    dGamma[k] = dg[k];
    dBeta[k] = db[k];
  }
}

type Simd = NonNullable<HostAccess['simd']>;

/** The forward pass with the SIMD kernels (c a multiple of 4); same formulas as `forward`. */
function forwardSimd(host: HostAccess, simd: Simd, x: Info, gamma: Info, beta: Info, eps: number,
  y: Info, mean: Info, rstd: Info): void {
  const [n, , , c] = x.shape;
  const len = x.shape.reduce((a, b) => a * b, 1) / n;
  const coef = host.output([2 * c]);
  const k = simd.kernels;
  const [xAt, yAt, coefAt] = [simd.offset(x), simd.offset(y), simd.offset(coef.info)];
  // Views taken after the last allocation (an allocation can move the heap); none happens below.
  const [g, b, cv, mv, rv] = [host.read(gamma), host.read(beta), host.read(coef.info), host.read(mean), host.read(rstd)];
  for (let s = 0; s < n; s++) {
    const at = 4 * s * len;
    const mu = Math.fround(k.sum(xAt + at, len) / len);
    const variance = k.sum_sq_dev(xAt + at, len, mu) / len;
    const r = 1 / Math.sqrt(variance + eps);
    mv[s] = mu;
    rv[s] = r;
    for (let ch = 0; ch < c; ch++) {
      cv[ch] = r * g[ch];
      cv[c + ch] = b[ch] - mu * r * g[ch];
    }
    k.scale_shift(xAt + at, yAt + at, coefAt, len / c, c);
  }
  host.release(coef.info);
}

/** The backward pass with the SIMD kernels (c a multiple of 4); same formulas as `backward`. */
function backwardSimd(host: HostAccess, simd: Simd, x: Info, gamma: Info, mean: Info, rstd: Info, dy: Info,
  dx: Info, dGamma: Info, dBeta: Info): void {
  const [n, , , c] = x.shape;
  const len = x.shape.reduce((a, b) => a * b, 1) / n;
  const scratch = host.output([2 * c]);
  const k = simd.kernels;
  const [xAt, dyAt, dxAt, scratchAt] = [simd.offset(x), simd.offset(dy), simd.offset(dx), simd.offset(scratch.info)];
  const dg = new Float64Array(c);
  const db = new Float64Array(c);
  const [g, mv, rv, sums] = [host.read(gamma), host.read(mean), host.read(rstd), host.read(scratch.info)];
  for (let s = 0; s < n; s++) {
    const at = 4 * s * len;
    const [mu, r] = [mv[s], rv[s]];
    sums.fill(0);
    k.channel_sums(xAt + at, dyAt + at, mu, r, len / c, c, scratchAt);
    // Σ g = Σ_c γ_c·Σ dy and Σ g·x̂ = Σ_c γ_c·Σ dy·x̂, from the per-channel sums.
    let sumG = 0;
    let sumGx = 0;
    for (let ch = 0; ch < c; ch++) {
      dg[ch] += sums[ch];
      db[ch] += sums[c + ch];
      sumGx += g[ch] * sums[ch];
      sumG += g[ch] * sums[c + ch];
    }
    const m1 = sumG / len;
    const m2 = sumGx / len;
    // dx = r·(dy·γ − m1 − x̂·m2) with x̂ = (x − μ)·r, as coef[c]·dy + k2·x + k3.
    for (let ch = 0; ch < c; ch++) sums[ch] = r * g[ch];
    k.norm_grad(xAt + at, dyAt + at, dxAt + at, scratchAt, -r * r * m2, r * r * m2 * mu - r * m1, len / c, c);
  }
  const [dgv, dbv] = [host.read(dGamma), host.read(dBeta)];
  for (let ch = 0; ch < c; ch++) {
    dgv[ch] = dg[ch];
    dbv[ch] = db[ch];
  }
  host.release(scratch.info);
}

const registerKernels = once(() => {
  registerHostKernel(GROUP_NORM, (host, { x, gamma, beta }, attrs) => {
    const [n, , , c] = x.shape;
    const y = host.output(x.shape);
    const mean = host.output([n]);
    const rstd = host.output([n]);
    if (host.simd && c % 4 === 0) {
      forwardSimd(host, host.simd, x, gamma, beta, attrs.eps as number, y.info, mean.info, rstd.info);
      return [y.info, mean.info, rstd.info];
    }
    forward(host.read(x), host.read(gamma), host.read(beta), attrs.eps as number, n, c,
      y.values, mean.values, rstd.values);
    return [y.info, mean.info, rstd.info];
  });
  registerHostKernel(GROUP_NORM_GRAD, (host, { x, gamma, mean, rstd, dy }) => {
    const [n, , , c] = x.shape;
    const dx = host.output(x.shape);
    const dGamma = host.output([c]);
    const dBeta = host.output([c]);
    if (host.simd && c % 4 === 0) {
      backwardSimd(host, host.simd, x, gamma, mean, rstd, dy, dx.info, dGamma.info, dBeta.info);
      return [dx.info, dGamma.info, dBeta.info];
    }
    backward(host.read(x), host.read(gamma), host.read(mean), host.read(rstd), host.read(dy), n, c,
      dx.values, dGamma.values, dBeta.values);
    return [dx.info, dGamma.info, dBeta.info];
  });
  tf.registerGradient({
    kernelName: GROUP_NORM,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved) => {
      const [x, gamma, mean, rstd] = saved;
      const dy = (dys as tf.Tensor[])[0];
      const [dx, dGamma, dBeta] = tf.engine().runKernel(GROUP_NORM_GRAD, { x, gamma, mean, rstd, dy }) as tf.Tensor[];
      return { x: () => dx, gamma: () => dGamma, beta: () => dBeta };
    },
  });
});

/**
 * The same normalisation composed from tfjs ops, for backends without host kernels (webgpu,
 * tensorflow), with the backward formulas above written out. Left to autodiff, tf.moments' Mean
 * gradient builds a tensor of ones the size of x in host memory on every backward pass, which a
 * GPU backend then uploads: on an H200 most of a webgpu training step went to that.
 */
export function groupNorm1Composed(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor4D {
  const norm = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, gi, bi, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(xi, [1, 2, 3], true);
    const r = tf.rsqrt(tf.add(variance, constant(eps)));
    const xhat = tf.mul(tf.sub(xi, mean), r);
    save([xhat, r, gi]);
    return {
      value: tf.add(tf.mul(xhat, gi), bi),
      gradFunc: (dy, saved) => {
        const [xh, rs, g] = saved;
        const d = dy as tf.Tensor4D;
        const dg = tf.mul(d, g);
        const m1 = tf.mean(dg, [1, 2, 3], true);
        const m2 = tf.mean(tf.mul(dg, xh), [1, 2, 3], true);
        const dx = tf.mul(rs, tf.sub(tf.sub(dg, m1), tf.mul(xh, m2)));
        return [dx, tf.sum(tf.mul(d, xh), [0, 1, 2]), tf.sum(d, [0, 1, 2])];
      },
    };
  });
  return norm(x, gamma, beta) as tf.Tensor4D;
}

/** GroupNorm(1, C) of x [N, H, W, C] with per-channel γ and β. */
export function groupNorm1(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor4D {
  if (!hostKernelsApply(x, gamma, beta)) return groupNorm1Composed(x, gamma, beta, eps);
  registerKernels();
  const [y] = tf.engine().runKernel(GROUP_NORM, { x, gamma, beta }, { eps }) as tf.Tensor[];
  return y as tf.Tensor4D;
}
