// The pretrained default model: EMA weights trained by the Fontloom team on the embedded default
// dataset, shipped in data/ with how they were trained and what they measure, so a new user can
// generate a sheet in the first minute. It appears as the completed run "default".
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metric, RunConfig, SampleOptions } from '../contract/api.ts';
import { VAL_FRACTION } from '../contract/presets.ts';
import { openRegistry } from '../data/registry.ts';
import type { EvalReport } from '../eval/evaluate.ts';
import { storeFor, type StoredRun } from '../store/store.ts';
import { checkpointPath, runDir } from './run.ts';

export const DEFAULT_RUN = 'default';
export const DEFAULT_MODEL = fileURLToPath(new URL('../../data/default-model.ckpt', import.meta.url));
export const DEFAULT_MODEL_CARD = fileURLToPath(new URL('../../data/default-model.json', import.meta.url));
export const DEFAULT_MODEL_SHEET = fileURLToPath(new URL('../../data/default-model-sheet.png', import.meta.url));

/** What data/default-model.json records. */
export interface ModelCard {
  name: string;
  description: string;
  dataset: { name: string; hash: string; glyphs: number; fonts: number };
  config: RunConfig;
  step: number;
  sheet: SampleOptions;
  training: {
    backend: string;
    machine: string;
    seconds: number;
    started: string;
    finished: string;
    command: string;
    /** An earlier training of the same weights, where it went otherwise (interrupted, shared machine). */
    earlier?: { seconds: number; started: string; finished: string; command: string; note: string };
  };
  trainLoss: number | null;
  bestVal: number | null;
  /** The curve, thinned to every few steps. */
  metrics: Metric[];
  /** Quality of the shipped weights (legibility, glyph FID, diversity) beside their baselines. */
  evaluation: EvalReport | null;
  /** A style model's fonts, measured (`fontloom eval --style`): consistency, variety, novelty, completion. */
  styleEvaluation?: unknown;
}

export async function readModelCard(): Promise<ModelCard> {
  return JSON.parse(await readFile(DEFAULT_MODEL_CARD, 'utf8')) as ModelCard;
}

/** Registers the default model as a completed run (once); null where this build ships none. */
export async function ensureDefaultModel(home: string): Promise<StoredRun | null> {
  const store = storeFor(home);
  const existing = store.getRun(DEFAULT_RUN);
  if (existing) return existing;
  if (!existsSync(DEFAULT_MODEL) || !existsSync(DEFAULT_MODEL_CARD)) return null;
  const card = await readModelCard();
  const registry = await openRegistry(home, store);
  const { record } = await registry.ensureDefault();
  await mkdir(join(runDir(home, DEFAULT_RUN), 'samples'), { recursive: true });
  await mkdir(join(runDir(home, DEFAULT_RUN), 'checkpoints'), { recursive: true });
  await copyFile(DEFAULT_MODEL, checkpointPath(home, DEFAULT_RUN));
  const sheetFile = join(runDir(home, DEFAULT_RUN), 'samples', `step-${String(card.step).padStart(7, '0')}-ema.png`);
  if (existsSync(DEFAULT_MODEL_SHEET)) await copyFile(DEFAULT_MODEL_SHEET, sheetFile);
  store.db.transaction(() => {
    store.insertRun({
      id: DEFAULT_RUN,
      name: card.name,
      dataset: record.id,
      datasetName: record.name,
      data: registry.glyphsPath(record),
      valFraction: VAL_FRACTION,
      config: card.config,
      sheet: card.sheet,
      status: 'completed',
      pid: null,
    });
    store.updateRun(DEFAULT_RUN, { step: card.step, checkpointStep: card.step, backend: card.training.backend, trainLoss: card.trainLoss, bestVal: card.bestVal });
    store.appendMetrics(DEFAULT_RUN, card.metrics);
    if (existsSync(sheetFile)) store.addSheet(DEFAULT_RUN, { step: card.step, which: 'ema' }, sheetFile);
    const e = card.evaluation;
    if (e) store.saveEval({ run: DEFAULT_RUN, step: e.step, weights: e.weights, legibility: e.metrics.legibility, fid: e.metrics.fid, diversity: e.metrics.diversity, report: e });
  })();
  return store.getRun(DEFAULT_RUN);
}
