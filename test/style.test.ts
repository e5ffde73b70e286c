// The style-conditioned model: a font's style is the mean of its glyphs' codes (order-free, any
// number of references), training drops style and letter as asked, sampling runs the guidance
// branches the two scales ask for, new styles come from the fitted Gaussian, and a dataset that
// does not know its fonts refuses a style model by name.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTrainConfig, getPreset, STYLE_DEFAULTS } from '../src-main/contract/presets.ts';
import { batchStyleRows, guidanceBranches, makeDiffusion, sampleImages, startIndex, strengthFor } from '../src-main/engine/diffusion.ts';
import { createUNet, type UNet } from '../src-main/engine/unet.ts';
import { Trainer, type TrainingData } from '../src-main/engine/train.ts';
import { fitStylePrior, inventStyle, blendStyles, nearestFont, refineStyle, styleOf } from '../src-main/engine/style.ts';
import { lossWeights, noiseScales, predictionTarget, weightedMse } from '../src-main/engine/diffusion.ts';
import { oneHot, styleRows } from '../src-main/engine/unet.ts';
import { rngFor } from '../src-main/engine/rng.ts';
import { readCheckpoint, restoreTrainer, saveCheckpoint, diffusionFromCheckpoint } from '../src-main/engine/checkpoint.ts';
import { splitByFont, type GlyphSet } from '../src-main/data/glyphset.ts';
import { requireStyleSupport, styleSupport } from '../src-main/data/training.ts';
import { cosineSchedule } from '../src-main/engine/schedule.ts';
import { guide, guideTwice, timesteps } from '../src-main/engine/samplers.ts';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

const styleShape = { channels: 1, classes: 26, size: 16, style: 8 };

function styleData(fonts: number): TrainingData & { set: GlyphSet } {
  const set = syntheticGlyphSet({ fonts, size: 16, seed: 5 });
  return { ...set, ...splitByFont(set, 0.25, 0), set };
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('the style encoder', () => {
  let model: UNet;
  beforeAll(() => {
    model = createUNet(getPreset('micro'), styleShape, 1);
  });
  afterAll(() => model.dispose());

  it('gives one style for a font whatever the order of its references, for k = 1 to 8', async () => {
    const data = styleData(2);
    const fontIds = data.fontIds!;
    const per = 16 * 16;
    for (let k = 1; k <= 8; k++) {
      const items = Array.from({ length: k }, (_, i) => i); // the first font's first k letters
      const refs = (order: number[]) => tf.tensor4d(Float32Array.from({ length: k * per }, (_, j) => data.pixels[order[Math.floor(j / per)] * per + (j % per)] / 127.5 - 1), [k, 16, 16, 1]);
      const forward = tf.tidy(() => batchStyleRows(model, 1, refs(items), new Array(k).fill(0)).arraySync());
      const reversed = tf.tidy(() => batchStyleRows(model, 1, refs([...items].reverse()), new Array(k).fill(0)).arraySync());
      expect(forward[0]).toHaveLength(styleShape.style + 1);
      expect(forward[0][styleShape.style]).toBe(1); // "style present"
      for (let j = 0; j < styleShape.style; j++) expect(reversed[0][j]).toBeCloseTo(forward[0][j], 5);
    }
  });

  it('gives the all-zero "no style" row to a sample without references, and different styles to different fonts', () => {
    const data = styleData(2);
    const fontIds = data.fontIds!;
    const per = 16 * 16;
    const firstFontA = 0;
    const secondFontA = fontIds.findIndex((f, i) => f === 1 && data.labels[i] === 0);
    const rows = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from({ length: 2 * per }, (_, j) => data.pixels[[firstFontA, secondFontA][Math.floor(j / per)] * per + (j % per)] / 127.5 - 1), [2, 16, 16, 1]);
      return batchStyleRows(model, 3, x, [0, 2]).arraySync();
    });
    expect(rows[1].every((v) => v === 0)).toBe(true);
    const distance = Math.hypot(...rows[0].map((v, j) => v - rows[2][j]));
    expect(distance).toBeGreaterThan(1e-3);
  });
});

