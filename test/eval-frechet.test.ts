// The arithmetic behind glyph FID, checked against answers worked out independently here.
import { describe, expect, it } from 'vitest';
import { fitGaussian, frechetDistance, sqrtPsd, symmetricEigen, traceSqrtProduct } from '../src-main/eval/frechet.ts';
import { Rng } from '../src-main/engine/rng.ts';

function randomRows(rng: Rng, n: number, dim: number, scale: (j: number) => number = () => 1): Float64Array {
  const normal = rng.normal(n * dim);
  return Float64Array.from(normal, (v, i) => v * scale(i % dim));
}

/** A random symmetric positive definite matrix B Bᵀ + εI. */
function randomSpd(rng: Rng, n: number): Float64Array {
  const b = rng.normal(n * n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? 0.1 : 0;
      for (let k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
      out[i * n + j] = s;
    }
  }
  return out;
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j] += a[i * n + k] * b[k * n + j];
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('glyph FID arithmetic', () => {
  it('decomposes a symmetric matrix into orthogonal eigenvectors that rebuild it', () => {
    const n = 30;
    const a = randomSpd(new Rng(1), n);
    const { values, vectors } = symmetricEigen(a, n);
    const rebuilt = new Float64Array(n * n);
    const gram = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        for (let k = 0; k < n; k++) {
          rebuilt[i * n + j] += vectors[i * n + k] * values[k] * vectors[j * n + k];
          gram[i * n + j] += vectors[k * n + i] * vectors[k * n + j];
        }
      }
    }
    const identity = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    expect(maxAbsDiff(rebuilt, a)).toBeLessThan(1e-9);
    expect(maxAbsDiff(gram, identity)).toBeLessThan(1e-12);
    // The trace is the sum of the eigenvalues.
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i];
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 8);
  });

  it('takes a square root that squares back to the matrix', () => {
    const n = 12;
    const a = randomSpd(new Rng(2), n);
    const root = sqrtPsd(a, n);
    expect(maxAbsDiff(matMul(root, root, n), a)).toBeLessThan(1e-9);
  });

  it('gives tr sqrtm(Σ1 Σ2) of two 2×2 matrices that do not commute as the closed form √(tr M + 2√det M)', () => {
    const s1 = Float64Array.of(2, 0.8, 0.8, 1);
    const s2 = Float64Array.of(0.5, -0.3, -0.3, 3);
    // M = Σ1 Σ2 has positive eigenvalues λ1, λ2, and (√λ1 + √λ2)² = tr M + 2√(det M).
    const m = matMul(s1, s2, 2);
    expect(m[1]).not.toBeCloseTo(m[2], 3); // not symmetric: the product is a real test
    const closed = Math.sqrt(m[0] + m[3] + 2 * Math.sqrt(m[0] * m[3] - m[1] * m[2]));
    expect(traceSqrtProduct(s1, s2, 2)).toBeCloseTo(closed, 12);
  });

  it('matches the 1-D formula (μ1 − μ2)² + (σ1 − σ2)² on samples of two Gaussians', () => {
    const rng = new Rng(3);
    const a = Float64Array.from(rng.normal(500), (v) => 1 + 2 * v);
    const b = Float64Array.from(rng.normal(400), (v) => -0.5 + 0.5 * v);
    const stats = (x: Float64Array) => {
      const mean = x.reduce((s, v) => s + v, 0) / x.length;
      const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / (x.length - 1);
      return { mean, sd: Math.sqrt(variance) };
    };
    const sa = stats(a);
    const sb = stats(b);
    const expected = (sa.mean - sb.mean) ** 2 + (sa.sd - sb.sd) ** 2;
    expect(frechetDistance(fitGaussian(a, 500, 1), fitGaussian(b, 400, 1))).toBeCloseTo(expected, 10);
    // and the fitted parameters are close to the ones drawn from: (1.5)² + (1.5)²
    expect(expected).toBeGreaterThan(4);
    expect(expected).toBeLessThan(5);
  });

  it('matches Σ (μ1 − μ2)² + (√a − √b)² for diagonal covariances', () => {
    const dim = 5;
    const mean1 = [0, 1, 2, 3, 4];
    const mean2 = [1, 1, 0, 3, -1];
    const var1 = [1, 4, 0.25, 9, 2];
    const var2 = [2, 1, 0.25, 4, 8];
    const diag = (v: number[]) => Float64Array.from({ length: dim * dim }, (_, i) => (i % (dim + 1) === 0 ? v[i / (dim + 1)] : 0));
    let expected = 0;
    for (let j = 0; j < dim; j++) expected += (mean1[j] - mean2[j]) ** 2 + (Math.sqrt(var1[j]) - Math.sqrt(var2[j])) ** 2;
    const d = frechetDistance(
      { dim, mean: Float64Array.from(mean1), cov: diag(var1) },
      { dim, mean: Float64Array.from(mean2), cov: diag(var2) },
    );
    expect(d).toBeCloseTo(expected, 10);
  });

  it('is about 0 for a set against itself and |c|² against itself moved by c, with fewer samples than features (as in eval)', () => {
    const n = 78;
    const dim = 128;
    const rows = randomRows(new Rng(4), n, dim, (j) => 0.2 + (j % 7));
    const g = fitGaussian(rows, n, dim);
    const shift = Float64Array.from({ length: dim }, (_, j) => 0.05 * ((j % 5) - 2));
    const moved = Float64Array.from(rows, (v, i) => v + shift[i % dim]);
    let traceCov = 0;
    for (let j = 0; j < dim; j++) traceCov += g.cov[j * dim + j];
    expect(frechetDistance(g, g)).toBeLessThan(1e-8 * traceCov);
    const shiftSq = shift.reduce((s, v) => s + v * v, 0);
    expect(frechetDistance(g, fitGaussian(moved, n, dim))).toBeCloseTo(shiftSq, 6);
  });

  it('does not change when both sets are rotated the same way', () => {
    const dim = 8;
    const rng = new Rng(5);
    const a = randomRows(rng, 60, dim, (j) => 1 + j);
    const b = Float64Array.from(randomRows(rng, 50, dim, (j) => 3 - j / 4), (v, i) => v + (i % dim) / 3);
    // A random orthogonal matrix: the eigenvectors of a random symmetric one.
    const q = symmetricEigen(randomSpd(rng, dim), dim).vectors;
    const rotate = (x: Float64Array) => {
      const out = new Float64Array(x.length);
      for (let r = 0; r < x.length / dim; r++) for (let i = 0; i < dim; i++) for (let k = 0; k < dim; k++) out[r * dim + i] += q[i * dim + k] * x[r * dim + k];
      return out;
    };
    const before = frechetDistance(fitGaussian(a, 60, dim), fitGaussian(b, 50, dim));
    const after = frechetDistance(fitGaussian(rotate(a), 60, dim), fitGaussian(rotate(b), 50, dim));
    expect(before).toBeGreaterThan(1);
    expect(after).toBeCloseTo(before, 8);
  });
});
