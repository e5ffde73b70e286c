// A run on disk: runs/<id>/{run.json, metrics.jsonl, checkpoints/latest.ckpt, samples/*.png}.
// It trains with the engine, checkpoints atomically, writes periodic A–Z sheets from the model
// and its EMA with a fixed seed (so sheets compare over time), and resumes from its checkpoint
// onto exactly the path an unbroken run would have taken.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../atomic.ts';
import { UserError } from '../errors.ts';
import type { BackendInfo } from '../engine/backend.ts';
import { readCheckpoint, restoreTrainer, saveCheckpoint } from '../engine/checkpoint.ts';
import { sampleImages, type SampleOptions } from '../engine/sample.ts';
import { Trainer, trainConfigFromJson, type TrainConfig, type TrainingData } from '../engine/train.ts';
import { deriveSeed } from '../engine/rng.ts';
import { contentHash, readGlyphSet, splitByFont, type GlyphSet } from '../data/glyphset.ts';
import { writeSheet } from '../export/sheet.ts';
import { runsDir } from '../home.ts';

export type RunStatus = 'running' | 'stopped' | 'completed' | 'failed';

export interface RunRecord {
  id: string;
  created: string;
  updated: string;
  status: RunStatus;
  /** The glyph set the run trains on, as an absolute path. */
  data: string;
  /** The registered dataset's id, when it came from the registry. */
  dataset?: string;
  config: TrainConfig;
  /** Share of fonts held out for validation. */
  valFraction: number;
  /** Sheets every this many steps (0: only at the end); checkpoints likewise. */
  sampleEvery: number;
  checkpointEvery: number;
  sheet: SampleOptions;
  step: number;
  backend: string | null;
  trainLoss: number | null;
  valMse: number | null;
  error?: string;
}

export interface Metric {
  step: number;
  loss: number;
  lr: number;
  val?: number;
}

export interface Progress {
  run: string;
  step: number;
  total: number;
  loss: number;
  lr: number;
  imagesPerSecond: number;
  etaSeconds: number;
  val?: number;
  sheet?: string;
}

export interface TrainOptions {
  backend: BackendInfo;
  /** Threads for wasm/cpu training: 2 shares each batch with a gradient worker (default 1). */
  threads?: number;
  onProgress?: (p: Progress) => void;
  /** Stop (checkpointed, resumable) once this step is reached. */
  stopAt?: number;
  /** Polled between steps: true stops the run the same way. */
  shouldStop?: () => boolean;
  /** Called once the run is ready to train (checkpoint restored), with the step it starts from. */
  onStart?: (step: number) => void;
}

export interface RunOutcome {
  record: RunRecord;
  /** Mean loss over the last steps trained (up to 50). */
  trainLoss: number | null;
  seconds: number;
}

export function runDir(home: string, id: string): string {
  return join(runsDir(home), id);
}

function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

async function writeRecord(home: string, record: RunRecord): Promise<void> {
  record.updated = new Date().toISOString();
  await writeFileAtomic(join(runDir(home, record.id), 'run.json'), Buffer.from(JSON.stringify(record, null, 2) + '\n'));
}

export async function loadRun(home: string, id: string): Promise<RunRecord> {
  const file = join(runDir(home, id), 'run.json');
  if (!existsSync(file)) throw new UserError(`no run "${id}" in ${runsDir(home)} (fontloom runs lists them)`);
  const record = JSON.parse(await readFile(file, 'utf8')) as RunRecord;
  return { ...record, config: trainConfigFromJson(record.config, file) };
}

export async function listRuns(home: string): Promise<RunRecord[]> {
  if (!existsSync(runsDir(home))) return [];
  const ids = (await readdir(runsDir(home))).sort();
  const records: RunRecord[] = [];
  for (const id of ids) if (existsSync(join(runDir(home, id), 'run.json'))) records.push(await loadRun(home, id));
  return records;
}

export function checkpointPath(home: string, id: string): string {
  return join(runDir(home, id), 'checkpoints', 'latest.ckpt');
}

