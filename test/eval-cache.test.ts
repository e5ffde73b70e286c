// The letter classifier is trained once per glyph set and kept under <home>/classifiers: a later
// eval loads it in milliseconds and reads glyphs exactly as before; a damaged file is retrained.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { contentHash, splitByFont, type GlyphSet } from '../src-main/data/glyphset.ts';
import { classifierPath, loadOrTrainClassifier } from '../src-main/eval/cache.ts';
import type { ClassifierData } from '../src-main/eval/classifier.ts';
import { evaluateGlyphs, gatherGlyphs } from '../src-main/eval/metrics.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

let home: string;
let set: GlyphSet;
let data: ClassifierData;
let images: Uint8Array;

beforeAll(async () => {
  await initBackend('wasm');
  home = await mkdtemp(join(tmpdir(), 'fontloom-classifiers-'));
  set = syntheticGlyphSet({ fonts: 12, seed: 4 });
  data = { ...set, classes: 26, ...splitByFont(set, 0.25, 1) };
  images = gatherGlyphs(set, data.val, 32 * 32).images;
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const load = (d: ClassifierData = data, hash = contentHash(set)) => loadOrTrainClassifier({ home, data: d, dataHash: hash, valFraction: 0.25 });

describe('the classifier cache', () => {
  it('trains on first use, then loads from the cache and reads glyphs bit for bit the same', async () => {
    const first = await load();
    expect(first.fromCache).toBe(false);
    expect(first.path).toBe(classifierPath(home, contentHash(set), 0.25));
    expect(existsSync(first.path)).toBe(true);
    const predicted = await first.classifier.predict(images, data.val.length);
    // Its held-out accuracy is what it scores on the held-out fonts' glyphs.
    const right = predicted.filter((p, i) => p === set.labels[data.val[i]]).length;
    expect(first.info.heldOutAccuracy).toBe(right / data.val.length);
    expect(first.info.heldOutGlyphs).toBe(data.val.length);
    const features = await first.classifier.features(images, data.val.length);
    first.classifier.dispose();

    const second = await load();
    expect(second.fromCache).toBe(true);
    expect(second.retrainedBecause).toBeUndefined();
    expect(second.info).toEqual(first.info); // the held-out accuracy comes with it
    expect(second.seconds).toBeLessThan(first.seconds / 5);
    expect(await second.classifier.predict(images, data.val.length)).toEqual(predicted);
    expect(Buffer.from((await second.classifier.features(images, data.val.length)).buffer).equals(Buffer.from(features.buffer))).toBe(true);
    second.classifier.dispose();
    console.log(`classifier: trained in ${first.seconds.toFixed(1)} s, loaded from cache in ${(second.seconds * 1000).toFixed(0)} ms`);
  });

  it('keeps tensors flat across a cached load and an evaluation', async () => {
    (await load()).classifier.dispose(); // warm: the file exists
    const before = tf.memory().numTensors;
    const cached = await load();
    expect(cached.fromCache).toBe(true);
    const real = gatherGlyphs(set, data.val, 32 * 32);
    const metrics = await evaluateGlyphs({ images: real.images, asked: real.labels, classifier: cached.classifier, real });
    expect(metrics.fid).toBeLessThan(1e-6); // the same glyphs as the reference
    cached.classifier.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('retrains, and rewrites, a truncated cache file instead of trusting it', async () => {
    const path = classifierPath(home, contentHash(set), 0.25);
    const size = (await readFile(path)).length;
    await truncate(path, size - 100);
    const retrained = await load();
    expect(retrained.fromCache).toBe(false);
    expect(retrained.retrainedBecause).toMatch(/truncated/);
    retrained.classifier.dispose();
    const after = await load();
    expect(after.fromCache).toBe(true);
    after.classifier.dispose();
  });

  it('retrains a cache file whose weights were damaged in place', async () => {
    const path = classifierPath(home, contentHash(set), 0.25);
    const bytes = await readFile(path);
    bytes[bytes.length - 1000] ^= 0x40; // one flipped bit in a weight
    await writeFile(path, bytes);
    const retrained = await load();
    expect(retrained.fromCache).toBe(false);
    expect(retrained.retrainedBecause).toMatch(/checksum/);
    retrained.classifier.dispose();
  });

  it('trains a separate classifier for another glyph set', async () => {
    const other = syntheticGlyphSet({ fonts: 8, seed: 5 });
    const otherData = { ...other, classes: 26, ...splitByFont(other, 0.25, 1) };
    const result = await load(otherData, contentHash(other));
    expect(result.fromCache).toBe(false);
    expect(result.retrainedBecause).toBeUndefined();
    result.classifier.dispose();
    expect(await readdir(join(home, 'classifiers'))).toHaveLength(2);
  });
});
