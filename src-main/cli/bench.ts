// `fontloom bench`: training images/s and forward time for a preset, per backend, measured on
// random data with the same step the trainer runs. Figures, never assertions.
import * as tf from '@tensorflow/tfjs-core';
import { defaultEngines, initBackend } from '../engine/runtime/backend.ts';
import { BACKEND_NAMES, DEFAULT_SAMPLE, type BackendChoice, type BackendName } from '../contract/api.ts';
import { defaultTrainConfig, getPreset, STYLE_DEFAULTS } from '../contract/presets.ts';
import { repeatCode, styleOf } from '../engine/style.ts';
import { Trainer } from '../engine/train.ts';
import { randomTrainingData } from '../engine/runtime/measure.ts';
import { oneHot, parameterCount } from '../engine/unet.ts';
import { sampleImages } from '../engine/diffusion.ts';
import { EngineWorker, sampleOnTwoEngines } from '../engine/runtime/parallel.ts';
import { writeFileAtomic } from '../atomic.ts';
import { FusedTrainer } from '../engine/gpu/fused.ts';

export interface BenchRow {
  backend: BackendName;
  adapter: string | null;
  preset: string;
  batch: number;
  /** Engines (wasm/cpu): 2 with an engine worker, each wasm engine with half the cores as XNNPACK threads (see adapter); 1 with them all. */
  threads: number;
  params: number | null;
  train_ms_per_step: number | null;
  train_img_per_s: number | null;
  forward_ms: number | null;
  /** A–Z sheet (26 letters, CFG batched to 52 rows) with DDIM 50 steps, measured whole. */
  sheet_ddim50_s?: number;
  /** The same sheet drawn on two engines (wasm/cpu with 2 threads), the second engine's start-up included. */
  sheet_ddim50_two_engines_s?: number;
  /** The same with DDPM's 999 steps, extrapolated from the per-step time of `sheet_ddpm_steps_timed` steps. */
  sheet_ddpm1000_s?: number;
  sheet_ddpm_steps_timed?: number;
  /** One alphabet of a style model of the same preset (26 glyphs in one style, read from 4 glyphs), DDIM 50, measured whole. */
  alphabet_ddim50_s?: number;
  alphabet_ddim50_two_engines_s?: number;
  /** webgpu: which engine trained, Fontloom's fused one or tfjs's kernels (FONTLOOM_FUSED=0). */
  engine?: 'fused' | 'tfjs';
  /** webgpu: compute dispatches (fused) or tfjs kernels (tfjs) in one training step. */
  train_dispatches_per_step?: number;
  /** webgpu: the same for one forward pass of the network. */
  forward_dispatches?: number;
  /** webgpu: GPU buffers created per training step after the warm-up step. */
  train_buffers_created_per_step?: number;
  /** webgpu, fused: host milliseconds to write the batch, encode and submit a step (median of the timed steps). */
  train_encode_ms?: number;
  /** webgpu, fused: GPU milliseconds of a step's compute pass (median), where the adapter has timestamp queries (else null). */
  train_gpu_ms?: number | null;
  error?: string;
}

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

/** Kernel times of one call, summed per kernel, largest first. */
async function profileKernels(work: () => tf.Tensor): Promise<KernelTime[]> {
  const info = await tf.profile(async () => {
    const out = work();
    await out.data();
    out.dispose();
  });
  const byKernel = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    // customGrad's scopes ("forward", "unnamed scope") time the kernels inside them again.
    if (k.name === 'forward' || k.name === 'unnamed scope') continue;
    const row = byKernel.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
    row.ms += Number(k.kernelTimeMs) || 0;
    row.calls += 1;
    byKernel.set(k.name, row);
  }
  return [...byKernel.values()].map((r) => ({ ...r, ms: round1(r.ms) })).sort((a, b) => b.ms - a.ms);
}

/**
 * What a webgpu training step costs the host: for the fused engine its planned dispatches, the
 * buffers its steps made, encoding time and GPU time; for tfjs's kernels, the kernels of one
 * step (tf.profile) and the buffers tfjs's device made during it.
 */
