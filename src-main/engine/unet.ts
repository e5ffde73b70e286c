// The conditional UNet of the reference (UNet_conditional), in NHWC for TensorFlow.js.
// Blocks are small closures over their variables; names follow the reference's modules so a
// checkpoint reads like its state_dict. Initialisation follows PyTorch's defaults, drawn from
// a seeded generator so a run's starting weights depend only on its seed.
import * as tf from '@tensorflow/tfjs-core';
import type { Preset } from '../contract/presets.ts';
import { Rng } from './rng.ts';
import { conv2dSame } from './ops/conv.ts';
import { batchMatMul } from './ops/bmm.ts';
import { swapLastAxes } from './ops/transpose.ts';
import { dense } from './ops/dense.ts';
import { gelu } from './ops/gelu.ts';
import { concatChannels, maxPool2 } from './ops/layout.ts';
import { groupNorm1 } from './ops/groupnorm.ts';

export interface ModelShape {
  /** Image channels: 1 for glyphs, 3 for CIFAR-10. */
  readonly channels: number;
  readonly classes: number;
  /** Square image size; a multiple of 8. */
  readonly size: number;
  /**
   * Length of the style code for a style-conditioned model (a style encoder reads reference
   * glyphs of a font); absent or 0 for a model conditioned on the letter only.
   */
  readonly style?: number;
}

export interface UNet {
  /** The architecture it was built from (an engine worker builds its twin from it). */
  readonly preset: Preset;
  readonly shape: ModelShape;
  /** Every trainable variable, by its reference-style name, in creation order. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /**
   * The output (ε or v: the diffusion's recipe says which) for images x [N,H,W,C] at integer timesteps t, for classes given
   * as one-hot rows [N, classes]; an all-zero row means "no label" (classifier-free guidance).
   */
  apply(x: tf.Tensor4D, t: ArrayLike<number>, classes: tf.Tensor2D, style?: tf.Tensor2D): tf.Tensor4D;
  /**
   * A style model's per-glyph style codes [R, style] for reference glyphs [R,H,W,C] in [−1, 1].
   * A font's style is the mean of its glyphs' codes (order-free, any number of glyphs); it
   * reaches `apply` as style rows (see `styleRows`).
   */
  encodeStyle(refs: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

type Layer<In extends tf.Tensor = tf.Tensor, Out extends tf.Tensor = In> = (x: In) => Out;

const NORM_EPS = 1e-5;

class Builder {
  constructor(
    private readonly rng: Rng,
    /** Makes tfjs's process-wide variable names unique when several models coexist (model, EMA). */
    private readonly namespace: string,
    private readonly prefix = '',
    readonly variables = new Map<string, tf.Variable>(),
  ) {}

  scope(name: string): Builder {
    return new Builder(this.rng, this.namespace, `${this.prefix}${name}.`, this.variables);
  }

  param(name: string, shape: number[], init: (n: number) => Float32Array): tf.Variable {
    const full = this.prefix + name;
    const size = shape.reduce((a, b) => a * b, 1);
    const v = tf.tidy(() => tf.variable(tf.tensor(init(size), shape, 'float32'), true, `${this.namespace}/${full}`));
    this.variables.set(full, v);
    return v;
  }

  uniform(bound: number): (n: number) => Float32Array {
    return (n) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = (this.rng.next() * 2 - 1) * bound;
      return out;
    };
  }

  normal(): (n: number) => Float32Array {
    return (n) => this.rng.normal(n);
  }
}

const zeros = (n: number) => new Float32Array(n);
const ones = (n: number) => new Float32Array(n).fill(1);

/** PyTorch's Linear/Conv default: kaiming_uniform(a=√5) gives U(±1/√fan_in), bias the same. */
function linear(b: Builder, cin: number, cout: number, weightBound = 1 / Math.sqrt(cin), biasBound = 1 / Math.sqrt(cin)): Layer<tf.Tensor2D> {
  const w = b.param('weight', [cin, cout], b.uniform(weightBound));
  const bias = b.param('bias', [cout], biasBound > 0 ? b.uniform(biasBound) : zeros);
  return (x) => dense(x, w as tf.Tensor2D, bias as tf.Tensor1D);
}

function conv3x3(b: Builder, cin: number, cout: number): Layer<tf.Tensor4D> {
  const w = b.param('weight', [3, 3, cin, cout], b.uniform(1 / Math.sqrt(cin * 9)));
  return (x) => conv2dSame(x, w as tf.Tensor4D);
}

/** GroupNorm with one group: normalise each sample over H, W and C, then a per-channel affine. */
function groupNormLayer(b: Builder, c: number): Layer<tf.Tensor4D> {
  const gamma = b.param('weight', [c], ones);
  const beta = b.param('bias', [c], zeros);
  return (x) => groupNorm1(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, NORM_EPS);
}

function layerNorm<T extends tf.Tensor>(b: Builder, c: number): Layer<T> {
  const gamma = b.param('weight', [c], ones);
  const beta = b.param('bias', [c], zeros);
  // LayerNorm over the last axis of [rows, C] is GroupNorm(1, C) of [rows, 1, 1, C]: one kernel.
  return (x) => {
    const rows = x.size / c;
    return tf.reshape(groupNorm1(tf.reshape(x, [rows, 1, 1, c]), gamma as tf.Tensor1D, beta as tf.Tensor1D, NORM_EPS), x.shape) as T;
  };
}

function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}

