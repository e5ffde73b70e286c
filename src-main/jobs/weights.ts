// Weights in and out of Fontloom in the formats PyTorch users share. `exportWeights` writes a
// run's model or EMA as safetensors, under the reference's state_dict names and in PyTorch's
// layouts, with the run's config as metadata. `importWeights` makes a completed run from a
// safetensors file or a torch.save checkpoint (its pickle read as data: engine/torch-pickle.ts),
// once every name, shape and dtype has been checked against the preset: nothing is written
// before that, and a failure while writing leaves no run behind.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic.ts';
import { UserError } from '../errors.ts';
import { DEFAULT_SAMPLE, type Metric, type RunConfig } from '../contract/api.ts';
import { checkRecipe, defaultTrainConfig, getPreset, STYLE_DEFAULTS, VAL_FRACTION, type Preset, type Recipe, type StyleConfig, type TrainConfig } from '../contract/presets.ts';
import { checkpointOfWeights, readCheckpoint, saveWeightsOnly, weightsToDraw, type Checkpoint, type WeightsSpec } from '../engine/checkpoint.ts';
import { defaultEngines } from '../engine/runtime/backend.ts';
import { deriveSeed } from '../engine/rng.ts';
import { decodeSafetensors, dtypeBytes, encodeSafetensors, looksLikeSafetensors } from '../engine/safetensors.ts';
import { checkStateDict, inferModelShape, stateDictLayout, stateDictOf, weightsFromStateDict, type RawTensor } from '../engine/state-dict.ts';
import type { StylePrior } from '../engine/style.ts';
import { isTensorRecord, PickleDict, readPickle, type PickleValue, type TensorRecord } from '../engine/torch-pickle.ts';
import type { ModelShape } from '../engine/unet.ts';
import { STANDARD_CLASSES as CIFAR10_CLASSES } from '../data/importers/cifar10.ts';
import { readRegular } from '../data/importers/files.ts';
import { listZip, readZipEntries, startsLikeZip, type ZipLimits } from '../data/importers/zip.ts';
import { DEFAULT_NAME, openRegistry } from '../data/registry.ts';
import { storeFor, type NewRunRow, type StoredRun } from '../store/store.ts';
import { checkpointPath, loadRun, newRunId, runDir } from './run.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The largest weights file read: the seed preset's are 93 MB; a checkpoint with optimizer state three times that. */
const WEIGHTS_CAP = { maxBytes: 2 * 2 ** 30, what: 'a weights file' };
/** torch.save stores its entries uncompressed; a data.pkl is small (names and tensor records). */
const STORAGE_LIMITS: ZipLimits = { maxEntryBytes: 2 * 2 ** 30, maxTotalBytes: 2 * 2 ** 30, maxRatio: 100, ratioFloorBytes: 2 ** 20 };
const PICKLE_LIMITS: ZipLimits = { maxEntryBytes: 64 * 2 ** 20, maxTotalBytes: 64 * 2 ** 20, maxRatio: 100, ratioFloorBytes: 2 ** 20 };

const LETTERS = Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i));

