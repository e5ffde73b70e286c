// One letter classifier per glyph set, trained once and kept under <home>/classifiers/. The key
// is the set's content hash, the validation fraction (which fixes the held-out fonts) and
// CLASSIFIER_VERSION, so a new dataset, split or network trains afresh. One file, written
// atomically:
//   "FLCLSF01" | uint32 LE header length | UTF-8 JSON header | padding to 4 | float32 weights
// The header carries a sha256 of the weights: a truncated or damaged file is retrained, never used.
import { join } from 'node:path';
import { readWeightsFile, writeWeightsFile } from './weights-file.ts';
import {
  CLASSIFIER_VERSION,
  classifierFromWeights,
  trainClassifier,
  type Classifier,
  type ClassifierData,
  type ClassifierShape,
  type NamedWeight,
} from './classifier.ts';

const MAGIC = 'FLCLSF01';

interface CacheHeader {
  version: number;
  dataHash: string;
  valFraction: number;
  shape: ClassifierShape;
  heldOutAccuracy: number | null;
  heldOutGlyphs: number;
  trainGlyphs: number;
  epochs: number;
  trainSeconds: number;
  created: string;
}

/** What was trained, and on what; stored beside the weights. */
export interface ClassifierInfo {
  version: number;
  dataHash: string;
  valFraction: number;
  /** Share of held-out glyphs (fonts the classifier never saw) read correctly. */
  heldOutAccuracy: number | null;
  heldOutGlyphs: number;
  trainGlyphs: number;
  epochs: number;
  trainSeconds: number;
  created: string;
}

export interface CachedClassifier {
  classifier: Classifier;
  info: ClassifierInfo;
  /** True when read from the cache, false when trained by this call. */
  fromCache: boolean;
  /** Why a cache file that existed was not used (damaged, another dataset…). */
  retrainedBecause?: string;
  path: string;
  /** Wall time of this call: loading, or training and saving. */
  seconds: number;
}

export function classifierPath(home: string, dataHash: string, valFraction: number): string {
  return join(home, 'classifiers', `${dataHash.slice(0, 16)}-val${valFraction}-v${CLASSIFIER_VERSION}.bin`);
}

async function saveClassifier(path: string, classifier: Classifier, info: ClassifierInfo): Promise<void> {
  await writeWeightsFile(path, MAGIC, { ...info, shape: classifier.shape }, await classifier.weights());
}

/** The cached classifier, or why it cannot be used (missing, damaged, for other data). */
async function readCached(path: string, expect: { dataHash: string; valFraction: number; shape: ClassifierShape }): Promise<
  { classifier: Classifier; info: ClassifierInfo } | { problem: string; missing: boolean }
> {
  const read = await readWeightsFile<CacheHeader>(path, MAGIC, 'classifier', (header) => {
    if (header.version !== CLASSIFIER_VERSION) return `is version ${header.version}, this Fontloom trains version ${CLASSIFIER_VERSION}`;
    if (header.dataHash !== expect.dataHash || header.valFraction !== expect.valFraction) return 'was trained on other data or another split';
    if (JSON.stringify(header.shape) !== JSON.stringify(expect.shape)) return `is for ${JSON.stringify(header.shape)} glyphs`;
    return null;
  });
  if ('problem' in read) return read;
  try {
    const { shape, ...info } = read.header;
    return { classifier: classifierFromWeights(shape, read.weights), info };
  } catch (err) {
    return { problem: `${path} does not fit this network: ${(err as Error).message}`, missing: false };
  }
}

/**
 * The letter classifier for a glyph set: from the cache when a sound file is there, else
 * trained on `data.train`, scored on `data.val` (held-out fonts) and saved.
 */
export async function loadOrTrainClassifier(opts: {
  home: string;
  data: ClassifierData;
  /** The glyph set's content hash (contentHash in data/glyphset.ts). */
  dataHash: string;
  valFraction: number;
  onEpoch?: (epoch: number, epochs: number, loss: number) => void;
}): Promise<CachedClassifier> {
  const started = performance.now();
  const { data, dataHash, valFraction } = opts;
  const path = classifierPath(opts.home, dataHash, valFraction);
  const shape: ClassifierShape = { classes: data.classes, size: data.height, channels: data.channels };
  const cached = await readCached(path, { dataHash, valFraction, shape });
  if ('classifier' in cached) {
    return { classifier: cached.classifier, info: cached.info, fromCache: true, path, seconds: (performance.now() - started) / 1000 };
  }
  const trained = await trainClassifier(data, { onEpoch: opts.onEpoch });
  const info: ClassifierInfo = {
    version: CLASSIFIER_VERSION,
    dataHash,
    valFraction,
    heldOutAccuracy: trained.heldOutAccuracy,
    heldOutGlyphs: data.val.length,
    trainGlyphs: data.train.length,
    epochs: trained.epochs,
    trainSeconds: (performance.now() - started) / 1000,
    created: new Date().toISOString(),
  };
  await saveClassifier(path, trained, info);
  return {
    classifier: trained,
    info,
    fromCache: false,
    ...(!cached.missing && { retrainedBecause: cached.problem }),
    path,
    seconds: (performance.now() - started) / 1000,
  };
}
