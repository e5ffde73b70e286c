import { UserError } from '../errors.ts';
import { PREDICTIONS, WEIGHTINGS, type Prediction, type Weighting } from './objective.ts';
import { SCHEDULE_KINDS, type ScheduleKind } from './schedule.ts';

// A preset is one plain object: the network's shape plus the training defaults that go with it.
// `seed` is the reference UNet_conditional exactly; `seed-lite` is the reference's fonts model
// without the deep bottleneck; `small`, `tiny` and `micro` are Fontloom's CPU presets, with
// self-attention only where feature maps are 8×8 or smaller (full-resolution attention costs
// about 20× the step time on a CPU). The seed presets keep the reference's recipe; the CPU
// presets train with v-prediction, the cosine schedule and Min-SNR-5 (DESIGN.md: 98% legible
// letters after 11 CPU minutes, where the reference recipe reaches 13%).

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

export type PresetName = 'seed' | 'seed-lite' | 'small' | 'tiny' | 'micro';

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

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

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
