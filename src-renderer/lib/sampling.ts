// How Generate draws: the sampler settings every use shares, as the generate input takes them.
import { DEFAULT_SAMPLE, type Input, type SamplerName } from '../../src-main/contract/api.ts';

export interface SamplingForm {
  sampler: SamplerName;
  steps: number;
  /** Guidance on the letter. */
  cfg: number;
  /** A style model's guidance on style; null: the same as on the letter. */
  styleCfg: number | null;
  ema: boolean;
}

export function defaultSampling(): SamplingForm {
  return { sampler: DEFAULT_SAMPLE.sampler, steps: DEFAULT_SAMPLE.steps, cfg: DEFAULT_SAMPLE.cfg, styleCfg: null, ema: true };
}

export function samplingInput(form: SamplingForm): Pick<Input<'generate'>, 'sampler' | 'steps' | 'cfg' | 'ema' | 'styleCfg'> {
  return {
    sampler: form.sampler,
    steps: Math.round(form.steps),
    cfg: form.cfg,
    ema: form.ema,
    ...(form.styleCfg !== null && { styleCfg: form.styleCfg }),
  };
}

/** The form back from a request it made (a kept result's), defaults where the request left them out. */
export function samplingForm(input: Partial<Input<'generate'>>): SamplingForm {
  const form = defaultSampling();
  return {
    sampler: input.sampler ?? form.sampler,
    steps: input.steps ?? form.steps,
    cfg: input.cfg ?? form.cfg,
    styleCfg: input.styleCfg ?? null,
    ema: input.ema ?? form.ema,
  };
}
