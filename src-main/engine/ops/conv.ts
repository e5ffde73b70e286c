// A k×k (odd), stride-1, 'same' convolution whose two gradients are themselves forward
// convolutions. tfjs's Conv2DBackpropFilter is missing on wasm and very slow on cpu (35 s of a
// 38 s micro training step), and wasm's Conv2DBackpropInput is its slowest kernel; as
// convolutions, every backend runs them with its fast Conv2D kernel. On single-threaded wasm
// engines the 3×3 convolutions run on Fontloom's SIMD kernels instead: Winograd F(2×2, 3×3) where
// the shape allows (winogradApplies), else all nine taps in registers for larger maps
// (conv3x3Applies), and the filter gradients of larger maps likewise (convSame, conv2dFilterGrad).
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsApply, once, registerHostKernel, simdOnActiveBackend, simdOnSingleThreadEngine, type HostAccess, type Info } from './host-kernels.ts';
import { swapLastAxes } from './transpose.ts';
import { matMul2d } from './bmm.ts';

const COLUMNS = 'FontloomFilterGradColumns';

const registerColumns = once(() => {
  registerHostKernel(COLUMNS, (host, { planes }, attrs) => {
    const size = attrs.k as number;
    const [ci, n, h, w] = planes.shape;
    const out = host.output([size * size * ci, n * h * w]);
    const simd = host.simd!;
    const [src, dst] = [simd.offset(planes), simd.offset(out.info)];
    const p = (size - 1) / 2;
    for (let kh = 0; kh < size; kh++) {
      for (let kw = 0; kw < size; kw++) {
        simd.kernels.shifted_planes(src, dst + 4 * (kh * size + kw) * ci * n * h * w, ci * n, h, w, kh - p, kw - p);
      }
    }
    return out.info;
  });
});

/**
 * The filter gradient as one plain matMul, on wasm with Fontloom's SIMD kernels: rows
 * (kh, kw, ci) of cols hold x's channel-ci planes shifted by (kh − p, kw − p), so
 * dW = cols · dy over the N·H·W pixels: M = k²·Ci, K = N·H·W, N = Co, one GEMM (matMul2d) at
 * full speed. The convolution below with the batch as channels runs at half XNNPACK's usual rate.
 */
function conv2dFilterGradColumns(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  registerColumns();
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const planes = tf.reshape(swapLastAxes(tf.reshape(x, [n * h * w, ci])), [ci, n, h, w]);
  const cols = tf.engine().runKernel(COLUMNS, { planes }, { k }) as tf.Tensor2D;
  return tf.reshape(matMul2d(cols, tf.reshape(dy, [n * h * w, co])), [k, k, ci, co]);
}

/** dW[kh,kw,ci,co] = Σ_{n,h,w} x_pad[n,h+kh,w+kw,ci] · dy[n,h,w,co], for a k×k kernel. */
export function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  if (k === 3 && winogradApplies(x, dy.shape[3])) {
    registerWinograd();
    return tf.engine().runKernel(CONV3_WINOGRAD_FILTER_GRAD, { x, dy }) as tf.Tensor4D;
  }
  if (k === 3 && x.shape[3] % 4 === 0 && conv3x3Applies(x, dy.shape[3])) {
    registerConv3();
    return tf.engine().runKernel(CONV3_FILTER_GRAD, { x, dy }) as tf.Tensor4D;
  }
  // Below ~1,000 pixels (4×4 maps) the two extra kernel calls cost more than they save.
  const pixels = x.shape[0] * x.shape[1] * x.shape[2];
  if (pixels >= 1024 && x.dtype === 'float32' && simdOnActiveBackend()) return conv2dFilterGradColumns(x, dy, k);
  return conv2dFilterGradByConvolution(x, dy, k);
}

/** The same as a convolution of x (channels as the batch) with dy as the kernel; any backend. */
export function conv2dFilterGradByConvolution(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  const p = (k - 1) / 2;
  const input = tf.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const kernel = tf.transpose(dy, [1, 2, 0, 3]); // [H, W, N, Co]
  const grad = tf.conv2d(input, kernel, 1, [[0, 0], [p, p], [p, p], [0, 0]]); // [Ci, k, k, Co]
  return tf.transpose(grad, [1, 2, 0, 3]);
}

