import { UserError } from '../errors.ts';

// A preset is one plain object: the network's shape plus the training defaults that go with it.
// `seed` is the reference UNet_conditional exactly; `seed-lite` is the reference's fonts model
// without the deep bottleneck; `small`, `tiny` and `micro` are Fontloom's CPU presets, with
// self-attention only where feature maps are 8×8 or smaller (full-resolution attention costs
// about 20× the step time on a CPU).

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
}

const reference = {
  heads: 4,
  timeDim: 256,
  lr: 3e-4,
  weightDecay: 1e-3,
  emaBeta: 0.995,
  emaStart: 2000,
  cfgDropout: 0.1,
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
    description: 'CPU preset: width 32, attention at 8×8 and 4×4',
    width: 32,
    deep: false,
    attention: [8, 4],
    batch: 32,
  },
  tiny: {
    ...reference,
    name: 'tiny',
    description: 'CPU preset: width 16, attention at 8×8 and 4×4',
    width: 16,
    deep: false,
    attention: [8, 4],
    batch: 32,
  },
  micro: {
    ...reference,
    name: 'micro',
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
