// A checkpoint holds everything a run needs to continue as if never stopped: model, EMA and
// AdamW moments (float32), the step counters, and the run's training config (whose seed fixes
// every random draw still to come). One file, written atomically:
//   "FLCKPT01" | uint32 LE header length | UTF-8 JSON header | padding to 4 | float32 tensors
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../atomic.ts';
import { UserError } from '../errors.ts';
import { describeRecipe, getPreset, type TrainConfig } from '../contract/presets.ts';
import { createUNet, type ModelShape, type UNet } from './unet.ts';
import { makeDiffusion, type Diffusion } from './diffusion.ts';
import { trainConfigFromJson, type Trainer } from './train.ts';
import type { StylePrior } from './style.ts';

const MAGIC = 'FLCKPT01';
const VERSION = 1;

type Group = 'model' | 'ema' | 'adam.m' | 'adam.v';

interface TensorEntry {
  group: Group;
  name: string;
  shape: number[];
  /** Offset in float32 elements from the start of the data section. */
  offset: number;
}

export interface CheckpointHeader {
  version: number;
  config: TrainConfig;
  shape: ModelShape;
  classNames: string[];
  step: number;
  optimizerStep: number;
  emaStep: number;
  tensors: TensorEntry[];
  /** A style model's training-font codes and the Gaussian new styles are drawn from, per weights. */
  stylePriors?: Partial<Record<'model' | 'ema', StylePrior>>;
}

export interface Checkpoint {
  path: string;
  header: CheckpointHeader;
  data: Float32Array;
}

function groups(trainer: Trainer): [Group, ReadonlyMap<string, tf.Variable>][] {
  return [
    ['model', trainer.model.variables],
    ['ema', trainer.ema.variables],
    ['adam.m', trainer.optimizer.m],
    ['adam.v', trainer.optimizer.v],
  ];
}

export async function saveCheckpoint(path: string, trainer: Trainer): Promise<void> {
  await trainer.sync();
  const tensors: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [group, vars] of groups(trainer)) {
    for (const [name, v] of vars) {
      const values = (await v.data()) as Float32Array;
      tensors.push({ group, name, shape: v.shape, offset });
      chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      offset += values.length;
    }
  }
  const header: CheckpointHeader = {
    version: VERSION,
    config: trainer.config,
    shape: trainer.model.shape,
    classNames: [...trainer.data.classNames],
    step: trainer.step,
    optimizerStep: trainer.optimizer.step,
    emaStep: trainer.emaUpdater.step,
    tensors,
  };
  if (trainer.config.style) header.stylePriors = { model: await trainer.stylePrior('model'), ema: await trainer.stylePrior('ema') };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  const padding = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);
  await writeFileAtomic(path, [prefix, json, padding, ...chunks]);
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`checkpoint ${path} does not exist`);
    throw err;
  }
  const bad = (what: string) => new UserError(`checkpoint ${path} is not usable: ${what}`);
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== MAGIC) throw bad('it is not a Fontloom checkpoint');
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw bad('the file is truncated');
  let header: CheckpointHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as CheckpointHeader;
  } catch {
    throw bad('its header is not valid JSON');
  }
  if (header.version !== VERSION) throw bad(`format version ${header.version}, this Fontloom reads ${VERSION}`);
  header.config = trainConfigFromJson(header.config, path);
  const start = 12 + headerLength + ((4 - ((12 + headerLength) % 4)) % 4);
  const expected = header.tensors.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length - start !== expected * 4) {
    throw bad(`expected ${start + expected * 4} bytes, found ${bytes.length} (truncated or damaged)`);
  }
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return { path, header, data };
}

/** A checkpoint's header only (its shape, classes and config), without reading its weights. */
export async function readCheckpointHeader(path: string): Promise<CheckpointHeader> {
  const { open } = await import('node:fs/promises');
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`checkpoint ${path} does not exist`);
    throw err;
  }
  try {
    const prefix = Buffer.alloc(12);
    await file.read(prefix, 0, 12, 0);
    if (prefix.toString('latin1', 0, 8) !== MAGIC) throw new UserError(`checkpoint ${path} is not usable: it is not a Fontloom checkpoint`);
    const length = prefix.readUInt32LE(8);
    const json = Buffer.alloc(length);
    const { bytesRead } = await file.read(json, 0, length, 12);
    if (bytesRead !== length) throw new UserError(`checkpoint ${path} is not usable: the file is truncated`);
    const header = JSON.parse(json.toString('utf8')) as CheckpointHeader;
    header.config = trainConfigFromJson(header.config, path);
    return header;
  } finally {
    await file.close();
  }
}

function valuesOf(ckpt: Checkpoint, entry: TensorEntry): Float32Array {
  const size = entry.shape.reduce((a, b) => a * b, 1);
  return ckpt.data.subarray(entry.offset, entry.offset + size);
}

function assignGroup(ckpt: Checkpoint, group: Group, vars: ReadonlyMap<string, tf.Variable>): void {
  const entries = new Map(ckpt.header.tensors.filter((e) => e.group === group).map((e) => [e.name, e]));
  for (const [name, v] of vars) {
    const entry = entries.get(name);
    if (!entry || entry.shape.join('×') !== v.shape.join('×')) {
      const found = entry ? entry.shape.join('×') : 'nothing';
      throw new UserError(
        `checkpoint ${ckpt.path} does not fit this model: ${group} ${name} should be ${v.shape.join('×')}, found ${found}`,
      );
    }
    v.assign(tf.tensor(valuesOf(ckpt, entry), v.shape, 'float32'));
  }
}

