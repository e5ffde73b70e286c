// The engine's training story: a small model learns the synthetic letters, memory stays flat,
// and a run stopped halfway then resumed ends exactly where an unbroken run ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trainer, type TrainingData } from '../src-main/engine/train.ts';
import { CPU_RECIPE, defaultTrainConfig, REFERENCE_RECIPE } from '../src-main/contract/presets.ts';
import { sampleImages } from '../src-main/engine/diffusion.ts';
import { readCheckpoint } from '../src-main/engine/checkpoint.ts';
import { splitByFont, writeGlyphSet } from '../src-main/data/glyphset.ts';
import { checkpointPath, createRun, loadRun, trainRun } from '../src-main/jobs/run.ts';
import { storeFor } from '../src-main/store/store.ts';
import { initBackend, type BackendInfo } from '../src-main/engine/runtime/backend.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { webgpuUnavailable } from './helpers/backends.ts';

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

function syntheticData(fonts: number, seed: number): TrainingData {
  const set = syntheticGlyphSet({ fonts, seed });
  return { ...set, ...splitByFont(set, 0.25, 0) };
}

async function weights(trainer: Trainer): Promise<Map<string, Float32Array>> {
  await trainer.sync();
  const out = new Map<string, Float32Array>();
  for (const [group, vars] of [['model', trainer.model.variables], ['ema', trainer.ema.variables]] as const) {
    for (const [name, v] of vars) out.set(`${group}/${name}`, (await v.data()) as Float32Array);
  }
  return out;
}

describe('training micro on synthetic letters (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('with the reference recipe, the loss and the held-out MSE fall to under half their starting values in 100 steps', async () => {
    const trainer = new Trainer(defaultTrainConfig('micro', { steps: 100, batch: 16, recipe: REFERENCE_RECIPE }), syntheticData(8, 3));
    const val0 = (await trainer.validate())!;
    const losses: number[] = [];
    for (let i = 0; i < 100; i++) losses.push((await trainer.trainStep()).loss);
    const val = (await trainer.validate())!;
    const [first, last] = [mean(losses.slice(0, 10)), mean(losses.slice(-10))];
    console.log(`micro, 100 steps of 16 on wasm: loss ${first.toFixed(3)} → ${last.toFixed(3)}, val MSE ${val0.toFixed(3)} → ${val.toFixed(3)}`);
    expect(last).toBeLessThan(first * 0.5);
    expect(val).toBeLessThan(val0 * 0.5);
    trainer.dispose();
  }, 120_000);

  it('with its own recipe (v, cosine, Min-SNR-5), the weighted loss and the held-out ε-MSE fall by over a quarter in 60 steps', async () => {
    const trainer = new Trainer(defaultTrainConfig('micro', { steps: 60, batch: 16 }), syntheticData(8, 3));
    expect(trainer.config.recipe).toEqual({ schedule: 'cosine', prediction: 'v', weighting: 'min-snr', snrGamma: 5 });
    const val0 = (await trainer.validate())!;
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) losses.push((await trainer.trainStep()).loss);
    const val = (await trainer.validate())!;
    const [first, last] = [mean(losses.slice(0, 10)), mean(losses.slice(-10))];
    console.log(`micro (v), 60 steps of 16 on wasm: loss ${first.toFixed(3)} → ${last.toFixed(3)}, val ε-MSE ${val0.toFixed(3)} → ${val.toFixed(3)}`);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    expect(last).toBeLessThan(first * 0.75);
    expect(val).toBeLessThan(val0 * 0.75);
    trainer.dispose();
  }, 120_000);

  it('keeps the tensor count flat across 25 training steps and across sampling', async () => {
    const trainer = new Trainer(defaultTrainConfig('micro', { steps: 100, batch: 8 }), syntheticData(4, 1));
    await trainer.trainStep();
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    for (let i = 0; i < 25; i++) {
      await trainer.trainStep();
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts)).toEqual(new Set([before]));
    await trainer.validate();
    expect(tf.memory().numTensors).toBe(before);

    const sampleCounts: number[] = [];
    await sampleImages(trainer.emaDiffusion, [0, 1, 2], { sampler: 'ddpm', steps: 25, cfg: 3, seed: 1, eta: 0 }, () => {
      sampleCounts.push(tf.memory().numTensors);
    });
    expect(sampleCounts.length).toBe(25);
    expect(new Set(sampleCounts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
  }, 120_000);

  it('samples an A–Z sheet: one uint8 glyph per letter, the same for a seed and different for another', async () => {
    const trainer = new Trainer(defaultTrainConfig('micro', { steps: 10, batch: 8 }), syntheticData(4, 1));
    const labels = Array.from({ length: 26 }, (_, i) => i);
    const opts = { sampler: 'ddim' as const, steps: 8, cfg: 3, seed: 7, eta: 0 };
    const a = await sampleImages(trainer.emaDiffusion, labels, opts);
    const b = await sampleImages(trainer.emaDiffusion, labels, opts);
    const c = await sampleImages(trainer.emaDiffusion, labels, { ...opts, seed: 8 });
    expect(a.length).toBe(26 * 32 * 32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
    trainer.dispose();
  }, 120_000);
});

