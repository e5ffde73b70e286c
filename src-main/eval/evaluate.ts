// Evaluates a checkpoint: N glyphs per class drawn with DDIM, read by the dataset's letter
// classifier (cached), scored for legibility, glyph FID against real held-out glyphs, and
// diversity; optionally beside two baselines that give the numbers a scale: real held-out
// glyphs through the same pipeline (what a perfect model scores) and an untrained model of the
// same preset with the same sampler (what no learning scores).
import { type BackendInfo, describeBackend } from '../engine/runtime/backend.ts';
import { diffusionFromCheckpoint, readCheckpoint, untrainedModel, weightsToDraw, type Checkpoint } from '../engine/checkpoint.ts';
import { inventStyle } from '../engine/style.ts';
import type { Recipe } from '../contract/presets.ts';
import { sampleOnEngines } from '../engine/runtime/parallel.ts';
import type { SampleOptions } from '../contract/api.ts';
import { makeDiffusion, type Diffusion } from '../engine/diffusion.ts';
import { contentHash } from '../data/glyphset.ts';
import { UserError } from '../errors.ts';
import { loadTrainingData } from '../data/training.ts';
import { loadOrTrainClassifier } from './cache.ts';
import { evaluateGlyphs, gatherGlyphs, type GlyphBatch, type RunMetrics } from './metrics.ts';
import { pickPerClass, splitHeldOut } from './reference.ts';

export interface EvalOptions {
  /** The checkpoint file to evaluate. */
  ckptPath: string;
  /** The glyph set the run trained on, and the share of its fonts held out. */
  dataPath: string;
  valFraction: number;
  /** Fontloom's home folder: the classifier cache lives in it. */
  home: string;
  /** The backend already started (initBackend), recorded in the report. */
  backend: BackendInfo;
  /** Glyphs generated per class. */
  perClass: number;
  weights: 'model' | 'ema';
  /** DDIM steps, guidance scale and noise seed. */
  steps: number;
  cfg: number;
  seed: number;
  /** Also score real held-out glyphs and an untrained model the same way. */
  baselines: boolean;
  onProgress?: (message: string) => void;
}

export interface EvalReport {
  checkpoint: string;
  step: number;
  weights: 'model' | 'ema';
  preset: string;
  recipe: Recipe;
  backend: string;
  sampler: SampleOptions;
  perClass: number;
  /** A style model's glyphs are drawn one invented style per round of A–Z (seed + round). */
  styled?: boolean;
  classNames: string[];
  /** The generated glyphs' metrics. */
  metrics: RunMetrics;
  /**
   * The same metrics for N real held-out glyphs per class (null with a single held-out font)
   * and for an untrained model of the same preset and sampler.
   */
  baselines: { real: RunMetrics | null; untrained: RunMetrics } | null;
  /** The real glyphs FID compares with: one half of the held-out fonts. */
  reference: { glyphs: number; fonts: number };
  classifier: {
    version: number;
    /** Share of held-out glyphs (fonts never trained on) it reads correctly. */
    heldOutAccuracy: number | null;
    heldOutGlyphs: number;
    fromCache: boolean;
    retrainedBecause?: string;
    path: string;
    seconds: number;
  };
  seconds: { classifier: number; sampling: number; metrics: number; baselines: number | null; total: number };
}

/** perClass glyphs of every class, class-major rounds: 0..C−1, 0..C−1, … */
function askedLabels(classes: number, perClass: number): number[] {
  return Array.from({ length: classes * perClass }, (_, i) => i % classes);
}

async function sampleAll(d: Diffusion, asked: number[], sampler: SampleOptions, what: string, onProgress?: (m: string) => void, styles?: Float32Array): Promise<Uint8Array> {
  let reported = -1;
  const onStep = (done: number, total: number) => {
    const tenth = Math.floor((10 * done) / total);
    if (tenth !== reported) {
      reported = tenth;
      onProgress?.(`sampling ${asked.length} glyphs from ${what}: ${done}/${total} steps`);
    }
  };
  return sampleOnEngines(d, asked, sampler, onStep, styles);
}

/**
 * A style model is measured as it draws: each round of A–Z (askedLabels) in one invented style,
 * round r from seed + r, as `fontloom sample --alphabets` draws alphabet r + 1.
 */
function roundStyles(ckpt: Checkpoint, which: 'model' | 'ema', classes: number, rounds: number, seed: number): Float32Array | undefined {
  const prior = ckpt.header.stylePriors?.[which];
  if (!prior) return undefined;
  const out = new Float32Array(rounds * classes * prior.dim);
  for (let r = 0; r < rounds; r++) {
    const code = inventStyle(prior, seed + r);
    for (let c = 0; c < classes; c++) out.set(code, (r * classes + c) * prior.dim);
  }
  return out;
}

