// The Train form: what the user set, turned into a createRun input, and what it means in steps.
import type { Dataset, Input, PresetInfo } from '../../src-main/api/contract.ts';

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
}

/** The settings a new form starts from: the preset's own, and DESIGN.md's for the rest. */
export function defaultForm(preset: PresetInfo, dataset: string): TrainForm {
  return {
    name: '',
    dataset,
    preset: preset.name,
    length: 'steps',
    steps: 1000,
    epochs: 1,
    batch: preset.batch,
    lr: preset.lr,
    emaBeta: 0.995,
    cfgDropout: 0.1,
    sampleEvery: 200,
    seed: 0,
    backend: 'auto',
  };
}

/** Steps in one pass over the training fonts (about 90% of the set; the rest validates). */
export function stepsPerEpoch(dataset: Dataset | null, batch: number): number | null {
  if (!dataset || batch <= 0) return null;
  return Math.max(1, Math.ceil((dataset.count * 0.9) / batch));
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
  };
}