/** conv3×3 → GN → GELU → conv3×3 → GN, and gelu(x + f(x)) when residual. */
function doubleConv(b: Builder, cin: number, cout: number, mid = cout, residual = false): Layer<tf.Tensor4D> {
  const conv1 = conv3x3(b.scope('double_conv.0'), cin, mid);
  const norm1 = groupNormLayer(b.scope('double_conv.1'), mid);
  const conv2 = conv3x3(b.scope('double_conv.3'), mid, cout);
  const norm2 = groupNormLayer(b.scope('double_conv.4'), cout);
  return (x) => {
    const f = norm2(conv2(gelu(norm1(conv1(x)))));
    return residual ? gelu(tf.add(x, f)) : f;
  };
}

/** Linear(SiLU(t)) broadcast over the feature map. */
function timeProjection(b: Builder, timeDim: number, cout: number): (t: tf.Tensor2D) => tf.Tensor4D {
  const proj = linear(b.scope('emb_layer.1'), timeDim, cout);
  return (t) => {
    const e = proj(silu(t));
    return tf.reshape(e, [e.shape[0], 1, 1, cout]);
  };
}

type Block = (x: tf.Tensor4D, t: tf.Tensor2D) => tf.Tensor4D;
type UpBlock = (x: tf.Tensor4D, skip: tf.Tensor4D, t: tf.Tensor2D) => tf.Tensor4D;

function down(b: Builder, cin: number, cout: number, timeDim: number): Block {
  const dc1 = doubleConv(b.scope('maxpool_conv.1'), cin, cin, cin, true);
  const dc2 = doubleConv(b.scope('maxpool_conv.2'), cin, cout);
  const emb = timeProjection(b, timeDim, cout);
  return (x, t) => tf.add(dc2(dc1(maxPool2(x))), emb(t));
}

function up(b: Builder, cin: number, cout: number, timeDim: number): UpBlock {
  const dc1 = doubleConv(b.scope('conv.0'), cin, cin, cin, true);
  const dc2 = doubleConv(b.scope('conv.1'), cin, cout, cin / 2);
  const emb = timeProjection(b, timeDim, cout);
  return (x, skip, t) => {
    const [h, w] = [x.shape[1], x.shape[2]];
    const upsampled = tf.image.resizeBilinear(x, [h * 2, w * 2], true);
    return tf.add<tf.Tensor4D>(dc2(dc1(concatChannels(skip, upsampled))), emb(t));
  };
}

