// A run trained elsewhere: `exportJob` writes a self-contained folder that PyTorch trains under
// torchrun (job-train.py: the same UNet under the reference's state_dict names, the run's recipe,
// DistributedDataParallel), and `importJob` brings its result back as a completed run, with its
// metrics and its final model and EMA, checked as `fontloom weights import` checks a file.
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { type Metric, type RunConfig } from '../contract/api.ts';
import { getPreset, VAL_FRACTION } from '../contract/presets.ts';
import { checkpointOfGroups, saveWeights } from '../engine/checkpoint.ts';
import { trainConfigFromJson } from '../engine/train.ts';
import { loadTrainingData } from '../data/training.ts';
import type { StoredRun } from '../store/store.ts';
import { loadRun } from './run.ts';
import { checkWeights, createImportedRun, readWeightsFile, type CheckedWeights } from './weights.ts';
import { decodeSafetensors } from '../engine/safetensors.ts';
import { floatsOf } from '../engine/state-dict.ts';
import { createUNet, oneHot, type ModelShape } from '../engine/unet.ts';
import * as tf from '@tensorflow/tfjs-core';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SCRIPT = new URL('./job-train.py', import.meta.url);
/** The PyTorch release job-train.py was last checked with (Debian bookworm's python3-torch). */
export const CHECKED_WITH_TORCH = '1.13.1';
const JOB_FORMAT = 'fontloom-job/1';

/** The network's shape, as job-train.py builds it. */
export interface JobShape {
  width: number;
  deep: boolean;
  attention: number[];
  heads: number;
  timeDim: number;
  channels: number;
  classes: number;
  size: number;
}

/** job.json: what the script trains, and where it came from. */
export interface JobFile {
  format: typeof JOB_FORMAT;
  fontloomVersion: string;
  torchCheckedWith: string;
  run: { id: string; name: string; dataset: string | null; datasetName: string; data: string; valFraction: number };
  config: RunConfig;
  shape: JobShape;
  classNames: string[];
  split: { train: number; val: number; trainFonts: number; valFonts: number };
}

// ── .npy: numpy's own format, version 1.0 ───────────────────────────────────────────────────

type NpyArray = Uint8Array | BigInt64Array;

/** An .npy file: magic, version, a Python-literal header padded to 64 bytes, then the data (C order). */
export function npyBytes(array: NpyArray, shape: readonly number[]): Buffer[] {
  const descr = array instanceof Uint8Array ? '|u1' : '<i8';
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix.writeUInt8(1, 6);
  prefix.writeUInt8(0, 7);
  prefix.writeUInt16LE(header.length, 8);
  return [prefix, Buffer.from(header, 'latin1'), Buffer.from(array.buffer, array.byteOffset, array.byteLength)];
}

async function writeNpy(path: string, array: NpyArray, shape: readonly number[]): Promise<void> {
  await writeFile(path, Buffer.concat(npyBytes(array, shape)));
}

// ── Export ──────────────────────────────────────────────────────────────────────────────────

export interface JobExport {
  dir: string;
  job: JobFile;
}