describe('a few training steps on each backend', () => {
  const lossesOn = new Map<string, number[]>();

  for (const name of ['cpu', 'webgpu'] as const) {
    it(`trains micro for 3 steps on ${name}: finite losses, weights move, no leak`, async (ctx) => {
      if (name === 'webgpu') {
        const reason = await webgpuUnavailable();
        if (reason) {
          console.log(`skipped: ${reason}`);
          ctx.skip();
        }
      }
      const backend = await initBackend(name);
      expect(backend.name).toBe(name);
      const trainer = new Trainer(defaultTrainConfig('micro', { steps: 10, batch: 4 }), syntheticData(4, 2));
      const start = await weights(trainer);
      const losses = [(await trainer.trainStep()).loss];
      // On webgpu a letter-only model trains through the fused engine.
      expect(trainer.fused !== null).toBe(name === 'webgpu');
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) losses.push((await trainer.trainStep()).loss);
      expect(tf.memory().numTensors).toBe(before);
      for (const l of losses) expect(Number.isFinite(l)).toBe(true);
      const after = await weights(trainer);
      const modelNames = [...start.keys()].filter((k) => k.startsWith('model/'));
      const moved = modelNames.filter((k) => start.get(k)!.some((x, i) => x !== after.get(k)![i]));
      expect(moved).toEqual(modelNames);
      console.log(`${backend.name} (${backend.adapter}): losses ${losses.map((l) => l.toFixed(4)).join(', ')}`);
      lossesOn.set(name, losses);
      trainer.dispose();
    }, 180_000);
  }

  it('computes the same losses on webgpu as on cpu (same seed, same data)', (ctx) => {
    const [cpu, gpu] = [lossesOn.get('cpu'), lossesOn.get('webgpu')];
    if (!cpu || !gpu) {
      console.log('skipped: needs both the cpu and the webgpu runs above');
      ctx.skip();
    }
    for (let i = 0; i < cpu!.length; i++) expect(Math.abs(gpu![i] - cpu![i]) / cpu![i]).toBeLessThan(1e-3);
  });
});

describe('resume (cpu)', () => {
  let home: string;
  let backend: BackendInfo;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'fontloom-resume-'));
    backend = await initBackend('cpu');
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('6 steps straight and 3 + resume + 3 give bit-identical weights, EMA, moments and loss curve', async () => {
    const data = join(home, 'set.glyphs');
    // Four letters: the end-of-run sheets (drawn on cpu) stay cheap; resuming does not care.
    await writeGlyphSet(data, syntheticGlyphSet({ fonts: 4, seed: 5, classes: [...'ABCD'] }));
    // micro's own recipe, so resuming is checked with v-prediction, cosine and Min-SNR weights.
    const config = defaultTrainConfig('micro', { steps: 6, batch: 4, seed: 11, emaStart: 2, valEvery: 2 });
    expect(config.recipe).toEqual(CPU_RECIPE);
    const spec = { data, valFraction: 0.25, sheet: { steps: 2 }, config: { ...config, sampleEvery: 0, checkpointEvery: 100, backend: 'cpu', threads: 1 } as const };

    const straight = await createRun(home, spec);
    await trainRun(home, straight, { backend });

    const halves = await createRun(home, spec);
    const first = await trainRun(home, halves, { backend, stopAt: 3 });
    expect(first.run.status).toBe('stopped');
    expect(loadRun(home, halves.id)).toMatchObject({ step: 3, checkpointStep: 3, status: 'stopped' });
    const resumed = await trainRun(home, loadRun(home, halves.id), { backend });
    expect(resumed.run.status).toBe('completed');

    const a = await readCheckpoint(checkpointPath(home, straight.id));
    const b = await readCheckpoint(checkpointPath(home, halves.id));
    expect(b.header.step).toBe(6);
    expect(b.header.optimizerStep).toBe(a.header.optimizerStep);
    expect(b.header.emaStep).toBe(a.header.emaStep);
    expect(b.header.tensors).toEqual(a.header.tensors);
    expect(b.header.config.recipe).toEqual(CPU_RECIPE);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);

    const curveA = storeFor(home).metrics(straight.id);
    const curveB = storeFor(home).metrics(halves.id);
    expect(curveB.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(curveB).toEqual(curveA);
    expect(loadRun(home, halves.id).status).toBe('completed');
  }, 300_000);
});
