// The fused WebGPU engine's kernels, as WGSL text made from a few variants. Every kernel reads its
// shapes and offsets from a uniform block written once when the step is planned, so one compiled
// pipeline serves every layer of its kind and a step compiles nothing.
//
// - gemm: C = α·A·B over a tile of 64×64 (or 128×32, 256×16) outputs per workgroup of 256
//   threads, each thread 4×4 of them, with A and B staged in workgroup memory 16 deep along K.
//   A and B are read through strides (so transposes, attention heads and the q/k/v slices of one
//   buffer cost nothing) or gathered as the 3×3 convolution's image patches (implicit GEMM: the
//   forward pass, the input gradient and the filter gradient are all this kernel). Epilogues add
//   a bias or a residual, apply GELU (keeping its input), multiply by GELU's derivative, or add
//   into C; split-K writes each chunk's partial sum where the optimizer's pass adds them up.
// - norm / normGrad: GroupNorm with one group (and LayerNorm, whose groups are rows), fused with
//   GELU, with the residual GELU(x + y), or with the time embedding's broadcast add.
// - small data-movement kernels: max-pool, bilinear upsampling with the skip concatenation,
//   softmax rows, the noising of a batch and its loss, SiLU's gradient.
// - adamw: AdamW and the EMA over every parameter in one dispatch, each thread first summing its
//   parameter's gradient from the partial sums the backward pass left.
import { ERF_FIT } from '../ops/gelu.ts';

export const THREADS = 256;

/** GELU as the CPU kernels compute it: erf(x/√2) from the same rational fit, so backends agree. */
const GELU_WGSL = `
fn erf_fit(x: f32) -> f32 {
  if (x >= ${f(ERF_FIT.clamp)}) { return 1.0; }
  if (x <= -${f(ERF_FIT.clamp)}) { return -1.0; }
  let s = x * x;
  let p = ${horner(ERF_FIT.p)};
  let q = ${horner(ERF_FIT.q)};
  return x * p / q;
}
fn gelu(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_fit(x)); }
fn gelu_grad(x: f32) -> f32 {
  if (x >= ${f(ERF_FIT.clamp)}) { return 1.0; }
  if (x <= -${f(ERF_FIT.clamp)}) { return 0.0; }
  let s = x * x;
  let p = ${horner(ERF_FIT.p)};
  let q = ${horner(ERF_FIT.q)};
  let dp = ${horner(ERF_FIT.p.slice(1).map((c, i) => c * (i + 1)))};
  let dq = ${horner(ERF_FIT.q.slice(1).map((c, i) => c * (i + 1)))};
  let r = 1.0 / q;
  let pr = p * r;
  let e = x * pr;
  let de = r * (p + 2.0 * s * (dp - pr * dq));
  return 0.5 * (1.0 + e) + 0.5 * x * de;
}
fn silu(x: f32) -> f32 { return x / (1.0 + exp(-x)); }
`;