/** Class names of a model whose file does not name them: A–Z for 26 classes, CIFAR-10's for 10. */
export function defaultClassNames(classes: number): string[] {
  if (classes === 26) return [...LETTERS];
  if (classes === 10) return [...CIFAR10_CLASSES];
  return Array.from({ length: classes }, (_, i) => String(i));
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

// ── Export ──────────────────────────────────────────────────────────────────────────────────

/**
 * The metadata an exported file carries (all strings, as the format wants): the run's config,
 * and enough for `importWeights` to give back the same run (recipe, class names, image size, a
 * style model's prior).
 */
function exportMetadata(ckpt: Checkpoint, which: 'model' | 'ema', run: { id: string; name: string }): Record<string, string> {
  const h = ckpt.header;
  const prior = h.stylePriors?.[which];
  return {
    format: 'pt',
    fontloom_version: VERSION,
    preset: h.config.preset,
    recipe: JSON.stringify(h.config.recipe),
    classes: JSON.stringify(h.classNames),
    channels: String(h.shape.channels),
    size: String(h.shape.size),
    style: h.config.style ? JSON.stringify(h.config.style) : 'none',
    weights: which,
    step: String(h.step),
    config: JSON.stringify(h.config),
    run: run.id,
    name: run.name,
    ...(prior && { style_prior: JSON.stringify(prior) }),
  };
}

/** A checkpoint's model or EMA as a safetensors file (its chunks), in the reference's names and layouts. */
export function safetensorsOf(ckpt: Checkpoint, which: 'model' | 'ema', run: { id: string; name: string }): Uint8Array[] {
  return encodeSafetensors(stateDictOf(ckpt, which), exportMetadata(ckpt, which, run));
}

export interface WeightsExport {
  path: string;
  /** The weights written, and those asked for (they differ where a run keeps one group only). */
  weights: 'model' | 'ema';
  asked: 'model' | 'ema';
  step: number;
  tensors: number;
  params: number;
}

export async function exportWeights(home: string, id: string, opts: { ema: boolean; out: string }): Promise<WeightsExport> {
  const run = loadRun(home, id);
  if (!opts.out.toLowerCase().endsWith('.safetensors')) throw new UserError(`${opts.out}: name the weights file *.safetensors`);
  const out = resolve(opts.out);
  if (existsSync(out)) throw new UserError(`${opts.out} exists already: choose a new name or remove it first`);
  const file = checkpointPath(home, run.id);
  if (!existsSync(file)) throw new UserError(`run ${run.id} has no checkpoint yet: train it first (fontloom resume ${run.id})`);
  const ckpt = await readCheckpoint(file);
  const asked = opts.ema ? 'ema' : 'model';
  const which = weightsToDraw(ckpt, asked);
  const chunks = safetensorsOf(ckpt, which, run);
  await writeFileAtomic(out, chunks);
  const kept = ckpt.header.tensors.filter((t) => t.group === which);
  return { path: out, weights: which, asked, step: ckpt.header.step, tensors: kept.length, params: kept.reduce((n, t) => n + elements(t.shape), 0) };
}

// ── Reading a weights file ──────────────────────────────────────────────────────────────────

/** A state dict as a file holds it, before any check. */
export interface WeightsSource {
  format: 'safetensors' | 'torch';
  /** By PyTorch key. */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
  /** The key of a checkpoint dictionary the state dict came from ("model", "ema"), or null for a bare one. */
  entry: string | null;
}

/** Reads a .safetensors file or a torch.save zip; `entry` picks the state dict of a checkpoint that wraps several. */
export async function readWeightsFile(file: string, entry?: string): Promise<WeightsSource> {
  if (await startsLikeZip(file)) return readTorchZip(file, entry);
  const bytes = await readRegular(file, { named: true, cap: WEIGHTS_CAP });
  if (looksLikeSafetensors(bytes)) {
    if (entry !== undefined) throw new UserError(`${file} is a safetensors file: it holds one state dict, so there is no entry "${entry}" to choose`);
    const { tensors, metadata } = decodeSafetensors(bytes, file);
    return { format: 'safetensors', tensors: withoutWrapperPrefix(tensors), metadata, entry: null };
  }
  if (bytes[0] === 0x80) {
    throw new UserError(
      `${file} is a PyTorch checkpoint in the legacy format (PyTorch before 1.6, or _use_new_zipfile_serialization=False): ` +
        'save it again with torch.save(state_dict, path) from a recent PyTorch',
    );
  }
  throw new UserError(`${file} is neither a safetensors file nor a PyTorch checkpoint (torch.save's zip format)`);
}

/** A state dict saved from a DistributedDataParallel or torch.compile wrapper prefixes every key: drop it. */
function withoutWrapperPrefix<T>(tensors: Map<string, T>): Map<string, T> {
  for (const prefix of ['module.', '_orig_mod.']) {
    const keys = [...tensors.keys()];
    if (keys.length && keys.every((k) => k.startsWith(prefix))) return withoutWrapperPrefix(new Map(keys.map((k) => [k.slice(prefix.length), tensors.get(k)!])));
  }
  return tensors;
}

/**
 * torch.save's zip: <name>/data.pkl (the object, pickled) and <name>/data/<key> (each storage's
 * raw bytes). The pickle is read as data; only the storages its tensors name are read.
 */
async function readTorchZip(file: string, entry?: string): Promise<WeightsSource> {
  const pickles = (await listZip(file)).map((e) => e.name).filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new UserError(`${file} is a zip archive but not a PyTorch checkpoint: it holds ${pickles.length ? 'several' : 'no'} <name>/data.pkl`);
  }
  const pkl = pickles[0];
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const small = new Map<string, Buffer>();
  for await (const e of readZipEntries(file, new Set([pkl, `${prefix}byteorder`]), PICKLE_LIMITS)) small.set(e.name, e.data);
  const order = small.get(`${prefix}byteorder`)?.toString('latin1').trim();
  if (order !== undefined && order !== 'little') throw new UserError(`${file} was saved with ${order}-endian storages; Fontloom reads little-endian ones (save it on a little-endian machine)`);
  const { dict, key } = pickStateDict(readPickle(small.get(pkl)!, `${file} (${pkl})`), file, entry);
  const records = withoutWrapperPrefix(dict);
  const storageName = (r: TensorRecord) => `${prefix}data/${r.storage.key}`;
  const storages = new Map<string, Buffer>();
  for await (const e of readZipEntries(file, new Set([...records.values()].map(storageName)), STORAGE_LIMITS)) storages.set(e.name, e.data);
  const tensors = new Map<string, RawTensor>();
  for (const [name, record] of records) {
    const bytes = storages.get(storageName(record));
    if (!bytes) throw new UserError(`${file} is damaged: ${name}'s storage ${storageName(record)} is missing`);
    tensors.set(name, tensorOf(record, bytes, `${file}: ${name}`));
  }
  return { format: 'torch', tensors, metadata: {}, entry: key };
}