export async function readMetrics(home: string, id: string): Promise<Metric[]> {
  const file = join(runDir(home, id), 'metrics.jsonl');
  if (!existsSync(file)) return [];
  const text = await readFile(file, 'utf8');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Metric);
}

async function writeMetrics(home: string, id: string, metrics: Metric[]): Promise<void> {
  const text = metrics.map((m) => JSON.stringify(m)).join('\n') + (metrics.length ? '\n' : '');
  await writeFileAtomic(join(runDir(home, id), 'metrics.jsonl'), Buffer.from(text));
}

/**
 * The glyph set a run trains on, checked for what the UNet can take. Validation fonts follow
 * from the set's content hash, so every run on one dataset is validated on the same fonts.
 */
export async function loadTrainingData(path: string, valFraction: number): Promise<TrainingData & { set: GlyphSet }> {
  const set = await readGlyphSet(path);
  if (set.height !== set.width || set.height % 8 !== 0) {
    throw new UserError(`${path}: images are ${set.height}×${set.width}; Fontloom's UNet needs square images whose side is a multiple of 8 (e.g. 32×32)`);
  }
  const fonts = new Set(set.fontIds).size;
  const seed = Number.parseInt(contentHash(set).slice(0, 8), 16);
  const split = fonts >= 2 || set.heldOutFonts?.length ? splitByFont(set, valFraction, seed) : { train: Int32Array.from(set.labels, (_, i) => i), val: new Int32Array(0) };
  return { ...set, train: split.train, val: split.val, set };
}

export interface NewRun {
  data: string;
  dataset?: string;
  config: TrainConfig;
  valFraction?: number;
  sampleEvery?: number;
  checkpointEvery?: number;
  sheet?: Partial<SampleOptions>;
}

export async function createRun(home: string, spec: NewRun): Promise<RunRecord> {
  const id = newRunId();
  const dir = runDir(home, id);
  await mkdir(join(dir, 'checkpoints'), { recursive: true });
  await mkdir(join(dir, 'samples'), { recursive: true });
  const now = new Date().toISOString();
  const record: RunRecord = {
    id,
    created: now,
    updated: now,
    status: 'running',
    data: resolve(spec.data),
    ...(spec.dataset && { dataset: spec.dataset }),
    config: spec.config,
    valFraction: spec.valFraction ?? 0.1,
    sampleEvery: spec.sampleEvery ?? 1000,
    checkpointEvery: spec.checkpointEvery ?? 500,
    sheet: { sampler: 'ddim', steps: 50, cfg: 3, eta: 0, seed: deriveSeed(spec.config.seed, 'sheet'), ...spec.sheet },
    step: 0,
    backend: null,
    trainLoss: null,
    valMse: null,
  };
  await writeRecord(home, record);
  return record;
}

export async function deleteRun(home: string, id: string): Promise<void> {
  await loadRun(home, id);
  await rm(runDir(home, id), { recursive: true, force: true });
}

async function writeSheets(home: string, record: RunRecord, trainer: Trainer): Promise<string> {
  const labels = trainer.data.classNames.map((_, i) => i);
  const { height, width, channels } = trainer.data;
  let last = '';
  for (const which of ['model', 'ema'] as const) {
    const images = await sampleImages(which === 'ema' ? trainer.ema : trainer.model, trainer.schedule, labels, record.sheet);
    last = join(runDir(home, record.id), 'samples', `step-${String(trainer.step).padStart(7, '0')}-${which}.png`);
    const title = `${record.id} · ${record.config.preset} · step ${trainer.step} · ${which === 'ema' ? 'EMA' : 'model'} · ${record.sheet.sampler} ${record.sheet.steps}, cfg ${record.sheet.cfg}`;
    await writeSheet(last, images, labels.length, height, width, channels as 1 | 3, [...trainer.data.classNames], { title });
  }
  return last;
}