function f(x: number): string {
  const s = x.toPrecision(17);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** c0 + s·(c1 + s·(c2 + …)) in WGSL. */
function horner(c: readonly number[]): string {
  return c.reduceRight((acc, k, i) => (i === c.length - 1 ? f(k) : `(${f(k)} + s * ${acc})`), '');
}

/**
 * Keeps bindings a variant does not read in the pipeline's layout, so every variant of a kernel
 * binds the same buffers (an 'auto' layout drops unused ones).
 */
function TOUCH(...names: string[]): string {
  return names.map((n) => `_ = &${n};`).join(' ');
}

/**
 * The kernel's bindings in order: 'name:r' (read-only storage), 'name:w' (read-write), an
 * optional ':type' (array<f32> otherwise), and 'uniform' for the Params block, always last.
 */
function bindings(...list: string[]): string {
  return list
    .map((b, i) => {
      if (b === 'uniform') return `@group(0) @binding(${i}) var<uniform> p: Params;`;
      const [name, access, type = 'array<f32>'] = b.split(':');
      return `@group(0) @binding(${i}) var<storage, ${access === 'w' ? 'read_write' : 'read'}> ${name}: ${type};`;
    })
    .join('\n');
}

/** Index of the calling thread for element-wise kernels dispatched as a 2-D grid of workgroups. */
const FLAT_INDEX = `(wid.y * nwg.x + wid.x) * ${THREADS}u + lid`;
const ELEMENTWISE_ENTRY = `@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let idx = ${FLAT_INDEX};`;

// ---- GEMM -----------------------------------------------------------------------------------

export type GemmA = 'dense' | 'conv' | 'convFlip' | 'convPatches';
export type GemmB = 'dense' | 'convT';
export type GemmEpilogue = 'none' | 'bias' | 'biasResidual' | 'residual' | 'biasGelu' | 'geluGrad';

export interface GemmVariant {
  a: GemmA;
  b: GemmB;
  epilogue: GemmEpilogue;
  /** A's rows beyond p.aRows read 1: the bias row of a layer's weight gradient. */
  onesRow: boolean;
  /** SiLU applied to A as it is read (the time embedding's projections). */
  siluA: boolean;
  /** C += result rather than C = result. */
  accumulate: boolean;
  tile: GemmTile;
  /**
   * Which index neighbouring threads take when a tile is staged: along K for A and along N for
   * B where those are the operand's contiguous direction, else the other, so a warp's loads read
   * consecutive floats.
   */
  aAlongK: boolean;
  bAlongN: boolean;
}

export type GemmTile = '64x64' | '128x32' | '256x16';

export const GEMM_PARAMS = [
  'M', 'N', 'K', 'nb2',
  'aOff', 'aSb1', 'aSb2', 'aSi', 'aSk',
  'bOff', 'bSb1', 'bSb2', 'bSk', 'bSj',
  'cOff', 'cSb1', 'cSb2', 'cSi', 'cSj',
  'xOff', 'biasOff', 'kChunk', 'chunks', 'partStride',
  'H', 'W', 'Cc', 'aRows', 'alpha',
] as const;
export type GemmParams = Record<(typeof GEMM_PARAMS)[number], number>;

function struct(name: string, fields: readonly string[], floats: readonly string[] = []): string {
  const padded = [...fields];
  while (padded.length % 4 !== 0) padded.push(`_pad${padded.length}`);
  return `struct ${name} {\n${padded.map((k) => `  ${k}: ${floats.includes(k) ? 'f32' : 'u32'},`).join('\n')}\n}`;
}

/** Uniform words for a struct made by `struct`: u32 fields, and f32 where named. */
export function uniformWords(fields: readonly string[], values: Record<string, number>, floats: readonly string[] = []): Uint32Array<ArrayBuffer> {
  const n = Math.ceil(fields.length / 4) * 4;
  const words = new Uint32Array(n);
  const asFloat = new Float32Array(words.buffer);
  fields.forEach((k, i) => {
    const v = values[k] ?? 0;
    if (floats.includes(k)) asFloat[i] = v;
    else {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`uniform ${k} = ${v} is not a u32`);
      words[i] = v;
    }
  });
  return words;
}

export function gemmTileSize(tile: GemmTile): [number, number] {
  const [bm, bn] = tile.split('x').map(Number);
  return [bm, bn];
}

