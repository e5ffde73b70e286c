// The training process: one run, from its checkpoint to its end, a pause or a stop. It writes the
// store itself (status, metrics, sheets), so it works the same forked by the studio, detached
// by the CLI, or in the CLI's own process; a parent that listens gets progress messages too.
// It also draws glyphs for the Generate page, so sampling never blocks the studio either.
import { writeFile } from 'node:fs/promises';
import { defaultEngines, initBackend } from '../engine/runtime/backend.ts';
import { type BackendChoice, type RunActivity, type StyleSpec } from '../contract/api.ts';
import { measureTrainStep } from '../engine/runtime/measure.ts';
import type { PresetName } from '../contract/presets.ts';
import { completionData, drawFromCheckpoint, type Drawn } from './generate.ts';
import { upsamplerFor } from './upsampler.ts';
import { checkpointPath, loadRun, trainRun, type Progress } from './run.ts';
import { waitForTurn } from './claims.ts';
import { failHeldRun } from './claims.ts';
import { evaluateRun } from './evaluate-run.ts';

export type WorkerTask =
  | {
      task: 'train';
      home: string;
      run: string;
      /** The process that claimed the run for this one (the studio, a `--detach` command); this one takes it over. */
      heldBy?: number;
      /** Wait in line until no other run trains (a `--detach` run). */
      queue?: boolean;
    }
  | { task: 'eval'; home: string; run: string; perClass: number; ema: boolean; baselines: boolean }
  | { task: 'estimate'; home: string; preset: PresetName; batch: number; backend: BackendChoice; threads: number }
  | {
      task: 'draw';
      home: string;
      run: string;
      ema: boolean;
      sampler: 'ddim' | 'ddpm';
      steps: number;
      cfg: number;
      seed: number;
      classes?: number[];
      /** A style model's style (default: invented from `seed`) and guidance on it. */
      style?: StyleSpec;
      styleCfg?: number;
      /** Where to write the raw uint8 images. */
      out: string;
    };

export type WorkerMessage =
  | { type: 'started'; run: string; step: number; backend: string }
  | { type: 'progress'; progress: Progress }
  | { type: 'activity'; step: number; doing: RunActivity }
  /** A drawing's denoising steps, for the studio's progress bar. */
  | { type: 'drawing'; done: number; total: number }
  /** `largeSize`: the glyphs were also drawn at this size (the upsampler's), written to `${out}.large`. */
  | { type: 'drawn'; classes: number[]; classNames: string[]; size: number; channels: number; largeSize: number | null; step: number; steps: number; style: Drawn['style'] }
  | { type: 'evaluated'; run: string; step: number }
  | { type: 'estimated'; secondsPerStep: number; backend: string }
  | { type: 'done'; status: string }
  | { type: 'error'; message: string; user: boolean };

/** How often a drawing says how far it is: a DDPM chain has 999 steps, a bar needs a few a second. */
const DRAWING_EVERY_MS = 200;

function drawingProgress(send: (m: WorkerMessage) => void): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - last < DRAWING_EVERY_MS) return;
    last = now;
    send({ type: 'drawing', done, total });
  };
}

export async function runTask(task: WorkerTask, send: (m: WorkerMessage) => void): Promise<void> {
  if (task.task === 'estimate') {
    const backend = await initBackend(task.backend, { engines: task.threads > 1 ? 2 : 1 });
    const { secondsPerStep, threads } = await measureTrainStep({ preset: task.preset, batch: task.batch, backend: backend.name, threads: task.threads, steps: 2 });
    send({ type: 'estimated', secondsPerStep, backend: `${backend.name}: ${backend.adapter}${threads > 1 ? `, ${threads} engines` : ''}` });
    return;
  }
  const run = loadRun(task.home, task.run);
  if (task.task === 'eval') {
    // Measuring (a classifier may train too): one engine with every core.
    const backend = await initBackend('auto', { engines: 1 });
    const { evaluation } = await evaluateRun(task.home, run.id, { backend, perClass: task.perClass, weights: task.ema ? 'ema' : 'model', baselines: task.baselines });
    send({ type: 'evaluated', run: run.id, step: evaluation.step });
    return;
  }
  if (task.task === 'draw') {
    await initBackend('auto', { engines: defaultEngines(run.config.preset) });
    const drawn = await drawFromCheckpoint(checkpointPath(task.home, run.id), run.id, {
      ...task, eta: 0, completeFrom: completionData(run), upsampler: upsamplerFor(task.home, run), onStep: drawingProgress(send),
    });
    await writeFile(task.out, drawn.images);
    if (drawn.large) await writeFile(`${task.out}.large`, drawn.large.images);
    send({
      type: 'drawn', classes: drawn.classes, classNames: drawn.classNames, size: drawn.size, channels: drawn.channels,
      largeSize: drawn.large?.size ?? null, step: drawn.step, steps: drawn.steps, style: drawn.style,
    });
    return;
  }
  try {
    if (task.queue && (await waitForTurn(task.home, run.id, task.heldBy)) === null) {
      // Paused, stopped or taken while it waited: no longer this process's to train.
      send({ type: 'done', status: loadRun(task.home, run.id).status });
      return;
    }
    const backend = await initBackend(run.config.backend, { engines: (run.config.threads ?? 2) > 1 ? 2 : 1 });
    const outcome = await trainRun(task.home, run, {
      backend,
      heldBy: task.heldBy,
      threads: run.config.threads,
      onStart: (step) => send({ type: 'started', run: run.id, step, backend: `${backend.name}: ${backend.adapter}` }),
      onProgress: (progress) => send({ type: 'progress', progress }),
      onActivity: (step, doing) => send({ type: 'activity', step, doing }),
      // Optional measurements during training, at checkpoints, with the backend that trains.
      evaluate: async () => {
        const { evaluation } = await evaluateRun(task.home, run.id, { backend, perClass: 2, weights: 'ema', baselines: false });
        send({ type: 'evaluated', run: run.id, step: evaluation.step });
      },
    });
    send({ type: 'done', status: outcome.run.status });
  } catch (err) {
    // A run that could not start (its data gone, a checkpoint that does not fit) says why; one
    // held by another process (the claim refused) is left to it.
    failHeldRun(task.home, run.id, [process.pid, task.heldBy], (err as Error).message);
    throw err;
  }
}
