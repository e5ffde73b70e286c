// The fused WebGPU engine: a UNet's training step planned once and replayed. Planning allocates
// every buffer (parameters, Adam moments and EMA as flat arrays; each activation and gradient;
// the partial sums of parameter gradients), compiles each kernel variant once, and records the
// step as a fixed list of dispatches with their bind groups. A step then writes the batch with
// one queue write, encodes that list into one command buffer, and submits: no buffer, pipeline
// or bind group is made, and nothing is read back until the step's loss, after it.
//
// The network is the one createUNet defines: the plan walks the same blocks and takes every
// parameter by its name from the model's variables (shapes checked), in the model's order, so
// weights move between this engine and the tfjs model (and so checkpoints) by name.
import * as tf from '@tensorflow/tfjs-core';
import { getPreset } from '../../contract/presets.ts';
import { UserError } from '../../errors.ts';
import type { Recipe } from '../../contract/presets.ts';
import type { StepBatch } from '../diffusion.ts';
import type { NoiseSchedule } from '../schedule.ts';
import { timeEncoding, type UNet } from '../unet.ts';
import {
  ADAMW_FLOATS, ADAMW_PARAMS, BATCH_PARAMS, DESCRIPTOR_WORDS, GEMM_PARAMS, LAYOUT_PARAMS, NORM_PARAMS, ROWS_FLOATS, ROWS_PARAMS, THREADS,
  rowNormGradSource, rowNormSource,
  adamwSource, gemmSource, gemmTileSize, lossSource, noiseSource, normGradSource, normSource, poolGradSource, poolSource,
  siluGradSource, skipGradSource, softmaxGradSource, softmaxSource, uniformWords, upConcatSource, upGradSource,
  type GemmParams, type GemmVariant, type GemmTile, type NormMode,
} from './kernels.ts';

const NORM_EPS = 1e-5;
const STORAGE = 0x80; // GPUBufferUsage.STORAGE
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const MAP_READ = 0x01;
const MAP_WRITE = 0x02;

/** A gradient buffer, shared by tensors whose gradients are one (a residual stream). */
interface GradSlot {
  buf?: GPUBuffer;
  readonly size: number;
}

/** An activation on the device: `size` floats, and where its gradient goes (none for inputs). */
interface Act {
  readonly buf: GPUBuffer;
  readonly size: number;
  readonly grad: GradSlot | null;
  /** Its gradient holds d(pre-GELU), so whoever writes it multiplies by GELU′ of this buffer. */
  readonly geluPre?: GPUBuffer;
}

interface Op {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bind: GPUBindGroup;
  readonly groups: readonly [number, number, number];
}

/** Where a parameter tensor lies in the flat arrays, and its partial gradients. */
interface ParamSlot {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
  part?: { base: number; count: number; stride: number };
}

export interface FusedHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface FusedCounts {
  /** Compute dispatches in one training step (forward, backward, optimizer). */
  dispatches: number;
  forwardDispatches: number;
  /** Distinct compiled pipelines. */
  pipelines: number;
  parameters: number;
  /** Bytes of device memory the plan holds. */
  bytes: number;
}

/**
 * Whether training and drawing on the current backend go through the fused engine: on webgpu,
 * unless FONTLOOM_FUSED=0 asks for tfjs's own webgpu kernels.
 */
export function fusedApplies(): boolean {
  return tf.getBackend() === 'webgpu' && process.env.FONTLOOM_FUSED !== '0';
}

