// The fused WebGPU engine against the tfjs reference on the cpu backend: the loss and every
// parameter's gradient of one batch, AdamW and the EMA over several steps, and the step's shape
// (dispatches, buffers made per step). Runs on lavapipe here; CI fails where webgpu is missing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { getPreset, CPU_RECIPE, defaultTrainConfig, REFERENCE_RECIPE, type Recipe } from '../src-main/contract/presets.ts';
import { Trainer, type TrainingData } from '../src-main/engine/train.ts';
import { readCheckpoint } from '../src-main/engine/checkpoint.ts';
import { splitByFont, writeGlyphSet } from '../src-main/data/glyphset.ts';
import { checkpointPath, createRun, loadRun, trainRun } from '../src-main/jobs/run.ts';
import { storeFor } from '../src-main/store/store.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { lossAndGrads, lossWeights, makeDiffusion, sampleImages, type Diffusion, type StepBatch } from '../src-main/engine/diffusion.ts';
import { createUNet, oneHot, parameterCount, type ModelShape, type UNet } from '../src-main/engine/unet.ts';
import { DEFAULT_SAMPLE, type SampleOptions } from '../src-main/contract/api.ts';
import { AdamW } from '../src-main/engine/optim.ts';
import { Ema } from '../src-main/engine/ema.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { FusedTrainer } from '../src-main/engine/gpu/fused.ts';
import { initBackend, webgpuDevice } from '../src-main/engine/runtime/backend.ts';
import { webgpuUnavailable } from './helpers/backends.ts';

let skipReason: string | null = null;
let device: GPUDevice;

beforeAll(async () => {
  skipReason = await webgpuUnavailable();
  if (!skipReason) device = await webgpuDevice();
  await initBackend('cpu');
});

afterAll(async () => {
  await initBackend('cpu');
});

function batchOf(shape: ModelShape, n: number, seed: number, recipe: Recipe): StepBatch {
  const rng = new Rng(seed);
  const per = shape.size * shape.size * shape.channels;
  const x0 = Float32Array.from({ length: n * per }, () => rng.next() * 2 - 1);
  const eps = rng.normal(n * per);
  const t = Int32Array.from({ length: n }, () => rng.int(1, 1000));
  const labels = Int32Array.from({ length: n }, (_, i) => (i === 1 ? -1 : rng.int(0, shape.classes)));
  const weights = lossWeights(makeDiffusion(null as unknown as UNet, recipe).schedule, t, recipe);
  return { n, x0, eps, t, labels, weights };
}

/**
 * The largest pixel difference between glyphs drawn on cpu and on webgpu, where every forward
 * pass must run on the fused engine and the draw must leave no tensors behind. Ends on cpu.
 */
async function cpuAgainstFused(diffusion: Diffusion, labels: number[], opts: SampleOptions, styles?: Float32Array): Promise<number> {
  await initBackend('cpu');
  const onCpu = await sampleImages(diffusion, labels, opts, undefined, undefined, styles);
  await initBackend('webgpu');
  try {
    const passes = FusedTrainer.forwardPasses;
    const tensors = tf.memory().numTensors;
    const onGpu = await sampleImages(diffusion, labels, opts, undefined, undefined, styles);
    expect(FusedTrainer.forwardPasses - passes, 'forward passes on the fused engine').toBe(opts.steps);
    expect(tf.memory().numTensors, 'tensors left by a fused draw').toBe(tensors);
    let worst = 0;
    for (let i = 0; i < onCpu.length; i++) worst = Math.max(worst, Math.abs(onCpu[i] - onGpu[i]));
    return worst;
  } finally {
    await initBackend('cpu');
  }
}

/** Skips the test where webgpu is missing here, saying why (under CI its absence fails instead). */
function skipped(ctx: { skip: () => void }): boolean {
  if (!skipReason) return false;
  console.log(`skipped: ${skipReason}`);
  ctx.skip();
  return true;
}

/**
 * The attention's in-projection bias without its key third: the key bias's true gradient is zero
 * (softmax ignores a constant added to a row), so any two engines step it by Adam-normalised
 * rounding noise, and it starts at zero, so there is no scale to compare against.
 */
function withoutKeyBias(name: string, values: Float32Array): Float32Array {
  if (!name.endsWith('mha.in_proj.bias')) return values;
  const c = values.length / 3;
  return Float32Array.of(...values.subarray(0, c), ...values.subarray(2 * c));
}