const CONV3 = 'FontloomConv3x3';
const CONV3_FILTER_GRAD = 'FontloomConv3x3FilterGrad';

interface PaddedImages {
  info: Info;
  /** Pixels per padded row (W + 2) and padded rows per image (H + 3). */
  wp: number;
  hp: number;
}

/**
 * x [n, h, w, c] zero-padded as conv3 reads it: rows of W + 2 pixels (a zero pixel either side), a
 * zero row above and two below (the last block of rows reads past the image). A scratch tensor.
 */
function padImages(host: HostAccess, x: Info): PaddedImages {
  const [n, h, wd, c] = x.shape;
  const [wp, hp] = [wd + 2, h + 3];
  const padded = host.output([n * hp * wp * c]);
  // Views made after the allocation (an allocation can replace the heap).
  const [src, pad] = [host.read(x), host.read(padded.info)];
  pad.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const from = (b * h + y) * wd * c;
      pad.set(src.subarray(from, from + wd * c), ((b * hp + y + 1) * wp + 1) * c);
    }
  }
  return { info: padded.info, wp, hp };
}

const registerConv3 = once(() => {
  registerHostKernel(CONV3, (host, { x, w }) => {
    const [n, h, wd, ci] = x.shape;
    const co = w.shape[3];
    const out = host.output([n, h, wd, co]);
    const { info: padded, wp, hp } = padImages(host, x);
    const m = Math.ceil((h * wp) / 4) * 4;
    const wide = host.output([n * m * co]);
    const simd = host.simd!;
    const [pAt, wAt, oAt] = [simd.offset(padded), simd.offset(w), simd.offset(wide.info)];
    for (let b = 0; b < n; b++) simd.kernels.conv3(pAt + 4 * b * hp * wp * ci, wAt, oAt + 4 * b * m * co, m, ci, co, wp);
    // The output rows without the two spare pixels of each.
    const [rows, dst] = [host.read(wide.info), host.read(out.info)];
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < h; y++) {
        const from = (b * m + y * wp) * co;
        dst.set(rows.subarray(from, from + wd * co), (b * h + y) * wd * co);
      }
    }
    host.release(padded);
    host.release(wide.info);
    return out.info;
  });
  registerHostKernel(CONV3_FILTER_GRAD, (host, { x, dy }) => {
    const [n, h, wd, ci] = x.shape;
    const co = dy.shape[3];
    const out = host.output([3, 3, ci, co]);
    const { info: padded, wp, hp } = padImages(host, x);
    // dy in conv3's output rows, zeros in the spare pixels: they add nothing to the sums.
    const m = h * wp;
    const wide = host.output([n * m * co]);
    const [grad, rows] = [host.read(dy), host.read(wide.info)];
    rows.fill(0);
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < h; y++) {
        const from = (b * h + y) * wd * co;
        rows.set(grad.subarray(from, from + wd * co), (b * m + y * wp) * co);
      }
    }
    const simd = host.simd!;
    const [pAt, dAt, oAt] = [simd.offset(padded), simd.offset(wide.info), simd.offset(out.info)];
    // Tap t = (kh, kw) reads the padded image kh rows down and kw pixels on: dW[t] (+)= Σ x_tᵀ·dy.
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < 9; t++) {
        const tap = Math.floor(t / 3) * wp + (t % 3);
        simd.kernels.gemm_tn(pAt + 4 * (b * hp * wp + tap) * ci, dAt + 4 * b * m * co, oAt + 4 * t * ci * co, m, ci, co, b > 0 ? 1 : 0);
      }
    }
    host.release(padded);
    host.release(wide.info);
    return out.info;
  });
});

const CONV3_WINOGRAD = 'FontloomConv3x3Winograd';
const CONV3_WINOGRAD_FILTER_GRAD = 'FontloomConv3x3WinogradFilterGrad';

