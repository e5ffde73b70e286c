// Glyphs drawn from a run's checkpoint: what `fontloom sample`, the studio's Generate page and
// exports all start from. A style model draws every glyph of a request in one style: invented
// from a seed by default (one seed, one font), or the style of given glyphs, or a blend.
import { existsSync } from 'node:fs';
import { diffusionFromCheckpoint, readCheckpoint, weightsToDraw, type Checkpoint } from '../engine/checkpoint.ts';
import { sampleOnEngines } from '../engine/runtime/parallel.ts';
import { blendStyles, inventStyle, nearestFont, refineStyle, REFINE_STEPS, repeatCode, styleOf } from '../engine/style.ts';
import type { Diffusion, StartFrom } from '../engine/diffusion.ts';
import type { NoiseSchedule } from '../engine/schedule.ts';
import { completionStartFrom, trainingFontIndex } from './nearest-font.ts';
import { upsampleDrawn } from './upsampler.ts';
import { defaultSamplerSteps, type GlyphWarp, type SampleOptions, type StyleSpec } from '../contract/api.ts';
import { UserError } from '../errors.ts';

export interface DrawRequest extends Omit<SampleOptions, 'steps'> {
  /** Denoising steps; default: 50 for DDIM, the full chain for DDPM. */
  steps?: number;
  ema: boolean;
  /** Classes to draw, one glyph each; default: every class once. */
  classes?: readonly number[];
  /** A style model's style; default: invented from `seed`. A letter-only model takes none. */
  style?: StyleSpec;
  /** Steps refining a style read from given letters (default REFINE_STEPS; 0: the encoder's alone). */
  refine?: number;
  /**
   * The run's training data: a style read from given letters (completing a font) then starts from
   * the letters of the training font nearest to them, noised by `strength` (default: just enough
   * to cover that font's error on the given letters, COMPLETION_COVER; 1: pure noise, as without
   * a start). See jobs/nearest-font.ts.
   */
  completeFrom?: { dataPath: string; valFraction: number; strength?: number };
  /** The run's upsampler file (jobs/upsampler.ts: upsamplerFor): the glyphs are drawn at 128 pixels too. */
  upsampler?: string | null;
  onStep?: (done: number, total: number) => void;
}

export interface Drawn {
  /** uint8 NHWC, one image per requested class, at the model's size. */
  images: Uint8Array;
  /**
   * The same glyphs at the upsampler's size (128 pixels) where the run has one, given letters
   * upsampled as given; what sheets and exports show. Null where the run draws at its own size.
   */
  large: { images: Uint8Array; size: number } | null;
  classes: number[];
  classNames: string[];
  size: number;
  channels: number;
  /** The checkpoint's training step. */
  step: number;
  steps: number;
  /** Whether the glyphs share one style (a style model), and the code they were drawn in. */
  style: {
    code: number[];
    nearestTrainingFont: { fontId: number; distance: number } | null;
    /** A completion's starting point: the training font whose letters it adapted. */
    startedFrom?: { fontId: number; font: string; warp: GlyphWarp };
  } | null;
}

/** Whether a checkpoint's model is style-conditioned. */
export function isStyleModel(ckpt: Checkpoint): boolean {
  return (ckpt.header.shape.style ?? 0) > 0;
}

/** base64 of a uint8 glyph, as a StyleSpec carries it. */
export function glyphToBase64(glyph: Uint8Array): string {
  return Buffer.from(glyph.buffer, glyph.byteOffset, glyph.byteLength).toString('base64');
}

/**
 * The style code a spec asks for, or undefined for none. Given letters are read by the encoder,
 * then the code is refined on them for `refine` steps (refineStyle).
 */
export async function resolveStyle(ckpt: Checkpoint, which: 'model' | 'ema', d: Diffusion, spec: StyleSpec, refine = REFINE_STEPS): Promise<Float32Array | undefined> {
  const { size, channels } = ckpt.header.shape;
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'invented': {
      const prior = ckpt.header.stylePriors?.[which] ?? ckpt.header.stylePriors?.ema;
      if (!prior) throw new UserError(`checkpoint ${ckpt.path} holds no style prior to invent styles from: train it again with this Fontloom`);
      return inventStyle(prior, spec.seed);
    }
    case 'glyphs': {
      const per = size * size * channels;
      const entries = Object.entries(spec.glyphs);
      if (entries.length === 0) throw new UserError('a style from letters needs at least one letter');
      const pixels = new Uint8Array(entries.length * per);
      entries.forEach(([name, b64], i) => {
        const bytes = Buffer.from(b64, 'base64');
        if (bytes.length !== per) throw new UserError(`letter ${name}: expected a ${size}×${size} glyph (${per} bytes), found ${bytes.length}`);
        pixels.set(bytes, i * per);
      });
      const code = await styleOf(d.model, pixels, entries.length);
      if (refine <= 0) return code;
      const classes = entries.map(([name]) => ckpt.header.classNames.indexOf(name));
      if (classes.some((c) => c < 0)) throw new UserError(`letters ${entries.map(([n]) => n).join('')}: each must be one of the run's classes (${ckpt.header.classNames.join('')})`);
      return refineStyle(d, pixels, classes, code, { steps: refine });
    }
    case 'blend': {
      const [from, to] = [await resolveStyle(ckpt, which, d, spec.from, refine), await resolveStyle(ckpt, which, d, spec.to, refine)];
      if (!from || !to) throw new UserError('a blend needs two styles');
      return blendStyles(from, to, spec.t);
    }
  }
}

