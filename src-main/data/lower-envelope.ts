// The one-dimensional step of exact Euclidean distance transforms (Felzenszwalb and Huttenlocher):
// the lower envelope of the parabolas (q − i)² + f[i]. Glyph reshaping (data/glyph-warp.ts) and
// stroke widths (eval/outlines.ts) both build their distance fields from it.

/**
 * For each q in 0..n−1, the i minimising (q − i)² + f[i], written to `argmin`. `v` and `z` are
 * scratch (n and n + 1 long), passed in by callers that run it once per row.
 */
export function lowerEnvelope(f: ArrayLike<number>, n: number, argmin: Int32Array, v = new Int32Array(n), z = new Float64Array(n + 1)): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k -= 1;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k += 1;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k += 1;
    argmin[q] = v[k];
  }
}