/**
 * What both Winograd kernels work in, allocated after their outputs: the padded image, the
 * transformed filter (or its gradient) u [16, ci, co], and one image's 16 matrices each way (v
 * [tiles, ci], m [tiles, co]) 16 floats apart, the kernels' layout, so that no two share cache sets.
 */
function winogradScratch(host: HostAccess, x: Info, co: number) {
  const [, h, wd, ci] = x.shape;
  const [th, tw] = [h / 2, wd / 2];
  const tiles = th * tw;
  const [vPlane, mPlane] = [tiles * ci + 16, tiles * co + 16];
  const [u, v, m] = [host.output([16 * ci * co]).info, host.output([16 * vPlane]).info, host.output([16 * mPlane]).info];
  const { info: padded, wp, hp } = padImages(host, x);
  const simd = host.simd!;
  const [pAt, uAt, vAt, mAt] = [padded, u, v, m].map((t) => simd.offset(t));
  return {
    k: simd.kernels, simd, th, tw, tiles, ci, uAt, mAt,
    /** V[ξ] of image b, into v. */
    transformImage: (b: number) => simd.kernels.winograd_in(pAt + 4 * b * hp * wp * ci, vAt, th, tw, ci, wp),
    /** Byte addresses of matrix ξ in v, u and m. */
    at: (xi: number) => [vAt + 4 * xi * vPlane, uAt + 4 * xi * ci * co, mAt + 4 * xi * mPlane],
    release: () => [padded, u, v, m].forEach((t) => host.release(t)),
  };
}

const registerWinograd = once(() => {
  registerHostKernel(CONV3_WINOGRAD, (host, { x, w }) => {
    const [n, h, wd, ci] = x.shape;
    const co = w.shape[3];
    const out = host.output([n, h, wd, co]);
    const s = winogradScratch(host, x, co);
    const oAt = s.simd.offset(out.info);
    s.k.winograd_filter(s.simd.offset(w), s.uAt, ci * co);
    // Image by image, so that its 16 matrices each way stay in cache between the three steps.
    for (let b = 0; b < n; b++) {
      s.transformImage(b);
      for (let xi = 0; xi < 16; xi++) {
        const [vx, ux, mx] = s.at(xi);
        s.k.gemm(vx, ux, mx, s.tiles, ci, co, ci, 0);
      }
      s.k.winograd_out(s.mAt, oAt + 4 * b * h * wd * co, s.th, s.tw, co, wd);
    }
    s.release();
    return out.info;
  });
  /**
   * The filter gradient in Winograd's domain: dM = A·dY·Aᵀ for each 2×2 block of the output
   * gradient, dU[ξ] = Σ V[ξ]ᵀ·dM[ξ] over the tiles of every image (V as the forward pass makes
   * it), then dW = Gᵀ·dU·G.
   */
  registerHostKernel(CONV3_WINOGRAD_FILTER_GRAD, (host, { x, dy }) => {
    const [n, h, wd, ci] = x.shape;
    const co = dy.shape[3];
    const out = host.output([3, 3, ci, co]);
    const s = winogradScratch(host, x, co);
    const dyAt = s.simd.offset(dy);
    for (let b = 0; b < n; b++) {
      s.transformImage(b);
      s.k.winograd_out_grad(dyAt + 4 * b * h * wd * co, s.mAt, s.th, s.tw, co, wd);
      for (let xi = 0; xi < 16; xi++) {
        const [vx, ux, mx] = s.at(xi);
        s.k.gemm_tn(vx, mx, ux, s.tiles, ci, co, b > 0 ? 1 : 0);
      }
    }
    s.k.winograd_filter_grad(s.uAt, s.simd.offset(out.info), ci * co);
    s.release();
    return out.info;
  });
});

/** Feature maps from this many pixels up: Fontloom's kernel beats XNNPACK's there (measured). */
const CONV3_MIN_PIXELS = 256;

