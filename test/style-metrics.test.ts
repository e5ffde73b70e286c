// `fontloom eval` measures a style model with a style judge: a font-identity CNN whose embedding
// puts a font's letters together. Synthetic fonts (stroke width, slant, size and width per font)
// stand in for the dataset; drawers that return real, repeated, mixed or copied fonts stand in for
// the model, so every figure has an answer known in advance.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash, writeGlyphSet, type GlyphSet } from '../src-main/data/glyphset.ts';
import { rngFor } from '../src-main/engine/rng.ts';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import {
  describeStyleReport,
  evaluateStyle,
  givenClasses,
  loadStyleData,
  retrievalFonts,
  retrieveCompletion,
  scoreCompletion,
  type StyleDrawer,
} from '../src-main/eval/style-evaluate.ts';
import { CALIBRATION_SEED, loadOrTrainStyleJudge, styleJudgePath, type StyleData, type StyleJudge } from '../src-main/eval/style-judge.ts';
import {
  alphabetCentroids,
  alphabetSimilarities,
  calibrate,
  centreGlyph,
  completeAlphabets,
  cosine,
  mean,
  mixRows,
  nearestCentroid,
  pixelIoU,
  randomMixes,
  row,
  variety,
  withinSimilarity,
  type Alphabets,
  type Embeddings,
} from '../src-main/eval/style-metrics.ts';
import { gatherGlyphs } from '../src-main/eval/metrics.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

const CLASSES = 26;
const PER = 32 * 32;
const ALPHABET = CLASSES * PER;
const HELD_OUT = 10;
const TRAINING_BUDGET = { epochs: 10, batch: 32 };

let home: string;
let dataPath: string;
let set: GlyphSet;
let data: StyleData;
let held: Alphabets;
let training: Alphabets;
let judge: StyleJudge;
let trainedSeconds: number;

/** 36 synthetic fonts, the first ten held out. */
function fixture(): GlyphSet {
  const s = syntheticGlyphSet({ fonts: 36, seed: 11 });
  return { ...s, heldOutFonts: Array.from({ length: HELD_OUT }, (_, f) => f) };
}

const gather = (items: ArrayLike<number>) => gatherGlyphs(data, items, PER).images;

/** Alphabets of `which` (by index), concatenated. */
function alphabetsOf(which: Alphabets, picks: number[]): Uint8Array {
  const out = new Uint8Array(picks.length * ALPHABET);
  picks.forEach((a, i) => out.set(gather(which.items.subarray(a * CLASSES, (a + 1) * CLASSES)), i * ALPHABET));
  return out;
}

/** n alphabets whose letter c comes from font mixes[i][c] of `which`. */
function mixedAlphabets(which: Alphabets, mixes: number[][]): Uint8Array {
  return gather(mixes.flatMap((mix) => mixRows(mix, CLASSES).map((r) => which.items[r])));
}

function shift(glyph: Uint8Array, dy: number, dx: number): Uint8Array {
  const out = new Uint8Array(PER);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) if (y - dy >= 0 && y - dy < 32 && x - dx >= 0 && x - dx < 32) out[y * 32 + x] = glyph[(y - dy) * 32 + x - dx];
  return out;
}

beforeAll(async () => {
  await initBackend('wasm', { engines: 1 });
  home = await mkdtemp(join(tmpdir(), 'fontloom-style-'));
  dataPath = join(home, 'fonts.glyphs');
  await writeGlyphSet(dataPath, fixture());
  const loaded = await loadStyleData(dataPath, 0.1);
  set = loaded.set;
  data = loaded;
  held = completeAlphabets(data, data.val, CLASSES);
  training = completeAlphabets(data, data.train, CLASSES);
  const cached = await loadOrTrainStyleJudge({ home, data, dataHash: contentHash(set), valFraction: 0.1, ...TRAINING_BUDGET });
  judge = cached.judge;
  trainedSeconds = cached.seconds;
  console.log(`style judge: trained in ${cached.seconds.toFixed(1)} s, names the font of ${(cached.info.heldOutAccuracy! * 100).toFixed(0)}% of held-out glyphs; calibration ${JSON.stringify(cached.info.calibration)}`);
}, 60_000);

afterAll(async () => {
  judge?.dispose();
  await rm(home, { recursive: true, force: true });
});

