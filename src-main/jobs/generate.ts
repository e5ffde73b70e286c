// Glyphs drawn from a run's checkpoint: what `fontloom sample`, the studio's Generate page and
// exports all start from.
import { existsSync } from 'node:fs';
import { hasGroup, modelFromCheckpoint, readCheckpoint } from '../engine/checkpoint.ts';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { EngineWorker, sampleOnTwoEngines } from '../engine/parallel.ts';
import { sampleImages, type SampleOptions } from '../engine/sample.ts';
import { makeSchedule, type NoiseSchedule } from '../engine/schedule.ts';
import type { UNet } from '../engine/unet.ts';
import { UserError } from '../errors.ts';

export interface DrawRequest extends Omit<SampleOptions, 'steps'> {
  /** Denoising steps; default: 50 for DDIM, the full chain for DDPM. */
  steps?: number;
  ema: boolean;
  /** Classes to draw, one glyph each; default: every class once. */
  classes?: readonly number[];
  onStep?: (done: number, total: number) => void;
}

export interface Drawn {
  /** uint8 NHWC, one image per requested class. */
  images: Uint8Array;
  classes: number[];
  classNames: string[];
  size: number;
  channels: number;
  /** The checkpoint's training step. */
  step: number;
  steps: number;
}

/** wasm and cpu run one thread per engine: a batch of two glyphs or more shares a second core. */
async function drawOnEngines(model: UNet, schedule: NoiseSchedule, labels: number[], opts: SampleOptions, onStep?: (done: number, total: number) => void): Promise<Uint8Array> {
  const backend = tf.getBackend();
  if (labels.length < 2 || availableParallelism() < 2 || (backend !== 'wasm' && backend !== 'cpu')) return sampleImages(model, schedule, labels, opts, onStep);
  const worker = await EngineWorker.start(backend, model);
  try {
    return await sampleOnTwoEngines(worker, model, schedule, labels, opts, onStep);
  } finally {
    await worker.stop();
  }
}

export async function drawFromCheckpoint(file: string, runName: string, req: DrawRequest): Promise<Drawn> {
  if (!existsSync(file)) throw new UserError(`run ${runName} has no checkpoint yet: train it first (fontloom resume ${runName})`);
  const ckpt = await readCheckpoint(file);
  // A shipped model (the default) keeps its EMA weights only: those are what it draws with.
  const model = modelFromCheckpoint(ckpt, req.ema || !hasGroup(ckpt, 'model') ? 'ema' : 'model');
  try {
    // The run's own recipe: the model knows its prediction (ε or v), the schedule comes from here.
    const schedule = makeSchedule(ckpt.header.config.recipe.schedule);
    const steps = req.steps ?? (req.sampler === 'ddpm' ? schedule.steps - 1 : 50);
    const classNames = [...ckpt.header.classNames];
    const classes = req.classes ? [...req.classes] : classNames.map((_, i) => i);
    for (const k of classes) if (!(k >= 0 && k < classNames.length)) throw new UserError(`class ${k} is not one of the run's ${classNames.length} classes`);
    const opts = { sampler: req.sampler, steps, cfg: req.cfg, eta: req.eta, seed: req.seed };
    const images = await drawOnEngines(model, schedule, classes, opts, req.onStep);
    return { images, classes, classNames, size: ckpt.header.shape.size, channels: ckpt.header.shape.channels, step: ckpt.header.step, steps };
  } finally {
    model.dispose();
  }
}
