// The style judge: a small CNN that embeds a glyph so that the glyphs of one font sit together,
// whatever the letter. It is the letter classifier's network (eval/classifier.ts) trained to tell
// the training fonts apart from single glyphs; its penultimate features, less their mean over
// the training glyphs and scaled to unit length, are the embedding. Calibrated on the held-out
// fonts (whole fonts it never saw) and kept with that calibration under <home>/classifiers/, keyed
// by the set's content hash, the validation fraction, STYLE_JUDGE_VERSION and CLASSIFIER_VERSION.
// One file, written atomically:
//   "FLSTYJ01" | uint32 LE header length | UTF-8 JSON header | padding to 4 | float32 weights
// The header carries a sha256 of the weights: a truncated or damaged file is retrained, never used.
import { join } from 'node:path';
import { readWeightsFile, writeWeightsFile } from './weights-file.ts';
import { rngFor } from '../engine/rng.ts';
import { UserError } from '../errors.ts';
import {
  CLASSIFIER_VERSION,
  FEATURES,
  classifierFromWeights,
  trainClassifier,
  type Classifier,
  type ClassifierShape,
  type NamedWeight,
} from './classifier.ts';
import {
  alphabetSimilarities,
  completeAlphabets,
  letterCalibration,
  mean,
  randomMixSimilarity,
  type Alphabets,
  type CalibrationPair,
  type Embeddings,
} from './style-metrics.ts';
import { gatherGlyphs } from './metrics.ts';

/**
 * Bumped whenever the judge's training, embedding or calibration changes: cached judges of
 * another version are retrained, never reused. (A new CLASSIFIER_VERSION retrains them too.)
 */
export const STYLE_JUDGE_VERSION = 1;

/** Share of each training font's glyphs kept out of the judge's training, to measure it. */
const HELD_OUT_GLYPHS = 0.1;
const EPOCHS = 10;
/** Random-font alphabets the calibration averages over, and the seed that draws them. */
const CALIBRATION_MIXES = 1000;
export const CALIBRATION_SEED = 1;
const MAGIC = 'FLSTYJ01';
const CENTRE = 'embedding.centre';

/** A glyph set's glyphs with their fonts, split by font (loadTrainingData in data/training.ts). */
export interface StyleData {
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
  labels: Int32Array;
  fontIds: Int32Array;
  classNames: readonly string[];
  /** Glyphs of the training fonts: the judge learns these fonts. */
  train: Int32Array;
  /** Glyphs of the held-out fonts: the calibration's real fonts. */
  val: Int32Array;
}

/** The scales the judge's raw cosines are read on, measured on the held-out fonts. */
export interface StyleCalibration {
  /** Within-alphabet similarity s: real held-out fonts (s_real) and random-font mixes (s_random). */
  alphabet: CalibrationPair;
  /** cos(letter, a font's centroid): the font's own letters, and the same letter of another random held-out font. */
  letter: CalibrationPair;
  /** Held-out fonts with every letter, which the calibration used. */
  fonts: number;
  /** Held-out fonts left out because they lack a letter. */
  skippedFonts: number;
  randomMixes: number;
}

export interface StyleJudge {
  readonly shape: ClassifierShape;
  readonly dims: number;
  readonly calibration: StyleCalibration;
  /** Unit-length style embeddings of n glyphs (uint8 NHWC, white on black). */
  embed(images: Uint8Array, n: number): Promise<Embeddings>;
  /** Every weight by name, the embedding's centre included (for saving). */
  weights(): Promise<NamedWeight[]>;
  dispose(): void;
}

/** What was trained, on what, and how well; stored beside the weights. */
export interface StyleJudgeInfo {
  version: number;
  classifierVersion: number;
  dataHash: string;
  valFraction: number;
  trainFonts: number;
  trainGlyphs: number;
  /** Glyphs of the training fonts kept out of training. */
  heldOutGlyphs: number;
  /** Share of those held-out glyphs whose font the judge names (chance: 1 / trainFonts). */
  heldOutAccuracy: number | null;
  epochs: number;
  trainSeconds: number;
  created: string;
  calibration: StyleCalibration;
}

export interface CachedStyleJudge {
  judge: StyleJudge;
  info: StyleJudgeInfo;
  /** True when read from the cache, false when trained by this call. */
  fromCache: boolean;
  /** Why a cache file that existed was not used (damaged, another dataset…). */
  retrainedBecause?: string;
  path: string;
  /** Wall time of this call: loading, or training, calibrating and saving. */
  seconds: number;
}