describe('training a style model', () => {
  it('draws references from other letters of the same font, drops style and letter as configured, and keeps tensors flat', async () => {
    const data = styleData(6);
    const fontIds = data.fontIds!;
    const config = defaultTrainConfig('micro', { steps: 4, batch: 16, cfgDropout: 0.2, style: { ...STYLE_DEFAULTS, dim: 8, dropout: 0.3 } });
    const trainer = new Trainer(config, data);
    let unconditional = 0;
    let styleOnlyDropped = 0;
    let samples = 0;
    for (let step = 0; step < 40; step++) {
      const batch = trainer.stepBatch(step);
      const items = (trainer as unknown as { batchItems(s: number): Int32Array }).batchItems(step);
      const owners = [...batch.refs!.owner];
      for (let i = 0; i < batch.n; i++) {
        const mine = owners.filter((o) => o === i).length;
        samples++;
        if (batch.labels[i] < 0) {
          unconditional++;
          expect(mine).toBe(0); // no letter: no style either (the fully unconditional branch)
        } else if (mine === 0) styleOnlyDropped++;
        else expect(mine).toBeLessThanOrEqual(STYLE_DEFAULTS.maxRefs);
      }
      // Every reference is another glyph of its sample's font: same font, different letter.
      const per = 16 * 16;
      owners.forEach((o, r) => {
        const ref = batch.refs!.x.subarray(r * per, (r + 1) * per);
        const candidates = [...data.train].filter((it) => fontIds[it] === fontIds[items[o]] && it !== items[o]);
        const match = candidates.some((it) => ref.every((v, j) => v === Math.fround(data.pixels[it * per + j] / 127.5 - 1)));
        expect(match).toBe(true);
      });
    }
    expect(unconditional / samples).toBeGreaterThan(0.12);
    expect(unconditional / samples).toBeLessThan(0.28);
    // 30% of the labelled samples: about 24% of all.
    expect(styleOnlyDropped / samples).toBeGreaterThan(0.16);
    expect(styleOnlyDropped / samples).toBeLessThan(0.32);

    await trainer.trainStep();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await trainer.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
  }, 60_000);

  it('learns: the style encoder gets gradients, and the checkpoint carries the fitted style prior and restores', async () => {
    const data = styleData(6);
    const fontIds = data.fontIds!;
    const config = defaultTrainConfig('micro', { steps: 6, batch: 16, style: { ...STYLE_DEFAULTS, dim: 8 } });
    const trainer = new Trainer(config, data);
    const encoderWeight = trainer.model.variables.get('style_enc.stage1.conv.weight')!;
    const before = (await encoderWeight.data()).slice();
    for (let i = 0; i < 6; i++) expect(Number.isFinite((await trainer.trainStep()).loss)).toBe(true);
    const after = await encoderWeight.data();
    expect(after.some((v, i) => v !== before[i])).toBe(true);
    expect(await trainer.validate()).toBeGreaterThan(0);

    const dir = await mkdtemp(join(tmpdir(), 'fontloom-style-'));
    try {
      const file = join(dir, 'latest.ckpt');
      await saveCheckpoint(file, trainer);
      const ckpt = await readCheckpoint(file);
      const trainFonts = new Set([...data.train].map((i) => fontIds[i]));
      expect(ckpt.header.shape.style).toBe(8);
      expect(ckpt.header.stylePriors?.ema?.fontIds.sort()).toEqual([...trainFonts].sort());
      expect(ckpt.header.stylePriors?.ema?.mean).toHaveLength(8);
      const again = new Trainer(config, data);
      restoreTrainer(again, ckpt);
      expect(again.step).toBe(6);
      const d = diffusionFromCheckpoint(ckpt, 'ema');
      expect(d.model.shape.style).toBe(8);
      d.model.dispose();
      again.dispose();
      // A letter-only run cannot take a style checkpoint, and says what differs.
      const plain = new Trainer(defaultTrainConfig('micro', { steps: 6, batch: 16 }), data);
      expect(() => restoreTrainer(plain, ckpt)).toThrow(/style-conditioned/);
      plain.dispose();
    } finally {
      trainer.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('guidance on letter and style', () => {
  // A stand-in network whose output says which conditions each row carried: 1 per letter, 10 per style.
  const calls: { rows: number; letters: number[]; styles: number[] }[] = [];
  const stub: UNet = {
    preset: getPreset('micro'),
    shape: { channels: 1, classes: 2, size: 8, style: 2 },
    variables: new Map(),
    encodeStyle: () => {
      throw new Error('not used');
    },
    apply: (x, _t, classes, style) => {
      const letters = classes.sum(1).arraySync() as number[];
      const styles = style ? ((style.slice([0, 2], [-1, 1]).reshape([-1]).arraySync()) as number[]) : letters.map(() => 0);
      calls.push({ rows: x.shape[0], letters, styles });
      const value = tf.add(tf.tensor1d(letters), tf.mul(tf.tensor1d(styles), 10)).reshape([-1, 1, 1, 1]);
      return tf.mul(tf.onesLike(x), value) as tf.Tensor4D;
    },
    dispose: () => {},
  };
  const d = { ...makeDiffusion(stub, { schedule: 'cosine', prediction: 'eps', weighting: 'mse', snrGamma: 5 }), schedule: cosineSchedule() };
  const codes = new Float32Array([0.5, -0.5, 0.5, -0.5]);

  it('asks for (letter, style) and (nothing) with one scale, and adds (letter) only when the scales differ', async () => {
    expect(guidanceBranches({ cfg: 3 }, false).branches).toBe('letter');
    expect(guidanceBranches({ cfg: 3 }, true).branches).toBe('letter-style');
    expect(guidanceBranches({ cfg: 3, styleCfg: 3 }, true).branches).toBe('letter-style');
    expect(guidanceBranches({ cfg: 3, styleCfg: 5 }, true).branches).toBe('letter-style+letter');
    expect(guidanceBranches({ cfg: 1 }, true).guided).toBe(false);

    calls.length = 0;
    await sampleImages(d, [0, 1], { sampler: 'ddim', steps: 2, cfg: 3, seed: 0, eta: 0 }, undefined, undefined, codes);
    expect(calls[0]).toEqual({ rows: 4, letters: [1, 1, 0, 0], styles: [1, 1, 0, 0] });

    calls.length = 0;
    await sampleImages(d, [0, 1], { sampler: 'ddim', steps: 2, cfg: 3, styleCfg: 5, seed: 0, eta: 0 }, undefined, undefined, codes);
    expect(calls[0]).toEqual({ rows: 6, letters: [1, 1, 1, 1, 0, 0], styles: [1, 1, 0, 0, 0, 0] });

    calls.length = 0;
    await sampleImages(d, [0, 1], { sampler: 'ddim', steps: 2, cfg: 3, seed: 0, eta: 0 });
    expect(calls[0]).toEqual({ rows: 4, letters: [1, 1, 0, 0], styles: [0, 0, 0, 0] });
  });

  it('mixes the branches as ε∅∅ + s·(εc∅ − ε∅∅) + s_s·(εcs − εc∅), which is plain guidance when the scales agree', () => {
    const [cs, c0, none] = [tf.fill([1, 2, 2, 1], 11), tf.fill([1, 2, 2, 1], 1), tf.fill([1, 2, 2, 1], 0.5)] as tf.Tensor4D[];
    expect(guideTwice(cs, c0, none, 2, 0.5).dataSync()[0]).toBeCloseTo(0.5 + 2 * 0.5 + 0.5 * 10, 5);
    expect(guideTwice(cs, c0, none, 3, 3).dataSync()[0]).toBeCloseTo(guide(cs, none, 3).dataSync()[0], 5);
  });
});

describe('starting from given glyphs (how completion redraws the nearest font)', () => {
  // A network that predicts no noise: DDIM then keeps x_t/√ᾱ_t, so a start comes back as itself
  // plus its noise scaled by √((1−ᾱ)/ᾱ) at the start's timestep.
  let calls = 0;
  const still: UNet = {
    preset: getPreset('micro'),
    shape: { channels: 1, classes: 2, size: 8 },
    variables: new Map(),
    encodeStyle: () => {
      throw new Error('not used');
    },
    apply: (x) => {
      calls++;
      return tf.zerosLike(x);
    },
    dispose: () => {},
  };
  const d = makeDiffusion(still, { schedule: 'cosine', prediction: 'eps', weighting: 'mse', snrGamma: 5 });
  const opts = { sampler: 'ddim' as const, steps: 10, cfg: 3, seed: 1, eta: 0 };
  const x0 = Float32Array.from({ length: 2 * 64 }, (_, i) => ((i * 37) % 11) / 5 - 1);
  const meanDiff = (a: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - Math.round((x0[i] + 1) * 127.5)), 0) / a.length;

  it('draws only the steps after the strength\'s timestep, from the start noised to it', async () => {
    const ts = timesteps(d.schedule, opts.steps);
    expect(startIndex(ts, 1)).toBe(0);
    expect(startIndex(ts, 0.5)).toBe(Math.round(0.5 * (ts.length - 1)));
    expect(startIndex(ts, 0.001)).toBe(ts.length - 2); // at least one step is drawn
    const before = tf.memory().numTensors;
    const drawn: Record<number, number> = {};
    for (const strength of [0.1, 0.3, 1]) {
      calls = 0;
      const out = await sampleImages(d, [0, 1], opts, undefined, undefined, undefined, { x0, strength });
      expect(calls, `strength ${strength}`).toBe(ts.length - 1 - startIndex(ts, strength));
      drawn[strength] = meanDiff(out);
    }
    expect(tf.memory().numTensors).toBe(before);
    console.log(`mean |drawn − start| in grey levels: strength 0.1 ${drawn[0.1].toFixed(2)}, 0.3 ${drawn[0.3].toFixed(2)}, 1 ${drawn[1].toFixed(2)}`);
    expect(drawn[0.1]).toBeLessThan(1.5);
    expect(drawn[0.3]).toBeGreaterThan(drawn[0.1]);
    expect(drawn[1]).toBeGreaterThan(drawn[0.3]);
  });

  it('noises a start just enough to cover its error: a near match is touched up, a distant one redrawn from further back', () => {
    const s = cosineSchedule();
    const ratio = (t: number) => Math.sqrt((1 - s.alphaBar[t]) / s.alphaBar[t]);
    let previous = 0;
    for (const rms of [0.05, 0.1, 0.2, 0.4, 0.8]) {
      const strength = strengthFor(s, rms, 2);
      const t = Math.round(strength * (s.steps - 1));
      // The first timestep whose noise-to-signal ratio reaches 2 × rms.
      expect(ratio(t)).toBeGreaterThanOrEqual(2 * rms);
      expect(ratio(t - 1)).toBeLessThan(2 * rms);
      expect(strength).toBeGreaterThan(previous);
      previous = strength;
    }
    expect(strengthFor(s, 0, 2)).toBe(0.02);
    expect(strengthFor(s, 1e6, 2)).toBe(1);
  });

  it('refuses a strength outside (0, 1] and a start of the wrong size', async () => {
    await expect(sampleImages(d, [0, 1], opts, undefined, undefined, undefined, { x0, strength: 0 })).rejects.toThrow(/strength is in \(0, 1\]/);
    await expect(sampleImages(d, [0, 1], opts, undefined, undefined, undefined, { x0: x0.subarray(0, 64), strength: 0.5 })).rejects.toThrow(/needs 2 images/);
  });
});

describe('refining a style on given letters', () => {
  it('moves only the code, and lowers the model\'s denoising loss on those letters', async () => {
    const data = styleData(4);
    const trainer = new Trainer(defaultTrainConfig('micro', { steps: 1, batch: 8, style: { ...STYLE_DEFAULTS, dim: 8 } }), data);
    const d = trainer.diffusion;
    const per = 16 * 16;
    const items = [0, 1, 2];
    const glyphs = new Uint8Array(items.length * per);
    items.forEach((it, i) => glyphs.set(data.pixels.subarray(it * per, (it + 1) * per), i * per));
    const classes = items.map((it) => data.labels[it]);
    const start = await styleOf(d.model, glyphs, items.length);
    const weightsBefore = (await d.model.variables.get('style_emb.weight')!.data()).slice();
    // The loss refineStyle lowers, measured on fixed timesteps and noise for both codes.
    const loss = async (code: Float32Array) => {
      const refined = await refineStyle(d, glyphs, classes, code, { steps: 0 });
      expect(refined).toEqual(code);
      const n = 12;
      const t = Int32Array.from({ length: n }, (_, i) => 50 + i * 80);
      const eps = rngFor(9, 'check').normal(n * per);
      const value = tf.tidy(() => {
        const x0 = tf.tensor4d(Float32Array.from({ length: n * per }, (_, j) => glyphs[(Math.floor(j / per) % 3) * per + (j % per)] / 127.5 - 1), [n, 16, 16, 1]);
        const noise = tf.tensor4d(eps, [n, 16, 16, 1]);
        const [sa, sb] = noiseScales(d.schedule, t);
        const xt = tf.add<tf.Tensor4D>(tf.mul(x0, sa), tf.mul(noise, sb));
        const rows = styleRows(tf.tile(tf.tensor2d(code, [1, 8]), [n, 1]) as tf.Tensor2D, new Array(n).fill(true));
        const out = d.model.apply(xt, t, oneHot(Array.from({ length: n }, (_, i) => classes[i % 3]), 26), rows);
        return weightedMse(out, predictionTarget(d.recipe.prediction, x0, noise, sa, sb), tf.tensor1d(lossWeights(d.schedule, t, d.recipe)));
      });
      const v = (await value.data())[0];
      value.dispose();
      return v;
    };
    const before = tf.memory().numTensors;
    const refined = await refineStyle(d, glyphs, classes, start, { steps: 40, lr: 0.1, seed: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(refined).not.toEqual(start);
    expect(await loss(refined)).toBeLessThan(await loss(start));
    expect(await d.model.variables.get('style_emb.weight')!.data()).toEqual(weightsBefore);
    trainer.dispose();
  }, 60_000);
});

describe('styles: invented, blended, nearest', () => {
  it('draws a new style per seed from the fitted Gaussian, whose mean and spread follow the fonts', () => {
    const dim = 3;
    const n = 400;
    const codes = new Float32Array(n * dim);
    const rng = (i: number) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453);
    for (let i = 0; i < n; i++) {
      codes[i * dim] = 2 + (rng(i) - 0.5);
      codes[i * dim + 1] = -1 + 4 * (rng(i + 1000) - 0.5);
      codes[i * dim + 2] = codes[i * dim] * 0.5;
    }
    const prior = fitStylePrior(codes, Array.from({ length: n }, (_, i) => i), dim);
    expect(prior.mean[0]).toBeCloseTo(2, 1);
    expect(prior.mean[1]).toBeCloseTo(-1, 0);
    const drawn = Array.from({ length: 500 }, (_, s) => inventStyle(prior, s));
    const meanOf = (j: number) => drawn.reduce((acc, c) => acc + c[j], 0) / drawn.length;
    const sd = (j: number) => Math.sqrt(drawn.reduce((acc, c) => acc + (c[j] - meanOf(j)) ** 2, 0) / drawn.length);
    expect(meanOf(0)).toBeCloseTo(2, 1);
    expect(sd(1) / sd(0)).toBeGreaterThan(2.5); // the second axis spreads four times as wide
    // The third coordinate follows the first: the fitted covariance carries the correlation.
    for (const c of drawn.slice(0, 20)) expect(c[2]).toBeCloseTo(c[0] * 0.5, 1);
    expect(inventStyle(prior, 7)).toEqual(inventStyle(prior, 7));
    expect(inventStyle(prior, 7)).not.toEqual(inventStyle(prior, 8));
    const mid = blendStyles(inventStyle(prior, 1), inventStyle(prior, 2), 0.5);
    expect(mid[0]).toBeCloseTo((inventStyle(prior, 1)[0] + inventStyle(prior, 2)[0]) / 2, 5);
    expect(nearestFont(prior, codes.subarray(5 * dim, 6 * dim)).fontId).toBe(5);
  });
});

describe('datasets that cannot train a style model', () => {
  it('refuses one whose "fonts" are single rows (a CSV without a font column), naming the dataset', () => {
    const set = syntheticGlyphSet({ fonts: 4, size: 16, seed: 1 });
    const rows = { ...set, fontIds: Int32Array.from(set.labels, (_, i) => i), fonts: Array.from(set.labels, (_, i) => ({ name: `row ${i + 2}` })) };
    expect(styleSupport(rows).ok).toBe(false);
    expect(() => requireStyleSupport(rows, 'letters.csv')).toThrow(/dataset letters\.csv cannot train a style model \(--style\): it does not say which glyphs share a font.*a CSV needs a font column/);
  });

  it('refuses one whose groups hold many images of a class (CIFAR-10 batches), and accepts fonts', () => {
    const set = syntheticGlyphSet({ fonts: 4, size: 16, seed: 1 });
    const batches = { ...set, fontIds: new Int32Array(set.labels.length), fonts: [{ name: 'data_batch_1' }] };
    expect(() => requireStyleSupport(batches, 'cifar')).toThrow(/"data_batch_1" holds 104 images of 26 classes/);
    expect(styleSupport(set)).toEqual({ ok: true, fonts: 4 });
  });
});