function describe(config: TrainConfig, shape: ModelShape): string {
  const style = shape.style ? `, style-conditioned (${shape.style}-d style code)` : '';
  return `preset ${config.preset}, ${shape.channels} channel(s), ${shape.classes} classes, ${shape.size}×${shape.size}${style}, ${describeRecipe(config.recipe)}`;
}

/** Puts a checkpoint's state into a trainer built for the same preset, data shape and recipe. */
export function restoreTrainer(trainer: Trainer, ckpt: Checkpoint): void {
  const h = ckpt.header;
  const want = describe(trainer.config, trainer.model.shape);
  const have = describe(h.config, h.shape);
  if (want !== have) throw new UserError(`checkpoint ${ckpt.path} is from ${have}, but this run is ${want}`);
  trainer.dropFused();
  tf.tidy(() => {
    for (const [group, vars] of groups(trainer)) assignGroup(ckpt, group, vars);
  });
  trainer.step = h.step;
  trainer.optimizer.step = h.optimizerStep;
  trainer.emaUpdater.step = h.emaStep;
}

/** A network of the checkpoint's preset and shape, with the weights it starts from (untrained). */
export function untrainedModel(ckpt: Checkpoint): UNet {
  return createUNet(getPreset(ckpt.header.config.preset), ckpt.header.shape, ckpt.header.config.seed);
}

/** The model or its EMA from a checkpoint, with the run's own recipe: ready to draw. */
export function diffusionFromCheckpoint(ckpt: Checkpoint, which: 'model' | 'ema'): Diffusion {
  const model = untrainedModel(ckpt);
  try {
    tf.tidy(() => assignGroup(ckpt, which, model.variables));
  } catch (err) {
    model.dispose();
    throw err;
  }
  return makeDiffusion(model, ckpt.header.config.recipe);
}

/**
 * The weights to draw with: those asked for, or the ones a checkpoint keeps where it keeps one
 * group only (the shipped default model its EMA, an imported model what its file held).
 */
export function weightsToDraw(ckpt: Checkpoint, wanted: 'model' | 'ema'): 'model' | 'ema' {
  const has = (group: Group) => ckpt.header.tensors.some((t) => t.group === group);
  if (has(wanted)) return wanted;
  return has('ema') || !has('model') ? 'ema' : 'model';
}

/** What a checkpoint of one group of weights holds besides them (an imported model's). */
export interface WeightsSpec {
  config: TrainConfig;
  shape: ModelShape;
  classNames: string[];
  step: number;
  group: 'model' | 'ema';
  /** The network's variables in its own layout, in its order. */
  weights: readonly { name: string; shape: number[]; values: Float32Array }[];
  stylePrior?: StylePrior;
}

/** A checkpoint in memory holding one group of weights: it draws, and cannot resume. Write it with saveWeightsOnly. */
export function checkpointOfWeights(spec: WeightsSpec, path: string): Checkpoint {
  return checkpointOfGroups(spec, { [spec.group]: spec.weights }, path);
}

/**
 * A checkpoint in memory holding the model, the EMA or both, without optimizer state (a run
 * trained elsewhere): it draws, and cannot resume. Write it with saveWeights.
 */
export function checkpointOfGroups(
  spec: Omit<WeightsSpec, 'group' | 'weights'>,
  weights: Partial<Record<'model' | 'ema', WeightsSpec['weights']>>,
  path: string,
): Checkpoint {
  let offset = 0;
  const held = (['model', 'ema'] as const).flatMap((group) => (weights[group] ?? []).map((w) => ({ group, w })));
  const tensors = held.map(({ group, w }) => {
    const entry: TensorEntry = { group, name: w.name, shape: w.shape, offset };
    offset += w.values.length;
    return entry;
  });
  const data = new Float32Array(offset);
  held.forEach(({ w }, i) => data.set(w.values, tensors[i].offset));
  const header: CheckpointHeader = {
    version: VERSION,
    config: spec.config,
    shape: spec.shape,
    classNames: spec.classNames,
    step: spec.step,
    optimizerStep: spec.step,
    emaStep: spec.step,
    tensors,
    ...(spec.stylePrior && { stylePriors: Object.fromEntries(Object.keys(weights).map((g) => [g, spec.stylePrior])) }),
  };
  return { path, header, data };
}

/** A checkpoint holding one group's weights only (e.g. the EMA to ship): samples, cannot resume. */
export async function saveWeightsOnly(ckpt: Checkpoint, path: string, group: Group): Promise<void> {
  if (!ckpt.header.tensors.some((t) => t.group === group)) throw new UserError(`checkpoint ${ckpt.path} holds no ${group} weights`);
  await writeGroups(ckpt, path, [group]);
}

/** A checkpoint's model and EMA weights, at its own path (no optimizer state: it draws, and cannot resume). */
export async function saveWeights(ckpt: Checkpoint): Promise<void> {
  await writeGroups(ckpt, ckpt.path, ['model', 'ema']);
}

async function writeGroups(ckpt: Checkpoint, path: string, groups: readonly Group[]): Promise<void> {
  const kept = ckpt.header.tensors.filter((t) => groups.includes(t.group));
  let offset = 0;
  const tensors = kept.map((t) => {
    const entry = { ...t, offset };
    offset += t.shape.reduce((a, b) => a * b, 1);
    return entry;
  });
  const chunks = kept.map((t) => {
    const values = valuesOf(ckpt, t);
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  });
  const json = Buffer.from(JSON.stringify({ ...ckpt.header, tensors }), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  await writeFileAtomic(path, [prefix, json, Buffer.alloc((4 - ((12 + json.length) % 4)) % 4), ...chunks]);
}
