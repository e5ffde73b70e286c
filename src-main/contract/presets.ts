// Presets and the recipe vocabulary: plain data that the engine trains with, the API checks
// input against and the studio shows. It imports nothing but the user-error type, so the
// renderer may import it too.
//
// A preset is one plain object: the network's shape plus the training defaults that go with it.
// `seed` is the reference UNet_conditional exactly; `seed-lite` is the reference's fonts model
// without the deep bottleneck; `small`, `tiny` and `micro` are Fontloom's CPU presets, with
// self-attention only where feature maps are 8×8 or smaller (full-resolution attention costs
// about 20× the step time on a CPU). The seed presets keep the reference's recipe; the CPU
// presets train with v-prediction, the cosine schedule and Min-SNR-5 (docs/ARCHITECTURE.md:
// "The recipe").
import { UserError } from '../errors.ts';

export const SCHEDULE_KINDS = ['linear', 'cosine'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** What the network outputs: the noise ε, or v = √ᾱ·ε − √(1−ᾱ)·x₀ (Salimans & Ho 2022). */
export const PREDICTIONS = ['eps', 'v'] as const;
export type Prediction = (typeof PREDICTIONS)[number];

/** How the loss weighs each timestep: plain MSE, or Min-SNR-γ (Hang et al. 2023). */
export const WEIGHTINGS = ['mse', 'min-snr'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];

/** How a model is trained to denoise: the noise schedule, its target, and the loss's weights. */
export interface Recipe {
  readonly schedule: ScheduleKind;
  readonly prediction: Prediction;
  readonly weighting: Weighting;
  /** Min-SNR's γ: the SNR above which a timestep weighs no more (unused by plain mse). */
  readonly snrGamma: number;
}

/** The reference's recipe: linear β, ε-prediction, plain MSE. */
export const REFERENCE_RECIPE: Recipe = { schedule: 'linear', prediction: 'eps', weighting: 'mse', snrGamma: 5 };

/** The CPU presets' recipe: cosine β, v-prediction, Min-SNR-5. */
export const CPU_RECIPE: Recipe = { schedule: 'cosine', prediction: 'v', weighting: 'min-snr', snrGamma: 5 };

/** e.g. "v-prediction, cosine schedule, Min-SNR-5" */
export function describeRecipe(r: Recipe): string {
  const weighting = r.weighting === 'min-snr' ? `Min-SNR-${r.snrGamma}` : 'plain MSE';
  return `${r.prediction === 'v' ? 'v' : 'ε'}-prediction, ${r.schedule} schedule, ${weighting}`;
}

export const PRESET_NAMES = ['seed', 'seed-lite', 'small', 'tiny', 'micro'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface Preset {
  readonly name: PresetName;
  readonly description: string;
  /** Channels of the first block; the UNet uses width, 2·width, 4·width (and 8·width deep). */
  readonly width: number;
  /** The reference's bottleneck DC(4w,8w) → DC(8w,8w) → DC(8w,4w); otherwise DC(4w,4w) → DC(4w,4w). */
  readonly deep: boolean;
  /** Feature-map sizes (pixels, for a 32×32 input) whose self-attention blocks exist. */
  readonly attention: readonly number[];
  readonly heads: number;
  /** Size of the sinusoidal time encoding and of the class embedding added to it. */
  readonly timeDim: number;
  readonly batch: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly emaBeta: number;
  readonly emaStart: number;
  readonly cfgDropout: number;
  readonly recipe: Recipe;
}

const reference = {
  heads: 4,
  timeDim: 256,
  lr: 3e-4,
  weightDecay: 1e-3,
  emaBeta: 0.995,
  emaStart: 2000,
  cfgDropout: 0.1,
  recipe: REFERENCE_RECIPE,
} as const;

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  seed: {
    ...reference,
    name: 'seed',
    description: 'the reference UNet_conditional: width 64, deep bottleneck, attention at every level',
    width: 64,
    deep: true,
    attention: [32, 16, 8, 4],
    batch: 4,
  },
  'seed-lite': {
    ...reference,
    name: 'seed-lite',
    description: "the reference's fonts model: width 64, no deep bottleneck, attention at every level",
    width: 64,
    deep: false,
    attention: [32, 16, 8, 4],
    batch: 8,
  },
  small: {
    ...reference,
    name: 'small',
    recipe: CPU_RECIPE,
    description: 'CPU preset: width 32, attention at 8×8 and 4×4',
    width: 32,
    deep: false,
    attention: [8, 4],
    batch: 32,
  },
  tiny: {
    ...reference,
    name: 'tiny',
    recipe: CPU_RECIPE,
    description: 'CPU preset: width 16, attention at 8×8 and 4×4',
    width: 16,
    deep: false,
    attention: [8, 4],
    batch: 32,
  },
  micro: {
    ...reference,
    name: 'micro',
    recipe: CPU_RECIPE,
    description: 'test-sized preset: width 8, attention at 8×8 and 4×4, 64-wide time embedding',
    width: 8,
    deep: false,
    attention: [8, 4],
    timeDim: 64,
    batch: 16,
  },
};

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

export function getPreset(name: string): Preset {
  if (!isPresetName(name)) {
    throw new UserError(`unknown preset "${name}": choose one of ${PRESET_NAMES.join(', ')}`);
  }
  return PRESETS[name];
}

/** A stored recipe checked field by field; `where` names the file for the user. */
export function checkRecipe(value: unknown, where: string): Recipe {
  const r = (value ?? {}) as Record<string, unknown>;
  const bad = (field: string, choices: readonly string[]) =>
    new UserError(`${where}: recipe ${field} "${String(r[field])}" is not one of ${choices.join(', ')}`);
  if (!(SCHEDULE_KINDS as readonly unknown[]).includes(r.schedule)) throw bad('schedule', SCHEDULE_KINDS);
  if (!(PREDICTIONS as readonly unknown[]).includes(r.prediction)) throw bad('prediction', PREDICTIONS);
  if (!(WEIGHTINGS as readonly unknown[]).includes(r.weighting)) throw bad('weighting', WEIGHTINGS);
  if (typeof r.snrGamma !== 'number' || !(r.snrGamma > 0)) throw new UserError(`${where}: recipe snrGamma must be a number > 0, found ${String(r.snrGamma)}`);
  return { schedule: r.schedule, prediction: r.prediction, weighting: r.weighting, snrGamma: r.snrGamma } as Recipe;
}

/**
 * A style-conditioned model: a style encoder reads 1..maxRefs other letters of a training
 * glyph's font, and the UNet is conditioned on letter, style and time.
 */
export interface StyleConfig {
  /** Length of the style code. */
  dim: number;
  /** Training draws 1..maxRefs references per glyph. */
  maxRefs: number;
  /** Share of labelled samples trained without their style (classifier-free guidance on style). */
  dropout: number;
}

export const STYLE_DEFAULTS: Readonly<StyleConfig> = { dim: 32, maxRefs: 8, dropout: 0.1 };

/** Optimizer steps of a run when the user names neither steps nor epochs. */
export const DEFAULT_RUN_STEPS = 1000;

/** What the engine trains with: a preset's defaults, any of them overridden. */
export interface TrainConfig {
  preset: PresetName;
  /** Optimizer steps in the whole run (the OneCycle length). */
  steps: number;
  batch: number;
  lr: number;
  weightDecay: number;
  emaBeta: number;
  /** Steps during which the EMA is a hard copy of the model. */
  emaStart: number;
  /** Share of samples trained without their label, per sample. */
  cfgDropout: number;
  seed: number;
  /** Schedule, prediction and loss weighting: the preset's, part by part overridable. */
  recipe: Recipe;
  /** Validate every this many steps (0: only when asked). */
  valEvery: number;
  /** Validate on at most this many held-out glyphs, always the same ones. */
  valMax: number;
  /** Present for a style-conditioned model (`--style`); absent: conditioned on the letter only. */
  style?: StyleConfig;
}

/** Overrides for a run: any field, and any part of the recipe (the rest stays the preset's). */
export type TrainOverrides = Partial<Omit<TrainConfig, 'recipe'>> & { recipe?: Partial<Recipe> };

export function defaultTrainConfig(presetName: PresetName, overrides: TrainOverrides = {}): TrainConfig {
  const p = getPreset(presetName);
  return {
    preset: p.name,
    steps: DEFAULT_RUN_STEPS,
    batch: p.batch,
    lr: p.lr,
    weightDecay: p.weightDecay,
    emaBeta: p.emaBeta,
    emaStart: p.emaStart,
    cfgDropout: p.cfgDropout,
    seed: 0,
    valEvery: 0,
    valMax: 256,
    ...overrides,
    recipe: { ...p.recipe, ...overrides.recipe },
  };
}


/** The share of a dataset's fonts held out for validation (whole fonts, never single glyphs). */
export const VAL_FRACTION = 0.1;

/** Optimizer steps in one pass over `trainGlyphs`: whole batches only, so every step has one shape. */
export function stepsPerEpoch(trainGlyphs: number, batch: number): number {
  return Math.max(1, Math.floor(trainGlyphs / Math.max(1, Math.min(batch, trainGlyphs))));
}