export function gemmSource(v: GemmVariant): string {
  const [BM, BN] = gemmTileSize(v.tile);
  // K depth staged per round: workgroup memory stays within WebGPU's guaranteed 16 KiB.
  const BK = BM >= 256 ? 8 : 16;
  const TX = BN / 4;
  const xAccess = v.epilogue === 'biasGelu' ? 'read_write' : 'read';
  const loadA = {
    dense: `A[p.aOff + b1 * p.aSb1 + b2 * p.aSb2 + i * p.aSi + k * p.aSk]`,
    // i: output pixel (n, y, x); k: (tap, channel) of the patch around it.
    conv: `conv_patch(i, k, false)`,
    convFlip: `conv_patch(i, k, true)`,
    // i: (tap, channel); k: pixel. The filter gradient's patches, transposed.
    convPatches: `conv_patch(k, i, false)`,
  }[v.a];
  const loadB = {
    dense: `B[p.bOff + b1 * p.bSb1 + b2 * p.bSb2 + k * p.bSk + j * p.bSj]`,
    // The input gradient's filter: k = (tap, output channel), j = input channel; W is [tap][ci][co].
    convT: `B[p.bOff + (k / p.Cc) * p.N * p.Cc + j * p.Cc + k % p.Cc]`,
  }[v.b];
  const epilogue = {
    none: '',
    bias: `val = val + bias[p.biasOff + j];`,
    biasResidual: `val = val + bias[p.biasOff + j] + X[xi];`,
    residual: `val = val + X[xi];`,
    biasGelu: `val = val + bias[p.biasOff + j]; X[xi] = val; val = gelu(val);`,
    geluGrad: `val = val * gelu_grad(X[xi]);`,
  }[v.epilogue];
  return `${GELU_WGSL}
${struct('Params', GEMM_PARAMS, ['alpha'])}
${bindings('A:r', 'B:r', 'C:w', 'bias:r', xAccess === 'read' ? 'X:r' : 'X:w', 'uniform')}

var<workgroup> As: array<f32, ${BK * BM}>;
var<workgroup> Bs: array<f32, ${BK * BN}>;

fn conv_patch(pixel: u32, k: u32, flip: bool) -> f32 {
  let hw = p.H * p.W;
  let n = pixel / hw;
  let rem = pixel % hw;
  let y = i32(rem / p.W);
  let x = i32(rem % p.W);
  let tap = k / p.Cc;
  let c = k % p.Cc;
  var dy = i32(tap / 3u) - 1;
  var dx = i32(tap % 3u) - 1;
  if (flip) { dy = -dy; dx = -dx; }
  let sy = y + dy;
  let sx = x + dx;
  if (sy < 0 || sx < 0 || sy >= i32(p.H) || sx >= i32(p.W)) { return 0.0; }
  return A[p.aOff + ((n * p.H + u32(sy)) * p.W + u32(sx)) * p.Cc + c];
}

fn load_a(b1: u32, b2: u32, i: u32, k: u32, kEnd: u32) -> f32 {
  if (i >= p.M || k >= kEnd) { return 0.0; }
  ${v.onesRow ? 'if (i >= p.aRows) { return 1.0; }' : ''}
  ${v.siluA ? `return silu(${loadA});` : `return ${loadA};`}
}

fn load_b(b1: u32, b2: u32, k: u32, j: u32, kEnd: u32) -> f32 {
  if (j >= p.N || k >= kEnd) { return 0.0; }
  return ${loadB};
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${TOUCH('bias', 'X')}
  let b = wid.z / p.chunks;
  let chunk = wid.z % p.chunks;
  let b1 = b / p.nb2;
  let b2 = b % p.nb2;
  let i0 = wid.y * ${BM}u;
  let j0 = wid.x * ${BN}u;
  let kStart = chunk * p.kChunk;
  let kEnd = min(p.K, kStart + p.kChunk);
  let tx = lid % ${TX}u;
  let ty = lid / ${TX}u;
  var acc: array<f32, 16>;
  for (var k0 = kStart; k0 < kEnd; k0 = k0 + ${BK}u) {
    for (var e = lid; e < ${BM * BK}u; e = e + ${THREADS}u) {
      ${v.aAlongK ? `let ii = e / ${BK}u;
      let kk = e % ${BK}u;` : `let kk = e / ${BM}u;
      let ii = e % ${BM}u;`}
      As[kk * ${BM}u + ii] = load_a(b1, b2, i0 + ii, k0 + kk, kEnd);
    }
    for (var e = lid; e < ${BK * BN}u; e = e + ${THREADS}u) {
      ${v.bAlongN ? `let kk = e / ${BN}u;
      let jj = e % ${BN}u;` : `let jj = e / ${BK}u;
      let kk = e % ${BK}u;`}
      Bs[kk * ${BN}u + jj] = load_b(b1, b2, k0 + kk, j0 + jj, kEnd);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk = kk + 1u) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var r = 0u; r < 4u; r = r + 1u) { av[r] = As[kk * ${BM}u + ty * 4u + r]; }
      for (var c = 0u; c < 4u; c = c + 1u) { bv[c] = Bs[kk * ${BN}u + tx * 4u + c]; }
      for (var r = 0u; r < 4u; r = r + 1u) {
        for (var c = 0u; c < 4u; c = c + 1u) { acc[r * 4u + c] = acc[r * 4u + c] + av[r] * bv[c]; }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r = r + 1u) {
    let i = i0 + ty * 4u + r;
    if (i >= p.M) { continue; }
    for (var c = 0u; c < 4u; c = c + 1u) {
      let j = j0 + tx * 4u + c;
      if (j >= p.N) { continue; }
      let pos = b1 * p.cSb1 + b2 * p.cSb2 + i * p.cSi + j * p.cSj;
      let ci = p.cOff + chunk * p.partStride + pos;
      let xi = p.xOff + pos;
      var val = acc[r * 4u + c] * p.alpha;
      ${epilogue}
      ${v.accumulate ? 'C[ci] = C[ci] + val;' : 'C[ci] = val;'}
    }
  }
}
`;
}

// ---- GroupNorm (one group) and LayerNorm ------------------------------------------------------

/**
 * plain: y; gelu: GELU(y); residual: GELU(r + y); embed: y + e[n, c] (the time embedding).
 * y = (x − μ)·r·γ + β over each group of `len` values with C channels innermost.
 */