function mib(bytes: number): string {
  return bytes < 2 ** 20 ? `${Math.round(bytes / 1024)} KiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

const PIPELINES = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** A grid of workgroups for `groups`, folded into two dimensions past the per-dimension limit. */
function grid(groups: number): [number, number, number] {
  const x = Math.min(groups, 32768);
  return [x, ceilDiv(groups, x), 1];
}

function stageAAlongK(a: GemmVariant['a'], p: Partial<GemmParams>): boolean {
  if (a === 'convPatches') return false;
  if (a === 'dense') return !(p.aSi === 1 && p.aSk !== 1);
  return true;
}

function tileFor(n: number): GemmTile {
  return n <= 16 ? '256x16' : n <= 32 ? '128x32' : '64x64';
}

export class FusedTrainer {
  /** The most workgroups a row kernel is given (tests lower it to give workgroups several passes). */
  static rowWorkgroups = 1024;
  private planChecked = false;
  /** Overrides the device's largest binding (tests plan against a small GPU's limit). */
  static bindingLimit: number | null = null;
  /** Forward passes drawn by every engine in this process (what tests check was fused). */
  static forwardPasses = 0;
  /** Calls to device.createBuffer made by this engine, all of them (planning included). */
  buffersCreated = 0;
  /** Host milliseconds spent encoding and submitting the last step. */
  lastEncodeMs = 0;
  /** GPU milliseconds of the last step's compute pass, where the adapter has timestamp queries. */
  lastGpuMs: number | null = null;
  private readonly timing: { set: GPUQuerySet; resolve: GPUBuffer } | null;
  /** Updates applied (AdamW's step count); the EMA copies while below `emaStart`. */
  step = 0;
  readonly counts: FusedCounts;

  private readonly pipelines: Map<string, GPUComputePipeline>;
  private readonly ops: Op[] = [];
  private forwardCount = 0;
  private readonly slots = new Map<string, ParamSlot>();
  private readonly slotList: ParamSlot[] = [];
  private readonly gradBuffers: GPUBuffer[] = [];
  private partFloats = 0;
  private bytes = 0;
  private readonly dummyRead: GPUBuffer;
  private readonly dummyWrite: GPUBuffer;
  private readonly dummyWrite2: GPUBuffer;
  private readonly prm: GPUBuffer;
  private readonly m: GPUBuffer;
  private readonly v: GPUBuffer;
  private readonly ema: GPUBuffer;
  private readonly grads: GPUBuffer;
  private part!: GPUBuffer;
  private readonly batchBuf: GPUBuffer;
  private readonly staging: GPUBuffer[];
  private readonly stagingMapped: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
  private ring = 0;
  private readonly lossBuf: GPUBuffer;
  private readonly readback: GPUBuffer;
  private readonly adamUniform: GPUBuffer;
  private readonly total: number;
  /**
   * The batch buffer's regions (floats): x₀, ε, √ᾱ, √(1−ᾱ), loss weights, one-hot rows, time
   * encoding; for a style model in training its reference glyphs (up to maxRefs a sample) and
   * the matrix that averages each sample's references' codes; in drawing, the style rows.
   */
  private readonly layout: { x0: number; eps: number; sa: number; sb: number; w: number; onehot: number; tenc: number; refs: number; mean: number; style: number; floats: number };
  /** A style model's length of code (0 for a letter-only model), and reference slots per batch. */
  private readonly styleDim: number;
  private readonly refSlots: number;
  private readonly per: number;
  private output!: Act;
  private input!: GPUBuffer;

  constructor(
    readonly device: GPUDevice,
    readonly model: UNet,
    readonly schedule: NoiseSchedule,
    readonly recipe: Recipe,
    readonly batch: number,
    readonly ema_: { beta: number; start: number },
    /** 'forward': only the network's forward pass, for drawing (see `forward`). */
    readonly mode: 'train' | 'forward' = 'train',
    /** A style model in training: the most references a sample brings (the run's style.maxRefs). */
    maxRefs = 0,
  ) {
    // Validation and memory errors of the plan surface in load(), which every user calls next.
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    try {
      this.styleDim = model.shape.style ?? 0;
      if (this.styleDim > 0 && mode === 'train' && maxRefs < 1) throw new Error('internal: a style model trains with maxRefs ≥ 1');
      this.refSlots = this.styleDim > 0 && mode === 'train' ? batch * maxRefs : 0;
      // Pipelines are compiled once per device and kernel variant, whichever engine asks first.
      this.pipelines = PIPELINES.get(device) ?? new Map();
      PIPELINES.set(device, this.pipelines);
      const { size, channels, classes } = model.shape;
      this.per = size * size * channels;
      let offset = 0;
      for (const [name, v] of model.variables) {
        const slot: ParamSlot = { name, offset, size: v.size, shape: v.shape };
        this.slots.set(name, slot);
        this.slotList.push(slot);
        offset += v.size;
      }
      this.total = offset;
      this.dummyRead = this.buffer(4);
      this.dummyWrite = this.buffer(4);
      this.dummyWrite2 = this.buffer(4);
      this.prm = this.buffer(this.total);
      this.m = this.buffer(this.total);
      this.v = this.buffer(this.total);
      this.ema = this.buffer(this.total);
      this.grads = this.buffer(this.total);
      const T = getPreset(model.preset.name).timeDim;
      const n = batch;
      const layout = { x0: 0, eps: n * this.per, sa: 2 * n * this.per, sb: 2 * n * this.per + n, w: 2 * n * this.per + 2 * n, onehot: 2 * n * this.per + 3 * n, tenc: 0, refs: 0, mean: 0, style: 0, floats: 0 };
      layout.tenc = layout.onehot + n * classes;
      layout.refs = layout.tenc + n * T;
      layout.mean = layout.refs + this.refSlots * this.per;
      layout.style = layout.mean + n * this.refSlots;
      layout.floats = layout.style + (mode === 'forward' && this.styleDim > 0 ? n * (this.styleDim + 1) : 0);
      this.layout = layout;
      this.batchBuf = this.buffer(layout.floats);
      this.staging = mode === 'train' ? [0, 1].map(() => this.create({ size: Math.ceil(layout.floats / 4) * 16, usage: MAP_WRITE | COPY_SRC, mappedAtCreation: true })) : [];
      this.lossBuf = this.buffer(n);
      this.readback = this.create({ size: Math.max(16, this.total * 4, n * this.per * 4), usage: MAP_READ | COPY_DST });
      this.timing = device.features.has('timestamp-query')
        ? { set: device.createQuerySet({ type: 'timestamp', count: 2 }), resolve: this.create({ size: 16, usage: 0x200 /* QUERY_RESOLVE */ | COPY_SRC }) }
        : null;
      this.adamUniform = this.uniform(new Uint32Array(Math.ceil(ADAMW_PARAMS.length / 4) * 4));
      this.build(T);
      this.counts = {
        dispatches: this.ops.length,
        // The network alone: a training step also noises the batch and takes its loss.
        forwardDispatches: mode === 'train' ? this.forwardCount - 2 : this.ops.length,
        pipelines: this.pipelines.size,
        parameters: this.total,
        bytes: this.bytes,
      };
    } catch (err) {
      // Leave the device's error scopes as they were, and free what was made.
      void device.popErrorScope().then(() => device.popErrorScope());
      this.dispose();
      throw err;
    }
  }

  // ---- Running -------------------------------------------------------------------------------

  /** Parameters, Adam moments and EMA from the tfjs models (by name), and the optimizer's step. */
  async load(model: UNet, ema: UNet, adam?: { m: ReadonlyMap<string, { data(): Promise<unknown> }>; v: ReadonlyMap<string, { data(): Promise<unknown> }>; step: number }): Promise<void> {
    if (!this.planChecked) {
      this.planChecked = true;
      const invalid = await this.device.popErrorScope();
      const memory = await this.device.popErrorScope();
      if (memory) throw new UserError(`the GPU ran out of memory for the fused engine's ${mib(this.bytes)} (${this.model.preset.name} at batch ${this.batch}): lower the batch`);
      if (invalid) throw new Error(`the fused engine's plan is invalid on this GPU: ${invalid.message}`);
    }
    const gather = async (get: (name: string) => { data(): Promise<unknown> } | undefined): Promise<Float32Array<ArrayBuffer>> => {
      const flat = new Float32Array(this.total);
      for (const slot of this.slotList) {
        const t = get(slot.name);
        if (!t) throw new Error(`no ${slot.name} to load into the fused engine`);
        flat.set((await t.data()) as Float32Array, slot.offset);
      }
      return flat;
    };
    this.device.queue.writeBuffer(this.prm, 0, await gather((k) => model.variables.get(k)));
    this.device.queue.writeBuffer(this.ema, 0, await gather((k) => ema.variables.get(k)));
    if (adam) {
      this.device.queue.writeBuffer(this.m, 0, await gather((k) => adam.m.get(k)));
      this.device.queue.writeBuffer(this.v, 0, await gather((k) => adam.v.get(k)));
      this.step = adam.step;
    } else {
      const zeros = new Float32Array(this.total);
      this.device.queue.writeBuffer(this.m, 0, zeros);
      this.device.queue.writeBuffer(this.v, 0, zeros);
      this.step = 0;
    }
  }

  /** One of the flat arrays, read back (after the work submitted so far). */
  async read(which: 'params' | 'm' | 'v' | 'ema' | 'grads' | 'output'): Promise<Float32Array> {
    const buf = { params: this.prm, m: this.m, v: this.v, ema: this.ema, grads: this.grads, output: this.output.buf }[which];
    const floats = which === 'output' ? this.output.size : this.total;
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, 0, this.readback, 0, floats * 4);
    this.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(MAP_READ, 0, floats * 4);
    const out = new Float32Array(this.readback.getMappedRange(0, floats * 4).slice(0));
    this.readback.unmap();
    return out;
  }

  /** A flat array cut into the model's tensors, by name. */
  split(flat: Float32Array): Map<string, Float32Array> {
    return new Map(this.slotList.map((s) => [s.name, flat.subarray(s.offset, s.offset + s.size)]));
  }

  private readonly host = { batch: new Float32Array(0) as Float32Array<ArrayBuffer> };

  /** The batch through the queue (for profiles; steps go through the staging buffers). */
  private writeBatch(b: StepBatch): void {
    if (this.host.batch.length !== this.layout.floats) this.host.batch = new Float32Array(this.layout.floats);
    this.packBatch(b, this.host.batch);
    this.device.queue.writeBuffer(this.batchBuf, 0, this.host.batch);
  }

  /**
   * Every region of the batch buffer a step reads, packed into `h` (a staging buffer's mapped
   * memory holds what it held two steps ago: each region is written whole, or zeroed first).
   */
  private packBatch(b: StepBatch, h: Float32Array): void {
    if (b.n !== this.batch) throw new Error(`the fused engine was planned for batches of ${this.batch}, not ${b.n}`);
    const refs = b.refs?.owner.length ?? 0;
    if (refs > this.refSlots) throw new Error(`the fused engine was planned for ${this.refSlots} style references a batch, not ${refs}`);
    const L = this.layout;
    const { classes } = this.model.shape;
    h.set(b.x0, L.x0);
    h.set(b.eps, L.eps);
    h.fill(0, L.onehot, L.onehot + b.n * classes);
    for (let i = 0; i < b.n; i++) {
      const ab = this.schedule.alphaBar[b.t[i]];
      h[L.sa + i] = Math.sqrt(ab);
      h[L.sb + i] = Math.sqrt(1 - ab);
      h[L.w + i] = b.weights[i];
      if (b.labels[i] >= 0) h[L.onehot + i * classes + b.labels[i]] = 1;
    }
    h.set(timeEncoding(b.t, getPreset(this.model.preset.name).timeDim), L.tenc);
    if (this.refSlots > 0) {
      // Each sample's code is the mean of its references' (none: the all-zero "no style" row).
      // Unused slots keep old glyphs, which a zero weight ignores.
      h.fill(0, L.mean, L.mean + b.n * this.refSlots);
      if (b.refs && refs > 0) {
        h.set(b.refs.x, L.refs);
        const counts = new Float32Array(b.n);
        for (const o of b.refs.owner) counts[o] += 1;
        b.refs.owner.forEach((o, r) => (h[L.mean + o * this.refSlots + r] = 1 / counts[o]));
      }
    }
  }

  private readonly adamWords = new Uint32Array(Math.ceil(ADAMW_PARAMS.length / 4) * 4);

  /**
   * Encodes and submits one step: forward, backward, and the optimizer pass (which with `h`
   * absent only sums the gradients). Resolves with the batch's loss, read after the step.
   */
  async run(b: StepBatch, h?: FusedHyper): Promise<number> {
    if (this.mode !== 'train') throw new Error('internal: a training step on a forward engine');
    // The batch goes through one of two staging buffers, mapped again as soon as the GPU has
    // copied it, so a step writes straight into mapped memory and the queue stages nothing.
    const staging = this.staging[this.ring];
    await this.stagingMapped[this.ring];
    const started = performance.now();
    const batchBytes = this.layout.floats * 4;
    this.packBatch(b, new Float32Array(staging.getMappedRange(0, batchBytes)));
    staging.unmap();
    const values: Record<string, number> = { total: this.total, tensors: this.slotList.length, apply: 0, emaCopy: 0 };
    if (h) {
      const emaCopy = this.step < this.ema_.start;
      this.step += 1;
      const bc1 = 1 - Math.pow(h.beta1, this.step);
      const bc2 = 1 - Math.pow(h.beta2, this.step);
      Object.assign(values, {
        apply: 1, emaCopy: emaCopy ? 1 : 0, lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps,
        decay: 1 - h.lr * h.weightDecay, rate: h.lr / bc1, sqrtBc2: Math.sqrt(bc2), emaBeta: this.ema_.beta,
      });
    }
    this.adamWords.set(uniformWords(ADAMW_PARAMS, values, ADAMW_FLOATS));
    this.device.queue.writeBuffer(this.adamUniform, 0, this.adamWords);
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(staging, 0, this.batchBuf, 0, batchBytes);
    for (const g of this.gradBuffers) enc.clearBuffer(g);
    this.encode(enc, this.timing?.set);
    const lossBytes = Math.ceil(this.batch / 4) * 16;
    enc.copyBufferToBuffer(this.lossBuf, 0, this.readback, 0, this.batch * 4);
    if (this.timing) {
      enc.resolveQuerySet(this.timing.set, 0, 2, this.timing.resolve, 0);
      enc.copyBufferToBuffer(this.timing.resolve, 0, this.readback, lossBytes, 16);
    }
    this.device.queue.submit([enc.finish()]);
    this.lastEncodeMs = performance.now() - started;
    // A failed map (the engine disposed meanwhile) shows at the next step's getMappedRange.
    this.stagingMapped[this.ring] = staging.mapAsync(MAP_WRITE, 0, batchBytes).catch(() => undefined);
    this.ring ^= 1;
    const bytes = lossBytes + (this.timing ? 16 : 0);
    await this.readback.mapAsync(MAP_READ, 0, bytes);
    const mapped = this.readback.getMappedRange(0, bytes);
    const losses = new Float32Array(mapped, 0, this.batch);
    let sum = 0;
    for (const l of losses) sum += l;
    if (this.timing) {
      const [begin, end] = new BigUint64Array(mapped, lossBytes, 2);
      this.lastGpuMs = Number(end - begin) / 1e6;
    }
    this.readback.unmap();
    return sum / this.batch;
  }

  /**
   * Wall time of each dispatch of a step run alone (submitted and awaited one at a time, after
   * the batch is written), summed by kernel: where a step's time goes on adapters without
   * timestamp queries. The step's effect on the weights is that of one gradient-only step.
   */
  async profile(b: StepBatch): Promise<{ label: string; kernel: string; ms: number }[]> {
    this.writeBatch(b);
    this.adamWords.set(uniformWords(ADAMW_PARAMS, { total: this.total, tensors: this.slotList.length, apply: 0 }, ADAMW_FLOATS));
    this.device.queue.writeBuffer(this.adamUniform, 0, this.adamWords);
    const clear = this.device.createCommandEncoder();
    for (const g of this.gradBuffers) clear.clearBuffer(g);
    this.device.queue.submit([clear.finish()]);
    await this.device.queue.onSubmittedWorkDone();
    const out: { label: string; kernel: string; ms: number }[] = [];
    for (const o of this.ops) {
      const started = performance.now();
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(o.pipeline);
      pass.setBindGroup(0, o.bind);
      pass.dispatchWorkgroups(o.groups[0], o.groups[1], o.groups[2]);
      pass.end();
      this.device.queue.submit([enc.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      out.push({ label: o.label, kernel: o.pipeline.label, ms: performance.now() - started });
    }
    return out;
  }

  /**
   * The network's output for images x [n, size, size, channels] at timesteps t with labels
   * (−1: no label) and, for a style model, style rows (`styleRows`: n × (dim + 1); absent: no
   * style), as the model's `apply` gives it; for an engine made in 'forward' mode.
   */
  async forward(x: Float32Array, t: ArrayLike<number>, labels: ArrayLike<number>, styles?: Float32Array): Promise<Float32Array> {
    if (this.mode !== 'forward') throw new Error('internal: forward() on a training engine');
    FusedTrainer.forwardPasses += 1;
    const n = this.batch;
    if (x.length !== n * this.per || t.length !== n || labels.length !== n) throw new Error(`the fused engine was planned for ${n} images`);
    const L = this.layout;
    if (this.host.batch.length !== L.floats) this.host.batch = new Float32Array(L.floats);
    const h = this.host.batch;
    const { classes } = this.model.shape;
    h.fill(0, L.onehot, L.onehot + n * classes);
    for (let i = 0; i < n; i++) if (labels[i] >= 0) h[L.onehot + i * classes + labels[i]] = 1;
    h.set(timeEncoding(t, getPreset(this.model.preset.name).timeDim), L.tenc);
    if (this.styleDim > 0) {
      const rowsLength = n * (this.styleDim + 1);
      if (styles && styles.length !== rowsLength) throw new Error(`expected ${n} style rows of ${this.styleDim + 1}, found ${styles.length} numbers`);
      if (styles) h.set(styles, L.style);
      else h.fill(0, L.style, L.style + rowsLength);
    }
    this.device.queue.writeBuffer(this.batchBuf, 0, h);
    this.device.queue.writeBuffer(this.input, 0, x as Float32Array<ArrayBuffer>);
    const enc = this.device.createCommandEncoder();
    this.encode(enc);
    enc.copyBufferToBuffer(this.output.buf, 0, this.readback, 0, this.output.size * 4);
    this.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(MAP_READ, 0, this.output.size * 4);
    const out = new Float32Array(this.readback.getMappedRange(0, this.output.size * 4).slice(0));
    this.readback.unmap();
    return out;
  }

  private encode(enc: GPUCommandEncoder, timestamps?: GPUQuerySet): void {
    const pass = enc.beginComputePass(timestamps ? { timestampWrites: { querySet: timestamps, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    let current: GPUComputePipeline | null = null;
    for (const o of this.ops) {
      if (o.pipeline !== current) {
        pass.setPipeline(o.pipeline);
        current = o.pipeline;
      }
      pass.setBindGroup(0, o.bind);
      pass.dispatchWorkgroups(o.groups[0], o.groups[1], o.groups[2]);
    }
    pass.end();
  }

  /** The dispatches of one step by label, in order (for profiles and tests). */
  labels(): string[] {
    return this.ops.map((o) => o.label);
  }

  // ---- Buffers and pipelines -----------------------------------------------------------------

  private readonly owned: GPUBuffer[] = [];

  /** Every buffer this engine makes comes from here: counted, and destroyed with the engine. */
  private create(desc: GPUBufferDescriptor): GPUBuffer {
    this.buffersCreated += 1;
    const buf = this.device.createBuffer(desc);
    this.owned.push(buf);
    return buf;
  }

  /** Frees the engine's device memory; it cannot run afterwards. */
  dispose(): void {
    for (const b of this.owned.splice(0)) b.destroy();
    this.timing?.set.destroy();
    this.ops.length = 0;
  }

  private buffer(floats: number, usage = STORAGE | COPY_SRC | COPY_DST): GPUBuffer {
    const size = Math.max(16, Math.ceil((floats * 4) / 16) * 16);
    const limit = FusedTrainer.bindingLimit ?? Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    if (size > limit) {
      throw new UserError(
        `the fused WebGPU engine needs a buffer of ${mib(size)} for ${this.model.preset.name} at batch ${this.batch}, and this GPU binds at most ${mib(limit)}: ` +
          'lower the batch, or set FONTLOOM_FUSED=0 to use tfjs\'s webgpu kernels',
      );
    }
    this.bytes += size;
    return this.create({ size, usage });
  }

  private uniform(words: Uint32Array<ArrayBuffer>): GPUBuffer {
    const buf = this.create({ size: Math.max(16, words.byteLength), usage: UNIFORM | COPY_DST });
    this.device.queue.writeBuffer(buf, 0, words);
    return buf;
  }

  private pipeline(key: string, source: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: source(), label: key });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      this.pipelines.set(key, p);
    }
    return p;
  }

  private op(label: string, pipeline: GPUComputePipeline, buffers: GPUBuffer[], params: Uint32Array<ArrayBuffer>, groups: readonly [number, number, number]): Op {
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
    entries.push({ binding: buffers.length, resource: { buffer: this.uniform(params) } });
    const bind = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    return { label, pipeline, bind, groups };
  }

  private act(size: number, grad: GradSlot | null | 'new' = 'new'): Act {
    // A new gradient slot is the activation's size; shared slots are the tensor they came from.
    return { buf: this.buffer(size), size, grad: grad === 'new' ? { size } : grad };
  }

  /** The gradient buffer of `a`, made on first use and cleared at the start of every step. */
  private gradOf(a: Act): GPUBuffer {
    const slot = a.grad;
    if (!slot) throw new Error('internal: gradient of an input');
    if (!slot.buf) {
      slot.buf = this.buffer(slot.size);
      this.gradBuffers.push(slot.buf);
    }
    return slot.buf;
  }

  private param(name: string, shape: readonly number[]): ParamSlot {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`the fused engine's network has a parameter ${name} that the model lacks`);
    if (slot.shape.join() !== shape.join()) throw new Error(`parameter ${name} is [${slot.shape.join(', ')}]; the fused engine expected [${shape.join(', ')}]`);
    return slot;
  }

  private fwd(o: Op): void {
    this.ops.push(o);
    this.forwardCount += 1;
  }

  /** Partial gradient floats, laid out when the arena is made. */
  private partials(floats: number): { base: number } {
    const region = { base: this.partFloats };
    this.partFloats += floats;
    return region;
  }

  // ---- GEMM ----------------------------------------------------------------------------------

  private gemm(label: string, variant: Omit<GemmVariant, 'tile' | 'onesRow' | 'siluA' | 'accumulate' | 'aAlongK' | 'bAlongN'> & Partial<GemmVariant>,
    p: Partial<GemmParams> & Pick<GemmParams, 'M' | 'N' | 'K'>, buffers: { A: GPUBuffer; B: GPUBuffer; C: GPUBuffer; bias?: GPUBuffer; X?: GPUBuffer }, batch = 1): Op {
    // Staging order: an operand read with unit stride across K (A) or N (B) is staged that way;
    // the filter gradient's patches and transposed operands are read along their other index.
    const aAlongK = stageAAlongK(variant.a, p);
    const bAlongN = variant.b === 'dense' ? !(p.bSk === 1 && p.bSj !== 1) : false;
    const v: GemmVariant = { onesRow: false, siluA: false, accumulate: false, tile: tileFor(p.N), ...variant, aAlongK, bAlongN };
    const key = `gemm:${v.a}:${v.b}:${v.epilogue}:${v.onesRow}:${v.siluA}:${v.accumulate}:${v.tile}:${v.aAlongK}:${v.bAlongN}`;
    const pipeline = this.pipeline(key, () => gemmSource(v));
    const params: Record<string, number> = { nb2: 1, chunks: 1, kChunk: p.K, alpha: 1, aRows: p.M, ...p };
    const [bm, bn] = gemmTileSize(v.tile);
    const groups: [number, number, number] = [ceilDiv(p.N, bn), ceilDiv(p.M, bm), batch * params.chunks];
    const X = buffers.X ?? (v.epilogue === 'biasGelu' ? this.dummyWrite : this.dummyRead);
    return this.op(label, pipeline, [buffers.A, buffers.B, buffers.C, buffers.bias ?? this.dummyRead, X], uniformWords(GEMM_PARAMS, params, ['alpha']), groups);
  }

  /** Split-K over K: chunks so a workgroup sums at least 256 terms and the partials stay small. */
  private splitK(K: number, outputs: number): { chunks: number; kChunk: number } {
    const wanted = Math.max(1, Math.min(64, Math.floor(K / 256), Math.floor((1 << 20) / outputs)));
    const kChunk = Math.ceil(K / wanted / 16) * 16;
    return { chunks: ceilDiv(K, kChunk), kChunk };
  }

  /** The epilogue that writes a gradient into `to`: GELU′ where `to` is a GELU's output. */
  private gradTarget(to: Act): { C: GPUBuffer; X?: GPUBuffer; epilogue: 'none' | 'geluGrad' } {
    return to.geluPre ? { C: this.gradOf(to), X: to.geluPre, epilogue: 'geluGrad' } : { C: this.gradOf(to), epilogue: 'none' };
  }

  /** rows × cin → rows × cout, with bias; optionally GELU after, a residual added, SiLU on the input. */
  private linear(label: string, x: Act, rows: number, cin: number, cout: number, name: string,
    opts: { gelu?: boolean; residual?: Act; siluInput?: boolean; siluGrad?: GPUBuffer; outStride?: number; weightShape?: number[] } = {}): Act {
    const stride = opts.outStride ?? cout;
    const w = this.param(`${name}.weight`, opts.weightShape ?? [cin, cout]);
    const b = this.param(`${name}.bias`, [cout]);
    if (b.offset !== w.offset + w.size) throw new Error(`internal: ${name}'s bias does not follow its weight`);
    const pre = opts.gelu ? this.buffer(rows * cout) : undefined;
    const grad = opts.residual ? opts.residual.grad : 'new';
    const y: Act = { ...this.act(rows * stride, grad), geluPre: pre };
    const epilogue = opts.gelu ? 'biasGelu' : opts.residual ? 'biasResidual' : 'bias';
    this.fwd(this.gemm(`${label} forward`, { a: 'dense', b: 'dense', epilogue, siluA: opts.siluInput },
      { M: rows, N: cout, K: cin, aSi: cin, aSk: 1, bOff: w.offset, bSk: cout, bSj: 1, cSi: stride, cSj: 1, biasOff: b.offset },
      { A: x.buf, B: this.prm, C: y.buf, bias: this.prm, X: pre ?? opts.residual?.buf }));
    this.backLater(() => {
      const outputs = (cin + 1) * cout;
      const { chunks, kChunk } = this.splitK(rows, outputs);
      const region = this.partials(chunks * outputs);
      w.part = { base: region.base, count: chunks, stride: outputs };
      b.part = { base: region.base + cin * cout, count: chunks, stride: outputs };
      return () => {
      const dy = this.gradOf(y);
      // The input's gradient (to SiLU's output where the input went through SiLU).
      let dgrad: Op | null = null;
      if (opts.siluInput) {
        dgrad = this.gemm(`${label} input gradient`, { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
          { M: rows, N: cin, K: cout, aSi: stride, aSk: 1, bOff: w.offset, bSk: 1, bSj: cout, cSi: cin, cSj: 1 },
          { A: dy, B: this.prm, C: opts.siluGrad! });
      } else if (x.grad) {
        const t = this.gradTarget(x);
        dgrad = this.gemm(`${label} input gradient`, { a: 'dense', b: 'dense', epilogue: t.epilogue, accumulate: true },
          { M: rows, N: cin, K: cout, aSi: stride, aSk: 1, bOff: w.offset, bSk: 1, bSj: cout, cSi: cin, cSj: 1 },
          { A: dy, B: this.prm, C: t.C, X: t.X });
      }
      // Weight and bias together: rows cin of xᵀ·dy, and a row of ones for the bias.
      const wgrad = this.gemm(`${label} weight gradient`, { a: 'dense', b: 'dense', epilogue: 'none', onesRow: true, siluA: opts.siluInput },
        { M: cin + 1, N: cout, K: rows, aRows: cin, aSi: 1, aSk: cin, bSk: stride, bSj: 1, cOff: region.base, cSi: cout, cSj: 1, chunks, kChunk, partStride: outputs },
        { A: x.buf, B: dy, C: this.part });
      return [dgrad, wgrad];
      };
    });
    return y;
  }

  /**
   * Backward ops need the partial arena, whose size is known only once the whole step is planned:
   * each layer registers `reserve`, which lays out its partial gradients and returns the maker of
   * its backward ops. Reserves run in forward order after planning, makers in reverse.
   */
  private backLater(reserve: () => () => (Op | null)[]): void {
    this.reserves.push(reserve);
  }
  private readonly reserves: (() => () => (Op | null)[])[] = [];

  // ---- Layers --------------------------------------------------------------------------------

  private conv3x3(label: string, x: Act, n: number, hw: number, cin: number, cout: number, name: string, inOffset = 0): Act {
    const w = this.param(`${name}.weight`, [3, 3, cin, cout]);
    const pixels = n * hw * hw;
    const y = this.act(pixels * cout);
    const geometry = { H: hw, W: hw };
    this.fwd(this.gemm(`${label} forward`, { a: 'conv', b: 'dense', epilogue: 'none' },
      { M: pixels, N: cout, K: 9 * cin, ...geometry, Cc: cin, aOff: inOffset, bOff: w.offset, bSk: cout, bSj: 1, cSi: cout, cSj: 1 },
      { A: x.buf, B: this.prm, C: y.buf }));
    this.backLater(() => {
      const outputs = 9 * cin * cout;
      const { chunks, kChunk } = this.splitK(pixels, outputs);
      const region = this.partials(chunks * outputs);
      w.part = { base: region.base, count: chunks, stride: outputs };
      return () => {
      const dy = this.gradOf(y);
      let dgrad: Op | null = null;
      if (x.grad) {
        const t = this.gradTarget(x);
        dgrad = this.gemm(`${label} input gradient`, { a: 'convFlip', b: 'convT', epilogue: t.epilogue, accumulate: true },
          { M: pixels, N: cin, K: 9 * cout, ...geometry, Cc: cout, bOff: w.offset, cSi: cin, cSj: 1 },
          { A: dy, B: this.prm, C: t.C, X: t.X });
      }
      const wgrad = this.gemm(`${label} weight gradient`, { a: 'convPatches', b: 'dense', epilogue: 'none' },
        { M: 9 * cin, N: cout, K: pixels, ...geometry, Cc: cin, aOff: inOffset, bSk: cout, bSj: 1, cOff: region.base, cSi: cout, cSj: 1, chunks, kChunk, partStride: outputs },
        { A: x.buf, B: dy, C: this.part });
      return [dgrad, wgrad];
      };
    });
    return y;
  }

  /**
   * Rows of `len` (a power of two) laid out for the row kernels: min(len, 256) threads a row,
   * several rows a workgroup, and enough rows a workgroup that there are at most about 1,024
   * workgroups (each leaves its own partial sums for the optimizer's pass to add).
   */
  private rowLayout(rows: number, len: number): { params: Record<string, number>; groups: [number, number, number]; workgroups: number } {
    if ((len & (len - 1)) !== 0) throw new Error(`the fused engine's row kernels take power-of-two rows, not ${len}`);
    const lanes = Math.min(len, THREADS);
    const perPass = THREADS / lanes;
    const iters = Math.max(1, Math.ceil(rows / perPass / FusedTrainer.rowWorkgroups));
    const workgroups = ceilDiv(rows, perPass * iters);
    return { params: { rows, len, lanes, iters }, groups: grid(workgroups), workgroups };
  }

  /** LayerNorm of rows of c ≤ 256 values, on the row kernels. */
  private rowNorm(label: string, x: Act, rows: number, c: number, name: string): Act {
    const gamma = this.param(`${name}.weight`, [c]);
    const beta = this.param(`${name}.bias`, [c]);
    const y = this.act(rows * c);
    const stats = this.buffer(2 * rows);
    const layout = this.rowLayout(rows, c);
    const words = (partBase: number) => uniformWords(ROWS_PARAMS, { ...layout.params, gOff: gamma.offset, bOff: beta.offset, eps: NORM_EPS, partBase }, ROWS_FLOATS);
    this.fwd(this.op(`${label} forward`, this.pipeline('rowNorm', rowNormSource), [x.buf, y.buf, this.prm, stats], words(0), layout.groups));
    this.backLater(() => {
      const region = this.partials(layout.workgroups * 2 * c);
      gamma.part = { base: region.base, count: layout.workgroups, stride: 2 * c };
      beta.part = { base: region.base + c, count: layout.workgroups, stride: 2 * c };
      return () => [this.op(`${label} backward`, this.pipeline('rowNormGrad', rowNormGradSource),
        [x.buf, this.gradOf(y), x.grad ? this.gradOf(x) : this.dummyWrite, this.prm, stats, this.part], words(region.base), layout.groups)];
    });
    return y;
  }

  /** GroupNorm(1, C) over each of `groups` groups of `len` values (LayerNorm: len = C). */
  private norm(label: string, x: Act, groups: number, len: number, c: number, name: string, mode: NormMode, aux?: Act, grad?: GradSlot | null): Act {
    if ((c & (c - 1)) !== 0 || c > 1024) throw new Error(`the fused engine normalises power-of-two widths up to 1024, not ${c}`);
    if (len === c && mode === 'plain' && c <= THREADS && grad === undefined) return this.rowNorm(label, x, groups, c, name);
    const gamma = this.param(`${name}.weight`, [c]);
    const beta = this.param(`${name}.bias`, [c]);
    const y = this.act(groups * len, grad === undefined ? 'new' : grad);
    const stats = this.buffer(2 * groups);
    // Small groups (LayerNorm rows) share a workgroup; an image's group has one to itself.
    const spw = mode === 'embed' ? 1 : Math.max(1, Math.min(64, Math.floor(4096 / len)));
    const workgroups = ceilDiv(groups, spw);
    const lanes = Math.min(c, THREADS);
    const params = uniformWords(NORM_PARAMS, { len, C: c, spw, groups, gOff: gamma.offset, bOff: beta.offset, eps: NORM_EPS, lanes }, ['eps']);
    this.fwd(this.op(`${label} forward`, this.pipeline(`norm:${mode}`, () => normSource(mode)),
      [x.buf, y.buf, this.prm, stats, aux?.buf ?? this.dummyRead], params, [workgroups, 1, 1]));
    this.backLater(() => {
      const region = this.partials(workgroups * 2 * c);
      gamma.part = { base: region.base, count: workgroups, stride: 2 * c };
      beta.part = { base: region.base + c, count: workgroups, stride: 2 * c };
      return () => {
      const dres = mode === 'residual' ? this.gradOf(aux!) : mode === 'embed' ? this.gradOf(aux!) : this.dummyWrite2;
      const dx = x.grad ? this.gradOf(x) : this.dummyWrite;
      return [this.op(`${label} backward`, this.pipeline(`normGrad:${mode}`, () => normGradSource(mode)),
        [x.buf, this.gradOf(y), dx, this.prm, stats, mode === 'residual' ? aux!.buf : this.dummyRead, dres, this.part],
        uniformWords(NORM_PARAMS, { len, C: c, spw, groups, gOff: gamma.offset, bOff: beta.offset, eps: NORM_EPS, lanes, partBase: region.base }, ['eps']),
        [workgroups, 1, 1])];
      };
    });
    return y;
  }

  private layoutOp(label: string, key: string, source: () => string, buffers: GPUBuffer[], p: Partial<Record<(typeof LAYOUT_PARAMS)[number], number>>, total: number): Op {
    return this.op(label, this.pipeline(key, source), buffers, uniformWords(LAYOUT_PARAMS, { ...p, total }), grid(ceilDiv(total, THREADS)));
  }

  private maxPool(x: Act, n: number, hw: number, c: number): Act {
    const total = n * (hw / 2) * (hw / 2) * c;
    const y = this.act(total);
    const p = { n, h: hw, w: hw, c };
    this.fwd(this.layoutOp('max-pool', 'pool', poolSource, [x.buf, y.buf], p, total));
    this.backLater(() => () => [x.grad ? this.layoutOp('max-pool gradient', 'poolGrad', poolGradSource, [x.buf, this.gradOf(y), this.gradOf(x)], p, total) : null]);
    return y;
  }

  /** [skip | upsampled x]: x [n, hw, hw, c] doubled, skip [n, 2hw, 2hw, c2]. */
  private upConcat(x: Act, skip: Act, n: number, hw: number, c: number, c2: number): Act {
    const total = n * 4 * hw * hw * (c + c2);
    const y = this.act(total);
    const p = { n, h: hw, w: hw, c, c2 };
    this.fwd(this.layoutOp('upsample and concatenate', 'upConcat', upConcatSource, [skip.buf, x.buf, y.buf], p, total));
    this.backLater(() => () => [
      this.layoutOp('skip gradient', 'skipGrad', skipGradSource, [this.gradOf(y), this.gradOf(skip)], p, n * 4 * hw * hw * c2),
      this.layoutOp('upsample gradient', 'upGrad', upGradSource, [this.gradOf(y), this.gradOf(x)], p, n * hw * hw * c),
    ]);
    return y;
  }

  /** conv → GN → GELU → conv → GN; GELU(x + ·) when residual; + the time embedding when given. */
  private doubleConv(name: string, x: Act, n: number, hw: number, cin: number, cout: number, mid: number, opts: { residual?: boolean; embed?: Act } = {}): Act {
    const len = hw * hw;
    const h1 = this.conv3x3(`${name} conv 1`, x, n, hw, cin, mid, `${name}.double_conv.0`);
    const a1 = this.norm(`${name} norm 1`, h1, n, len * mid, mid, `${name}.double_conv.1`, 'gelu');
    const h2 = this.conv3x3(`${name} conv 2`, a1, n, hw, mid, cout, `${name}.double_conv.3`);
    if (opts.residual) return this.norm(`${name} norm 2`, h2, n, len * cout, cout, `${name}.double_conv.4`, 'residual', x);
    if (opts.embed) return this.norm(`${name} norm 2`, h2, n, len * cout, cout, `${name}.double_conv.4`, 'embed', opts.embed);
    return this.norm(`${name} norm 2`, h2, n, len * cout, cout, `${name}.double_conv.4`, 'plain');
  }

  private attention(name: string, x: Act, n: number, hw: number, c: number, heads: number): Act {
    const L = hw * hw;
    const rows = n * L;
    const d = c / heads;
    const ln1 = this.norm(`${name} norm 1`, x, rows, c, c, `${name}.ln`, 'plain');
    const qkv = this.linear(`${name} q, k, v`, ln1, rows, c, 3 * c, `${name}.mha.in_proj`);
    const scores = this.act(n * heads * L * L);
    const probs = this.act(n * heads * L * L, scores.grad);
    const headsOf = { nb2: heads };
    const qkvRows = { aSb1: L * 3 * c, aSb2: d, aSi: 3 * c, aSk: 1 };
    const square = { cSb1: heads * L * L, cSb2: L * L, cSi: L, cSj: 1 };
    const alpha = 1 / Math.sqrt(d);
    this.fwd(this.gemm(`${name} scores`, { a: 'dense', b: 'dense', epilogue: 'none' },
      { M: L, N: L, K: d, ...headsOf, ...qkvRows, bOff: c, bSb1: L * 3 * c, bSb2: d, bSk: 1, bSj: 3 * c, ...square, alpha },
      { A: qkv.buf, B: qkv.buf, C: scores.buf }, n * heads));
    this.backLater(() => () => {
      const dqkv = this.gradOf(qkv);
      const ds = this.gradOf(scores);
      return [
        // dQ = dS·K and dK = dSᵀ·Q (dS already carries the scale), into their slices of dqkv.
        this.gemm(`${name} query gradient`, { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
          { M: L, N: d, K: L, ...headsOf, aSb1: heads * L * L, aSb2: L * L, aSi: L, aSk: 1, bOff: c, bSb1: L * 3 * c, bSb2: d, bSk: 3 * c, bSj: 1,
            cOff: 0, cSb1: L * 3 * c, cSb2: d, cSi: 3 * c, cSj: 1 },
          { A: ds, B: qkv.buf, C: dqkv }, n * heads),
        this.gemm(`${name} key gradient`, { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
          { M: L, N: d, K: L, ...headsOf, aSb1: heads * L * L, aSb2: L * L, aSi: 1, aSk: L, bOff: 0, bSb1: L * 3 * c, bSb2: d, bSk: 3 * c, bSj: 1,
            cOff: c, cSb1: L * 3 * c, cSb2: d, cSi: 3 * c, cSj: 1 },
          { A: ds, B: qkv.buf, C: dqkv }, n * heads),
      ];
    });
    const rows_ = this.rowLayout(n * heads * L, L);
    const rowsParams = uniformWords(ROWS_PARAMS, { ...rows_.params, alpha }, ROWS_FLOATS);
    this.fwd(this.op(`${name} softmax`, this.pipeline('softmax', softmaxSource), [scores.buf, probs.buf], rowsParams, rows_.groups));
    // The gradient of the probabilities becomes the scores' in place (scores and probabilities share it).
    this.backLater(() => () => [this.op(`${name} softmax gradient`, this.pipeline('softmaxGrad', softmaxGradSource), [probs.buf, this.gradOf(probs)], rowsParams, rows_.groups)]);
    const o = this.act(rows * c);
    const oHeads = { cSb1: L * c, cSb2: d, cSi: c, cSj: 1 };
    this.fwd(this.gemm(`${name} attention output`, { a: 'dense', b: 'dense', epilogue: 'none' },
      { M: L, N: d, K: L, ...headsOf, aSb1: heads * L * L, aSb2: L * L, aSi: L, aSk: 1, bOff: 2 * c, bSb1: L * 3 * c, bSb2: d, bSk: 3 * c, bSj: 1, ...oHeads },
      { A: probs.buf, B: qkv.buf, C: o.buf }, n * heads));
    this.backLater(() => () => {
      const dO = this.gradOf(o);
      return [
        // dP = dO·Vᵀ and dV = Pᵀ·dO.
        this.gemm(`${name} probability gradient`, { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
          { M: L, N: L, K: d, ...headsOf, aSb1: L * c, aSb2: d, aSi: c, aSk: 1, bOff: 2 * c, bSb1: L * 3 * c, bSb2: d, bSk: 1, bSj: 3 * c, ...square },
          { A: dO, B: qkv.buf, C: this.gradOf(probs) }, n * heads),
        this.gemm(`${name} value gradient`, { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
          { M: L, N: d, K: L, ...headsOf, aSb1: heads * L * L, aSb2: L * L, aSi: 1, aSk: L, bSb1: L * c, bSb2: d, bSk: c, bSj: 1,
            cOff: 2 * c, cSb1: L * 3 * c, cSb2: d, cSi: 3 * c, cSj: 1 },
          { A: probs.buf, B: dO, C: this.gradOf(qkv) }, n * heads),
      ];
    });
    const a = this.linear(`${name} out-projection`, o, rows, c, c, `${name}.mha.out_proj`, { residual: x });
    const ln2 = this.norm(`${name} norm 2`, a, rows, c, c, `${name}.ff_self.0`, 'plain');
    const f1 = this.linear(`${name} feed-forward 1`, ln2, rows, c, c, `${name}.ff_self.1`, { gelu: true });
    return this.linear(`${name} feed-forward 2`, f1, rows, c, c, `${name}.ff_self.3`, { residual: a });
  }

  /**
   * The style encoder over each reference slot (three conv → GroupNorm → GELU → max-pool stages,
   * a mean over pixels, a linear map to the code), then each sample's mean code as its style row:
   * the codes carry a column of ones, so the averaging matrix gives [code, 1] for a sample with
   * references and zeros for one without.
   */
  private styleRowsFromReferences(n: number): { buf: GPUBuffer; off: number; act: Act } {
    const { size, channels } = this.model.shape;
    const dim = this.styleDim;
    const R = this.refSlots;
    const L = this.layout;
    const w = Math.max(8, this.model.preset.width);
    // The references as an input of their own: a view of the batch buffer is no tensor here, so
    // the first convolution reads the batch buffer at the references' offset.
    let x: Act = { buf: this.batchBuf, size: R * this.per, grad: null };
    let hw = size;
    let cin = channels;
    for (const [stage, cout] of [['stage1', w], ['stage2', 2 * w], ['stage3', 4 * w]] as const) {
      const h = this.conv3x3(`style ${stage} conv`, x, R, hw, cin, cout, `style_enc.${stage}.conv`, x.buf === this.batchBuf ? L.refs : 0);
      const a = this.norm(`style ${stage} norm`, h, R, hw * hw * cout, cout, `style_enc.${stage}.norm`, 'gelu');
      x = this.maxPool(a, R, hw, cout);
      hw /= 2;
      cin = cout;
    }
    // Mean over the remaining pixels: per reference, 1·f/P (a one-row product).
    const P = hw * hw;
    const c = 4 * w;
    const pooled = this.act(R * c);
    const f = x;
    this.fwd(this.gemm('style mean over pixels', { a: 'dense', b: 'dense', epilogue: 'none', onesRow: true },
      { M: 1, N: c, K: P, aRows: 0, bSb1: P * c, bSk: c, bSj: 1, cSb1: c, cSi: c, cSj: 1, alpha: 1 / P },
      { A: this.dummyRead, B: f.buf, C: pooled.buf }, R));
    this.backLater(() => () => [this.gemm('style mean gradient', { a: 'dense', b: 'dense', epilogue: 'none', onesRow: true, accumulate: true },
      { M: P, N: c, K: 1, aRows: 0, bSb1: c, bSk: 0, bSj: 1, cSb1: P * c, cSi: c, cSj: 1, alpha: 1 / P },
      { A: this.dummyRead, B: this.gradOf(pooled), C: this.gradOf(f) }, R)]);
    const codes = this.linear('style code', pooled, R, c, dim, 'style_enc.out', { outStride: dim + 1 });
    const ones = new Float32Array(R * (dim + 1));
    for (let r = 0; r < R; r++) ones[r * (dim + 1) + dim] = 1;
    this.device.queue.writeBuffer(codes.buf, 0, ones);
    const rows = this.act(n * (dim + 1));
    this.fwd(this.gemm('style rows', { a: 'dense', b: 'dense', epilogue: 'none' },
      { M: n, N: dim + 1, K: R, aOff: L.mean, aSi: R, aSk: 1, bSk: dim + 1, bSj: 1, cSi: dim + 1, cSj: 1 },
      { A: this.batchBuf, B: codes.buf, C: rows.buf }));
    this.backLater(() => () => [this.gemm('style codes gradient', { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
      { M: R, N: dim + 1, K: n, aOff: L.mean, aSi: 1, aSk: R, bSk: dim + 1, bSj: 1, cSi: dim + 1, cSj: 1 },
      { A: this.batchBuf, B: this.gradOf(rows), C: this.gradOf(codes) })]);
    return { buf: rows.buf, off: 0, act: rows };
  }

  // ---- The network -----------------------------------------------------------------------------

  private build(T: number): void {
    const { size, channels, classes } = this.model.shape;
    const preset = this.model.preset;
    const W = preset.width;
    const n = this.batch;
    const L = this.layout;

    // Noising: x_t = √ᾱ·x₀ + √(1−ᾱ)·ε.
    const xt = this.act(n * this.per, null);
    this.input = xt.buf;
    const batchParams = uniformWords(BATCH_PARAMS, { n, per: this.per, x0: L.x0, eps: L.eps, sa: L.sa, sb: L.sb, w: L.w, vpred: this.recipe.prediction === 'v' ? 1 : 0, total: n * this.per });
    if (this.mode === 'train') this.fwd(this.op('noising', this.pipeline('noise', noiseSource), [this.batchBuf, xt.buf], batchParams, grid(ceilDiv(n * this.per, THREADS))));

    // A style model's style rows [code, 1] (or zeros): in training from its references through
    // the style encoder, in drawing as given.
    const dim = this.styleDim;
    const styleRows: { buf: GPUBuffer; off: number; act: Act | null } | null =
      dim === 0 ? null : this.mode === 'train' ? this.styleRowsFromReferences(n) : { buf: this.batchBuf, off: L.style, act: null };

    // Time: the sinusoidal encoding (written with the batch) + one-hot · label_emb (+ style rows · style_emb).
    const labelEmb = this.param('label_emb.weight', [classes, T]);
    const time = this.act(n * T);
    this.fwd(this.gemm('time embedding', { a: 'dense', b: 'dense', epilogue: 'residual' },
      { M: n, N: T, K: classes, aOff: L.onehot, aSi: classes, aSk: 1, bOff: labelEmb.offset, bSk: T, bSj: 1, cSi: T, cSj: 1, xOff: L.tenc },
      { A: this.batchBuf, B: this.prm, C: time.buf, X: this.batchBuf }));
    this.backLater(() => {
      const region = this.partials(classes * T);
      labelEmb.part = { base: region.base, count: 1, stride: classes * T };
      return () => [this.gemm('label embedding gradient', { a: 'dense', b: 'dense', epilogue: 'none' },
        { M: classes, N: T, K: n, aOff: L.onehot, aSi: 1, aSk: classes, bSk: T, bSj: 1, cOff: region.base, cSi: T, cSj: 1 },
        { A: this.batchBuf, B: this.gradOf(time), C: this.part })];
    });
    if (styleRows) {
      const styleEmb = this.param('style_emb.weight', [dim + 1, T]);
      this.fwd(this.gemm('style embedding', { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
        { M: n, N: T, K: dim + 1, aOff: styleRows.off, aSi: dim + 1, aSk: 1, bOff: styleEmb.offset, bSk: T, bSj: 1, cSi: T, cSj: 1 },
        { A: styleRows.buf, B: this.prm, C: time.buf }));
      this.backLater(() => {
        const region = this.partials((dim + 1) * T);
        styleEmb.part = { base: region.base, count: 1, stride: (dim + 1) * T };
        return () => [
          this.gemm('style embedding gradient', { a: 'dense', b: 'dense', epilogue: 'none' },
            { M: dim + 1, N: T, K: n, aOff: styleRows.off, aSi: 1, aSk: dim + 1, bSk: T, bSj: 1, cOff: region.base, cSi: T, cSj: 1 },
            { A: styleRows.buf, B: this.gradOf(time), C: this.part }),
          styleRows.act
            ? this.gemm('style rows gradient', { a: 'dense', b: 'dense', epilogue: 'none', accumulate: true },
                { M: n, N: dim + 1, K: T, aSi: T, aSk: 1, bOff: styleEmb.offset, bSk: 1, bSj: T, cSi: dim + 1, cSj: 1 },
                { A: this.gradOf(time), B: this.prm, C: this.gradOf(styleRows.act) })
            : null,
        ];
      });
    }
    // The blocks' projections read SiLU(time); their input gradients meet in dSiLU first.
    const dSilu = this.buffer(n * T);
    this.gradBuffers.push(dSilu);
    this.backLater(() => () => [this.layoutOp('time SiLU gradient', 'siluGrad', siluGradSource, [time.buf, dSilu, this.gradOf(time)], {}, n * T)]);
    const embed = (scope: string, cout: number): Act =>
      this.linear(`${scope} time projection`, time, n, T, cout, `${scope}.emb_layer.1`, { siluInput: true, siluGrad: dSilu });

    const hasAttention = (res: number) => preset.attention.includes((res * 32) / size);
    const attn = (name: string, x: Act, hw: number, c: number) => (hasAttention(hw) ? this.attention(name, x, n, hw, c, preset.heads) : x);
    const down = (name: string, x: Act, hw: number, cin: number, cout: number): Act => {
      const e = embed(name, cout);
      const pooled = this.maxPool(x, n, hw, cin);
      const h = this.doubleConv(`${name}.maxpool_conv.1`, pooled, n, hw / 2, cin, cin, cin, { residual: true });
      return this.doubleConv(`${name}.maxpool_conv.2`, h, n, hw / 2, cin, cout, cout, { embed: e });
    };
    const up = (name: string, x: Act, skip: Act, hw: number, cx: number, cskip: number, cout: number): Act => {
      const e = embed(name, cout);
      const cat = this.upConcat(x, skip, n, hw, cx, cskip);
      const cin = cx + cskip;
      const h = this.doubleConv(`${name}.conv.0`, cat, n, 2 * hw, cin, cin, cin, { residual: true });
      return this.doubleConv(`${name}.conv.1`, h, n, 2 * hw, cin, cout, cin / 2, { embed: e });
    };

    const s = size;
    const x1 = this.doubleConv('inc', xt, n, s, channels, W, W);
    const x2 = attn('sa1', down('down1', x1, s, W, 2 * W), s / 2, 2 * W);
    const x3 = attn('sa2', down('down2', x2, s / 2, 2 * W, 4 * W), s / 4, 4 * W);
    let x4 = attn('sa3', down('down3', x3, s / 4, 4 * W, 4 * W), s / 8, 4 * W);
    const bottleneck: [string, number, number][] = preset.deep
      ? [['bot1', 4 * W, 8 * W], ['bot2', 8 * W, 8 * W], ['bot3', 8 * W, 4 * W]]
      : [['bot1', 4 * W, 4 * W], ['bot2', 4 * W, 4 * W]];
    for (const [name, cin, cout] of bottleneck) x4 = this.doubleConv(name, x4, n, s / 8, cin, cout, cout);
    let h = attn('sa4', up('up1', x4, x3, s / 8, 4 * W, 4 * W, 2 * W), s / 4, 2 * W);
    h = attn('sa5', up('up2', h, x2, s / 4, 2 * W, 2 * W, W), s / 2, W);
    h = attn('sa6', up('up3', h, x1, s / 2, W, W, W), s, W);

    // The 1×1 output convolution as a linear layer over pixels.
    const out = this.linear('output convolution', h, n * s * s, W, channels, 'outc', { weightShape: [1, 1, W, channels] });
    this.output = out;
    if (this.mode === 'forward') return;

    // The loss: its per-sample values and the output's gradient (written, not added).
    const dOut = this.gradOf(out);
    this.fwd(this.op('loss', this.pipeline('loss', lossSource), [this.batchBuf, out.buf, dOut, this.lossBuf], batchParams, [n, 1, 1]));

    // The partial arena's layout, then the backward ops in reverse.
    const makers = this.reserves.map((reserve) => reserve());
    for (const slot of this.slotList) if (!slot.part) throw new Error(`internal: the fused engine's step leaves ${slot.name} without a gradient`);
    this.part = this.buffer(Math.max(1, this.partFloats));
    for (const make of makers.reverse()) for (const o of make()) if (o) this.ops.push(o);

    const desc = new Uint32Array(this.slotList.length * DESCRIPTOR_WORDS);
    this.slotList.forEach((slot, i) => desc.set([slot.offset, slot.size, slot.part!.base, slot.part!.count, slot.part!.stride], i * DESCRIPTOR_WORDS));
    const descBuf = this.create({ size: desc.byteLength, usage: STORAGE | COPY_DST });
    this.device.queue.writeBuffer(descBuf, 0, desc);
    const adam = this.pipeline('adamw', adamwSource);
    const entries: GPUBindGroupEntry[] = [this.prm, this.m, this.v, this.ema, this.grads, this.part, descBuf, this.adamUniform].map((buffer, binding) => ({ binding, resource: { buffer } }));
    this.ops.push({ label: 'AdamW and EMA', pipeline: adam, bind: this.device.createBindGroup({ layout: adam.getBindGroupLayout(0), entries }), groups: grid(ceilDiv(this.total, THREADS)) });
  }
}