/**
 * A 3×3 'same' convolution with Fontloom's nine-tap SIMD kernel, on wasm engines without a thread
 * pool, for the maps Winograd's tiles do not fit (odd sides, tiles not in fours): all nine taps
 * accumulate in registers, so a tile of output is written once. On 16×16 and 32×32 maps it took
 * 0.87–0.93 of XNNPACK's time through tfjs, padding and compaction included (~56 GFLOP/s a core:
 * about all that 128-bit mul + add gives); from 8×8 down XNNPACK is as fast or faster, and an
 * engine with a pool keeps XNNPACK's threaded kernel.
 */
function conv3x3Applies(x: tf.Tensor4D, filters: number): boolean {
  const [, h, wd] = x.shape;
  return filters % 8 === 0 && wd >= 4 && h * wd >= CONV3_MIN_PIXELS && x.dtype === 'float32' && simdOnSingleThreadEngine();
}

/**
 * Winograd F(2×2, 3×3) with Fontloom's kernels, on wasm engines without a thread pool: even sides
 * (2×2 output blocks), tiles in whole blocks of 4 for the GEMM (so 4×4 maps and up), channels in
 * fours and filters in eights. On one thread it takes about half XNNPACK's time at every map size
 * of tiny and small (figures: docs/ARCHITECTURE.md, "Kernels"); relative error 3e-7 to 9e-7 against direct convolution.
 */
function winogradApplies(x: tf.Tensor4D, filters: number): boolean {
  const [, h, wd, ci] = x.shape;
  return filters % 8 === 0 && ci % 4 === 0 && h % 2 === 0 && wd % 2 === 0 && ((h / 2) * (wd / 2)) % 4 === 0 &&
    x.dtype === 'float32' && simdOnSingleThreadEngine();
}

/** tf.conv2d(x, w, 1, 'same') for an odd square kernel, with Fontloom's kernel where it is faster. */
export function convSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, , co] = w.shape;
  if (kh !== 3 || kw !== 3 || w.dtype !== 'float32') return tf.conv2d(x, w, 1, 'same');
  if (winogradApplies(x, co)) {
    registerWinograd();
    return tf.engine().runKernel(CONV3_WINOGRAD, { x, w }) as tf.Tensor4D;
  }
  if (!conv3x3Applies(x, co)) return tf.conv2d(x, w, 1, 'same');
  registerConv3();
  return tf.engine().runKernel(CONV3, { x, w }) as tf.Tensor4D;
}

const FLIP = 'FontloomFlipFilter';

const registerFlip = once(() => {
  registerHostKernel(FLIP, (host, { w: filter }) => {
    const [kh, kw, ci, co] = filter.shape;
    const out = host.output([kh, kw, co, ci]);
    const src = host.read(filter);
    const dst = out.values;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const from = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
        const to = (i * kw + j) * co * ci;
        for (let a = 0; a < ci; a++) {
          for (let b = 0; b < co; b++) dst[to + b * ci + a] = src[from + a * co + b];
        }
      }
    }
    return out.info;
  });
});

/**
 * W rotated 180° with in/out channels swapped: out[i, j, co, ci] = w[kh−1−i, kw−1−j, ci, co].
 * One host pass on wasm/cpu (wasm's Reverse kernel is slow, and runs once per convolution per
 * step); Reverse + Transpose elsewhere.
 */
export function flipFilter(w: tf.Tensor4D): tf.Tensor4D {
  if (!hostKernelsApply(w)) return tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
  registerFlip();
  return tf.engine().runKernel(FLIP, { w }) as tf.Tensor4D;
}

/** dx = conv(dy, W rotated 180° with in/out channels swapped), for stride 1 and 'same' padding. */
export function conv2dInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return convSame(dy, flipFilter(w));
}

export function conv2dSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const conv = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, fi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xi, fi]);
    return {
      value: convSame(xi, fi),
      gradFunc: (dy, saved) => {
        const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
        const d = dy as tf.Tensor4D;
        return [conv2dInputGrad(d, fs), conv2dFilterGrad(xs, d, fs.shape[0])];
      },
    };
  });
  return conv(x, w) as tf.Tensor4D;
}