export function styleJudgePath(home: string, dataHash: string, valFraction: number): string {
  return join(home, 'classifiers', `${dataHash.slice(0, 16)}-val${valFraction}-style-v${STYLE_JUDGE_VERSION}-c${CLASSIFIER_VERSION}.bin`);
}

/** Unit-length embeddings: the classifier's penultimate features less `centre`, scaled to length 1. */
function embedder(classifier: Classifier, centre: Float32Array): StyleJudge['embed'] {
  return async (images, n) => {
    const rows = await classifier.features(images, n);
    for (let i = 0; i < n; i++) {
      const r = rows.subarray(i * FEATURES, (i + 1) * FEATURES);
      let sq = 0;
      for (let d = 0; d < FEATURES; d++) sq += (r[d] -= centre[d]) ** 2;
      const scale = sq > 0 ? 1 / Math.sqrt(sq) : 0;
      for (let d = 0; d < FEATURES; d++) r[d] *= scale;
    }
    return { dims: FEATURES, rows };
  };
}

function judgeOf(classifier: Classifier, centre: Float32Array, calibration: StyleCalibration): StyleJudge {
  return {
    shape: classifier.shape,
    dims: FEATURES,
    calibration,
    embed: embedder(classifier, centre),
    weights: async () => [...(await classifier.weights()), { name: CENTRE, shape: [FEATURES], values: centre }],
    dispose: () => classifier.dispose(),
  };
}

/** The held-out fonts with every letter: the calibration's real fonts. */
function calibrationFonts(data: StyleData): Alphabets {
  const classes = data.classNames.length;
  const held = completeAlphabets(data, data.val, classes);
  if (held.fonts.length < 2) {
    throw new UserError(`the style judge needs at least two held-out fonts with all ${classes} letters to calibrate on; this dataset has ${held.fonts.length} (${held.skipped} more lack letters). Import more fonts or raise the validation share.`);
  }
  return held;
}

/** s_real, s_random and the letter-to-centroid pair over the held-out fonts with every letter. */
async function calibrationOn(data: StyleData, held: Alphabets, embed: StyleJudge['embed']): Promise<StyleCalibration> {
  const classes = data.classNames.length;
  const e = await embed(gatherGlyphs(data, held.items, data.height * data.width * data.channels).images, held.items.length);
  return {
    alphabet: {
      real: mean(alphabetSimilarities(e, held.fonts.length, classes)),
      random: randomMixSimilarity(e, held.fonts.length, classes, CALIBRATION_MIXES, CALIBRATION_SEED),
    },
    letter: letterCalibration(e, held.fonts.length, classes, CALIBRATION_SEED),
    fonts: held.fonts.length,
    skippedFonts: held.skipped,
    randomMixes: CALIBRATION_MIXES,
  };
}

/** The training fonts in order (label k is font fonts[k]) and the judge's own train/held-out glyphs. */
function fontIdentityTask(data: StyleData): { fonts: number[]; labels: Int32Array; train: Int32Array; val: Int32Array } {
  const fonts = [...new Set(Array.from(data.train, (i) => data.fontIds[i]))].sort((a, b) => a - b);
  const label = new Map(fonts.map((f, k) => [f, k]));
  const labels = Int32Array.from(data.fontIds, (f) => label.get(f) ?? -1);
  const order = rngFor(0, 'style-judge-held-out').permutation(data.train.length);
  const cut = Math.round(HELD_OUT_GLYPHS * data.train.length);
  const pick = (from: number, to: number) => Int32Array.from(order.subarray(from, to), (k) => data.train[k]).sort();
  return { fonts, labels, train: pick(cut, order.length), val: pick(0, cut) };
}

/**
 * Trains the judge to name the training font of single glyphs (random shifts of up to two
 * pixels, so placement is not style), then calibrates it on the held-out fonts.
 */
export async function trainStyleJudge(
  data: StyleData,
  opts: { epochs?: number; batch?: number; onEpoch?: (epoch: number, epochs: number, loss: number) => void } = {},
): Promise<{ judge: StyleJudge; trainFonts: number; trainGlyphs: number; heldOutGlyphs: number; heldOutAccuracy: number | null; epochs: number }> {
  const task = fontIdentityTask(data);
  if (task.fonts.length < 2) throw new UserError(`the style judge needs at least two training fonts to tell apart; this dataset has ${task.fonts.length}`);
  const held = calibrationFonts(data);
  const classifier = await trainClassifier(
    { ...data, labels: task.labels, classes: task.fonts.length, train: task.train, val: task.val },
    { epochs: opts.epochs ?? EPOCHS, batch: opts.batch, onEpoch: opts.onEpoch },
  );
  try {
    const features = await classifier.features(gatherGlyphs(data, task.train, data.height * data.width * data.channels).images, task.train.length);
    const centre = new Float32Array(FEATURES);
    for (let i = 0; i < features.length; i++) centre[i % FEATURES] += features[i] / task.train.length;
    const calibration = await calibrationOn(data, held, embedder(classifier, centre));
    return {
      judge: judgeOf(classifier, centre, calibration),
      trainFonts: task.fonts.length,
      trainGlyphs: task.train.length,
      heldOutGlyphs: task.val.length,
      heldOutAccuracy: classifier.heldOutAccuracy,
      epochs: classifier.epochs,
    };
  } catch (err) {
    classifier.dispose();
    throw err;
  }
}