/** Drawn glyphs with the letters a completion was given put back exactly as given: the one place they are. */
function withGivenLetters(images: Uint8Array, classes: readonly number[], classNames: readonly string[], per: number, style: StyleSpec | undefined): Uint8Array {
  if (style?.kind !== 'glyphs') return images;
  const out = images.slice();
  classes.forEach((c, i) => {
    const b64 = style.glyphs[classNames[c]];
    const glyph = b64 ? new Uint8Array(Buffer.from(b64, 'base64')) : null;
    if (glyph && glyph.length === per) out.set(glyph, i * per);
  });
  return out;
}

/** A run's training data for completions to start from, where the run still has its dataset. */
export function completionData(run: { data?: string | null; valFraction: number }): DrawRequest['completeFrom'] {
  return run.data && existsSync(run.data) ? { dataPath: run.data, valFraction: run.valFraction } : undefined;
}

/**
 * Where a completion starts: the given letters' nearest training font (by pixels), its letters
 * for the classes drawn. Null where the strength asks for pure noise, or the dataset is not what
 * the checkpoint draws (another size or alphabet).
 */
async function completionStart(
  ckpt: Checkpoint,
  style: Extract<StyleSpec, { kind: 'glyphs' }>,
  classes: readonly number[],
  from: NonNullable<DrawRequest['completeFrom']>,
  schedule: NoiseSchedule,
): Promise<{ start: StartFrom; from: { fontId: number; font: string; warp: GlyphWarp } } | null> {
  if (from.strength !== undefined && from.strength >= 1) return null;
  const { size, channels } = ckpt.header.shape;
  const per = size * size * channels;
  const index = await trainingFontIndex(from.dataPath, from.valFraction);
  if (index.size !== size || index.channels !== channels || index.classNames.join('') !== ckpt.header.classNames.join('')) return null;
  const given = new Map(
    Object.entries(style.glyphs)
      .map(([name, b64]) => [ckpt.header.classNames.indexOf(name), new Uint8Array(Buffer.from(b64, 'base64'))] as const)
      .filter(([c, glyph]) => c >= 0 && glyph.length === per),
  );
  if (given.size === 0) return null;
  const nearest = index.nearest(given);
  const x0 = new Uint8Array(classes.length * per);
  classes.forEach((c, i) => x0.set(nearest.alphabet.subarray(c * per, (c + 1) * per), i * per));
  return { start: completionStartFrom(schedule, nearest, x0, from.strength), from: { fontId: nearest.fontId, font: nearest.font, warp: nearest.warp } };
}

export async function drawFromCheckpoint(file: string, runName: string, req: DrawRequest): Promise<Drawn> {
  if (!existsSync(file)) throw new UserError(`run ${runName} has no checkpoint yet: train it first (fontloom resume ${runName})`);
  const ckpt = await readCheckpoint(file);
  const which = weightsToDraw(ckpt, req.ema ? 'ema' : 'model');
  const diffusion = diffusionFromCheckpoint(ckpt, which);
  try {
    const steps = req.steps ?? defaultSamplerSteps(req.sampler);
    const classNames = [...ckpt.header.classNames];
    const classes = req.classes ? [...req.classes] : classNames.map((_, i) => i);
    for (const k of classes) if (!(k >= 0 && k < classNames.length)) throw new UserError(`class ${k} is not one of the run's ${classNames.length} classes`);
    const styled = isStyleModel(ckpt);
    if (!styled && req.style && req.style.kind !== 'none') {
      throw new UserError(`run ${runName} draws each letter on its own (it was trained without --style): it cannot take a style. Train a model with --style on a dataset of fonts.`);
    }
    const code = styled ? await resolveStyle(ckpt, which, diffusion, req.style ?? { kind: 'invented', seed: req.seed }, req.refine) : undefined;
    const opts = { sampler: req.sampler, steps, cfg: req.cfg, eta: req.eta, seed: req.seed, ...(req.styleCfg !== undefined && { styleCfg: req.styleCfg }) };
    const start = code && req.style?.kind === 'glyphs' && req.completeFrom ? await completionStart(ckpt, req.style, classes, req.completeFrom, diffusion.schedule) : null;
    const drawn = await sampleOnEngines(diffusion, classes, opts, req.onStep, code && repeatCode(code, classes.length), start?.start);
    const prior = ckpt.header.stylePriors?.[which];
    const style = code ? { code: [...code], nearestTrainingFont: prior ? nearestFont(prior, code) : null, ...(start && { startedFrom: start.from }) } : null;
    const { size, channels } = ckpt.header.shape;
    const images = withGivenLetters(drawn, classes, classNames, size * size * channels, req.style);
    const large = req.upsampler && channels === 1 ? await upsampleDrawn(req.upsampler, images, classes, size) : null;
    return { images, classes, classNames, size, channels, step: ckpt.header.step, steps, style, large };
  } finally {
    diffusion.model.dispose();
  }
}