export type NormMode = 'plain' | 'gelu' | 'residual' | 'embed';

export const NORM_PARAMS = ['len', 'C', 'spw', 'groups', 'gOff', 'bOff', 'eps', 'lanes', 'partBase'] as const;

function normCommon(): string {
  return `${GELU_WGSL}
${struct('Params', NORM_PARAMS, ['eps'])}
${workgroupSum()}`;
}

export function normSource(mode: NormMode): string {
  const out = {
    plain: 'y',
    gelu: 'gelu(y)',
    residual: 'gelu(aux[i] + y)',
    embed: 'y + aux[g * p.C + c]',
  }[mode];
  return `${normCommon()}
${bindings('x:r', 'out:w', 'prm:r', 'stats:w', 'aux:r', 'uniform')}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${TOUCH('aux')}
  for (var s = 0u; s < p.spw; s = s + 1u) {
    let g = wid.x * p.spw + s;
    if (g >= p.groups) { break; }
    let base = g * p.len;
    var sum = 0.0;
    for (var e = lid; e < p.len; e = e + ${THREADS}u) { sum = sum + x[base + e]; }
    let mean = reduce_sum(sum, lid) / f32(p.len);
    var sq = 0.0;
    for (var e = lid; e < p.len; e = e + ${THREADS}u) { let d = x[base + e] - mean; sq = sq + d * d; }
    let rstd = inverseSqrt(reduce_sum(sq, lid) / f32(p.len) + p.eps);
    if (lid == 0u) { stats[2u * g] = mean; stats[2u * g + 1u] = rstd; }
    for (var e = lid; e < p.len; e = e + ${THREADS}u) {
      let i = base + e;
      let c = e % p.C;
      let y = (x[i] - mean) * rstd * prm[p.gOff + c] + prm[p.bOff + c];
      out[i] = ${out};
    }
  }
}
`;
}

/**
 * The backward pass of `normSource`: dx += r·(h − mean(h) − x̂·mean(h·x̂)) with h = g·γ and g the
 * gradient at y; for `residual` also dr += g; per workgroup, the partial sums Σg·x̂ (γ) and Σg (β)
 * per channel, which for `embed` (one group per workgroup) are also the embedding's gradient.
 * Threads own fixed channels (C is a power of two), so each keeps its channels' sums privately.
 */
export function normGradSource(mode: NormMode): string {
  const grad = {
    plain: 'g0',
    gelu: 'g0 * gelu_grad(y)',
    residual: 'g0 * gelu_grad(aux[i] + y)',
    embed: 'g0',
  }[mode];
  return `${normCommon()}
${bindings('x:r', 'dout:r', 'dx:w', 'prm:r', 'stats:r', 'aux:r', 'dres:w', 'part:w', 'uniform')}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${TOUCH('aux', 'dres')}
  let lanes = p.lanes;
  let cl = lid % lanes;
  let pl = lid / lanes;
  let stride = ${THREADS}u / lanes;
  let perThread = p.C / lanes;
  let pixels = p.len / p.C;
  var accB: array<f32, 4>;
  var accG: array<f32, 4>;
  for (var s = 0u; s < p.spw; s = s + 1u) {
    let g = wid.x * p.spw + s;
    if (g >= p.groups) { break; }
    let base = g * p.len;
    let mean = stats[2u * g];
    let rstd = stats[2u * g + 1u];
    var sumH = 0.0;
    var sumHx = 0.0;
    for (var px = pl; px < pixels; px = px + stride) {
      for (var q = 0u; q < perThread; q = q + 1u) {
        let c = cl + q * lanes;
        let i = base + px * p.C + c;
        let xh = (x[i] - mean) * rstd;
        let y = xh * prm[p.gOff + c] + prm[p.bOff + c];
        let g0 = dout[i];
        let gy = ${grad};
        ${mode === 'residual' ? 'dres[i] = dres[i] + gy;' : ''}
        accB[q] = accB[q] + gy;
        accG[q] = accG[q] + gy * xh;
        let h = gy * prm[p.gOff + c];
        sumH = sumH + h;
        sumHx = sumHx + h * xh;
      }
    }
    let mh = reduce_sum(sumH, lid) / f32(p.len);
    let mhx = reduce_sum(sumHx, lid) / f32(p.len);
    for (var px = pl; px < pixels; px = px + stride) {
      for (var q = 0u; q < perThread; q = q + 1u) {
        let c = cl + q * lanes;
        let i = base + px * p.C + c;
        let xh = (x[i] - mean) * rstd;
        let y = xh * prm[p.gOff + c] + prm[p.bOff + c];
        let g0 = dout[i];
        let h = (${grad}) * prm[p.gOff + c];
        dx[i] = dx[i] + rstd * (h - mh - xh * mhx);
      }
    }
  }
  // Channel sums: threads of one channel lane meet in workgroup memory.
  for (var q = 0u; q < 4u; q = q + 1u) {
    if (q >= perThread) { break; }
    let c = cl + q * lanes;
    red[lid] = accG[q];
    workgroupBarrier();
    if (pl == 0u) {
      var t = 0.0;
      for (var k = 0u; k < stride; k = k + 1u) { t = t + red[cl + k * lanes]; }
      part[p.partBase + wid.x * 2u * p.C + c] = t;
    }
    workgroupBarrier();
    red[lid] = accB[q];
    workgroupBarrier();
    if (pl == 0u) {
      var t = 0.0;
      for (var k = 0u; k < stride; k = k + 1u) { t = t + red[cl + k * lanes]; }
      part[p.partBase + wid.x * 2u * p.C + p.C + c] = t;
      ${mode === 'embed' ? 'dres[wid.x * p.C + c] = t;' : ''}
    }
    workgroupBarrier();
  }
}
`;
}