/** The dictionary's tensors when every key is a string and every value a tensor (a state dict), else null. */
function stateDictIn(v: PickleValue): Map<string, TensorRecord> | null {
  if (!(v instanceof PickleDict) || v.entries.size === 0) return null;
  const out = new Map<string, TensorRecord>();
  for (const [k, t] of v.entries) {
    if (typeof k !== 'string' || !isTensorRecord(t)) return null;
    out.set(k, t);
  }
  return out;
}

/** The state dict a checkpoint holds: itself, or the one dictionary of tensors it wraps (or the one `entry` names). */
function pickStateDict(root: PickleValue, file: string, entry?: string): { dict: Map<string, TensorRecord>; key: string | null } {
  const bare = stateDictIn(root);
  if (bare) {
    if (entry !== undefined) throw new UserError(`${file} is a state dict itself: there is no entry "${entry}" to choose`);
    return { dict: bare, key: null };
  }
  if (!(root instanceof PickleDict)) throw new UserError(`${file} holds no state dict: torch.save wrote ${describeValue(root)}, not a dictionary of tensors`);
  const found = [...root.entries].flatMap(([k, v]) => {
    const dict = stateDictIn(v);
    return dict ? [{ key: String(k), dict }] : [];
  });
  const names = found.map((f) => `"${f.key}"`).join(', ');
  if (entry !== undefined) {
    const hit = found.find((f) => f.key === entry);
    if (!hit) throw new UserError(`${file} has no state dict under "${entry}"${found.length ? `; it has ${names}` : ''}`);
    return hit;
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) throw new UserError(`${file} holds several state dicts (${names}): choose one with --entry`);
  const keys = [...root.entries.keys()].slice(0, 8).map((k) => `"${k}"`).join(', ');
  throw new UserError(`${file} holds no state dict: its dictionary has ${keys || 'no keys'}, none of them a dictionary of tensors`);
}

function describeValue(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (isTensorRecord(v)) return 'a single tensor';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A tensor's bytes, contiguous, from its storage (a state dict's tensors may be views: an offset and strides). */
function tensorOf(record: TensorRecord, storage: Uint8Array, what: string): RawTensor {
  const { dtype, numel } = record.storage;
  const item = dtypeBytes(dtype);
  if (storage.length !== numel * item) throw new UserError(`${what}: its storage holds ${storage.length} bytes where ${numel} ${dtype} values take ${numel * item} (the file is damaged)`);
  const shape = [...record.shape];
  const n = elements(shape);
  if (n === 0) return { dtype, shape, bytes: new Uint8Array(0) };
  const last = record.offset + shape.reduce((s, d, i) => s + (d - 1) * record.stride[i], 0);
  if (last >= numel) throw new UserError(`${what} reaches past the end of its storage (the file is damaged)`);
  let contiguous = true;
  for (let i = shape.length - 1, expected = 1; i >= 0; i--) {
    if (shape[i] !== 1 && record.stride[i] !== expected) contiguous = false;
    expected *= shape[i];
  }
  if (contiguous) return { dtype, shape, bytes: storage.subarray(record.offset * item, (record.offset + n) * item) };
  const bytes = new Uint8Array(n * item);
  const index = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    const at = record.offset + index.reduce((s, x, i) => s + x * record.stride[i], 0);
    bytes.set(storage.subarray(at * item, (at + 1) * item), k * item);
    for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return { dtype, shape, bytes };
}

