// Fontloom's SIMD kernels (kernels/simd.wat, built by scripts/build-kernels.ts) instantiated over
// the wasm backend's own memory, so they read and write tensors where they lie. One instance per
// memory (the plain backend's, or the threaded backend's shared one). Where this runtime cannot
// compile them (no wasm SIMD), host kernels keep their TypeScript loops.
import { readFileSync } from 'node:fs';

export interface SimdKernels {
  /** y = GELU(x) for the first n − n mod 4 floats; arguments are byte offsets into the memory. */
  gelu(x: number, y: number, n: number): void;
  /** dx = dy·GELU′(x) for the first n − n mod 4 floats. */
  gelu_grad(x: number, dy: number, dx: number, n: number): void;
  // GroupNorm pieces (groupnorm.ts), for a channel count c that is a multiple of 4:
  /** Σ p[i] over n floats (a multiple of 4), in float64. */
  sum(p: number, n: number): number;
  /** Σ (p[i] − mean)² over n floats (a multiple of 4), in float64. */
  sum_sq_dev(p: number, n: number, mean: number): number;
  /** y = x·coef[ch] + coef[c + ch] over pixels × c floats. */
  scale_shift(x: number, y: number, coef: number, pixels: number, c: number): void;
  /** out[ch] += Σ dy·(x − mean)·r and out[c + ch] += Σ dy, over the pixels. */
  channel_sums(x: number, dy: number, mean: number, r: number, pixels: number, c: number, out: number): void;
  /** dx = coef[ch]·dy + k2·x + k3 over pixels × c floats. */
  norm_grad(x: number, dy: number, dx: number, coef: number, k2: number, k3: number, pixels: number, c: number): void;
  /** dst[q, y, x] = src[q, y + dh, x + dw] over `planes` h×w planes, 0 outside each plane. */
  shifted_planes(src: number, dst: number, planes: number, h: number, w: number, dh: number, dw: number): void;
  /** c[t] = a[t]·b[t] for a [batch, m, k] and b [batch, k, n], m and n multiples of 4. */
  bmm(a: number, b: number, c: number, batch: number, m: number, k: number, n: number): void;
  /** dst[t, c, r] = src[t, r, c] for batch matrices of rows × cols, both multiples of 4. */
  transpose(src: number, dst: number, batch: number, rows: number, cols: number): void;
  /** c (+)= a·b for a [m, k] (rows lda floats apart) and b [k, n], m a multiple of 4 and n of 8. */
  gemm(a: number, b: number, c: number, m: number, k: number, n: number, lda: number, accumulate: number): void;
  /**
   * One image's 3×3 stride-1 convolution: p the image zero-padded to rows of wp = W + 2 pixels (one
   * row above, two below), w [9, ci, co]; writes m rows (a multiple of 4) of co floats (a multiple
   * of 8) to o, row i for the output pixel (i / wp, i mod wp), the last two of each wp spare.
   */
  conv3(p: number, w: number, o: number, m: number, ci: number, co: number, wp: number): void;
  /** Winograd F(2×2, 3×3)'s filter transform: u [16, ci, co] = G·g·Gᵀ of w [3, 3, ci, co], pairs = ci·co (a multiple of 4). */
  winograd_filter(w: number, u: number, pairs: number): void;
  /**
   * Winograd F(2×2, 3×3)'s input transform for one image padded as conv3 reads it: v gets 16
   * matrices [th·tw, ci] (ci a multiple of 4), the tile at padded pixel (2ty, 2tx) in row ty·tw + tx.
   */
  winograd_in(p: number, v: number, th: number, tw: number, ci: number, wp: number): void;
  /** Its output transform: 16 matrices [th·tw, co] (co a multiple of 4) to o [2th, w, co]. */
  winograd_out(m: number, o: number, th: number, tw: number, co: number, w: number): void;
  /** The output transform's transpose: dy [2th, w, co] to 16 matrices [th·tw, co] as winograd_out reads them. */
  winograd_out_grad(dy: number, m: number, th: number, tw: number, co: number, w: number): void;
  /** The filter transform's transpose: w [3, 3, ci, co] = Gᵀ·dU·G from u [16, ci, co], pairs = ci·co. */
  winograd_filter_grad(u: number, w: number, pairs: number): void;
  /** c (+)= aᵀ·b for a [m, k] and b [m, n] into c [k, n]; k a multiple of 4, n of 8. */
  gemm_tn(a: number, b: number, c: number, m: number, k: number, n: number, accumulate: number): void;
}

const modules = new Map<string, WebAssembly.Module | null>();
const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

function compiled(file: string): WebAssembly.Module | null {
  if (!modules.has(file)) {
    try {
      modules.set(file, new WebAssembly.Module(readFileSync(new URL(`./kernels/${file}`, import.meta.url))));
    } catch {
      modules.set(file, null); // no wasm SIMD here: the TypeScript kernels do the work
    }
  }
  return modules.get(file)!;
}

export function simdKernelsFor(memory: WebAssembly.Memory): SimdKernels | null {
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    const module = compiled(shared ? 'simd-shared.wasm' : 'simd.wasm');
    kernels = module ? (new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdKernels) : null;
    instances.set(memory, kernels);
  }
  return kernels;
}