interface CacheHeader extends StyleJudgeInfo {
  shape: ClassifierShape;
}

async function saveJudge(path: string, weights: NamedWeight[], shape: ClassifierShape, info: StyleJudgeInfo): Promise<void> {
  await writeWeightsFile(path, MAGIC, { ...info, shape }, weights);
}

/** The cached judge, or why it cannot be used (missing, damaged, for other data). */
async function readCached(path: string, expect: { dataHash: string; valFraction: number; shape: ClassifierShape }): Promise<
  { judge: StyleJudge; info: StyleJudgeInfo } | { problem: string; missing: boolean }
> {
  const read = await readWeightsFile<CacheHeader>(path, MAGIC, 'style judge', (header) => {
    if (header.version !== STYLE_JUDGE_VERSION || header.classifierVersion !== CLASSIFIER_VERSION) {
      return `is version ${header.version}/${header.classifierVersion}, this Fontloom trains version ${STYLE_JUDGE_VERSION}/${CLASSIFIER_VERSION}`;
    }
    if (header.dataHash !== expect.dataHash || header.valFraction !== expect.valFraction) return 'was trained on other data or another split';
    if (JSON.stringify(header.shape) !== JSON.stringify(expect.shape)) return `is for ${JSON.stringify(header.shape)} glyphs and fonts`;
    return null;
  });
  if ('problem' in read) return read;
  const bad = (why: string) => ({ problem: `${path} ${why}`, missing: false });
  const centre = read.weights.find((w) => w.name === CENTRE);
  if (!centre || centre.values.length !== FEATURES) return bad(`has no ${CENTRE} of ${FEATURES} numbers`);
  try {
    const { shape, ...info } = read.header;
    const classifier = classifierFromWeights(shape, read.weights.filter((w) => w.name !== CENTRE));
    return { judge: judgeOf(classifier, centre.values, info.calibration), info };
  } catch (err) {
    return bad(`does not fit this network: ${(err as Error).message}`);
  }
}

/**
 * The style judge for a glyph set: from the cache when a sound file is there, else trained on
 * the training fonts, calibrated on the held-out fonts and saved.
 */
export async function loadOrTrainStyleJudge(opts: {
  home: string;
  data: StyleData;
  /** The glyph set's content hash (contentHash in data/glyphset.ts). */
  dataHash: string;
  valFraction: number;
  /** Training budget when it trains (tests use small ones); the cache key does not include it. */
  epochs?: number;
  batch?: number;
  onEpoch?: (epoch: number, epochs: number, loss: number) => void;
}): Promise<CachedStyleJudge> {
  const started = performance.now();
  const { data, dataHash, valFraction } = opts;
  const path = styleJudgePath(opts.home, dataHash, valFraction);
  const trainFonts = new Set(Array.from(data.train, (i) => data.fontIds[i])).size;
  const shape: ClassifierShape = { classes: trainFonts, size: data.height, channels: data.channels };
  const cached = await readCached(path, { dataHash, valFraction, shape });
  if ('judge' in cached) return { ...cached, fromCache: true, path, seconds: (performance.now() - started) / 1000 };
  const trained = await trainStyleJudge(data, opts);
  try {
    const info: StyleJudgeInfo = {
      version: STYLE_JUDGE_VERSION,
      classifierVersion: CLASSIFIER_VERSION,
      dataHash,
      valFraction,
      trainFonts: trained.trainFonts,
      trainGlyphs: trained.trainGlyphs,
      heldOutGlyphs: trained.heldOutGlyphs,
      heldOutAccuracy: trained.heldOutAccuracy,
      epochs: trained.epochs,
      trainSeconds: (performance.now() - started) / 1000,
      created: new Date().toISOString(),
      calibration: trained.judge.calibration,
    };
    await saveJudge(path, await trained.judge.weights(), shape, info);
    return {
      judge: trained.judge,
      info,
      fromCache: false,
      ...(!cached.missing && { retrainedBecause: cached.problem }),
      path,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    trained.judge.dispose();
    throw err;
  }
}