/** Trains a run from its checkpoint (or from scratch) until its last step or a stop. */
export async function trainRun(home: string, record: RunRecord, opts: TrainOptions, loaded?: TrainingData): Promise<RunOutcome> {
  const data = loaded ?? (await loadTrainingData(record.data, record.valFraction));
  const trainer = new Trainer(record.config, data);
  const ckptFile = checkpointPath(home, record.id);
  try {
    // A checkpoint that does not fit is the user's to fix: say so and leave the run as it was.
    if (existsSync(ckptFile)) restoreTrainer(trainer, await readCheckpoint(ckptFile));
  } catch (err) {
    trainer.dispose();
    throw err;
  }
  const started = performance.now();
  const recent: number[] = [];
  try {
    const kept = (await readMetrics(home, record.id)).filter((m) => m.step <= trainer.step);
    await writeMetrics(home, record.id, kept);
    record.status = 'running';
    if ((opts.threads ?? 1) > 1 && (opts.backend.name === 'wasm' || opts.backend.name === 'cpu')) await trainer.startWorker(opts.backend.name);
    record.backend = `${opts.backend.name}: ${opts.backend.adapter}${trainer.threads > 1 ? `, ${trainer.threads} threads` : ''}`;
    delete record.error;
    await writeRecord(home, record);
    opts.onStart?.(trainer.step);

    const total = record.config.steps;
    const pending: Metric[] = [];
    let checkpointed = trainer.step;
    // Metrics go to disk before the checkpoint they lead up to: after a crash the file may run
    // ahead of the checkpoint (trimmed on resume), never behind it.
    const checkpoint = async () => {
      const lines = pending.splice(0).map((m) => JSON.stringify(m) + '\n').join('');
      await appendFile(join(runDir(home, record.id), 'metrics.jsonl'), lines);
      await saveCheckpoint(ckptFile, trainer);
      checkpointed = trainer.step;
      record.step = trainer.step;
      await writeRecord(home, record);
    };
    // Speed counts training steps only (not validation, sheets or checkpoints), over a sliding window.
    const stepSeconds: number[] = [];
    while (trainer.step < total) {
      if (opts.stopAt !== undefined && trainer.step >= opts.stopAt) break;
      if (opts.shouldStop?.()) break;
      const stepStart = performance.now();
      const r = await trainer.trainStep();
      stepSeconds.push((performance.now() - stepStart) / 1000);
      if (stepSeconds.length > 20) stepSeconds.shift();
      recent.push(r.loss);
      if (recent.length > 50) recent.shift();
      if (!Number.isFinite(r.loss)) throw new Error(`the loss became ${r.loss} at step ${r.step}; lower the learning rate`);
      const metric: Metric = { step: r.step, loss: r.loss, lr: r.lr };
      const last = r.step === total;
      if ((record.config.valEvery > 0 && r.step % record.config.valEvery === 0) || last) {
        const val = await trainer.validate();
        if (val !== null) {
          metric.val = val;
          record.valMse = val;
        }
      }
      pending.push(metric);
      record.trainLoss = recent.reduce((a, b) => a + b, 0) / recent.length;
      let sheet: string | undefined;
      if ((record.sampleEvery > 0 && r.step % record.sampleEvery === 0) || last) sheet = await writeSheets(home, record, trainer);
      if ((record.checkpointEvery > 0 && r.step % record.checkpointEvery === 0) || last) await checkpoint();
      const perStep = stepSeconds.reduce((a, b) => a + b, 0) / stepSeconds.length;
      opts.onProgress?.({
        run: record.id,
        step: r.step,
        total,
        loss: r.loss,
        lr: r.lr,
        imagesPerSecond: trainer.batch / perStep,
        etaSeconds: perStep * (total - r.step),
        val: metric.val,
        sheet,
      });
    }
    if (checkpointed < trainer.step) await checkpoint();
    record.status = trainer.step >= total ? 'completed' : 'stopped';
    record.step = trainer.step;
    await writeRecord(home, record);
    return {
      record,
      trainLoss: recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : record.trainLoss,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    record.status = 'failed';
    record.error = (err as Error).message;
    await writeRecord(home, record);
    throw err;
  } finally {
    trainer.dispose();
  }
}