// ---- Layout: max-pool, upsample with concatenation -------------------------------------------

export const LAYOUT_PARAMS = ['n', 'h', 'w', 'c', 'c2', 'total'] as const;

/** The top-left input index of pooled output idx's 2×2 window. */
const WINDOW_OF = `
fn window_of(idx: u32) -> u32 {
  let c = idx % p.c;
  let rest = idx / p.c;
  let wo = p.w / 2u;
  let ho = p.h / 2u;
  let j = rest % wo;
  let i = (rest / wo) % ho;
  let n = rest / (wo * ho);
  return ((n * p.h + 2u * i) * p.w + 2u * j) * p.c + c;
}`;

/** 2×2 max-pool of x [n, h, w, c] (h, w: the input's size). */
export function poolSource(): string {
  return `${struct('Params', LAYOUT_PARAMS)}
${bindings('x:r', 'y:w', 'uniform')}
${WINDOW_OF}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  let a = window_of(idx);
  let b = a + p.w * p.c;
  y[idx] = max(max(x[a], x[a + p.c]), max(x[b], x[b + p.c]));
}
`;
}

/** The pool's gradient goes to the window's first maximum in row-major order, as PyTorch's. */
export function poolGradSource(): string {
  return `${struct('Params', LAYOUT_PARAMS)}
${bindings('x:r', 'dy:r', 'dx:w', 'uniform')}
${WINDOW_OF}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  let a = window_of(idx);
  let b = a + p.w * p.c;
  var best = a;
  if (x[a + p.c] > x[best]) { best = a + p.c; }
  if (x[b] > x[best]) { best = b; }
  if (x[b + p.c] > x[best]) { best = b + p.c; }
  dx[best] = dx[best] + dy[idx];
}
`;
}

/**
 * [skip | bilinear 2× of x] along channels: skip [n, 2h, 2w, c2], x [n, h, w, c] with the corners
 * aligned (source = o·(h − 1)/(2h − 1)), as the reference's nn.Upsample(align_corners=True).
 */
export function upConcatSource(): string {
  return `${struct('Params', LAYOUT_PARAMS)}
${bindings('skip:r', 'x:r', 'y:w', 'uniform')}
fn src(o: u32, size: u32) -> f32 {
  if (size == 1u) { return 0.0; }
  return f32(o) * f32(size - 1u) / f32(2u * size - 1u);
}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  let ct = p.c + p.c2;
  let ch = idx % ct;
  let pix = idx / ct;
  let W2 = 2u * p.w;
  let H2 = 2u * p.h;
  let ox = pix % W2;
  let oy = (pix / W2) % H2;
  let n = pix / (W2 * H2);
  if (ch < p.c2) { y[idx] = skip[pix * p.c2 + ch]; return; }
  let c = ch - p.c2;
  let sy = src(oy, p.h);
  let sx = src(ox, p.w);
  let y0 = u32(floor(sy));
  let x0 = u32(floor(sx));
  let y1 = min(y0 + 1u, p.h - 1u);
  let x1 = min(x0 + 1u, p.w - 1u);
  let fy = sy - f32(y0);
  let fx = sx - f32(x0);
  let base = n * p.h * p.w;
  let top = x[((base + y0 * p.w + x0) * p.c) + c] * (1.0 - fx) + x[((base + y0 * p.w + x1) * p.c) + c] * fx;
  let bot = x[((base + y1 * p.w + x0) * p.c) + c] * (1.0 - fx) + x[((base + y1 * p.w + x1) * p.c) + c] * fx;
  y[idx] = top * (1.0 - fy) + bot * fy;
}
`;
}

