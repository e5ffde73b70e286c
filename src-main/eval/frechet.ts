// The Fréchet distance between two Gaussians, in plain float64 TypeScript:
//   d² = |μ1 − μ2|² + tr Σ1 + tr Σ2 − 2 tr sqrtm(Σ1 Σ2).
// Σ1 Σ2 is not symmetric, but it is similar to the symmetric PSD matrix √Σ1 Σ2 √Σ1, so
// tr sqrtm(Σ1 Σ2) is the sum of the square roots of that matrix's eigenvalues; both square
// roots come from a symmetric (Jacobi) eigendecomposition, which is exact to rounding and
// needs no complex arithmetic. Matrices are dense, row-major Float64Array of side n.

export interface Gaussian {
  dim: number;
  mean: Float64Array;
  /** dim × dim, row-major; the unbiased (n − 1) sample covariance. */
  cov: Float64Array;
}

/** Mean and covariance of n rows of `dim` values (row-major). Needs n ≥ 2. */
export function fitGaussian(rows: ArrayLike<number>, n: number, dim: number): Gaussian {
  if (n < 2) throw new Error(`a Gaussian fit needs at least 2 samples, got ${n}`);
  if (rows.length < n * dim) throw new Error(`${n} rows of ${dim} need ${n * dim} values, got ${rows.length}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += rows[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) centred[j] = rows[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const ca = centred[a];
      if (ca === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b] += ca * centred[b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b] / (n - 1);
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  return { dim, mean, cov };
}

export interface Eigen {
  /** Eigenvalues, in no particular order. */
  values: Float64Array;
  /** Eigenvectors as columns: vectors[i * n + k] is component i of eigenvector k. */
  vectors: Float64Array;
}

/**
 * Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations: A = V diag(λ) Vᵀ with V
 * orthogonal. Slow (O(n³) per sweep, ~10 sweeps) but unconditionally accurate; n = 128 takes
 * tens of milliseconds.
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): Eigen {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // The rotation angle φ that zeroes a_pq: t = tan φ, the smaller root of t² + 2θt − 1 = 0.
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          // A ← A J (columns p, q), then A ← Jᵀ A (rows p, q); V ← V J.
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/**
 * Square roots of a PSD matrix's eigenvalues. Eigenvalues within rounding of 0 (below n·ε·λmax,
 * e.g. the null space of a covariance fitted to fewer samples than dimensions) count as 0:
 * their square roots would turn 1e-13 of noise into 1e-7 of error each.
 */
function psdRoots(values: Float64Array, n: number): Float64Array {
  const floor = n * Number.EPSILON * Math.max(0, ...values);
  return Float64Array.from(values, (l) => (l > floor ? Math.sqrt(l) : 0));
}

/** The PSD square root of a symmetric PSD matrix. */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const roots = psdRoots(values, n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += vectors[i * n + k] * roots[k] * vectors[j * n + k];
      out[i * n + j] = sum;
      out[j * n + i] = sum;
    }
  }
  return out;
}

function multiply(x: Float64Array, y: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const xik = x[i * n + k];
      if (xik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += xik * y[k * n + j];
    }
  }
  return out;
}

/** tr sqrtm(Σ1 Σ2) for symmetric PSD Σ1, Σ2, via the eigenvalues of √Σ1 Σ2 √Σ1. */
export function traceSqrtProduct(cov1: Float64Array, cov2: Float64Array, n: number): number {
  const root1 = sqrtPsd(cov1, n);
  const m = multiply(multiply(root1, cov2, n), root1, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const avg = (m[i * n + j] + m[j * n + i]) / 2; // exact symmetry, which rounding broke
      m[i * n + j] = avg;
      m[j * n + i] = avg;
    }
  }
  return psdRoots(symmetricEigen(m, n).values, n).reduce((sum, r) => sum + r, 0);
}

/** The squared Fréchet (2-Wasserstein) distance between two Gaussians of the same dimension. */
export function frechetDistance(g1: Gaussian, g2: Gaussian): number {
  if (g1.dim !== g2.dim) throw new Error(`Fréchet distance between ${g1.dim}-d and ${g2.dim}-d Gaussians`);
  const n = g1.dim;
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < n; i++) {
    meanTerm += (g1.mean[i] - g2.mean[i]) ** 2;
    traces += g1.cov[i * n + i] + g2.cov[i * n + i];
  }
  // Rounding can leave −1e-12 for identical inputs: a distance is never negative.
  return Math.max(0, meanTerm + traces - 2 * traceSqrtProduct(g1.cov, g2.cov, n));
}
