// Evaluating a checkpoint as `fontloom eval --baselines` does: generated glyphs beside real
// held-out glyphs and an untrained model, the classifier trained once and then reused.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../src-main/engine/runtime/backend.ts';
import { saveCheckpoint } from '../src-main/engine/checkpoint.ts';
import { Trainer } from '../src-main/engine/train.ts';
import { defaultTrainConfig } from '../src-main/contract/presets.ts';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { loadTrainingData } from '../src-main/data/training.ts';
import { evaluateCheckpoint, type EvalOptions } from '../src-main/eval/evaluate.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

let home: string;
let backend: BackendInfo;
let options: EvalOptions;

beforeAll(async () => {
  backend = await initBackend('wasm');
  home = await mkdtemp(join(tmpdir(), 'fontloom-eval-'));
  const dataPath = join(home, 'letters.glyphs');
  await writeGlyphSet(dataPath, syntheticGlyphSet({ fonts: 48, seed: 21 }));
  // A checkpoint that never trained: its weights are the untrained baseline's, by construction.
  const trainer = new Trainer(defaultTrainConfig('micro', { steps: 10, batch: 8, seed: 3 }), await loadTrainingData(dataPath, 0.25));
  const ckptPath = join(home, 'latest.ckpt');
  await saveCheckpoint(ckptPath, trainer);
  trainer.dispose();
  options = { ckptPath, dataPath, valFraction: 0.25, home, backend, perClass: 2, weights: 'model', steps: 3, cfg: 3, seed: 0, baselines: true };
}, 60_000);

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('evaluating a checkpoint', () => {
  it('scores it beside real held-out glyphs and an untrained model, then reuses the classifier and repeats itself exactly', async () => {
    const before = tf.memory().numTensors;
    const first = await evaluateCheckpoint(options);
    const { metrics, baselines, classifier } = first;
    const real = baselines!.real!;
    console.log(
      `classifier ${(classifier.heldOutAccuracy! * 100).toFixed(1)}% held-out; real: ${(real.legibility * 100).toFixed(0)}% FID ${real.fid.toFixed(1)}; ` +
        `untrained: ${(baselines!.untrained.legibility * 100).toFixed(0)}% FID ${baselines!.untrained.fid.toFixed(1)}; ${first.seconds.total} s`,
    );
    expect(metrics.count).toBe(2 * 26);
    expect(first.classNames).toHaveLength(26);
    expect(first.sampler).toMatchObject({ sampler: 'ddim', steps: 3, cfg: 3 });
    expect(first.backend).toMatch(/^wasm/);
    expect(classifier.fromCache).toBe(false);
    expect(classifier.heldOutAccuracy).toBeGreaterThan(0.9);
    // Real glyphs read as their letters and sit near the reference; an untrained model does neither.
    expect(real.count).toBe(2 * 26);
    expect(real.legibility).toBeGreaterThan(baselines!.untrained.legibility + 0.5);
    expect(real.fid * 3).toBeLessThan(baselines!.untrained.fid);
    // This checkpoint never trained, so it scores exactly as the untrained baseline does.
    expect(metrics).toEqual(baselines!.untrained);

    const second = await evaluateCheckpoint(options);
    expect(second.classifier.fromCache).toBe(true);
    expect(second.classifier.heldOutAccuracy).toBe(classifier.heldOutAccuracy);
    expect(second.metrics).toEqual(metrics);
    expect(second.baselines).toEqual(baselines);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a checkpoint trained on other letters, naming both files', async () => {
    const other = join(home, 'abc.glyphs');
    await writeGlyphSet(other, syntheticGlyphSet({ fonts: 4, seed: 2, classes: ['A', 'B', 'C'] }));
    await expect(evaluateCheckpoint({ ...options, dataPath: other })).rejects.toThrow(/latest\.ckpt was trained on other glyphs .*abc\.glyphs/);
  });
});