export async function evaluateCheckpoint(opts: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;
  const ckpt = await readCheckpoint(opts.ckptPath);
  const data = await loadTrainingData(opts.dataPath, opts.valFraction);
  const classes = data.classNames.length;
  const header = ckpt.header;
  if (header.classNames.join('\n') !== data.classNames.join('\n') || header.shape.size !== data.height || header.shape.channels !== data.channels) {
    throw new UserError(`checkpoint ${opts.ckptPath} was trained on other glyphs (${header.shape.classes} classes, ${header.shape.size}×${header.shape.size}) than ${opts.dataPath}`);
  }
  if (data.val.length === 0) throw new UserError(`${opts.dataPath} has no held-out fonts to compare with: glyph FID and the classifier's accuracy need at least two fonts`);

  const dataHash = contentHash(data.set);
  const cached = await loadOrTrainClassifier({
    home: opts.home,
    data: { ...data, classes },
    dataHash,
    valFraction: opts.valFraction,
    onEpoch: (epoch, epochs, loss) => opts.onProgress?.(`training the letter classifier on ${data.train.length} glyphs: epoch ${epoch}/${epochs}, loss ${loss.toFixed(3)}`),
  });
  const { classifier } = cached;
  try {
    const perImage = data.height * data.width * data.channels;
    const halves = splitHeldOut(data.set, data.val, classes, Number.parseInt(dataHash.slice(0, 8), 16));
    const real: GlyphBatch = gatherGlyphs(data, halves.reference, perImage);
    const sampler: SampleOptions = { sampler: 'ddim', steps: opts.steps, cfg: opts.cfg, seed: opts.seed, eta: 0 };
    const asked = askedLabels(classes, opts.perClass);

    const sampleStart = performance.now();
    const weights = weightsToDraw(ckpt, opts.weights);
    const trained = diffusionFromCheckpoint(ckpt, weights);
    let images: Uint8Array;
    const styled = (header.shape.style ?? 0) > 0;
    try {
      const styles = roundStyles(ckpt, weights, classes, opts.perClass, opts.seed);
      images = await sampleAll(trained, asked, sampler, `step ${header.step} (${weights})${styles ? `, ${opts.perClass} invented styles` : ''}`, opts.onProgress, styles);
    } finally {
      trained.model.dispose();
    }
    const sampling = seconds(sampleStart);
    const metricsStart = performance.now();
    const metrics = await evaluateGlyphs({ images, asked, classifier, real });
    const metricsSeconds = seconds(metricsStart);

    let baselines: EvalReport['baselines'] = null;
    let baselineSeconds: number | null = null;
    if (opts.baselines) {
      const baselineStart = performance.now();
      const sample = halves.sample.length ? gatherGlyphs(data, pickPerClass(data.labels, halves.sample, classes, opts.perClass, opts.seed), perImage) : null;
      const realMetrics = sample ? await evaluateGlyphs({ images: sample.images, asked: sample.labels, classifier, real }) : null;
      const untrained = makeDiffusion(untrainedModel(ckpt), header.config.recipe);
      let noise: Uint8Array;
      try {
        noise = await sampleAll(untrained, asked, sampler, 'an untrained model', opts.onProgress);
      } finally {
        untrained.model.dispose();
      }
      baselines = { real: realMetrics, untrained: await evaluateGlyphs({ images: noise, asked, classifier, real }) };
      baselineSeconds = seconds(baselineStart);
    }

    return {
      checkpoint: opts.ckptPath,
      step: header.step,
      weights,
      preset: header.config.preset,
      recipe: header.config.recipe,
      backend: describeBackend(opts.backend),
      sampler,
      perClass: opts.perClass,
      ...(styled && { styled }),
      classNames: [...data.classNames],
      metrics,
      baselines,
      reference: { glyphs: halves.reference.length, fonts: halves.referenceFonts },
      classifier: {
        version: cached.info.version,
        heldOutAccuracy: cached.info.heldOutAccuracy,
        heldOutGlyphs: cached.info.heldOutGlyphs,
        fromCache: cached.fromCache,
        ...(cached.retrainedBecause && { retrainedBecause: cached.retrainedBecause }),
        path: cached.path,
        seconds: Math.round(cached.seconds * 1000) / 1000,
      },
      seconds: { classifier: Math.round(cached.seconds * 1000) / 1000, sampling, metrics: metricsSeconds, baselines: baselineSeconds, total: seconds(started) },
    };
  } finally {
    classifier.dispose();
  }
}
