// Measures a style model as fonts: invented alphabets (consistency, variety, novelty,
// legibility), the same model letter by letter, and completion of held-out fonts (and of font
// files from outside the dataset) against a retrieval baseline (eval/style-evaluate.ts).
import { existsSync } from 'node:fs';
import { DEFAULT_SAMPLE, type SampleOptions } from '../contract/api.ts';
import { diffusionFromCheckpoint, readCheckpoint, weightsToDraw } from '../engine/checkpoint.ts';
import { sampleOnEngines } from '../engine/runtime/parallel.ts';
import { inventStyle, refineStyle, REFINE_STEPS, repeatCode, styleOf } from '../engine/style.ts';
import { contentHash } from '../data/glyphset.ts';
import { readLetters } from '../data/letters.ts';
import { loadTrainingData } from '../data/training.ts';
import { loadOrTrainClassifier } from '../eval/cache.ts';
import { evaluateStyle, type StyleDrawer, type StyleReport } from '../eval/style-evaluate.ts';
import { UserError } from '../errors.ts';
import { completionStartFrom, trainingFontIndex } from './nearest-font.ts';
import { checkpointPath, loadRun, measuringData } from './run.ts';

export interface EvaluateStyleOptions {
  weights: 'model' | 'ema';
  alphabets: number;
  seed: number;
  steps?: number;
  cfg?: number;
  styleCfg?: number;
  given: string;
  completionFonts?: number;
  /** Steps refining a completion's style on the given letters (default REFINE_STEPS; 0: the encoder's alone). */
  refine?: number;
  /**
   * How far a completion noises the nearest training font's letters before drawing
   * (default: just enough to cover that font's error on the given letters, COMPLETION_COVER; 1: from
   * pure noise, no start).
   */
  strength?: number;
  /** Font files outside the dataset to complete from `given` and score. */
  fontFiles?: string[];
  onProgress?: (message: string) => void;
}

export async function evaluateRunStyle(home: string, id: string, opts: EvaluateStyleOptions): Promise<StyleReport & { run: string; step: number; weights: string; sampler: SampleOptions }> {
  const run = loadRun(home, id);
  const file = checkpointPath(home, run.id);
  const dataPath = measuringData(run);
  if (!existsSync(file)) throw new UserError(`run ${run.id} has no checkpoint yet: train it first (fontloom resume ${run.id})`);
  const ckpt = await readCheckpoint(file);
  if (!(ckpt.header.shape.style ?? 0)) throw new UserError(`run ${run.id} was trained without --style: --style measures a style model's fonts (its letters are measured without --style)`);
  const which = weightsToDraw(ckpt, opts.weights);
  const prior = ckpt.header.stylePriors?.[which];
  if (!prior) throw new UserError(`checkpoint ${file} holds no style prior for its ${which} weights`);
  const { size, channels } = ckpt.header.shape;
  const classes = ckpt.header.classNames.length;
  const per = size * size * channels;
  const sampler: SampleOptions = { sampler: 'ddim', steps: opts.steps ?? DEFAULT_SAMPLE.steps, cfg: opts.cfg ?? DEFAULT_SAMPLE.cfg, seed: opts.seed, eta: 0, ...(opts.styleCfg !== undefined && { styleCfg: opts.styleCfg }) };
  const labels = Array.from({ length: classes }, (_, c) => c);
  const diffusion = diffusionFromCheckpoint(ckpt, which);
  const fontIndex = (opts.strength ?? 0) < 1 ? await trainingFontIndex(dataPath, run.valFraction) : null;
  // Alphabet i of a request is drawn as `fontloom sample --alphabets` draws it: seed + i for its
  // style and its noise.
  const alphabets = async (n: number, seed: number, code: (i: number) => Float32Array | undefined) => {
    const out = new Uint8Array(n * classes * per);
    for (let i = 0; i < n; i++) {
      const c = code(i);
      out.set(await sampleOnEngines(diffusion, labels, { ...sampler, seed: seed + i }, undefined, c && repeatCode(c, classes)), i * classes * per);
    }
    return out;
  };
  const drawer: StyleDrawer = {
    invent: (n, seed) => alphabets(n, seed, (i) => inventStyle(prior, seed + i)),
    perLetter: (n, seed) => alphabets(n, seed, () => undefined),
    complete: async (given, seed) => {
      const pixels = new Uint8Array(given.size * per);
      [...given.values()].forEach((g, i) => pixels.set(g, i * per));
      const read = await styleOf(diffusion.model, pixels, given.size);
      const steps = opts.refine ?? REFINE_STEPS;
      const code = steps > 0 ? await refineStyle(diffusion, pixels, [...given.keys()], read, { steps, seed }) : read;
      const nearest = fontIndex?.nearest(given);
      const start = nearest ? completionStartFrom(diffusion.schedule, nearest, nearest.alphabet, opts.strength) : undefined;
      const drawn = await sampleOnEngines(diffusion, labels, { ...sampler, seed }, undefined, repeatCode(code, classes), start);
      for (const [c, g] of given) drawn.set(g, c * per);
      return drawn;
    },
  };
  const outsideFonts = [];
  for (const path of opts.fontFiles ?? []) {
    const read = await readLetters(path, { size });
    const missing = ckpt.header.classNames.filter((c) => !read.letters.has(c));
    if (missing.length) throw new UserError(`${path}: scoring a completion needs every letter of the font; it lacks ${missing.join(', ')}`);
    const alphabet = new Uint8Array(classes * per);
    ckpt.header.classNames.forEach((c, k) => alphabet.set(read.letters.get(c)!, k * per));
    outsideFonts.push({ name: path, alphabet });
  }
  // The letter classifier reads the alphabets (legibility), as `fontloom eval` does.
  const data = await loadTrainingData(dataPath, run.valFraction);
  const { classifier } = await loadOrTrainClassifier({ home, data: { ...data, classes }, dataHash: contentHash(data.set), valFraction: run.valFraction });
  try {
    const report = await evaluateStyle({
      home,
      dataPath,
      valFraction: run.valFraction,
      drawer,
      alphabets: opts.alphabets,
      seed: opts.seed,
      given: opts.given,
      completionFonts: opts.completionFonts,
      outsideFonts,
      legibility: async (images, asked) => {
        const read = await classifier.predict(images, asked.length);
        return asked.filter((c, i) => read[i] === c).length / asked.length;
      },
      onProgress: opts.onProgress,
    });
    return { run: run.id, step: ckpt.header.step, weights: which, sampler, ...report };
  } finally {
    classifier.dispose();
    diffusion.model.dispose();
  }
}
