// The numbers `fontloom eval` reports tell a good generator from bad ones: real held-out glyphs
// (a perfect model), uniform noise (no model) and one glyph repeated per letter (a collapsed model).
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { splitByFont, type GlyphSet } from '../src-main/data/glyphset.ts';
import { trainClassifier, type TrainedClassifier } from '../src-main/eval/classifier.ts';
import { evaluateGlyphs, gatherGlyphs, legibility, type GlyphBatch } from '../src-main/eval/metrics.ts';
import { pickPerClass, splitHeldOut } from '../src-main/eval/reference.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

const PER_CLASS = 3;
const PER_IMAGE = 32 * 32;

let set: GlyphSet;
let classifier: TrainedClassifier;
let reference: GlyphBatch;
let realSample: GlyphBatch;

beforeAll(async () => {
  await initBackend('wasm');
  set = syntheticGlyphSet({ fonts: 36, seed: 11 });
  const split = splitByFont(set, 0.34, 5);
  classifier = await trainClassifier({ ...set, classes: 26, ...split }, { batch: 32 });
  const halves = splitHeldOut(set, split.val, 26, 7);
  reference = gatherGlyphs(set, halves.reference, PER_IMAGE);
  realSample = gatherGlyphs(set, pickPerClass(set.labels, halves.sample, 26, PER_CLASS, 1), PER_IMAGE);
}, 120_000);

afterAll(() => classifier?.dispose());

/** PER_CLASS glyphs of uniform noise per letter. */
function noise(): GlyphBatch {
  const rng = new Rng(3);
  const labels = Int32Array.from({ length: 26 * PER_CLASS }, (_, i) => i % 26);
  return { images: Uint8Array.from({ length: labels.length * PER_IMAGE }, () => rng.int(0, 256)), labels };
}

/** The first real glyph of each letter, repeated PER_CLASS times: a model that collapsed. */
function collapsed(): GlyphBatch {
  const images = new Uint8Array(realSample.images.length);
  for (let i = 0; i < realSample.labels.length; i++) {
    const first = Array.prototype.indexOf.call(realSample.labels, realSample.labels[i]) as number;
    images.set(realSample.images.subarray(first * PER_IMAGE, (first + 1) * PER_IMAGE), i * PER_IMAGE);
  }
  return { images, labels: realSample.labels };
}

describe('run metrics', () => {
  it('splits held-out fonts into a reference half and a real-sample half with no font in both', () => {
    const split = splitByFont(set, 0.34, 5);
    const halves = splitHeldOut(set, split.val, 26, 7);
    const fontsOf = (items: Int32Array) => new Set(Array.from(items, (i) => set.fontIds[i]));
    const shared = [...fontsOf(halves.reference)].filter((f) => fontsOf(halves.sample).has(f));
    expect(shared).toEqual([]);
    expect(halves.referenceFonts + halves.sampleFonts).toBe(fontsOf(split.val).size);
    expect(halves.sampleFonts).toBeGreaterThanOrEqual(PER_CLASS);
    expect(realSample.labels.length).toBe(26 * PER_CLASS);
  });

  it('scores real glyphs legible, close and varied; noise illegible and far; a collapsed model with no diversity', async () => {
    const before = tf.memory().numTensors;
    const score = (g: GlyphBatch) => evaluateGlyphs({ images: g.images, asked: g.labels, classifier, real: reference });
    const real = await score(realSample);
    const random = await score(noise());
    const repeated = await score(collapsed());
    const line = (name: string, m: typeof real) => `${name}: legibility ${(m.legibility * 100).toFixed(1)}%, FID ${m.fid.toFixed(2)}, diversity ${m.diversity?.toFixed(3)}`;
    console.log([line('real', real), line('noise', random), line('collapsed', repeated)].join('\n'));

    expect(real.count).toBe(26 * PER_CLASS);
    expect(real.perClass).toHaveLength(26);
    expect(real.legibility).toBeGreaterThan(0.9);
    expect(random.legibility).toBeLessThan(0.2);
    // FID: real glyphs are far closer to the reference than noise, and a collapsed model is
    // further than real glyphs although every glyph it draws is a real one.
    expect(random.fid).toBeGreaterThan(5 * real.fid);
    expect(repeated.fid).toBeGreaterThan(1.3 * real.fid);
    // Diversity: distinct fonts differ; copies do not.
    expect(real.diversity).toBeGreaterThan(0.1);
    expect(repeated.diversity).toBe(0);
    expect(repeated.perClassDiversity.every((d) => d === 0)).toBe(true);
    expect(repeated.legibility).toBeGreaterThan(0.8); // collapse is invisible to legibility alone
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reads real glyphs asked for as themselves at the classifier accuracy, and as the next letter at almost nothing', async () => {
    const truth = Array.from(realSample.labels);
    const right = await legibility(classifier, realSample.images, truth);
    const predicted = await classifier.predict(realSample.images, truth.length);
    expect(right.overall).toBeCloseTo(predicted.filter((p, i) => p === truth[i]).length / truth.length, 12);
    const wrong = await legibility(classifier, realSample.images, truth.map((l) => (l + 1) % 26));
    expect(wrong.overall).toBeLessThan(0.1);
    // Only the letters asked for get a per-letter score.
    const onlyA = await legibility(classifier, realSample.images.subarray(0, PER_IMAGE), [0]);
    expect(onlyA.perClass[0]).not.toBeNull();
    expect(onlyA.perClass.slice(1).every((l) => l === null)).toBe(true);
  });
});