describe('style arithmetic', () => {
  it('takes the mean pairwise cosine of unit vectors, and calibrates real to 1 and random to 0', () => {
    const rng = rngFor(5, 'test-vectors');
    const rows = new Float32Array(6 * 4).map(() => rng.next() - 0.5);
    for (let i = 0; i < 6; i++) {
      const n = Math.hypot(...rows.subarray(i * 4, i * 4 + 4));
      for (let d = 0; d < 4; d++) rows[i * 4 + d] /= n;
    }
    const e: Embeddings = { dims: 4, rows };
    let pairs = 0;
    for (let a = 0; a < 6; a++) for (let b = a + 1; b < 6; b++) pairs += cosine(row(e, a), row(e, b));
    expect(withinSimilarity(e, [0, 1, 2, 3, 4, 5])).toBeCloseTo(pairs / 15, 6);
    expect(calibrate(0.6, { real: 0.6, random: 0.2 })).toBe(1);
    expect(calibrate(0.2, { real: 0.6, random: 0.2 })).toBe(0);
    expect(calibrate(0.4, { real: 0.6, random: 0.2 })).toBeCloseTo(0.5, 12);
  });

  it('mixes every letter from a different font when there are enough fonts, and spreads them when not', () => {
    for (const mix of randomMixes(40, CLASSES, 5, 3)) expect(new Set(mix).size).toBe(CLASSES);
    for (const mix of randomMixes(10, CLASSES, 5, 3)) {
      expect(new Set(mix).size).toBe(10);
      expect(Math.max(...[...new Set(mix)].map((f) => mix.filter((m) => m === f).length))).toBe(3);
    }
    expect(randomMixes(40, CLASSES, 2, 3)).not.toEqual(randomMixes(40, CLASSES, 2, 4));
  });

  it('centres a glyph on its ink, and scores pixel overlap', () => {
    const glyph = new Uint8Array(PER);
    for (let y = 2; y < 8; y++) for (let x = 3; x < 7; x++) glyph[y * 32 + x] = 255; // centre (4.5, 4.5)
    const centred = centreGlyph(glyph, { size: 32, channels: 1 });
    let mass = 0, my = 0, mx = 0;
    centred.forEach((v, i) => { mass += v; my += v * Math.floor(i / 32); mx += v * (i % 32); });
    expect(mass).toBe(24 * 255);
    expect(Math.abs(my / mass - 15.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(mx / mass - 15.5)).toBeLessThanOrEqual(0.5);
    expect(centreGlyph(shift(glyph, 5, 9), { size: 32, channels: 1 })).toEqual(centred);
    expect(pixelIoU(glyph, glyph)).toBe(1);
    expect(pixelIoU(glyph, shift(glyph, 0, 2))).toBeCloseTo(1 / 3, 12); // 4 columns moved by 2: 2 shared of 6
    expect(pixelIoU(new Uint8Array(PER), new Uint8Array(PER))).toBe(1);
  });

  it('skips fonts that lack a letter, and says how many', () => {
    const keep = Int32Array.from(data.val.filter((i) => !(set.fontIds[i] === 3 && set.labels[i] === 7)));
    const some = completeAlphabets(data, keep, CLASSES);
    expect(some.fonts).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(some.skipped).toBe(1);
  });
});

describe('the style judge', () => {
  it('reads fresh real alphabets as consistent (≈ 1) and random-font mixes as not (≈ 0)', async () => {
    // Fonts it never saw, neither in training nor in calibration: a different seed's styles.
    const fresh = syntheticGlyphSet({ fonts: 12, seed: 99 });
    const e = await judge.embed(fresh.pixels, fresh.count);
    const real = alphabetSimilarities(e, 12, CLASSES).map((s) => calibrate(s, judge.calibration.alphabet));
    const mixes = randomMixes(12, CLASSES, 40, CALIBRATION_SEED + 1);
    const mixed = mixes.map((m) => calibrate(withinSimilarity(e, mixRows(m, CLASSES)), judge.calibration.alphabet));
    console.log(`consistency: fresh real ${mean(real).toFixed(2)} (min ${Math.min(...real).toFixed(2)}), random mixes ${mean(mixed).toFixed(2)} (max ${Math.max(...mixed).toFixed(2)})`);
    expect(Math.abs(mean(real) - 1)).toBeLessThan(0.25);
    expect(Math.abs(mean(mixed))).toBeLessThan(0.25);
    // Not only on average: nearly every real alphabet reads above every random mix.
    expect(real.filter((r) => r > Math.max(...mixed)).length).toBeGreaterThanOrEqual(10);
  });

  it('calibrates on the held-out fonts: their alphabets average exactly 1', async () => {
    const e = await judge.embed(gather(held.items), held.items.length);
    const real = alphabetSimilarities(e, held.fonts.length, CLASSES).map((s) => calibrate(s, judge.calibration.alphabet));
    expect(mean(real)).toBeCloseTo(1, 5);
    expect(judge.calibration.fonts).toBe(HELD_OUT);
    expect(judge.calibration.alphabet.real).toBeGreaterThan(judge.calibration.alphabet.random + 0.1);
    expect(judge.calibration.letter.real).toBeGreaterThan(judge.calibration.letter.random + 0.1);
  });

  it('is kept: a second call loads it in a fraction of the time and embeds bit for bit the same; a damaged file is retrained', async () => {
    const glyphs = gather(held.items.subarray(0, 52));
    const before = (await judge.embed(glyphs, 52)).rows;
    const tensors = tf.memory().numTensors;
    const again = await loadOrTrainStyleJudge({ home, data, dataHash: contentHash(set), valFraction: 0.1, ...TRAINING_BUDGET });
    expect(again.fromCache).toBe(true);
    expect(again.seconds).toBeLessThan(trainedSeconds / 5);
    expect(again.info.calibration).toEqual(judge.calibration);
    expect(Buffer.from((await again.judge.embed(glyphs, 52)).rows.buffer).equals(Buffer.from(before.buffer))).toBe(true);
    again.judge.dispose();
    expect(tf.memory().numTensors).toBe(tensors);

    const path = styleJudgePath(home, contentHash(set), 0.1);
    const bytes = await readFile(path);
    bytes[bytes.length - 200] ^= 0x10;
    await writeFile(path, bytes);
    const retrained = await loadOrTrainStyleJudge({ home, data, dataHash: contentHash(set), valFraction: 0.1, epochs: 1, batch: 64 });
    expect(retrained.fromCache).toBe(false);
    expect(retrained.retrainedBecause).toMatch(/checksum/);
    retrained.judge.dispose();
    // Put the well-trained judge back for the tests below.
    await writeFile(path, bytes.map((b, i) => (i === bytes.length - 200 ? b ^ 0x10 : b)));
  }, 30_000);
});

describe('alphabet figures', () => {
  it('finds no variety in one font repeated, little in random mixes, and real fonts varied', async () => {
    const centroidsOf = async (images: Uint8Array, n: number) => alphabetCentroids(await judge.embed(images, n * CLASSES), n, CLASSES);
    const real = variety(await centroidsOf(alphabetsOf(held, [0, 1, 2, 3, 4, 5, 6, 7]), 8))!;
    const repeated = variety(await centroidsOf(alphabetsOf(held, [4, 4, 4, 4]), 4))!;
    const mixed = variety(await centroidsOf(mixedAlphabets(held, randomMixes(HELD_OUT, CLASSES, 8, 21)), 8))!;
    console.log(`variety: real ${real.toFixed(3)}, random mixes ${mixed.toFixed(3)}, one font repeated ${repeated.toFixed(6)}`);
    expect(repeated).toBeLessThan(1e-5);
    expect(mixed).toBeLessThan(real / 2);
    expect(real).toBeGreaterThan(0.05);
  });

  it('names the training font an alphabet copies, at a distance far under a real held-out font\'s', async () => {
    const e = await judge.embed(gather(training.items), training.items.length);
    const trainingCentroids = alphabetCentroids(e, training.fonts.length, CLASSES);
    const copy = alphabetCentroids(await judge.embed(alphabetsOf(training, [7]), CLASSES), 1, CLASSES)[0];
    const nearest = nearestCentroid(copy, trainingCentroids);
    expect(training.fonts[nearest.index]).toBe(training.fonts[7]);
    expect(nearest.distance).toBeLessThan(1e-5);
    const heldCentroids = alphabetCentroids(await judge.embed(alphabetsOf(held, [0, 1, 2, 3]), 4 * CLASSES), 4, CLASSES);
    for (const c of heldCentroids) expect(nearestCentroid(c, trainingCentroids).distance).toBeGreaterThan(0.01);
  });
});

describe('completion', () => {
  const given = () => givenClasses('HAMB', set.classNames);

  it('scores the real font\'s own letters 1 on every count, and another font\'s letters near 0 on style', async () => {
    const real = alphabetsOf(held, [2]);
    const perfect = await scoreCompletion(judge, real, real, given());
    expect(perfect.iou).toBe(1);
    expect(perfect.l1).toBe(0);
    expect(Math.abs(perfect.style - 1)).toBeLessThan(0.25);
    const styles: number[] = [];
    for (let other = 0; other < HELD_OUT; other++) {
      if (other === 2) continue;
      const wrong = await scoreCompletion(judge, alphabetsOf(held, [other]), real, given());
      expect(wrong.iou).toBeLessThan(1);
      styles.push(wrong.style);
    }
    expect(Math.abs(mean(styles))).toBeLessThan(0.3);
  });

  it('retrieves a training font from its given letters even when they sit elsewhere in the cell, and scores it IoU 1', async () => {
    const index = retrievalFonts(data, training);
    const original = alphabetsOf(training, [5]);
    const moved = new Map(given().map((c) => [c, shift(original.subarray(c * PER, (c + 1) * PER), 2, -1)]));
    const retrieved = retrieveCompletion(index, moved);
    expect(retrieved.fontId).toBe(training.fonts[5]);
    const score = await scoreCompletion(judge, retrieved.alphabet, original, given());
    expect(score.iou).toBe(1);
    expect(score.l1).toBe(0);
  });

  it('refuses given letters the dataset lacks, or all of them', () => {
    expect(givenClasses('HAMB', set.classNames)).toEqual([7, 0, 12, 1]);
    expect(() => givenClasses('HA1', set.classNames)).toThrow(/1, which this dataset does not have/);
    expect(() => givenClasses(set.classNames.join(''), set.classNames)).toThrow(/between 1 and 25/);
  });
});

describe('evaluateStyle', () => {
  it('reports a drawer of real held-out fonts as consistent, varied and beating retrieval; letter-by-letter as neither', async () => {
    const asked: number[][] = [];
    const drawer: StyleDrawer = {
      invent: async (n) => alphabetsOf(held, Array.from({ length: n }, (_, i) => i)),
      perLetter: async (n, seed) => mixedAlphabets(held, randomMixes(HELD_OUT, CLASSES, n, seed + 100)),
      complete: async (glyphs) => {
        const [c, g] = [...glyphs][0];
        const a = Array.from({ length: HELD_OUT }, (_, i) => i).find((i) => Buffer.from(alphabetsOf(held, [i]).subarray(c * PER, (c + 1) * PER)).equals(Buffer.from(g)));
        return alphabetsOf(held, [a!]);
      },
    };
    const progress: string[] = [];
    const report = await evaluateStyle({
      home, dataPath, valFraction: 0.1, drawer, alphabets: 6, seed: 1, given: 'HAMB', completionFonts: 4,
      legibility: async (images, labels) => {
        asked.push(labels);
        return images.length / PER === labels.length ? 0.9 : 0;
      },
      onProgress: (m) => progress.push(m),
    });
    expect(report.judge.fromCache).toBe(true);
    expect(report.realHeldOut.fonts).toBe(HELD_OUT);
    expect(report.realHeldOut.consistency).toBeCloseTo(1, 5);
    expect(Math.abs(report.invented.consistency.mean - 1)).toBeLessThan(0.25);
    expect(Math.abs(report.perLetter.consistency.mean)).toBeLessThan(0.3);
    expect(report.invented.variety.ratio).toBeGreaterThan(0.6);
    expect(report.perLetter.variety.ratio).toBeLessThan(0.5);
    expect(report.invented.legibility).toBe(0.9);
    expect(asked[0]).toEqual(Array.from({ length: 6 * CLASSES }, (_, i) => i % CLASSES));
    expect(report.invented.novelty.perAlphabet).toHaveLength(6);
    expect(report.invented.novelty.perAlphabet[0].font).toMatch(/^synthetic-11-/);
    expect(report.completion.fonts).toHaveLength(4);
    expect(report.completion.model.iou).toBe(1);
    expect(report.completion.retrieval.iou).toBeLessThan(1);
    expect(report.completion.beats).toEqual({ iou: true, style: true });
    expect(progress.some((m) => m.startsWith('drawing a completion'))).toBe(true);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    const text = describeStyleReport(report);
    console.log(text);
    expect(text).toMatch(/the model beats retrieval on IoU and beats it on style/);
    expect(text).toMatch(/loaded from cache/);
  }, 30_000);

  it('says the model does not beat retrieval when it draws another font', async () => {
    const other = alphabetsOf(training, [0]);
    const drawer: StyleDrawer = {
      invent: async (n) => new Uint8Array(n * ALPHABET),
      perLetter: async (n) => new Uint8Array(n * ALPHABET),
      complete: async () => other,
    };
    const report = await evaluateStyle({ home, dataPath, valFraction: 0.1, drawer, alphabets: 2, seed: 1, given: 'HAMB', completionFonts: 4 });
    expect(report.completion.beats.iou).toBe(false);
    expect(describeStyleReport(report)).toMatch(/the model does not beat retrieval on IoU/);
  }, 30_000);
});
