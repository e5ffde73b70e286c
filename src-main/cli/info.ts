// `fontloom info`: a preset's fields and its exact parameter count for a given data shape,
// enough for a peer implementation to be built to match.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../engine/runtime/backend.ts';
import { describeRecipe, getPreset, STYLE_DEFAULTS, type Prediction, PRESET_NAMES, type PresetName, type ScheduleKind, type Weighting } from '../contract/presets.ts';
import { createUNet, parameterCount, type ModelShape } from '../engine/unet.ts';

export interface PresetInfo {
  preset: PresetName;
  description: string;
  params: number;
  width: number;
  attention: number[];
  deep: boolean;
  heads: number;
  time_dim: number;
  channels: number;
  classes: number;
  size: number;
  batch: number;
  lr: number;
  weight_decay: number;
  ema_beta: number;
  ema_start: number;
  cfg_dropout: number;
  schedule: ScheduleKind;
  prediction: Prediction;
  weighting: Weighting;
  /** Min-SNR's γ (kept, though unused, under plain mse) */
  snr_gamma: number;
  /** With `train --style`: the parameters it has then (the style encoder and its embedding added) and the style code's length. */
  style: { params: number; dim: number; max_refs: number; dropout: number };
}

export async function presetInfo(name: PresetName, shape: ModelShape): Promise<PresetInfo> {
  const p = getPreset(name);
  // Counting builds the variables, so do it on the always-present cpu backend and free them.
  const model = createUNet(p, shape, 0);
  const params = parameterCount(model);
  model.dispose();
  const styled = createUNet(p, { ...shape, style: STYLE_DEFAULTS.dim }, 0);
  const style = { params: parameterCount(styled), dim: STYLE_DEFAULTS.dim, max_refs: STYLE_DEFAULTS.maxRefs, dropout: STYLE_DEFAULTS.dropout };
  styled.dispose();
  return {
    preset: p.name,
    description: p.description,
    params,
    width: p.width,
    attention: [...p.attention],
    deep: p.deep,
    heads: p.heads,
    time_dim: p.timeDim,
    ...shape,
    batch: p.batch,
    lr: p.lr,
    weight_decay: p.weightDecay,
    ema_beta: p.emaBeta,
    ema_start: p.emaStart,
    cfg_dropout: p.cfgDropout,
    schedule: p.recipe.schedule,
    prediction: p.recipe.prediction,
    weighting: p.recipe.weighting,
    snr_gamma: p.recipe.snrGamma,
    style,
  };
}

export async function runInfo(opts: { preset?: string; channels: number; classes: number; size: number; json?: boolean }): Promise<void> {
  await initBackend('cpu');
  const shape = { channels: opts.channels, classes: opts.classes, size: opts.size };
  const names = opts.preset ? [getPreset(opts.preset).name] : PRESET_NAMES;
  const infos = [];
  for (const n of names) infos.push(await presetInfo(n, shape));
  if (opts.json) {
    process.stdout.write(JSON.stringify(opts.preset ? infos[0] : infos) + '\n');
    return;
  }
  for (const i of infos) {
    process.stdout.write(
      `${i.preset.padEnd(10)} ${i.params.toLocaleString('en-US').padStart(11)} params  width ${i.width}, ` +
        `${i.deep ? 'deep' : 'shallow'} bottleneck, attention at ${i.attention.join('/')} px, batch ${i.batch}, ` +
        `${describeRecipe(getPreset(i.preset).recipe)} — ${i.description}; ` +
        `with --style ${i.style.params.toLocaleString('en-US')} params (a style encoder and a ${i.style.dim}-number style code)\n`,
    );
  }
  if (!opts.json) process.stdout.write('Any preset trains style-conditioned with fontloom train --style (one design across the alphabet); a run says which in fontloom run show.\n');
  if (tf.memory().numTensors !== 0) throw new Error('info leaked tensors');
}
