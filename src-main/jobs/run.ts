// A run: a row in the store plus runs/<id>/{checkpoints/latest.ckpt, samples/*.png}. It trains
// with the engine, checkpoints atomically, writes periodic A–Z sheets from the model and its EMA
// with a fixed seed (so sheets compare over time), and resumes from its checkpoint onto exactly
// the path an unbroken run would have taken. Metrics reach the store in batches, always before
// the checkpoint they lead up to: after a crash they may run ahead of it (trimmed on resume),
// never behind it.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.ts';
import { DEFAULT_SAMPLE, RUN_LIMITS, type Metric, type RunActivity, type RunConfig, type RunSettings, type SampleOptions } from '../contract/api.ts';
import { defaultTrainConfig, STYLE_DEFAULTS, stepsPerEpoch, VAL_FRACTION } from '../contract/presets.ts';
import { defaultEngines, type BackendInfo } from '../engine/runtime/backend.ts';
import { readCheckpoint, restoreTrainer, saveCheckpoint } from '../engine/checkpoint.ts';
import { sampleImages } from '../engine/diffusion.ts';
import { inventStyle, repeatCode } from '../engine/style.ts';
import { Trainer, trainConfigFromJson, type TrainingData } from '../engine/train.ts';
import { deriveSeed } from '../engine/rng.ts';
import { fusedApplies } from '../engine/gpu/fused.ts';
import { loadTrainingData } from '../data/training.ts';
import { writeSheet } from '../export/sheet.ts';
import { runsDir } from '../home.ts';
import { claimRun, failHeldRun, heartbeat, markInterrupted, settled } from './claims.ts';
import { storeFor, type RunPatch, type StoredRun } from '../store/store.ts';

export interface Progress {
  run: string;
  step: number;
  total: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  etaSeconds: number;
  val: number | null;
  bestVal: number | null;
  /** A sheet written at this step (its EMA file; the model's sits beside it). */
  sheet?: string;
}

export interface TrainOptions {
  backend: BackendInfo;
  /** Threads for wasm/cpu training: 2 shares each batch with a gradient worker (default 1). */
  threads?: number;
  onProgress?: (p: Progress) => void;
  /** Told when the run stops training for a while at a step (validation, sheets, a checkpoint, an evaluation); the step's progress follows. */
  onActivity?: (step: number, doing: RunActivity) => void;
  /** Stop (checkpointed, resumable) once this step is reached. */
  stopAt?: number;
  /** Polled between steps: true stops the run the same way. */
  shouldStop?: () => boolean;
  /** Called once the run is ready to train (checkpoint restored), with the step it starts from. */
  onStart?: (step: number) => void;
  /** Measures the checkpoint just written, every `config.evalEvery` steps. */
  evaluate?: (step: number) => Promise<void>;
  /** The process that claimed the run for this one (the studio that forked it, the command that spawned it). */
  heldBy?: number;
}

export interface RunOutcome {
  run: StoredRun;
  /** Mean loss over the last steps trained (up to 50). */
  trainLoss: number | null;
  seconds: number;
}