/** The skip's share of the concatenation's gradient: dskip += dy[…, :c2]. */
export function skipGradSource(): string {
  return `${struct('Params', LAYOUT_PARAMS)}
${bindings('dy:r', 'dskip:w', 'uniform')}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  let pix = idx / p.c2;
  let ch = idx % p.c2;
  dskip[idx] = dskip[idx] + dy[pix * (p.c + p.c2) + ch];
}
`;
}

/**
 * The upsampling's gradient, gathered: each input pixel adds the outputs that read it, weighted
 * by the bilinear hat max(0, 1 − |source − i|) in each direction.
 */
export function upGradSource(): string {
  return `${struct('Params', LAYOUT_PARAMS)}
${bindings('dy:r', 'dx:w', 'uniform')}
fn src(o: u32, size: u32) -> f32 {
  if (size == 1u) { return 0.0; }
  return f32(o) * f32(size - 1u) / f32(2u * size - 1u);
}
fn hat(o: u32, i: u32, size: u32) -> f32 {
  return max(0.0, 1.0 - abs(src(o, size) - f32(i)));
}
fn out_first(i: u32, size: u32) -> u32 {
  if (size == 1u || i == 0u) { return 0u; }
  return u32(floor(f32(i - 1u) * f32(2u * size - 1u) / f32(size - 1u)));
}
fn out_last(i: u32, size: u32) -> u32 {
  if (size == 1u) { return 1u; }
  return min(2u * size - 1u, u32(ceil(f32(i + 1u) * f32(2u * size - 1u) / f32(size - 1u))));
}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  let c = idx % p.c;
  let pix = idx / p.c;
  let ix = pix % p.w;
  let iy = (pix / p.w) % p.h;
  let n = pix / (p.w * p.h);
  let W2 = 2u * p.w;
  let ct = p.c + p.c2;
  var t = 0.0;
  for (var oy = out_first(iy, p.h); oy <= out_last(iy, p.h); oy = oy + 1u) {
    let wy = hat(oy, iy, p.h);
    if (wy == 0.0) { continue; }
    for (var ox = out_first(ix, p.w); ox <= out_last(ix, p.w); ox = ox + 1u) {
      let wx = hat(ox, ix, p.w);
      if (wx == 0.0) { continue; }
      t = t + wy * wx * dy[((n * 2u * p.h + oy) * W2 + ox) * ct + p.c2 + c];
    }
  }
  dx[idx] = dx[idx] + t;
}
`;
}

// ---- Rows: LayerNorm and softmax ------------------------------------------------------------
// A row of `len` values (a power of two) is read by `lanes` = min(len, 256) threads side by side,
// so a workgroup holds 256/lanes rows at once and reads memory in order; row sums meet in
// workgroup memory, each lane group on its own.

export const ROWS_PARAMS = ['rows', 'len', 'lanes', 'iters', 'alpha', 'gOff', 'bOff', 'partBase', 'eps'] as const;
export const ROWS_FLOATS = ['alpha', 'eps'];

const ROWS_COMMON = `
var<workgroup> red: array<f32, ${THREADS}>;
fn lane_sum(v: f32, lid: u32, lanes: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = lanes / 2u; s > 0u; s = s >> 1u) {
    if (lid % lanes < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[lid - lid % lanes];
  workgroupBarrier();
  return total;
}
fn lane_max(v: f32, lid: u32, lanes: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = lanes / 2u; s > 0u; s = s >> 1u) {
    if (lid % lanes < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let top = red[lid - lid % lanes];
  workgroupBarrier();
  return top;
}
// The sum of v over the workgroup's threads in the same lane (one channel across rows).
fn lane_column_sum(v: f32, lid: u32, lanes: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  var t = 0.0;
  for (var k = lid % lanes; k < ${THREADS}u; k = k + lanes) { t = t + red[k]; }
  workgroupBarrier();
  return t;
}`;

const ROWS_ENTRY = `@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * nwg.x + wid.x;
  let lane = lid % p.lanes;
  let perPass = ${THREADS}u / p.lanes;`;