export async function exportJob(home: string, id: string, out: string): Promise<JobExport> {
  const run = loadRun(home, id);
  if (run.config.style) {
    throw new UserError(`run ${run.id} is style-conditioned (--style): a training job trains letter-only models for now; export a run trained without --style`);
  }
  const dir = resolve(out);
  if (existsSync(dir) && (await readdir(dir)).length > 0) throw new UserError(`${out} exists and is not empty: choose a new folder for the job`);
  if (!run.data) throw new UserError(`run ${run.id} has no dataset (its weights were imported): a job trains a run created on a dataset (fontloom train --data … --detach)`);
  if (!existsSync(run.data)) throw new UserError(`run ${run.id}'s glyph set ${run.data} is gone: a job needs the data the run trains on`);
  // Split exactly as the run itself trains: the same fonts held out.
  const data = await loadTrainingData(run.data, run.valFraction);
  const preset = getPreset(run.config.preset);
  const per = data.height * data.width * data.channels;
  const fontIds = data.fontIds ?? new Int32Array(data.labels.length);
  await mkdir(dir, { recursive: true });
  try {
    for (const [name, items] of [['train', data.train], ['val', data.val]] as const) {
      const pixels = new Uint8Array(items.length * per);
      items.forEach((item, i) => pixels.set(data.pixels.subarray(item * per, (item + 1) * per), i * per));
      await writeNpy(join(dir, `${name}_images.npy`), pixels, [items.length, data.height, data.width, data.channels]);
      await writeNpy(join(dir, `${name}_labels.npy`), BigInt64Array.from(items, (i) => BigInt(data.labels[i])), [items.length]);
      await writeNpy(join(dir, `${name}_fonts.npy`), BigInt64Array.from(items, (i) => BigInt(fontIds[i])), [items.length]);
    }
    const job: JobFile = {
      format: JOB_FORMAT,
      fontloomVersion: VERSION,
      torchCheckedWith: CHECKED_WITH_TORCH,
      run: { id: run.id, name: run.name, dataset: run.dataset, datasetName: run.datasetName, data: run.data, valFraction: run.valFraction },
      config: run.config,
      shape: {
        width: preset.width,
        deep: preset.deep,
        attention: [...preset.attention],
        heads: preset.heads,
        timeDim: preset.timeDim,
        channels: data.channels,
        classes: data.classNames.length,
        size: data.height,
      },
      classNames: [...data.classNames],
      split: {
        train: data.train.length,
        val: data.val.length,
        trainFonts: new Set(Array.from(data.train, (i) => fontIds[i])).size,
        valFonts: new Set(Array.from(data.val, (i) => fontIds[i])).size,
      },
    };
    await writeFile(join(dir, 'job.json'), JSON.stringify(job, null, 2) + '\n');
    await copyFile(SCRIPT, join(dir, 'train.py'));
    await writeFile(join(dir, 'README.md'), jobReadme(job));
    return { dir, job };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function jobReadme(job: JobFile): string {
  const c = job.config;
  return `# Fontloom training job: ${job.run.name}

Run ${job.run.id} (preset ${c.preset}, ${c.steps} steps, batch ${c.batch}) on ${job.run.datasetName}:
${job.split.train} training glyphs from ${job.split.trainFonts} fonts, ${job.split.val} validation glyphs from
${job.split.valFonts} other fonts. Written by Fontloom ${job.fontloomVersion}; train.py needs only torch
and numpy (checked with PyTorch ${job.torchCheckedWith}).

## Train

    python3 train.py                                  # one process: CPU, or the first GPU
    torchrun --nproc_per_node=2 train.py              # 2 processes on this machine (NCCL on GPUs, gloo on CPUs)
    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=8 \\
      --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 train.py   # on each of 2 machines (node_rank 0 and 1)
    python3 train.py --resume                         # continue from checkpoints/ (also under torchrun)

On Debian bookworm (PyTorch 1.13 under Python 3.11) torchrun cannot parse its own default for
\`--redirects\` and \`--tee\`: add \`--redirects 1 --tee 1\` there.

\`batch\` in job.json is the global batch: N processes train batch/N samples each per step.

## What it writes

- \`metrics.jsonl\`: one line a step, \`{"step", "loss", "lr", "val"}\` (val: validation ε-MSE on the
  held-out fonts, every ${c.valEvery || Math.max(1, Math.floor(c.steps / 20))} steps, else null).
- \`checkpoints/model.safetensors\` and \`checkpoints/ema.safetensors\`: the weights under the reference's
  state_dict names; \`checkpoints/state.pt\`: optimizer, scheduler and step, for \`--resume\`.
- \`checkpoints/probe.safetensors\`, at the end: a fixed batch and PyTorch's output for it with the EMA
  weights (float64). \`fontloom job import\` runs its own network on the batch and refuses the job if the
  two disagree. \`python3 train.py --probe\` writes it again from the checkpoints there.

## Bring it back

Copy this folder (or just metrics.jsonl and checkpoints/) back, then:

    fontloom job import DIR --name "${job.run.name} (torchrun)"

It becomes a completed run: the studio shows its curves, and \`fontloom sample --run ID\` draws from it.
`;
}

// ── Import ──────────────────────────────────────────────────────────────────────────────────

function readJobFile(dir: string): JobFile {
  const path = join(dir, 'job.json');
  if (!existsSync(path)) throw new UserError(`${dir} is not a Fontloom job: it has no job.json (fontloom job export writes one)`);
  let job: JobFile;
  try {
    job = JSON.parse(readFileSync(path, 'utf8')) as JobFile;
  } catch {
    throw new UserError(`${path} is not valid JSON`);
  }
  if (job?.format !== JOB_FORMAT) throw new UserError(`${path} is not a Fontloom job file (format "${String(job?.format)}", expected "${JOB_FORMAT}")`);
  if (!Array.isArray(job.classNames) || typeof job.config !== 'object' || job.config === null) throw new UserError(`${path} lacks the run's config or class names`);
  return job;
}

/** metrics.jsonl: one {step, loss, lr, val} a line, up to `lastStep`. */
function readMetrics(path: string, lastStep: number): Metric[] {
  if (!existsSync(path)) return [];
  const rows: Metric[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let m: Partial<Metric>;
    try {
      m = JSON.parse(line) as Partial<Metric>;
    } catch {
      throw new UserError(`${path}, line ${i + 1}: not valid JSON`);
    }
    const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (!Number.isSafeInteger(m.step) || !finite(m.loss) || !finite(m.lr) || !(m.val === null || m.val === undefined || finite(m.val))) {
      throw new UserError(`${path}, line ${i + 1}: expected {"step", "loss", "lr", "val"} with numbers`);
    }
    if (m.step! <= lastStep) rows.push({ step: m.step!, loss: m.loss!, lr: m.lr!, val: m.val ?? null });
  });
  return rows;
}

export interface JobImport {
  run: StoredRun;
  step: number;
  metrics: number;
  params: number;
  /**
   * Fontloom's forward pass on the job's probe batch (checkpoints/probe.safetensors, written by
   * train.py with PyTorch's float64 output for the EMA weights) against PyTorch's: max |a − b|
   * over max |b|. Null where the job wrote no probe (train.py --probe writes one).
   */
  parity: { relativeError: number; images: number; torch: string } | null;
}

/** Above this, the imported network does not compute what PyTorch's did: the import is refused. */
export const PARITY_LIMIT = 1e-3;

/** The probe's batch through Fontloom's network with the imported EMA weights, against PyTorch's output. */
async function probeParity(file: string, preset: string, shape: ModelShape, weights: CheckedWeights['spec']['weights']): Promise<NonNullable<JobImport['parity']>> {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(await readFile(file)), file);
  const need = (name: string, dtype: string, dims: number) => {
    const t = tensors.get(name);
    if (!t || t.dtype !== dtype || t.shape.length !== dims) throw new UserError(`${file}: expected ${name} as a ${dims}-dimensional ${dtype} tensor (train.py --probe writes the probe again)`);
    return t;
  };
  const x = need('x', 'F32', 4);
  const y = need('y', 'F64', 4);
  const [n, c, h, w] = x.shape;
  if (c !== shape.channels || h !== shape.size || w !== shape.size || y.shape.join() !== x.shape.join()) {
    throw new UserError(`${file}: the probe's images are ${x.shape.join('×')} but the model draws ${shape.channels}×${shape.size}×${shape.size}`);
  }
  const t = Array.from(floatsOf(need('t', 'F32', 1), 't', file));
  const labels = Array.from(floatsOf(need('labels', 'F32', 1), 'labels', file));
  if (t.length !== n || labels.length !== n) throw new UserError(`${file}: ${n} images but ${t.length} timesteps and ${labels.length} labels`);
  // PyTorch's NCHW as Fontloom's NHWC.
  const nhwc = (v: ArrayLike<number>) => {
    const out = new Float64Array(v.length);
    for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[(b * h * w + p) * c + k] = v[(b * c + k) * h * w + p];
    return out;
  };
  const expected = nhwc(new Float64Array(new Uint8Array(y.bytes).buffer));
  const model = createUNet(getPreset(preset), shape, 0);
  try {
    const ours = tf.tidy(() => {
      for (const v of weights) model.variables.get(v.name)!.assign(tf.tensor(v.values, v.shape));
      return model.apply(tf.tensor4d(Float32Array.from(nhwc(floatsOf(x, 'x', file))), [n, h, w, c]), t, oneHot(labels, shape.classes));
    });
    const got = (await ours.data()) as Float32Array;
    ours.dispose();
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < expected.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - expected[i]));
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    return { relativeError: scale > 0 ? diff / scale : diff, images: n, torch: metadata.torch_version ?? 'unknown' };
  } finally {
    model.dispose();
  }
}