// ── What a Fontloom export's metadata says ─────────────────────────────────────────────────

interface ExportedSettings {
  preset?: string;
  recipe?: Recipe;
  classes?: string[];
  channels?: number;
  size?: number;
  style?: StyleConfig;
  weights?: 'model' | 'ema';
  step?: number;
  config?: Record<string, unknown>;
  stylePrior?: StylePrior;
}

function readMetadata(meta: Record<string, string>, file: string): ExportedSettings {
  const bad = (key: string, what: string) => new UserError(`${file}: its metadata "${key}" ${what}`);
  const json = (key: string): unknown => {
    try {
      return JSON.parse(meta[key]);
    } catch {
      throw bad(key, 'is not valid JSON');
    }
  };
  const whole = (key: string) => {
    if (!/^\d{1,9}$/.test(meta[key])) throw bad(key, `should be a whole number, found "${meta[key]}"`);
    return Number(meta[key]);
  };
  const has = (key: string) => Object.hasOwn(meta, key);
  const out: ExportedSettings = {};
  if (has('preset')) out.preset = meta.preset;
  if (has('recipe')) out.recipe = checkRecipe(json('recipe'), `${file}: its metadata`);
  if (has('classes')) {
    const classes = json('classes');
    if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) throw bad('classes', 'should list the class names');
    out.classes = classes;
  }
  if (has('channels')) out.channels = whole('channels');
  if (has('size')) out.size = whole('size');
  if (has('step')) out.step = whole('step');
  if (has('weights')) {
    if (meta.weights !== 'model' && meta.weights !== 'ema') throw bad('weights', `should be "model" or "ema", found "${meta.weights}"`);
    out.weights = meta.weights;
  }
  if (has('style') && meta.style !== 'none') {
    const s = json('style') as Partial<StyleConfig> | null;
    const numbers = s && ['dim', 'maxRefs', 'dropout'].every((k) => typeof s[k as keyof StyleConfig] === 'number');
    if (!numbers) throw bad('style', 'should hold dim, maxRefs and dropout');
    out.style = { dim: s.dim!, maxRefs: s.maxRefs!, dropout: s.dropout! };
  }
  if (has('config')) {
    const c = json('config');
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad('config', 'is not an object');
    out.config = c as Record<string, unknown>;
  }
  if (has('style_prior')) out.stylePrior = checkPrior(json('style_prior'), bad);
  return out;
}

function checkPrior(value: unknown, bad: (key: string, what: string) => UserError): StylePrior {
  const p = value as Partial<StylePrior> | null;
  const numbers = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  const dim = p?.dim;
  if (!p || typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 1 || !numbers(p.mean, dim) || !numbers(p.chol, dim * dim)) throw bad('style_prior', 'is not a style prior (dim, mean, chol)');
  const codes = Array.isArray(p.codes) ? p.codes : [];
  if (!codes.every((c) => numbers(c, dim)) || !numbers(p.fontIds, codes.length)) throw bad('style_prior', "has codes and fontIds that do not match");
  return { dim, mean: p.mean!, chol: p.chol!, codes, fontIds: p.fontIds! };
}

// ── Import ──────────────────────────────────────────────────────────────────────────────────

export interface WeightsImportRequest {
  preset: string;
  /** The data the model was trained on; inferred from the tensors where not given. */
  channels?: number;
  classes?: number;
  size?: number;
  /** The file holds EMA weights (e.g. the reference's ema_ckpt.pt). */
  ema?: boolean;
}