/** LayerNorm → 4-head self-attention → +x → LayerNorm → Linear → GELU → Linear → +x. */
function selfAttention(b: Builder, c: number, heads: number): Layer<tf.Tensor4D> {
  const ln = layerNorm<tf.Tensor2D>(b.scope('ln'), c);
  // nn.MultiheadAttention's own init: xavier-uniform in-projection, zero biases.
  const inProj = linear(b.scope('mha.in_proj'), c, 3 * c, Math.sqrt(6 / (c + 3 * c)), 0);
  const outProj = linear(b.scope('mha.out_proj'), c, c, 1 / Math.sqrt(c), 0);
  const ffNorm = layerNorm<tf.Tensor2D>(b.scope('ff_self.0'), c);
  const ff1 = linear(b.scope('ff_self.1'), c, c);
  const ff2 = linear(b.scope('ff_self.3'), c, c);
  const d = c / heads;
  return (x) => {
    const [n, h, w] = x.shape;
    const len = h * w;
    // Linear layers run on 2-D [N·L, C]: tfjs's batched matMul gradient does not reduce broadcast dims.
    const s = tf.reshape<tf.Rank.R2>(x, [n * len, c]);
    const qkv = inProj(ln(s));
    const split = (i: number) =>
      tf.reshape(
        tf.transpose(tf.reshape(tf.slice(qkv, [0, i * c], [n * len, c]), [n, len, heads, d]), [0, 2, 1, 3]),
        [n * heads, len, d],
      ) as tf.Tensor3D;
    const [q, k, v] = [split(0), split(1), split(2)];
    const weights = tf.softmax(tf.mul(batchMatMul(q, swapLastAxes(k)), 1 / Math.sqrt(d))) as tf.Tensor3D;
    const o = tf.reshape(tf.transpose(tf.reshape(batchMatMul(weights, v), [n, heads, len, d]), [0, 2, 1, 3]), [n * len, c]);
    const a = tf.add<tf.Tensor2D>(outProj(o as tf.Tensor2D), s);
    const out = tf.add(ff2(gelu(ff1(ffNorm(a)))), a);
    return tf.reshape(out, [n, h, w, c]);
  };
}

/** The sinusoidal encoding of raw integer timesteps: [sin(t·f), cos(t·f)], f_i = 10000^(−2i/dim). */
export function timeEncoding(t: ArrayLike<number>, dim: number): Float32Array {
  const half = dim / 2;
  const out = new Float32Array(t.length * dim);
  for (let n = 0; n < t.length; n++) {
    for (let i = 0; i < half; i++) {
      const a = t[n] * (1 / Math.pow(10000, (2 * i) / dim));
      out[n * dim + i] = Math.sin(a);
      out[n * dim + half + i] = Math.cos(a);
    }
  }
  return out;
}

/**
 * The style encoder: three conv → GroupNorm → GELU → 2×2 max-pool stages (widths w, 2w, 4w),
 * a mean over the remaining pixels, and a linear map to the code. Small next to the UNet, since
 * each training sample brings up to eight references.
 */
function styleEncoder(b: Builder, channels: number, width: number, dim: number): (x: tf.Tensor4D) => tf.Tensor2D {
  const stage = (name: string, cin: number, cout: number): Layer<tf.Tensor4D> => {
    const conv = conv3x3(b.scope(`${name}.conv`), cin, cout);
    const norm = groupNormLayer(b.scope(`${name}.norm`), cout);
    return (x) => maxPool2(gelu(norm(conv(x))));
  };
  const s1 = stage('stage1', channels, width);
  const s2 = stage('stage2', width, 2 * width);
  const s3 = stage('stage3', 2 * width, 4 * width);
  const out = linear(b.scope('out'), 4 * width, dim);
  return (x) => out(tf.mean(s3(s2(s1(x))), [1, 2]) as tf.Tensor2D);
}

/**
 * Style rows for `apply`: each row is a style code followed by 1, or all zeros for "no style"
 * (classifier-free guidance on style), as an all-zero one-hot row means "no letter".
 * `codes` is [N, dim]; rows whose `present` is false become zeros.
 */
export function styleRows(codes: tf.Tensor2D, present: ArrayLike<boolean | number>): tf.Tensor2D {
  const n = codes.shape[0];
  const mask = tf.tensor2d(Float32Array.from({ length: n }, (_, i) => (present[i] ? 1 : 0)), [n, 1]);
  return tf.concat([tf.mul(codes, mask), mask], 1) as tf.Tensor2D;
}

let modelsCreated = 0;

