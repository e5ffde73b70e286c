// Two engines on two threads compute what one computes: training (a worker takes half of each
// batch) gives the same losses and weights up to float summation order, sampling the same images.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { splitByFont } from '../src-main/data/glyphset.ts';
import { Trainer } from '../src-main/engine/train.ts';
import { defaultTrainConfig, getPreset } from '../src-main/contract/presets.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { EngineWorker, sampleOnTwoEngines } from '../src-main/engine/runtime/parallel.ts';
import { makeDiffusion, sampleImages } from '../src-main/engine/diffusion.ts';
import { createUNet } from '../src-main/engine/unet.ts';

describe('a gradient worker on a second thread (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it.each([
    ['a letter model', {}],
    ['a style model (its references split with the batch)', { style: { dim: 8, maxRefs: 8, dropout: 0.1 } }],
  ])('gives the losses and weights of one thread for %s, and leaks no tensors on either', async (_name, extra) => {
    const set = syntheticGlyphSet({ fonts: 6, seed: 8 });
    const data = { ...set, ...splitByFont(set, 0.2, 1) };
    const config = defaultTrainConfig('micro', { steps: 20, batch: 9, seed: 4, ...extra });
    const run = async (threads: number) => {
      const trainer = new Trainer(config, data);
      if (threads === 2) await trainer.startWorker('wasm');
      expect(trainer.threads).toBe(threads);
      const losses = [(await trainer.trainStep()).loss];
      const before = tf.memory().numTensors;
      const workerBefore = trainer.workerTensors;
      for (let i = 0; i < 3; i++) losses.push((await trainer.trainStep()).loss);
      expect(tf.memory().numTensors).toBe(before);
      expect(trainer.workerTensors).toBe(workerBefore);
      const weights = new Map<string, Float32Array>();
      for (const [name, v] of trainer.model.variables) weights.set(name, (await v.data()) as Float32Array);
      await trainer.stopWorker();
      trainer.dispose();
      return { losses, weights };
    };
    const one = await run(1);
    const two = await run(2);
    for (let i = 0; i < one.losses.length; i++) expect(Math.abs(two.losses[i] - one.losses[i]) / one.losses[i]).toBeLessThan(1e-4);
    let worst = 0;
    for (const [name, w] of one.weights) {
      const other = two.weights.get(name)!;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(other[i] - w[i]));
    }
    console.log(`4 steps of batch 9 (5 + 4 per thread): largest weight difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  }, 120_000);
});

describe('sampling on two engines (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('draws the sheet one engine draws: each row with the noise the whole batch gives it', async () => {
    const preset = getPreset('micro');
    const model = createUNet(preset, { channels: 1, classes: 26, size: 32 }, 3);
    const d = makeDiffusion(model, preset.recipe);
    const labels = [0, 4, 8, 14, 17, 25, 3];
    // η > 0 draws fresh noise every step, so the rows' shares of it are checked too.
    const opts = { sampler: 'ddim' as const, steps: 6, cfg: 3, seed: 21, eta: 0.5 };
    const one = await sampleImages(d, labels, opts);
    const worker = await EngineWorker.start('wasm', d);
    const before = tf.memory().numTensors;
    const two = await sampleOnTwoEngines(worker, d, labels, opts);
    expect(tf.memory().numTensors).toBe(before);
    await worker.stop();
    model.dispose();
    expect(two.length).toBe(one.length);
    let worst = 0;
    for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(two[i] - one[i]));
    console.log(`7 glyphs, DDIM 6 steps with η 0.5 (4 + 3 rows per engine): largest pixel difference ${worst} of 255`);
    expect(worst).toBeLessThanOrEqual(1);
    // And the rows are not all alike: a shuffled or repeated half would fail the comparison above.
    expect(Buffer.from(one.subarray(0, 1024)).equals(Buffer.from(one.subarray(1024, 2048)))).toBe(false);
  });

  it('draws a completion that starts from given glyphs as one engine does', async () => {
    const preset = getPreset('micro');
    const model = createUNet(preset, { channels: 1, classes: 26, size: 32 }, 4);
    const d = makeDiffusion(model, preset.recipe);
    const labels = [1, 2, 5, 9, 20];
    const opts = { sampler: 'ddim' as const, steps: 8, cfg: 3, seed: 3, eta: 0 };
    const start = { x0: Float32Array.from({ length: labels.length * 1024 }, (_, i) => ((i * 13) % 17) / 8 - 1), strength: 0.5 };
    const one = await sampleImages(d, labels, opts, undefined, undefined, undefined, start);
    const worker = await EngineWorker.start('wasm', d);
    const two = await sampleOnTwoEngines(worker, d, labels, opts, undefined, undefined, start);
    await worker.stop();
    // The start matters: the same draw from pure noise differs.
    const fromNoise = await sampleImages(d, labels, opts);
    model.dispose();
    let worst = 0;
    for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(two[i] - one[i]));
    expect(worst).toBeLessThanOrEqual(1);
    expect(Buffer.from(fromNoise).equals(Buffer.from(one))).toBe(false);
  });
});