/** A state dict checked against a preset, as the checkpoint it becomes. */
export interface CheckedWeights {
  preset: Preset;
  /** The run's config (the checkpoint's, with the store's fields for a run that never trains here). */
  config: RunConfig;
  spec: WeightsSpec;
  /** Whether the class names came from the file (a Fontloom export) or are the defaults for its class count. */
  classNamesFromFile: boolean;
  params: number;
}

function describeShape(s: ModelShape): string {
  const style = s.style ? `, a ${s.style}-number style code` : '';
  return `${s.channels} channel${s.channels === 1 ? '' : 's'}, ${s.classes} classes, ${s.size}×${s.size}${style}`;
}

/**
 * Checks a file's state dict against a preset (names, shapes, then dtypes) and converts it to
 * Fontloom's layouts. Builds the preset's network once to know its variables (a tfjs backend
 * must be ready). Refuses, naming the file, the first key that does not fit.
 */
export function checkWeights(source: WeightsSource, file: string, req: WeightsImportRequest): CheckedWeights {
  const preset = getPreset(req.preset);
  const meta = readMetadata(source.metadata, file);
  const inferred = inferModelShape(source.tensors);
  const shape: ModelShape = {
    channels: req.channels ?? inferred.channels ?? meta.channels ?? 1,
    classes: req.classes ?? inferred.classes ?? meta.classes?.length ?? 26,
    size: req.size ?? meta.size ?? 32,
    ...(inferred.style && { style: inferred.style }),
  };
  if (shape.size % 8 !== 0) throw new UserError(`image size ${shape.size} is not a multiple of 8`);
  const layout = stateDictLayout(preset, shape);
  const said = meta.preset && meta.preset !== preset.name ? ` (exported from a ${meta.preset} model, its metadata says)` : '';
  checkStateDict(source.tensors, layout, `${file}${said} does not fit preset ${preset.name} (${describeShape(shape)})`);
  const weights = weightsFromStateDict(source.tensors, layout, file);
  const classNamesFromFile = meta.classes?.length === shape.classes;
  const step = meta.step ?? 0;
  const group = req.ema || meta.weights === 'ema' || /(^|_)ema/i.test(source.entry ?? '') ? 'ema' : 'model';
  const stylePrior = shape.style && meta.stylePrior?.dim === shape.style ? meta.stylePrior : undefined;
  const config = importedConfig(preset, meta, shape.style ?? 0, step);
  return {
    preset,
    config,
    spec: {
      config,
      shape,
      classNames: classNamesFromFile ? meta.classes! : defaultClassNames(shape.classes),
      step,
      group,
      weights,
      ...(stylePrior && { stylePrior }),
    },
    classNamesFromFile,
    params: weights.reduce((n, w) => n + w.values.length, 0),
  };
}

/** The run's config: the preset's, with what a Fontloom export's metadata says of its training. */
function importedConfig(preset: Preset, meta: ExportedSettings, styleDim: number, step: number): RunConfig {
  const stored = meta.config ?? {};
  const numeric = ['batch', 'lr', 'weightDecay', 'emaBeta', 'emaStart', 'cfgDropout', 'seed', 'valMax'] as const;
  const training: Partial<TrainConfig> = {};
  for (const k of numeric) if (typeof stored[k] === 'number' && Number.isFinite(stored[k])) training[k] = stored[k] as number;
  const base = defaultTrainConfig(preset.name, { ...training, recipe: meta.recipe ?? {} });
  return {
    ...base,
    ...(styleDim > 0 && { style: { ...STYLE_DEFAULTS, ...meta.style, dim: styleDim } }),
    steps: step,
    valEvery: 0,
    sampleEvery: 0,
    checkpointEvery: 0,
    evalEvery: 0,
    backend: 'auto',
    threads: defaultEngines(preset.name),
  };
}

export interface WeightsImport extends WeightsImportRequest {
  name?: string;
  entry?: string;
  /** A dataset (id or name) to measure the model against with `fontloom eval`. */
  data?: string;
}

export interface ImportedWeights {
  run: StoredRun;
  format: WeightsSource['format'];
  weights: 'model' | 'ema';
  params: number;
  /** The dataset `fontloom eval` measures the run against, or null. */
  measuredWith: string | null;
}