/**
 * A completed run from a trained job folder: its model and EMA (checked against the job's preset
 * and shape before anything is written) and its metrics. A failure leaves no run behind.
 */
export async function importJob(home: string, dir: string, opts: { name?: string } = {}): Promise<JobImport> {
  const job = readJobFile(dir);
  const files = { model: join(dir, 'checkpoints', 'model.safetensors'), ema: join(dir, 'checkpoints', 'ema.safetensors') };
  for (const file of Object.values(files)) {
    if (!existsSync(file)) throw new UserError(`${dir} has no checkpoint (${file} is missing): train it first (torchrun --nproc_per_node=N train.py in that folder)`);
  }
  const request = { preset: job.config.preset, channels: job.shape.channels, classes: job.shape.classes, size: job.shape.size };
  const model = checkWeights(await readWeightsFile(files.model), files.model, request);
  const ema = checkWeights(await readWeightsFile(files.ema), files.ema, { ...request, ema: true });
  if (model.spec.step !== ema.spec.step) throw new UserError(`${dir}: the model is at step ${model.spec.step} but the EMA at step ${ema.spec.step} (a checkpoint was cut short: train it again with --resume)`);
  const step = model.spec.step;
  const probeFile = join(dir, 'checkpoints', 'probe.safetensors');
  const parity = existsSync(probeFile) ? await probeParity(probeFile, job.config.preset, ema.spec.shape, ema.spec.weights) : null;
  if (parity && !(parity.relativeError <= PARITY_LIMIT)) {
    throw new UserError(
      `${dir}: Fontloom's network does not compute what PyTorch's did with these weights (relative error ${parity.relativeError.toExponential(2)} on the probe batch, over ${PARITY_LIMIT}): the job's train.py is not Fontloom's network`,
    );
  }
  const metrics = readMetrics(join(dir, 'metrics.jsonl'), step);
  const config = { ...job.config, ...trainConfigFromJson(job.config, join(dir, 'job.json')) };
  const classNames = job.classNames.length === job.shape.classes ? job.classNames : model.spec.classNames;
  const ckptSpec = { config, shape: model.spec.shape, classNames, step };
  const recent = metrics.slice(-50);
  const vals = metrics.flatMap((m) => (m.val === null ? [] : [m.val]));
  const id = await createImportedRun(
    home,
    {
      name: opts.name?.trim() || `${job.run.name} (trained with PyTorch)`,
      dataset: job.run.dataset,
      datasetName: job.run.datasetName,
      data: existsSync(job.run.data) ? job.run.data : '',
      valFraction: job.run.valFraction ?? VAL_FRACTION,
      config,
    },
    (ckptFile) => saveWeights(checkpointOfGroups(ckptSpec, { model: model.spec.weights, ema: ema.spec.weights }, ckptFile)),
    {
      step,
      metrics,
      trainLoss: recent.length ? recent.reduce((s, m) => s + m.loss, 0) / recent.length : null,
      bestVal: vals.length ? Math.min(...vals) : null,
    },
  );
  return { run: loadRun(home, id), step, metrics: metrics.length, params: model.params, parity };
}