async function webgpuCounts(trainer: Trainer, batch: number, steps: number, buffersBefore: number, encode: number[], gpu: number[]): Promise<Partial<BenchRow>> {
  // Medians: a garbage collection in one timed step says nothing about encoding.
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  if (trainer.fused) {
    return {
      engine: 'fused',
      train_dispatches_per_step: trainer.fused.counts.dispatches,
      forward_dispatches: trainer.fused.counts.forwardDispatches,
      train_buffers_created_per_step: (trainer.fused.buffersCreated - buffersBefore) / steps,
      train_encode_ms: Math.round(median(encode) * 100) / 100,
      train_gpu_ms: gpu.length ? Math.round(median(gpu) * 100) / 100 : null,
    };
  }
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const create = device.createBuffer.bind(device);
  let made = 0;
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    made += 1;
    return create(desc);
  };
  try {
    const kernels = async (work: () => Promise<unknown>) => {
      const info = await tf.profile(async () => {
        await work();
        return [];
      });
      return info.kernels.filter((k) => k.name !== 'forward' && k.name !== 'unnamed scope').length;
    };
    const train = await kernels(() => trainer.trainStep());
    const madeInStep = made;
    const x = tf.randomNormal([batch, 32, 32, 1]) as tf.Tensor4D;
    const classes = oneHot(Array.from({ length: batch }, (_, i) => i % 26), 26);
    const t = Array.from({ length: batch }, (_, i) => 1 + ((i * 37) % 999));
    const forward = await kernels(async () => {
      const y = tf.tidy(() => trainer.model.apply(x, t, classes));
      await y.data();
      y.dispose();
    });
    tf.dispose([x, classes]);
    return { engine: 'tfjs', train_dispatches_per_step: train, forward_dispatches: forward, train_buffers_created_per_step: madeInStep };
  } finally {
    device.createBuffer = create;
  }
}

