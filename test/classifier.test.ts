// The letter classifier that `fontloom eval` reads generated glyphs with.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { splitByFont } from '../src-main/data/glyphset.ts';
import { FEATURES, trainClassifier } from '../src-main/eval/classifier.ts';
import { legibility } from '../src-main/eval/metrics.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

describe('the letter classifier', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('learns the letters of the training fonts and reads held-out fonts, without leaking tensors', async () => {
    const set = syntheticGlyphSet({ fonts: 24, seed: 2 });
    const split = splitByFont(set, 0.25, 3);
    const before = tf.memory().numTensors;
    const classifier = await trainClassifier({ ...set, classes: 26, ...split }, { epochs: 8, batch: 64 });
    console.log(`synthetic letters: held-out accuracy ${(classifier.heldOutAccuracy! * 100).toFixed(1)}% on ${split.val.length} glyphs`);
    expect(classifier.heldOutAccuracy).toBeGreaterThan(0.9);

    // Legibility of real held-out glyphs asked for as themselves equals the accuracy; asked for
    // as the next letter it collapses.
    const per = 32 * 32;
    const images = new Uint8Array(split.val.length * per);
    split.val.forEach((item, i) => images.set(set.pixels.subarray(item * per, (item + 1) * per), i * per));
    const truth = Array.from(split.val, (i) => set.labels[i]);
    const right = await legibility(classifier, images, truth);
    expect(right.overall).toBeCloseTo(classifier.heldOutAccuracy!, 10);
    expect(right.perClass).toHaveLength(26);
    const wrong = await legibility(classifier, images, truth.map((l) => (l + 1) % 26));
    expect(wrong.overall).toBeLessThan(0.1);

    // Its penultimate layer (glyph FID's features): 128 numbers a glyph, the same for the same glyph.
    const features = await classifier.features(images, split.val.length);
    expect(features).toHaveLength(split.val.length * FEATURES);
    const again = await classifier.features(images.subarray(per, 2 * per), 1);
    expect(Array.from(again)).toEqual(Array.from(features.subarray(FEATURES, 2 * FEATURES)));
    expect(features.some((v) => v > 0)).toBe(true);
    classifier.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 180_000);
});
