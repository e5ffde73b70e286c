// One letter classifier per glyph set, trained once and kept under <home>/classifiers/. The key
// is the set's content hash, the validation fraction (which fixes the held-out fonts) and
// CLASSIFIER_VERSION, so a new dataset, split or network trains afresh. One file, written
// atomically:
//   "FLCLSF01" | uint32 LE header length | UTF-8 JSON header | padding to 4 | float32 weights
// The header carries a sha256 of the weights: a truncated or damaged file is retrained, never used.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic.ts';
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
  /** sha256 (hex) of the weight bytes. */
  checksum: string;
  weights: Array<{ name: string; shape: number[]; offset: number }>;
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
  const weights = await classifier.weights();
  const entries: CacheHeader['weights'] = [];
  const hash = createHash('sha256');
  let offset = 0;
  for (const w of weights) {
    entries.push({ name: w.name, shape: w.shape, offset });
    hash.update(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength));
    offset += w.values.length;
  }
  const header: CacheHeader = { ...info, shape: classifier.shape, checksum: hash.digest('hex'), weights: entries };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  const padding = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFileAtomic(path, [prefix, json, padding, ...weights.map((w) => new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength))]);
}

/** The cached classifier, or why it cannot be used (missing, damaged, for other data). */
async function readCached(path: string, expect: { dataHash: string; valFraction: number; shape: ClassifierShape }): Promise<
  { classifier: Classifier; info: ClassifierInfo } | { problem: string; missing: boolean }
> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { problem: 'no cached classifier', missing: true };
    return { problem: `cannot read ${path}: ${(err as Error).message}`, missing: false };
  }
  const bad = (what: string) => ({ problem: `${path} ${what}`, missing: false });
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) return bad('is not a Fontloom classifier');
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) return bad('is truncated');
  let header: CacheHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as CacheHeader;
  } catch {
    return bad('has a damaged header');
  }
  if (header.version !== CLASSIFIER_VERSION) return bad(`is version ${header.version}, this Fontloom trains version ${CLASSIFIER_VERSION}`);
  if (header.dataHash !== expect.dataHash || header.valFraction !== expect.valFraction) return bad('was trained on other data or another split');
  if (JSON.stringify(header.shape) !== JSON.stringify(expect.shape)) return bad(`is for ${JSON.stringify(header.shape)} glyphs`);
  const start = 12 + headerLength + ((4 - ((12 + headerLength) % 4)) % 4);
  const floats = header.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length - start !== floats * 4) return bad(`should hold ${start + floats * 4} bytes, holds ${bytes.length} (truncated or damaged)`);
  const body = bytes.subarray(start);
  if (createHash('sha256').update(body).digest('hex') !== header.checksum) return bad('is damaged: its weights do not match their checksum');
  const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  const weights: NamedWeight[] = header.weights.map((w) => ({
    name: w.name,
    shape: w.shape,
    values: data.subarray(w.offset, w.offset + w.shape.reduce((a, b) => a * b, 1)),
  }));
  try {
    const { shape: _shape, checksum: _checksum, weights: _weights, ...info } = header;
    return { classifier: classifierFromWeights(header.shape, weights), info };
  } catch (err) {
    return bad(`does not fit this network: ${(err as Error).message}`);
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