/** max |a − b| over max |b|: the error relative to the tensor's scale. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

describe('fused WebGPU engine', () => {
  const shape: ModelShape = { channels: 1, classes: 5, size: 16 };

  const cases = [
    { what: 'v-prediction', recipe: CPU_RECIPE, style: 0 },
    { what: 'ε-prediction', recipe: REFERENCE_RECIPE, style: 0 },
    { what: 'a style model, its references through the style encoder', recipe: CPU_RECIPE, style: 8 },
    // Row kernels (LayerNorm, softmax) with at most 3 workgroups: several passes each, the last ragged.
    { what: 'row kernels in several passes', recipe: CPU_RECIPE, style: 0, rowWorkgroups: 3 },
  ];
  for (const { what, recipe, style, rowWorkgroups } of cases) {
    it(`gives tfjs's loss and gradients for every parameter (${what})`, async (ctx) => {
      if (skipped(ctx)) return;
      const modelShape = style ? { ...shape, style } : shape;
      const model = createUNet(getPreset('micro'), modelShape, 3);
      const diffusion = makeDiffusion(model, recipe);
      const batch = batchOf(shape, 4, 11, recipe);
      if (style) {
        // Samples with 3, 1 and 0 references (the last trains without style), up to 3 a sample.
        const rng = new Rng(9);
        const owner = Int32Array.from([0, 0, 0, 2, 3, 3]);
        batch.refs = { x: Float32Array.from({ length: owner.length * 256 }, () => rng.next() * 2 - 1), owner };
      }
      const ref = tf.tidy(() => lossAndGrads(diffusion, batch));
      const refLoss = (await ref.value.data())[0];
      const saved = FusedTrainer.rowWorkgroups;
      FusedTrainer.rowWorkgroups = rowWorkgroups ?? saved;
      const fused = new FusedTrainer(device, model, diffusion.schedule, recipe, 4, { beta: 0.995, start: 2000 }, 'train', style ? 3 : 0);
      FusedTrainer.rowWorkgroups = saved;
      await fused.load(model, model);
      const loss = await fused.run(batch);
      expect(Math.abs(loss - refLoss) / refLoss).toBeLessThan(1e-4);
      const grads = fused.split(await fused.read('grads'));
      const worst: [string, number][] = [];
      for (const [name, v] of model.variables) {
        const err = relError(grads.get(name)!, await ref.grads[v.name].data());
        worst.push([name, err]);
      }
      worst.sort((a, b) => b[1] - a[1]);
      expect(worst[0][1], `worst: ${worst.slice(0, 3).map(([k, e]) => `${k} ${e.toExponential(2)}`).join(', ')}`).toBeLessThan(1e-4);
      tf.dispose([ref.value, ...Object.values(ref.grads)]);
      model.dispose();
    }, 120_000);
  }

  it("gives the model's forward pass, and draws the sheet tfjs draws on cpu", async (ctx) => {
    if (skipped(ctx)) return;
    const model = createUNet(getPreset('micro'), shape, 8);
    const diffusion = makeDiffusion(model, CPU_RECIPE);
    const batch = batchOf(shape, 6, 21, CPU_RECIPE);
    const x = tf.tensor4d(batch.x0, [6, 16, 16, 1]);
    const rows = tf.tidy(() => oneHot(batch.labels, shape.classes));
    const expected = tf.tidy(() => model.apply(x, batch.t, rows));
    const fused = new FusedTrainer(device, model, diffusion.schedule, CPU_RECIPE, 6, { beta: 0, start: 0 }, 'forward');
    await fused.load(model, model);
    expect(relError(await fused.forward(batch.x0, batch.t, batch.labels), await expected.data())).toBeLessThan(1e-4);
    fused.dispose();
    tf.dispose([x, rows, expected]);

    // uint8 pixels: float rounding may move a pixel across a level boundary, no further.
    expect(await cpuAgainstFused(diffusion, [0, 1, 2, 3, 4], { ...DEFAULT_SAMPLE, steps: 8, seed: 3 })).toBeLessThanOrEqual(1);
    model.dispose();
  }, 120_000);

  it('draws a style model as tfjs does, with one guidance scale and with two', async (ctx) => {
    if (skipped(ctx)) return;
    const model = createUNet(getPreset('micro'), { ...shape, style: 8 }, 12);
    const diffusion = makeDiffusion(model, CPU_RECIPE);
    const rng = new Rng(4);
    const styles = Float32Array.from({ length: 3 * 8 }, () => rng.normal(1)[0]);
    for (const opts of [{ ...DEFAULT_SAMPLE, steps: 5, seed: 1 }, { ...DEFAULT_SAMPLE, steps: 5, seed: 1, styleCfg: 1.5 }]) {
      expect(await cpuAgainstFused(diffusion, [0, 2, 4], opts, styles), `styleCfg ${opts.styleCfg ?? 'as cfg'}`).toBeLessThanOrEqual(1);
    }
    model.dispose();
  }, 120_000);

  it("refuses a plan bigger than the GPU's largest binding, naming it, and leaves the device working", async (ctx) => {
    if (skipped(ctx)) return;
    const model = createUNet(getPreset('micro'), shape, 1);
    const diffusion = makeDiffusion(model, CPU_RECIPE);
    FusedTrainer.bindingLimit = 256 * 1024;
    try {
      // The first buffer over the limit is the flat parameter array.
      const kib = Math.round((Math.ceil((parameterCount(model) * 4) / 16) * 16) / 1024);
      expect(() => new FusedTrainer(device, model, diffusion.schedule, CPU_RECIPE, 4, { beta: 0.995, start: 2000 }))
        .toThrow(`needs a buffer of ${kib} KiB for micro at batch 4, and this GPU binds at most 256 KiB: lower the batch, or set FONTLOOM_FUSED=0`);
      // Drawing does not fail on such a GPU: it goes through tfjs's webgpu kernels instead.
      await initBackend('webgpu');
      const passes = FusedTrainer.forwardPasses;
      const glyphs = await sampleImages(diffusion, [0, 1], { ...DEFAULT_SAMPLE, steps: 3, seed: 2 });
      expect(glyphs.length).toBe(2 * 16 * 16);
      expect(FusedTrainer.forwardPasses).toBe(passes);
    } finally {
      await initBackend('cpu');
      FusedTrainer.bindingLimit = null;
    }
    const fused = new FusedTrainer(device, model, diffusion.schedule, CPU_RECIPE, 4, { beta: 0.995, start: 2000 });
    await fused.load(model, model);
    expect(Number.isFinite(await fused.run(batchOf(shape, 4, 1, CPU_RECIPE)))).toBe(true);
    fused.dispose();
    model.dispose();
  }, 60_000);

  it('takes the same AdamW and EMA steps as the tfjs trainer (the EMA copying, then averaging)', async (ctx) => {
    if (skipped(ctx)) return;
    const recipe = CPU_RECIPE;
    const model = createUNet(getPreset('micro'), shape, 5);
    const ema = createUNet(getPreset('micro'), shape, 5);
    const diffusion = makeDiffusion(model, recipe);
    const fused = new FusedTrainer(device, model, diffusion.schedule, recipe, 4, { beta: 0.9, start: 1 });
    await fused.load(model, ema);
    const optimizer = new AdamW(model.variables);
    const emaUpdater = new Ema(ema.variables, model.variables, 0.9, 1);
    const hyper = [
      { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 },
      { lr: 2e-3, beta1: 0.85, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 },
      { lr: 1e-3, beta1: 0.95, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 },
    ];
    // Each step: the fused step's loss against tfjs's at the same weights, then tfjs's AdamW and
    // EMA given the fused step's own gradients, so the update is compared exactly. (Fed tfjs's
    // gradients instead, Adam's division by √v would turn the last bits of near-zero gradients,
    // such as the key bias's, which is zero in exact arithmetic, into lr-sized differences.)
    for (let step = 0; step < hyper.length; step++) {
      const batch = batchOf(shape, 4, 100 + step, recipe);
      const ref = tf.tidy(() => lossAndGrads(diffusion, batch));
      const refLoss = (await ref.value.data())[0];
      tf.dispose([ref.value, ...Object.values(ref.grads)]);
      const loss = await fused.run(batch, hyper[step]);
      expect(Math.abs(loss - refLoss) / refLoss, `step ${step}'s loss`).toBeLessThan(1e-4);
      const grads = fused.split(await fused.read('grads'));
      const named: Record<string, tf.Tensor> = {};
      for (const [name, v] of model.variables) named[v.name] = tf.tensor(grads.get(name)!, v.shape);
      optimizer.apply(named, hyper[step]);
      emaUpdater.update();
      tf.dispose(Object.values(named));
    }
    expect(fused.step).toBe(3);
    const compare = async (which: 'params' | 'ema' | 'm' | 'v', tensors: Iterable<[string, tf.Tensor]>) => {
      const flat = fused.split(await fused.read(which));
      for (const [name, t] of tensors) expect(relError(flat.get(name)!, await t.data()), `${which} ${name}`).toBeLessThan(1e-4);
    };
    await compare('params', model.variables);
    await compare('ema', ema.variables);
    await compare('m', optimizer.m);
    await compare('v', optimizer.v);
    optimizer.dispose();
    model.dispose();
    ema.dispose();
  }, 120_000);

  it('plans a tiny step of at most 400 dispatches and makes no buffer once planned', async (ctx) => {
    if (skipped(ctx)) return;
    const shape32: ModelShape = { channels: 1, classes: 26, size: 32 };
    const model = createUNet(getPreset('tiny'), shape32, 1);
    const diffusion = makeDiffusion(model, CPU_RECIPE);
    const fused = new FusedTrainer(device, model, diffusion.schedule, CPU_RECIPE, 2, { beta: 0.995, start: 2000 });
    expect(fused.counts.dispatches).toBeLessThanOrEqual(400);
    expect(fused.counts.forwardDispatches).toBeLessThan(fused.counts.dispatches / 2);
    await fused.load(model, model);
    const hyper = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 };
    await fused.run(batchOf(shape32, 2, 1, CPU_RECIPE), hyper);
    const planned = fused.buffersCreated;
    await fused.run(batchOf(shape32, 2, 2, CPU_RECIPE), hyper);
    await fused.run(batchOf(shape32, 2, 3, CPU_RECIPE), hyper);
    expect(fused.buffersCreated).toBe(planned);
    model.dispose();
  }, 120_000);
});

describe('training through the fused engine', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'fontloom-fused-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    await initBackend('cpu');
  });

  // 16-pixel glyphs: lavapipe runs the fused kernels on the CPU, a quarter of the work of 32.
  function syntheticData(fonts: number, seed: number): TrainingData {
    const set = syntheticGlyphSet({ fonts, seed, size: 16 });
    return { ...set, ...splitByFont(set, 0.25, 0) };
  }

  it("takes a whole training step as the wasm path does: its loss, and the weights and EMA after it", async (ctx) => {
    if (skipped(ctx)) return;
    const after: Record<string, { loss: number; weights: Map<string, Float32Array> }> = {};
    for (const backend of ['wasm', 'webgpu'] as const) {
      await initBackend(backend);
      const trainer = new Trainer(defaultTrainConfig('micro', { steps: 20, batch: 8, seed: 6, emaStart: 0 }), syntheticData(4, 2));
      const { loss } = await trainer.trainStep();
      await trainer.sync();
      const weights = new Map<string, Float32Array>();
      for (const [group, vars] of [['model', trainer.model.variables], ['ema', trainer.ema.variables]] as const) {
        for (const [name, v] of vars) weights.set(`${group}/${name}`, (await v.data()) as Float32Array);
      }
      after[backend] = { loss, weights };
      trainer.dispose();
    }
    expect(Math.abs(after.webgpu.loss - after.wasm.loss) / after.wasm.loss).toBeLessThan(1e-4);
    // Adam's first step moves each weight by about ±lr whatever its gradient's size: where a
    // gradient is near zero its rounding decides the step, so weights agree to float tolerance of
    // an Adam step (1e-3 of a tensor's scale), not to the gradients' 1e-4.
    let worst = 0;
    for (const [name, w] of after.wasm.weights) {
      worst = Math.max(worst, relError(withoutKeyBias(name, after.webgpu.weights.get(name)!), withoutKeyBias(name, w)));
    }
    console.log(`one step, fused webgpu against wasm: loss ${after.webgpu.loss.toFixed(6)} / ${after.wasm.loss.toFixed(6)}, weights and EMA within ${worst.toExponential(1)} of their scale`);
    expect(worst).toBeLessThan(1e-3);
  }, 120_000);

  it('reaches the held-out ε-MSE of the same seeded run on wasm (micro, 40 steps of 8)', async (ctx) => {
    if (skipped(ctx)) return;
    const results: Record<string, { val0: number; val: number; last: number }> = {};
    for (const backend of ['wasm', 'webgpu'] as const) {
      await initBackend(backend);
      const trainer = new Trainer(defaultTrainConfig('micro', { steps: 40, batch: 8, seed: 4, lr: 1e-3 }), syntheticData(8, 3));
      const val0 = (await trainer.validate())!;
      const losses: number[] = [];
      for (let i = 0; i < 40; i++) losses.push((await trainer.trainStep()).loss);
      expect(trainer.fused !== null).toBe(backend === 'webgpu');
      const val = (await trainer.validate())!;
      results[backend] = { val0, val, last: losses.slice(-10).reduce((a, b) => a + b, 0) / 10 };
      trainer.dispose();
    }
    const [w, g] = [results.wasm, results.webgpu];
    console.log(`micro, 40 steps of 8, seed 4: held-out ε-MSE ${w.val0.toFixed(4)} → wasm ${w.val.toFixed(4)}, webgpu (fused) ${g.val.toFixed(4)}; last-10 loss ${w.last.toFixed(4)} / ${g.last.toFixed(4)}`);
    expect(Math.abs(g.val0 - w.val0) / w.val0).toBeLessThan(1e-4);
    expect(g.val).toBeLessThan(g.val0 * 0.75);
    // Same batches and noise: the two runs differ only by float rounding carried through Adam.
    expect(Math.abs(g.val - w.val) / w.val).toBeLessThan(0.03);
  }, 600_000);

  it('trains a style model on the fused engine with the losses cpu gives (same seed)', async (ctx) => {
    if (skipped(ctx)) return;
    const losses: Record<string, number[]> = {};
    for (const backend of ['cpu', 'webgpu'] as const) {
      await initBackend(backend);
      const trainer = new Trainer(defaultTrainConfig('micro', { steps: 10, batch: 6, seed: 2, style: { dim: 8, maxRefs: 4, dropout: 0.2 } }), syntheticData(4, 1));
      losses[backend] = [];
      for (let i = 0; i < 4; i++) losses[backend].push((await trainer.trainStep()).loss);
      expect(trainer.fused !== null).toBe(backend === 'webgpu');
      trainer.dispose();
    }
    console.log(`style micro, 4 steps: cpu ${losses.cpu.map((l) => l.toFixed(4)).join(', ')}; webgpu (fused) ${losses.webgpu.map((l) => l.toFixed(4)).join(', ')}`);
    losses.cpu.forEach((l, i) => expect(Math.abs(losses.webgpu[i] - l) / l, `step ${i + 1}`).toBeLessThan(1e-3));
  }, 300_000);

  it('resumes a webgpu checkpoint identically on webgpu, and continues a cpu checkpoint on webgpu as cpu does', async (ctx) => {
    if (skipped(ctx)) return;
    const data = join(home, 'set.glyphs');
    await writeGlyphSet(data, syntheticGlyphSet({ fonts: 4, seed: 5, size: 16 }));
    const config = defaultTrainConfig('micro', { steps: 6, batch: 4, seed: 11, emaStart: 2, valEvery: 3 });
    const spec = (backend: 'cpu' | 'webgpu') => ({ data, valFraction: 0.25, sheet: { steps: 2 }, config: { ...config, sampleEvery: 0, checkpointEvery: 100, backend, threads: 1 } as const });
    const gpu = await initBackend('webgpu');
    const straight = await createRun(home, spec('webgpu'));
    await trainRun(home, straight, { backend: gpu });
    const halves = await createRun(home, spec('webgpu'));
    await trainRun(home, halves, { backend: gpu, stopAt: 3 });
    await trainRun(home, loadRun(home, halves.id), { backend: gpu });
    const a = await readCheckpoint(checkpointPath(home, straight.id));
    const b = await readCheckpoint(checkpointPath(home, halves.id));
    expect(b.header.step).toBe(6);
    expect([b.header.optimizerStep, b.header.emaStep]).toEqual([a.header.optimizerStep, a.header.emaStep]);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    expect(storeFor(home).metrics(halves.id)).toEqual(storeFor(home).metrics(straight.id));

    // Three steps on cpu, then three on webgpu, against six on cpu: the same curve to float tolerance.
    const cpu = await initBackend('cpu');
    const cpuRun = await createRun(home, spec('cpu'));
    await trainRun(home, cpuRun, { backend: cpu });
    const mixed = await createRun(home, spec('cpu'));
    await trainRun(home, mixed, { backend: cpu, stopAt: 3 });
    await trainRun(home, loadRun(home, mixed.id), { backend: await initBackend('webgpu') });
    const curveCpu = storeFor(home).metrics(cpuRun.id);
    const curveMixed = storeFor(home).metrics(mixed.id);
    expect(curveMixed.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    curveMixed.forEach((m, i) => expect(Math.abs(m.loss - curveCpu[i].loss) / curveCpu[i].loss, `step ${m.step}`).toBeLessThan(1e-3));
    const c = await readCheckpoint(checkpointPath(home, mixed.id));
    expect(c.header.optimizerStep).toBe(6);
  }, 300_000);
});