export function runDir(home: string, id: string): string {
  return join(runsDir(home), id);
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** A run as it is now: one whose process is gone reads `interrupted`, whoever asks. */
export function loadRun(home: string, id: string): StoredRun {
  const store = storeFor(home);
  const found = store.getRun(id);
  if (!found) throw new UserError(`no run "${id}" in ${home} (fontloom runs lists them)`);
  const run = settled(store, found);
  return { ...run, config: { ...run.config, ...trainConfigFromJson(run.config, `run ${id}`) } };
}

/** The glyph set a run is measured against: the one it trained on, or the one named when its weights were imported. */
export function measuringData(run: StoredRun): string {
  if (!run.data) {
    throw new UserError(
      `run ${run.id} was imported without a dataset to measure it against: import its weights again naming one (fontloom weights import FILE --data DATASET)`,
    );
  }
  return run.data;
}

export function listRuns(home: string): StoredRun[] {
  markInterrupted(home);
  return storeFor(home).listRuns();
}

export function checkpointPath(home: string, id: string): string {
  return join(runDir(home, id), 'checkpoints', 'latest.ckpt');
}

/**
 * A run's whole config: the settings asked for (checked by the contract's RUN_SETTINGS or
 * createRun), and the preset's defaults for the rest (validation 20 times
 * a run, sheets 10, a checkpoint every 500 steps). Epochs become steps over the training split,
 * whose size `trainGlyphs` gives (read only when epochs are asked for).
 */
export async function runConfig(request: RunSettings, trainGlyphs: () => Promise<number>): Promise<RunConfig> {
  const { preset, epochs, schedule, prediction, weighting, snrGamma, steps: asked, style, ...rest } = request;
  const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<typeof rest>;
  const recipe = Object.fromEntries(Object.entries({ schedule, prediction, weighting, snrGamma }).filter(([, v]) => v !== undefined));
  const { sampleEvery, checkpointEvery, evalEvery, backend, threads, valEvery, ...training } = given;
  const base = defaultTrainConfig(preset, { ...training, recipe });
  const steps = asked ?? (epochs !== undefined ? Math.max(1, Math.round(epochs * stepsPerEpoch(await trainGlyphs(), base.batch))) : base.steps);
  if (steps > RUN_LIMITS.steps) throw new UserError(`${epochs} epochs are ${steps} steps here, over the ${RUN_LIMITS.steps} a run may take: ask for fewer epochs`);
  return {
    ...base,
    ...(style ? { style: { ...STYLE_DEFAULTS } } : {}),
    steps,
    valEvery: valEvery ?? Math.max(1, Math.floor(steps / 20)),
    sampleEvery: sampleEvery ?? Math.max(1, Math.floor(steps / 10)),
    checkpointEvery: checkpointEvery ?? 500,
    evalEvery: evalEvery ?? 0,
    backend: backend ?? 'auto',
    threads: threads ?? defaultEngines(preset),
  };
}

export interface NewRun {
  name?: string;
  data: string;
  dataset?: string;
  datasetName?: string;
  config: RunConfig;
  valFraction?: number;
  sheet?: Partial<SampleOptions>;
  /** `running` claims the run for `pid` as it is created (claimRun); `queued` with a pid holds it for that process. */
  status?: 'queued' | 'running';
  /** The process that holds it: trains it, or will. */
  pid?: number;
}

export async function createRun(home: string, spec: NewRun): Promise<StoredRun> {
  const id = newRunId();
  const dir = runDir(home, id);
  await mkdir(join(dir, 'checkpoints'), { recursive: true });
  await mkdir(join(dir, 'samples'), { recursive: true });
  const run = storeFor(home).insertRun({
    id,
    name: spec.name?.trim() || `${spec.config.preset} on ${spec.datasetName ?? spec.dataset ?? 'a glyph file'}`,
    dataset: spec.dataset ?? null,
    datasetName: spec.datasetName ?? spec.dataset ?? resolve(spec.data),
    data: resolve(spec.data),
    valFraction: spec.valFraction ?? VAL_FRACTION,
    config: spec.config,
    sheet: { ...DEFAULT_SAMPLE, seed: deriveSeed(spec.config.seed, 'sheet'), ...spec.sheet },
    status: 'queued',
    pid: spec.pid ?? null,
  });
  return spec.status === 'running' ? claimRun(home, id, { pid: spec.pid }) : run;
}

/**
 * Asks a run to pause or stop. A queued run settles at once; a running one is told through the
 * store and its training process checkpoints and settles it between steps.
 */
export function requestControl(home: string, id: string, what: 'pause' | 'stop'): StoredRun {
  const store = storeFor(home);
  const run = loadRun(home, id);
  const settled = what === 'pause' ? 'paused' : 'stopped';
  // Each write holds only while the run is as read; if its holder moved it meanwhile, ask again.
  const settle = (patch: RunPatch) => store.updateRunIf(id, { status: [run.status] }, patch) ?? requestControl(home, id, what);
  // A queued run's waiting process (if any) sees it is no longer its own and leaves.
  if (run.status === 'queued' || (run.status === 'paused' && what === 'stop')) return settle({ status: settled, pid: null });
  if (run.status === 'running') return settle({ control: what });
  if (run.status === settled) return run;
  throw new UserError(`run ${id} is ${run.status}: there is nothing to ${what}`);
}

export async function deleteRun(home: string, id: string): Promise<void> {
  const run = loadRun(home, id);
  if (run.status === 'running') throw new UserError(`run ${id} is training: stop it first (fontloom stop ${id})`);
  storeFor(home).deleteRun(id);
  await rm(runDir(home, id), { recursive: true, force: true });
}

async function writeSheets(home: string, run: StoredRun, trainer: Trainer): Promise<string> {
  await trainer.sync();
  const labels = trainer.data.classNames.map((_, i) => i);
  const { height, width, channels } = trainer.data;
  const store = storeFor(home);
  let last = '';
  for (const which of ['model', 'ema'] as const) {
    // A style model's sheet is one invented style (the sheet's seed picks it), so the sheet shows
    // whether the alphabet holds together.
    const prior = await trainer.stylePrior(which);
    const styles = prior ? repeatCode(inventStyle(prior, run.sheet.seed), labels.length) : undefined;
    const images = await sampleImages(which === 'ema' ? trainer.emaDiffusion : trainer.diffusion, labels, run.sheet, undefined, undefined, styles);
    last = join(runDir(home, run.id), 'samples', `step-${String(trainer.step).padStart(7, '0')}-${which}.png`);
    const title = `${run.name} · ${run.config.preset} · step ${trainer.step} · ${which === 'ema' ? 'EMA' : 'model'} · ${run.sheet.sampler} ${run.sheet.steps}, cfg ${run.sheet.cfg}`;
    await writeSheet(last, images, labels.length, height, width, channels as 1 | 3, [...trainer.data.classNames], { title });
    store.addSheet(run.id, { step: trainer.step, which }, last);
  }
  return last;
}

/** wasm's memory is 32-bit: a batch too large for it aborts with a message no user can act on. */
function explainEngineFailure(err: unknown, config: RunConfig, backend: BackendInfo): unknown {
  const message = (err as Error)?.message ?? '';
  if (backend.name !== 'wasm' || !/memory access out of bounds|out of memory|Aborted/i.test(message)) return err;
  return new UserError(
    `the wasm engine ran out of memory (it can address 4 GB) training ${config.preset} at batch ${config.batch}: ` +
      'lower the batch, choose a smaller preset, or train on webgpu or tensorflow',
  );
}

/** Steps between metric writes while training (and always at a checkpoint). */
const METRICS_BATCH = 25;

/**
 * Trains a run from its checkpoint (or from scratch) until its last step, a stop or a pause
 * (asked through `opts` or the store's control column), and leaves its status saying which.
 */
export async function trainRun(home: string, run: StoredRun, opts: TrainOptions, loaded?: TrainingData): Promise<RunOutcome> {
  const store = storeFor(home);
  const data = loaded ?? (await loadTrainingData(run.data, run.valFraction));
  const trainer = new Trainer(run.config, data);
  const ckptFile = checkpointPath(home, run.id);
  try {
    // A checkpoint that does not fit is the user's to fix, and a run another process holds is
    // that process's: say so and leave the run as it was. Nothing is written before the claim.
    if (existsSync(ckptFile)) restoreTrainer(trainer, await readCheckpoint(ckptFile));
    claimRun(home, run.id, { heldBy: opts.heldBy });
  } catch (err) {
    trainer.dispose();
    throw err;
  }
  const heart = heartbeat(store, run.id);
  const started = performance.now();
  const recent: number[] = [];
  const meanRecent = () => (recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null);
  try {
    store.trimMetrics(run.id, trainer.step);
    if ((opts.threads ?? 1) > 1 && (opts.backend.name === 'wasm' || opts.backend.name === 'cpu')) await trainer.startWorker(opts.backend.name);
    const fused = opts.backend.name === 'webgpu' && fusedApplies() ? ', fused engine' : '';
    const backend = `${opts.backend.name}: ${opts.backend.adapter}${trainer.threads > 1 ? `, ${trainer.threads} engines` : ''}${fused}`;
    run = store.updateRun(run.id, { backend, step: trainer.step, checkpointStep: trainer.step });
    opts.onStart?.(trainer.step);

    const total = run.config.steps;
    const pending: Metric[] = [];
    let bestVal = run.bestVal;
    let checkpointed = trainer.step;
    const flush = () => {
      store.appendMetrics(run.id, pending.splice(0));
      store.updateRun(run.id, { step: trainer.step, trainLoss: meanRecent(), bestVal });
    };
    const between = async <T>(step: number, doing: RunActivity, work: () => Promise<T>): Promise<T> => {
      opts.onActivity?.(step, doing);
      return work();
    };
    const checkpoint = async () => {
      flush();
      await saveCheckpoint(ckptFile, trainer);
      checkpointed = trainer.step;
      store.updateRun(run.id, { checkpointStep: trainer.step });
    };
    // Speed counts training steps only (not validation, sheets or checkpoints), over a sliding window.
    const stepSeconds: number[] = [];
    while (trainer.step < total) {
      if (opts.stopAt !== undefined && trainer.step >= opts.stopAt) break;
      if (!heart.stillHeld()) throw new UserError(`run ${run.id} was taken from this process (${process.pid}) while it trained: it is ${store.getRun(run.id)?.status ?? 'deleted'}`);
      if (opts.shouldStop?.() || store.control(run.id)) break;
      const stepStart = performance.now();
      const r = await trainer.trainStep();
      stepSeconds.push((performance.now() - stepStart) / 1000);
      if (stepSeconds.length > 20) stepSeconds.shift();
      recent.push(r.loss);
      if (recent.length > 50) recent.shift();
      if (!Number.isFinite(r.loss)) throw new Error(`the loss became ${r.loss} at step ${r.step}; lower the learning rate`);
      const metric: Metric = { step: r.step, loss: r.loss, lr: r.lr, val: null };
      const last = r.step === total;
      if ((run.config.valEvery > 0 && r.step % run.config.valEvery === 0) || last) {
        metric.val = await between(r.step, 'validating', () => trainer.validate());
        if (metric.val !== null && (bestVal === null || metric.val < bestVal)) bestVal = metric.val;
      }
      pending.push(metric);
      let sheet: string | undefined;
      if ((run.config.sampleEvery > 0 && r.step % run.config.sampleEvery === 0) || last) sheet = await between(r.step, 'drawing samples', () => writeSheets(home, run, trainer));
      const evalDue = (run.config.evalEvery ?? 0) > 0 && r.step % run.config.evalEvery! === 0 && opts.evaluate !== undefined;
      if ((run.config.checkpointEvery > 0 && r.step % run.config.checkpointEvery === 0) || last || evalDue) await between(r.step, 'saving a checkpoint', checkpoint);
      else if (pending.length >= METRICS_BATCH) flush();
      if (evalDue) await between(r.step, 'measuring quality', () => opts.evaluate!(r.step));
      const perStep = stepSeconds.reduce((a, b) => a + b, 0) / stepSeconds.length;
      opts.onProgress?.({
        run: run.id,
        step: r.step,
        total,
        loss: r.loss,
        lr: r.lr,
        imagesPerSecond: trainer.batch / perStep,
        etaSeconds: perStep * (total - r.step),
        val: metric.val,
        bestVal,
        sheet,
      });
    }
    if (checkpointed < trainer.step) await checkpoint();
    const asked = store.control(run.id);
    const status = trainer.step >= total ? 'completed' : asked === 'pause' ? 'paused' : 'stopped';
    const settled: RunPatch = { status, control: null, pid: null, step: trainer.step, trainLoss: meanRecent() ?? run.trainLoss };
    run = store.updateRunIf(run.id, { status: ['running'], pid: process.pid }, settled) ?? store.getRun(run.id)!;
    return { run, trainLoss: meanRecent() ?? run.trainLoss, seconds: (performance.now() - started) / 1000 };
  } catch (caught) {
    const err = explainEngineFailure(caught, run.config, opts.backend);
    failHeldRun(home, run.id, [process.pid], (err as Error).message);
    throw err;
  } finally {
    heart.stop();
    trainer.dispose();
  }
}
