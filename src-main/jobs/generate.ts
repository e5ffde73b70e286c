// Glyphs drawn from a run's checkpoint: what `fontloom sample`, the studio's Generate page and
// exports all start from.
import { existsSync } from 'node:fs';
import { diffusionFromCheckpoint, readCheckpoint, weightsToDraw } from '../engine/checkpoint.ts';
import { sampleOnEngines } from '../engine/runtime/parallel.ts';
import { defaultSamplerSteps, type SampleOptions } from '../contract/api.ts';
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

export async function drawFromCheckpoint(file: string, runName: string, req: DrawRequest): Promise<Drawn> {
  if (!existsSync(file)) throw new UserError(`run ${runName} has no checkpoint yet: train it first (fontloom resume ${runName})`);
  const ckpt = await readCheckpoint(file);
  const diffusion = diffusionFromCheckpoint(ckpt, weightsToDraw(ckpt, req.ema ? 'ema' : 'model'));
  try {
    const steps = req.steps ?? defaultSamplerSteps(req.sampler);
    const classNames = [...ckpt.header.classNames];
    const classes = req.classes ? [...req.classes] : classNames.map((_, i) => i);
    for (const k of classes) if (!(k >= 0 && k < classNames.length)) throw new UserError(`class ${k} is not one of the run's ${classNames.length} classes`);
    const opts = { sampler: req.sampler, steps, cfg: req.cfg, eta: req.eta, seed: req.seed };
    const images = await sampleOnEngines(diffusion, classes, opts, req.onStep);
    return { images, classes, classNames, size: ckpt.header.shape.size, channels: ckpt.header.shape.channels, step: ckpt.header.step, steps };
  } finally {
    diffusion.model.dispose();
  }
}