/**
 * The glyph set `fontloom eval` measures an imported model against: the one named, or the
 * embedded default for an A–Z model of 32×32 glyphs (as the shipped default model is), or none.
 * A named set must draw what the model draws: same classes, size and channels.
 */
async function measuringSet(home: string, checked: CheckedWeights, data: string | undefined): Promise<{ path: string; name: string; classNames: string[] } | null> {
  const { shape, classNames } = checked.spec;
  const plainLetters = shape.channels === 1 && shape.size === 32 && classNames.join() === LETTERS.join();
  if (data === undefined && !plainLetters) return null;
  const registry = await openRegistry(home);
  const registered = await registry.list();
  const wanted = data ?? DEFAULT_NAME;
  const record =
    registered.find((d) => d.id === wanted || d.name === wanted) ??
    (wanted === DEFAULT_NAME ? (await registry.ensureDefault()).record : await registry.find(wanted));
  const fits =
    record.height === shape.size &&
    record.channels === shape.channels &&
    record.classNames.length === shape.classes &&
    (!checked.classNamesFromFile || record.classNames.join('\n') === classNames.join('\n'));
  if (!fits) {
    if (data === undefined) return null;
    throw new UserError(
      `dataset "${record.name}" has ${record.classes} classes (${record.classNames.slice(0, 12).join(', ')}) of ${record.height}×${record.width} glyphs, ${record.channels} channel(s); ` +
        `the model draws ${describeShape(shape)}${checked.classNamesFromFile ? ` (${classNames.slice(0, 12).join(', ')})` : ''}`,
    );
  }
  return { path: registry.glyphsPath(record), name: record.name, classNames: [...record.classNames] };
}

/** What an imported run is, besides its weights: its row as the store keeps it. */
export type ImportedRun = Pick<NewRunRow, 'name' | 'dataset' | 'datasetName' | 'data' | 'valFraction' | 'config'>;

/**
 * A completed run from weights trained elsewhere (a weights file, a job): its folder, its
 * checkpoint (`save` writes it at the path given), then its row, metrics and figures in one
 * transaction. If any of it fails, the folder goes and no row is left. Gives the run's id.
 */
export async function createImportedRun(
  home: string,
  run: ImportedRun,
  save: (ckptFile: string) => Promise<void>,
  figures: { step: number; metrics?: Metric[]; trainLoss?: number | null; bestVal?: number | null },
): Promise<string> {
  const id = newRunId();
  const dir = runDir(home, id);
  const store = storeFor(home);
  try {
    await mkdir(join(dir, 'checkpoints'), { recursive: true });
    await mkdir(join(dir, 'samples'), { recursive: true });
    await save(checkpointPath(home, id));
    store.db.transaction(() => {
      store.insertRun({ id, ...run, sheet: { ...DEFAULT_SAMPLE, seed: deriveSeed(run.config.seed, 'sheet') }, status: 'completed', pid: null });
      if (figures.metrics) store.appendMetrics(id, figures.metrics);
      store.updateRun(id, { step: figures.step, checkpointStep: figures.step, trainLoss: figures.trainLoss ?? null, bestVal: figures.bestVal ?? null });
    })();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return id;
}

/** Makes a completed run from a weights file; nothing is written unless every check passes. */
export async function importWeights(home: string, file: string, req: WeightsImport): Promise<ImportedWeights> {
  const source = await readWeightsFile(file, req.entry);
  const checked = checkWeights(source, file, req);
  const measured = await measuringSet(home, checked, req.data);
  // A reference user's own dataset names its classes where the file does not.
  const spec = measured && !checked.classNamesFromFile ? { ...checked.spec, classNames: measured.classNames } : checked.spec;
  const id = await createImportedRun(
    home,
    {
      name: req.name?.trim() || `${basename(file)} (${checked.preset.name})`,
      dataset: null,
      datasetName: `imported from ${basename(file)}`,
      data: measured?.path ?? '',
      valFraction: VAL_FRACTION,
      config: checked.config,
    },
    (ckptFile) => saveWeightsOnly(checkpointOfWeights(spec, ckptFile), ckptFile, spec.group),
    { step: spec.step },
  );
  return { run: loadRun(home, id), format: source.format, weights: spec.group, params: checked.params, measuredWith: measured?.name ?? null };
}