export function createUNet(preset: Preset, shape: ModelShape, seed: number): UNet {
  const { channels, classes, size } = shape;
  if (size % 8 !== 0) throw new Error(`image size ${size} is not a multiple of 8`);
  const root = new Builder(new Rng(seed), `unet${++modelsCreated}`);
  const W = preset.width;
  const T = preset.timeDim;
  const attn = (name: string, c: number, res: number): Layer<tf.Tensor4D> =>
    preset.attention.includes((res * 32) / size) ? selfAttention(root.scope(name), c, preset.heads) : (x) => x;

  const inc = doubleConv(root.scope('inc'), channels, W);
  const down1 = down(root.scope('down1'), W, 2 * W, T);
  const sa1 = attn('sa1', 2 * W, size / 2);
  const down2 = down(root.scope('down2'), 2 * W, 4 * W, T);
  const sa2 = attn('sa2', 4 * W, size / 4);
  const down3 = down(root.scope('down3'), 4 * W, 4 * W, T);
  const sa3 = attn('sa3', 4 * W, size / 8);
  const bottleneck = preset.deep
    ? [
        doubleConv(root.scope('bot1'), 4 * W, 8 * W),
        doubleConv(root.scope('bot2'), 8 * W, 8 * W),
        doubleConv(root.scope('bot3'), 8 * W, 4 * W),
      ]
    : [doubleConv(root.scope('bot1'), 4 * W, 4 * W), doubleConv(root.scope('bot2'), 4 * W, 4 * W)];
  const up1 = up(root.scope('up1'), 8 * W, 2 * W, T);
  const sa4 = attn('sa4', 2 * W, size / 4);
  const up2 = up(root.scope('up2'), 4 * W, W, T);
  const sa5 = attn('sa5', W, size / 2);
  const up3 = up(root.scope('up3'), 2 * W, W, T);
  const sa6 = attn('sa6', W, size);
  const outcScope = root.scope('outc');
  const outcBound = 1 / Math.sqrt(W);
  const outcW = outcScope.param('weight', [1, 1, W, channels], outcScope.uniform(outcBound));
  const outcB = outcScope.param('bias', [channels], outcScope.uniform(outcBound));
  const labelEmb = root.scope('label_emb').param('weight', [classes, T], root.normal());
  // A style model adds its style the way the label is added: a linear map of [code, 1] (no bias,
  // so a zero row adds nothing) into the time embedding.
  const styleDim = shape.style ?? 0;
  const encoder = styleDim > 0 ? styleEncoder(root.scope('style_enc'), channels, Math.max(8, W), styleDim) : null;
  const styleEmb = styleDim > 0 ? root.scope('style_emb').param('weight', [styleDim + 1, T], root.uniform(1 / Math.sqrt(styleDim + 1))) : null;

  return {
    preset,
    shape,
    variables: root.variables,
    apply(x, t, classOneHot, style) {
      const n = x.shape[0];
      let time = tf.add<tf.Tensor2D>(tf.tensor2d(timeEncoding(t, T), [n, T]), tf.matMul(classOneHot, labelEmb as tf.Tensor2D));
      if (style && styleEmb) {
        if (style.shape[1] !== styleDim + 1) throw new Error(`style rows are ${style.shape[1]} wide; this model takes ${styleDim + 1}`);
        time = tf.add(time, tf.matMul(style, styleEmb as tf.Tensor2D));
      }
      const x1 = inc(x);
      const x2 = sa1(down1(x1, time));
      const x3 = sa2(down2(x2, time));
      let x4 = sa3(down3(x3, time));
      for (const block of bottleneck) x4 = block(x4);
      let h = sa4(up1(x4, x3, time));
      h = sa5(up2(h, x2, time));
      h = sa6(up3(h, x1, time));
      // The 1×1 output convolution as a matMul over pixels: same numbers, a cheaper gradient.
      const flat = tf.reshape<tf.Rank.R2>(h, [n * size * size, W]);
      const out = dense(flat, tf.reshape<tf.Rank.R2>(outcW, [W, channels]), outcB as tf.Tensor1D);
      return tf.reshape<tf.Rank.R4>(out, [n, size, size, channels]);
    },
    encodeStyle(refs) {
      if (!encoder) throw new Error('this model is not style-conditioned');
      return encoder(refs);
    },
    dispose() {
      for (const v of root.variables.values()) v.dispose();
    },
  };
}

export function parameterCount(model: UNet): number {
  let n = 0;
  for (const v of model.variables.values()) n += v.size;
  return n;
}

/** One-hot class rows on the host; a label of −1 gives an all-zero row ("no label"). */
export function oneHot(labels: ArrayLike<number>, classes: number): tf.Tensor2D {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) out[i * classes + labels[i]] = 1;
  return tf.tensor2d(out, [labels.length, classes]);
}
