// Training on two threads (a gradient worker takes half of each batch) computes what one thread
// computes: the same losses and weights, up to float summation order.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src-main/engine/backend.ts';
import { splitByFont } from '../src-main/data/glyphset.ts';
import { Trainer, defaultTrainConfig } from '../src-main/engine/train.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

describe('a gradient worker on a second thread (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('gives the losses and weights of one thread, and leaks no tensors', async () => {
    const set = syntheticGlyphSet({ fonts: 6, seed: 8 });
    const data = { ...set, ...splitByFont(set, 0.2, 1) };
    const config = defaultTrainConfig('micro', { steps: 20, batch: 9, seed: 4 });
    const run = async (threads: number) => {
      const trainer = new Trainer(config, data);
      if (threads === 2) await trainer.startWorker('wasm');
      expect(trainer.threads).toBe(threads);
      const losses = [(await trainer.trainStep()).loss];
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) losses.push((await trainer.trainStep()).loss);
      expect(tf.memory().numTensors).toBe(before);
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