export interface BenchOptions {
  steps: number;
  threads: number;
  sheets: boolean;
  profile: boolean;
  /** Measure training steps of a style model (`train --style`). */
  style?: boolean;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

async function benchOne(
  backend: BackendName,
  presetName: string,
  batch: number,
  opts: BenchOptions,
): Promise<{ row: BenchRow; profile?: { train: KernelTime[]; forward: KernelTime[] } }> {
  const preset = getPreset(presetName);
  const row: BenchRow = { backend, adapter: null, preset: preset.name, batch, threads: 1, params: null, train_ms_per_step: null, train_img_per_s: null, forward_ms: null };
  let trainer: Trainer | null = null;
  let profile: { train: KernelTime[]; forward: KernelTime[] } | undefined;
  try {
    const info = await initBackend(backend, { engines: opts.threads > 1 ? 2 : 1 });
    row.adapter = info.adapter;
    const data = randomTrainingData(batch, 26, 32, 1);
    trainer = new Trainer(defaultTrainConfig(preset.name, { steps: 1000, batch, ...(opts.style && { style: STYLE_DEFAULTS }) }), data);
    row.params = parameterCount(trainer.model);
    if (opts.threads > 1 && (backend === 'wasm' || backend === 'cpu')) await trainer.startWorker(backend);
    row.threads = trainer.threads;
    await trainer.trainStep(); // warm-up: kernels compile, buffers allocate
    const buffersBefore = trainer.fused?.buffersCreated ?? 0;
    const encode: number[] = [];
    const gpu: number[] = [];
    let t0 = performance.now();
    for (let i = 0; i < opts.steps; i++) {
      await trainer.trainStep();
      if (trainer.fused) encode.push(trainer.fused.lastEncodeMs);
      if (trainer.fused?.lastGpuMs != null) gpu.push(trainer.fused.lastGpuMs);
    }
    const ms = (performance.now() - t0) / opts.steps;
    row.train_ms_per_step = round1(ms);
    row.train_img_per_s = round1((batch * 1000) / ms);
    if (backend === 'webgpu') Object.assign(row, await webgpuCounts(trainer, batch, opts.steps, buffersBefore, encode, gpu));
    await trainer.sync();
    const model = trainer.model;
    const x = tf.randomNormal([batch, 32, 32, 1]) as tf.Tensor4D;
    const classes = oneHot(Array.from({ length: batch }, (_, i) => i % 26), 26);
    const t = Array.from({ length: batch }, (_, i) => 1 + ((i * 37) % 999));
    const fusedForward = trainer.fused ? new FusedTrainer(trainer.fused.device, model, trainer.diffusion.schedule, trainer.config.recipe, batch, { beta: 0, start: 0 }, 'forward') : null;
    if (fusedForward) await fusedForward.load(model, model);
    const xHost = fusedForward ? ((await x.data()) as Float32Array) : null;
    const labels = Array.from({ length: batch }, (_, i) => i % 26);
    const forward = async () => {
      if (fusedForward) {
        await fusedForward.forward(xHost!, t, labels);
        return;
      }
      const y = tf.tidy(() => model.apply(x, t, classes));
      await y.data();
      y.dispose();
    };
    await forward();
    t0 = performance.now();
    for (let i = 0; i < opts.steps; i++) await forward();
    row.forward_ms = round1((performance.now() - t0) / opts.steps);
    fusedForward?.dispose();
    if (opts.profile) {
      const variables = [...model.variables.values()];
      profile = {
        train: await profileKernels(() => tf.tidy(() => tf.variableGrads(() => tf.mean(tf.square(model.apply(x, t, classes))) as tf.Scalar, variables).value)),
        forward: await profileKernels(() => tf.tidy(() => model.apply(x, t, classes))),
      };
    }
    tf.dispose([x, classes]);
    if (opts.sheets) {
      const letters = Array.from({ length: 26 }, (_, i) => i);
      t0 = performance.now();
      await sampleImages(trainer.diffusion, letters, DEFAULT_SAMPLE);
      row.sheet_ddim50_s = round1((performance.now() - t0) / 1000);
      if (row.threads > 1 && (backend === 'wasm' || backend === 'cpu')) {
        // As the Generate page draws a sheet: half the rows on a second engine, its start-up included.
        t0 = performance.now();
        const worker = await EngineWorker.start(backend, trainer.diffusion);
        await sampleOnTwoEngines(worker, trainer.diffusion, letters, DEFAULT_SAMPLE);
        await worker.stop();
        row.sheet_ddim50_two_engines_s = round1((performance.now() - t0) / 1000);
      }
      // DDPM's full chain is 999 steps of the same forward pass: time a short chain whole (its
      // last read waits for an asynchronous backend's queue) and scale.
      const timed = 10;
      t0 = performance.now();
      await sampleImages(trainer.diffusion, letters, { ...DEFAULT_SAMPLE, sampler: 'ddpm', steps: timed });
      row.sheet_ddpm1000_s = round1((((performance.now() - t0) / timed) * 999) / 1000);
      row.sheet_ddpm_steps_timed = timed;
      // One alphabet as `fontloom complete` draws it: the style read from four glyphs, then 26
      // letters in it with guidance on letter and style batched as the sheet's (52 rows).
      const styled = new Trainer(defaultTrainConfig(preset.name, { steps: 1000, batch, style: STYLE_DEFAULTS }), data);
      try {
        const alphabet = async (two: boolean) => {
          const start = performance.now();
          const code = await styleOf(styled.model, data.pixels.subarray(0, 4 * 32 * 32), 4);
          const styles = repeatCode(code, 26);
          if (two) {
            const worker = await EngineWorker.start(backend, styled.diffusion);
            await sampleOnTwoEngines(worker, styled.diffusion, letters, DEFAULT_SAMPLE, undefined, styles);
            await worker.stop();
          } else await sampleImages(styled.diffusion, letters, DEFAULT_SAMPLE, undefined, undefined, styles);
          return round1((performance.now() - start) / 1000);
        };
        row.alphabet_ddim50_s = await alphabet(false);
        if (row.sheet_ddim50_two_engines_s !== undefined) row.alphabet_ddim50_two_engines_s = await alphabet(true);
      } finally {
        styled.dispose();
      }
    }
  } catch (err) {
    row.error = (err as Error).message;
  } finally {
    await trainer?.stopWorker();
    trainer?.dispose();
  }
  return { row, profile };
}



export async function runBench(opts: {
  backend?: BackendChoice;
  preset: string;
  batch: number;
  steps: number;
  threads?: number;
  sheets?: boolean;
  style?: boolean;
  profile?: string;
  json?: boolean;
}): Promise<void> {
  // --threads 2: the training layout (two engines, half the cores each); 1: one engine with them all.
  const threads = opts.threads ?? defaultEngines(opts.preset);
  const backends: BackendName[] =
    opts.backend && opts.backend !== 'auto' ? [opts.backend] : opts.backend === 'auto' ? [(await initBackend('auto', { engines: threads > 1 ? 2 : 1 })).name] : [...BACKEND_NAMES];
  const results: BenchRow[] = [];
  const profiles: Array<{ backend: BackendName; preset: string; batch: number; train: KernelTime[]; forward: KernelTime[] }> = [];
  for (const b of backends) {
    process.stderr.write(`bench: ${b} ${opts.preset} batch ${opts.batch}…\n`);
    const { row, profile } = await benchOne(b, opts.preset, opts.batch, { steps: opts.steps, threads, sheets: opts.sheets ?? false, profile: opts.profile !== undefined, style: opts.style ?? false });
    results.push(row);
    if (profile) profiles.push({ backend: b, preset: row.preset, batch: row.batch, ...profile });
  }
  if (opts.profile !== undefined) {
    await writeFileAtomic(opts.profile, Buffer.from(JSON.stringify({ profiles }, null, 1) + '\n'));
    process.stderr.write(`bench: kernel times per backend in ${opts.profile}\n`);
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ results }) + '\n');
    return;
  }
  for (const r of results) {
    process.stdout.write(
      r.error
        ? `${r.backend.padEnd(10)} unavailable: ${r.error}\n`
        : `${r.backend.padEnd(10)} ${r.adapter} — ${r.preset}, batch ${r.batch}, ${r.threads} engine${r.threads === 1 ? "" : "s"}: ${r.train_ms_per_step} ms/step (${r.train_img_per_s} img/s), forward ${r.forward_ms} ms` +
            (r.engine === 'fused'
              ? ` [fused engine: ${r.train_dispatches_per_step} dispatches a step, ${r.forward_dispatches} a forward pass, ${r.train_buffers_created_per_step} buffers made a step, ${r.train_encode_ms} ms to encode${r.train_gpu_ms != null ? `, GPU ${r.train_gpu_ms} ms` : ''}]`
              : r.engine === 'tfjs'
                ? ` [tfjs kernels: ${r.train_dispatches_per_step} a step, ${r.forward_dispatches} a forward pass, ${r.train_buffers_created_per_step} buffers made a step]`
                : '') +
            (r.sheet_ddim50_s !== undefined ? `, A–Z sheet DDIM 50 ${r.sheet_ddim50_s} s${r.sheet_ddim50_two_engines_s !== undefined ? ` (${r.sheet_ddim50_two_engines_s} s on two engines)` : ''}, DDPM 999 ≈${r.sheet_ddpm1000_s} s` : '') +
            (r.alphabet_ddim50_s !== undefined
              ? `; one alphabet in one style (style model) ${r.alphabet_ddim50_s} s = ${(r.alphabet_ddim50_s / r.sheet_ddim50_s!).toFixed(2)}× the sheet` +
                (r.alphabet_ddim50_two_engines_s !== undefined ? ` (${r.alphabet_ddim50_two_engines_s} s on two engines = ${(r.alphabet_ddim50_two_engines_s / r.sheet_ddim50_two_engines_s!).toFixed(2)}×)` : '')
              : '') +
            '\n',
    );
  }
}