/**
 * A row kernel: its bindings, then `body` once for each of the workgroup's rows in turn (`row`,
 * and `valid` false past the last row, where a thread still joins the lane sums), with `before`
 * and `after` the loop.
 */
function rowKernel(bindingList: string[], body: string, before = '', after = ''): string {
  return `${struct('Params', ROWS_PARAMS, ROWS_FLOATS)}
${bindings(...bindingList, 'uniform')}
${ROWS_COMMON}
${ROWS_ENTRY}
${before}
  for (var it = 0u; it < p.iters; it = it + 1u) {
    let row = (wg * p.iters + it) * perPass + lid / p.lanes;
    let valid = row < p.rows;
${body}
  }
${after}
}
`;
}

/** Softmax of each row of s into y. */
export function softmaxSource(): string {
  return rowKernel(['s:r', 'y:w'], `
    let base = row * p.len;
    var m = -3.0e38;
    if (valid) { for (var j = lane; j < p.len; j = j + p.lanes) { m = max(m, s[base + j]); } }
    m = lane_max(m, lid, p.lanes);
    var t = 0.0;
    if (valid) { for (var j = lane; j < p.len; j = j + p.lanes) { let e = exp(s[base + j] - m); y[base + j] = e; t = t + e; } }
    let r = 1.0 / lane_sum(t, lid, p.lanes);
    if (valid) { for (var j = lane; j < p.len; j = j + p.lanes) { y[base + j] = y[base + j] * r; } }`);
}

/** In place: d ← α·P∘(d − Σ_j d·P), softmax's gradient times the score scale. */
export function softmaxGradSource(): string {
  return rowKernel(['P:r', 'd:w'], `
    let base = row * p.len;
    var dot = 0.0;
    if (valid) { for (var j = lane; j < p.len; j = j + p.lanes) { dot = dot + d[base + j] * P[base + j]; } }
    dot = lane_sum(dot, lid, p.lanes);
    if (valid) { for (var j = lane; j < p.len; j = j + p.lanes) { d[base + j] = p.alpha * P[base + j] * (d[base + j] - dot); } }`);
}

/** LayerNorm of rows of len = C ≤ 256 values (one value a thread), with its statistics. */
export function rowNormSource(): string {
  return rowKernel(['x:r', 'out:w', 'prm:r', 'stats:w'], `
    let i = row * p.len + lane;
    var v = 0.0;
    if (valid) { v = x[i]; }
    let mean = lane_sum(v, lid, p.lanes) / f32(p.len);
    var dv = 0.0;
    if (valid) { dv = v - mean; }
    let rstd = inverseSqrt(lane_sum(dv * dv, lid, p.lanes) / f32(p.len) + p.eps);
    if (valid) {
      out[i] = dv * rstd * prm[p.gOff + lane] + prm[p.bOff + lane];
      if (lane == 0u) { stats[2u * row] = mean; stats[2u * row + 1u] = rstd; }
    }`);
}

/** LayerNorm's backward over rows as rowNormSource lays them out; γ and β sums per workgroup. */
export function rowNormGradSource(): string {
  return rowKernel(['x:r', 'dout:r', 'dx:w', 'prm:r', 'stats:r', 'part:w'], `
    let i = row * p.len + lane;
    var xh = 0.0;
    var g = 0.0;
    var rstd = 0.0;
    if (valid) {
      rstd = stats[2u * row + 1u];
      xh = (x[i] - stats[2u * row]) * rstd;
      g = dout[i];
    }
    accB = accB + g;
    accG = accG + g * xh;
    let h = g * gamma;
    let mh = lane_sum(h, lid, p.lanes) / f32(p.len);
    let mhx = lane_sum(h * xh, lid, p.lanes) / f32(p.len);
    if (valid) { dx[i] = dx[i] + rstd * (h - mh - xh * mhx); }`, `
  var accB = 0.0;
  var accG = 0.0;
  let gamma = prm[p.gOff + lane];`, `
  let sumG = lane_column_sum(accG, lid, p.lanes);
  let sumB = lane_column_sum(accB, lid, p.lanes);
  if (lid < p.lanes) {
    part[p.partBase + wg * 2u * p.len + lane] = sumG;
    part[p.partBase + wg * 2u * p.len + p.len + lane] = sumB;
  }`);
}

// ---- The batch: noising, loss, time embedding's SiLU gradient ----------------------------------

/**
 * The batch buffer holds x₀ and ε (n·per each), then √ᾱ, √(1−ᾱ) and the loss weight per sample,
 * then the one-hot rows and the time encoding. `vpred`: the target is v (1) or ε (0).
 */
