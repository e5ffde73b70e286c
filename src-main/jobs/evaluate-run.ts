// Measures a run's last checkpoint and keeps the result in the store, per run, step and weights.
import { DEFAULT_SAMPLE, type Evaluation } from '../contract/api.ts';
import type { BackendInfo } from '../engine/runtime/backend.ts';
import { evaluateCheckpoint, type EvalReport } from '../eval/evaluate.ts';
import { storeFor } from '../store/store.ts';
import { checkpointPath, loadRun, measuringData } from './run.ts';
import { existsSync } from 'node:fs';
import { UserError } from '../errors.ts';

export interface EvaluateRunOptions {
  backend: BackendInfo;
  perClass: number;
  weights: 'model' | 'ema';
  steps?: number;
  cfg?: number;
  seed?: number;
  baselines: boolean;
  onProgress?: (message: string) => void;
}

export async function evaluateRun(home: string, id: string, opts: EvaluateRunOptions): Promise<{ report: EvalReport; evaluation: Evaluation }> {
  const run = loadRun(home, id);
  const ckptPath = checkpointPath(home, run.id);
  if (!existsSync(ckptPath)) throw new UserError(`run ${run.id} has no checkpoint yet: train it first (fontloom resume ${run.id})`);
  const dataPath = measuringData(run);
  const report = await evaluateCheckpoint({
    ckptPath,
    dataPath,
    valFraction: run.valFraction,
    home,
    backend: opts.backend,
    perClass: opts.perClass,
    weights: opts.weights,
    steps: opts.steps ?? DEFAULT_SAMPLE.steps,
    cfg: opts.cfg ?? DEFAULT_SAMPLE.cfg,
    seed: opts.seed ?? DEFAULT_SAMPLE.seed,
    baselines: opts.baselines,
    onProgress: opts.onProgress,
  });
  const store = storeFor(home);
  const row = { run: run.id, step: report.step, weights: report.weights, legibility: report.metrics.legibility, fid: report.metrics.fid, diversity: report.metrics.diversity, report };
  store.saveEval(row);
  const evaluation = store.evals(run.id).find((e) => e.step === row.step && e.weights === row.weights)!;
  return { report, evaluation };
}
