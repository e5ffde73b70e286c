// The Train form: what the user set, turned into a createRun input, and what it means in steps.
import type { Dataset, Input, PresetInfo } from '../../src-main/contract/api.ts';
import { defaultTrainConfig, stepsPerEpoch, VAL_FRACTION } from '../../src-main/contract/presets.ts';

/** What a user chooses between on the Train page: how good the letters get, and so how long it takes. */
export interface TrainingChoice {
  id: 'try' | 'draft' | 'good' | 'best';
  title: string;
  preset: PresetInfo['name'];
  steps: number;
  says: string;
}

export const TRAINING_CHOICES: readonly TrainingChoice[] = [
  { id: 'try', title: 'Quick try', preset: 'micro', steps: 400, says: 'See training work from start to end. The letters stay blurry.' },
  { id: 'draft', title: 'Draft', preset: 'tiny', steps: 1000, says: 'Letters take shape; many are still rough.' },
  { id: 'good', title: 'Good', preset: 'tiny', steps: 6000, says: 'Clean, legible letters: how Fontloom’s own model was trained.' },
  { id: 'best', title: 'Best', preset: 'small', steps: 20000, says: 'A larger model with sharper letters. Hours on a CPU; meant for a GPU.' },
];

export const DEFAULT_CHOICE: TrainingChoice['id'] = 'draft';

/** The choice a form's model and length match, or null once the user set their own under Advanced. */
export function choiceOf(form: Pick<TrainForm, 'preset' | 'length' | 'steps'>): TrainingChoice | null {
  return TRAINING_CHOICES.find((c) => c.preset === form.preset && form.length === 'steps' && c.steps === form.steps) ?? null;
}

export interface TrainForm {
  name: string;
  dataset: string;
  preset: PresetInfo['name'];
  length: 'steps' | 'epochs';
  steps: number;
  epochs: number;
  batch: number;
  lr: number;
  emaBeta: number;
  cfgDropout: number;
  sampleEvery: number;
  seed: number;
  backend: NonNullable<Input<'createRun'>['backend']>;
  /** A style-conditioned model (one design across the alphabet). */
  style: boolean;
}

/** The settings a new form starts from: the preset's own training defaults. */
export function defaultForm(preset: PresetInfo, dataset: string): TrainForm {
  const config = defaultTrainConfig(preset.name);
  return {
    name: '',
    dataset,
    preset: preset.name,
    length: 'steps',
    steps: TRAINING_CHOICES.find((c) => c.id === DEFAULT_CHOICE && c.preset === preset.name)?.steps ?? config.steps,
    epochs: 1,
    batch: config.batch,
    lr: config.lr,
    emaBeta: config.emaBeta,
    cfgDropout: config.cfgDropout,
    sampleEvery: 200,
    seed: config.seed,
    backend: 'auto',
    style: false,
  };
}

/**
 * Steps in one pass over the training fonts, as the run will count them; the studio knows the
 * glyph count, not the exact split, so it takes the held-out share of glyphs to match its fonts'.
 */
export function perEpochEstimate(dataset: Dataset | null, batch: number): number | null {
  if (!dataset || batch <= 0) return null;
  return stepsPerEpoch(Math.round(dataset.count * (1 - VAL_FRACTION)), batch);
}

export function createRunInput(form: TrainForm): Input<'createRun'> {
  return {
    dataset: form.dataset,
    preset: form.preset,
    ...(form.name.trim() && { name: form.name.trim() }),
    ...(form.length === 'steps' ? { steps: Math.round(form.steps) } : { epochs: form.epochs }),
    batch: Math.round(form.batch),
    lr: form.lr,
    emaBeta: form.emaBeta,
    cfgDropout: form.cfgDropout,
    sampleEvery: Math.round(form.sampleEvery),
    seed: Math.round(form.seed),
    backend: form.backend,
    ...(form.style && { style: true }),
  };
}