export const BATCH_PARAMS = ['n', 'per', 'x0', 'eps', 'sa', 'sb', 'w', 'vpred', 'total'] as const;

export function noiseSource(): string {
  return `${struct('Params', BATCH_PARAMS)}
${bindings('batch:r', 'xt:w', 'uniform')}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  let n = idx / p.per;
  xt[idx] = batch[p.sa + n] * batch[p.x0 + idx] + batch[p.sb + n] * batch[p.eps + idx];
}
`;
}

/**
 * One workgroup per sample: its weighted mean squared error into loss[n], and the output's
 * gradient 2·w·(out − target)/(n·per).
 */
export function lossSource(): string {
  return `${workgroupSum()}
${struct('Params', BATCH_PARAMS)}
${bindings('batch:r', 'out:r', 'dout:w', 'loss:w', 'uniform')}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x;
  let w = batch[p.w + n];
  let scale = 2.0 * w / f32(p.n * p.per);
  var sq = 0.0;
  for (var e = lid; e < p.per; e = e + ${THREADS}u) {
    let i = n * p.per + e;
    var goal = batch[p.eps + i];
    if (p.vpred == 1u) { goal = batch[p.sa + n] * batch[p.eps + i] - batch[p.sb + n] * batch[p.x0 + i]; }
    let d = out[i] - goal;
    sq = sq + d * d;
    dout[i] = scale * d;
  }
  let total = reduce_sum(sq, lid);
  if (lid == 0u) { loss[n] = w * total / f32(p.per); }
}
`;
}

/** reduce_sum: the sum of one value from each of the workgroup's threads, for all of them. */
function workgroupSum(): string {
  return `var<workgroup> red: array<f32, ${THREADS}>;
fn reduce_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${THREADS / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;
}

/** dt += ds·silu′(t) over the time embedding. */
export function siluGradSource(): string {
  return `${struct('Params', LAYOUT_PARAMS)}
${bindings('t:r', 'ds:r', 'dt:w', 'uniform')}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  let x = t[idx];
  let s = 1.0 / (1.0 + exp(-x));
  dt[idx] = dt[idx] + ds[idx] * s * (1.0 + x * (1.0 - s));
}
`;
}

// ---- The optimizer -----------------------------------------------------------------------------

/** Per parameter tensor: its first element, its size, and where its partial gradients lie. */
export const DESCRIPTOR_WORDS = 5;
export const ADAMW_PARAMS = ['total', 'tensors', 'apply', 'emaCopy', 'lr', 'beta1', 'beta2', 'eps', 'decay', 'rate', 'sqrtBc2', 'emaBeta'] as const;
export const ADAMW_FLOATS = ['lr', 'beta1', 'beta2', 'eps', 'decay', 'rate', 'sqrtBc2', 'emaBeta'];

/**
 * Each thread: its parameter's gradient as the sum of its partials; then (when `apply`) AdamW as
 * torch.optim.AdamW (decay, then the Adam step) and the EMA (a copy while `emaCopy`).
 */
export function adamwSource(): string {
  return `${struct('Params', ADAMW_PARAMS, ADAMW_FLOATS)}
${bindings('prm:w', 'm:w', 'v:w', 'ema:w', 'grad:w', 'part:r', 'desc:r:array<u32>', 'uniform')}
${ELEMENTWISE_ENTRY}
  if (idx >= p.total) { return; }
  var lo = 0u;
  var hi = p.tensors - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (desc[mid * ${DESCRIPTOR_WORDS}u] <= idx) { lo = mid; } else { hi = mid - 1u; }
  }
  let d = lo * ${DESCRIPTOR_WORDS}u;
  let e = idx - desc[d];
  let count = desc[d + 3u];
  let stride = desc[d + 4u];
  var g = 0.0;
  for (var k = 0u; k < count; k = k + 1u) { g = g + part[desc[d + 2u] + k * stride + e]; }
  grad[idx] = g;
  if (p.apply == 0u) { return; }
  let mi = p.beta1 * m[idx] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[idx] + (1.0 - p.beta2) * g * g;
  m[idx] = mi;
  v[idx] = vi;
  let w = prm[idx] * p.decay - p.rate * mi / (sqrt(vi) / p.sqrtBc2 + p.eps);
  prm[idx] = w;
  if (p.emaCopy == 1u) { ema[idx] = w; } else { ema[idx] = p.emaBeta * ema[idx] + (1.0 - p.emaBeta) * w; }
}
`;
}
