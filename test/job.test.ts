// A run trained with PyTorch on other machines and brought back: `fontloom job export` writes the
// run's split (fonts held out as Fontloom holds them out), its config and train.py; `fontloom job
// import` refuses a folder with no checkpoint or with another preset's weights and leaves no run
// behind; and, where Debian's PyTorch is installed, the exported job trains for real under
// torchrun with two gloo processes, comes back as a run, and draws a sheet.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTrainConfig, PRESETS, STYLE_DEFAULTS } from '../src-main/contract/presets.ts';
import type { RunConfig } from '../src-main/contract/api.ts';
import { checkpointOfWeights } from '../src-main/engine/checkpoint.ts';
import { createUNet } from '../src-main/engine/unet.ts';
import { lossWeights } from '../src-main/engine/diffusion.ts';
import { oneCycle, oneCycleAt } from '../src-main/engine/optim.ts';
import { makeSchedule } from '../src-main/engine/schedule.ts';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { loadTrainingData } from '../src-main/data/training.ts';
import { exportJob, importJob, type JobFile } from '../src-main/jobs/job.ts';
import { createRun } from '../src-main/jobs/run.ts';
import { safetensorsOf } from '../src-main/jobs/weights.ts';
import { runsDir } from '../src-main/home.ts';
import { storeFor } from '../src-main/store/store.ts';
import { useBackend } from './helpers/backends.ts';
import { expectRefusal, runFontloom } from './helpers/cli.ts';
import { LETTERS, syntheticGlyphSet } from './helpers/synthetic.ts';

const PYTHON = '/usr/bin/python3';
/** The training script `fontloom job export` copies into a job as train.py. */
const SCRIPT = join(__dirname, '../src-main/jobs/job-train.py');
const torchMissing = (() => {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return probe.status === 0 ? null : `${PYTHON} cannot import torch (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}): apt-get install python3-torch`;
})();

/**
 * Worker output through files teed to the console: Debian bookworm's torchrun (PyTorch 1.13 under
 * Python 3.11) cannot parse its own default ("0") for these two flags.
 */
const TORCHRUN_OUTPUT = ['--redirects', '1', '--tee', '1'];

if (torchMissing) console.warn(`test/job.test.ts: the torchrun test skips: ${torchMissing}`);

let home: string;
let data: string;

function microConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return { ...defaultTrainConfig('micro', { steps: 30, batch: 8, seed: 4 }), valEvery: 10, sampleEvery: 0, checkpointEvery: 0, backend: 'cpu', threads: 1, ...overrides };
}

beforeAll(async () => {
  await useBackend('cpu');
  home = await mkdtemp(join(tmpdir(), 'fontloom-job-'));
  data = join(home, 'synthetic.glyphs');
  await writeGlyphSet(data, syntheticGlyphSet({ fonts: 12, seed: 5 }));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** An .npy file read back: its dtype, shape and values (numpy's format 1.0, C order). */
function readNpy(path: string): { descr: string; shape: number[]; values: number[] } {
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const length = bytes.readUInt16LE(8);
  expect((10 + length) % 64).toBe(0);
  const header = bytes.subarray(10, 10 + length).toString('latin1');
  const descr = /'descr': '([^']+)'/.exec(header)![1];
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1].split(',').filter((s) => s.trim()).map(Number);
  const body = bytes.subarray(10 + length);
  const values = descr === '|u1' ? Array.from(body) : Array.from(new BigInt64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)), Number);
  expect(values.length).toBe(shape.reduce((a, b) => a * b, 1));
  return { descr, shape, values };
}

async function runCount(): Promise<number> {
  return storeFor(home).listRuns().length;
}

async function runFolders(): Promise<string[]> {
  return existsSync(runsDir(home)) ? readdir(runsDir(home)) : [];
}

describe('fontloom job export', () => {
  it('writes the run’s split by font as numpy arrays, its config and recipe, and train.py', async () => {
    const run = await createRun(home, { data, config: microConfig(), name: 'letters on a cluster' });
    const dir = join(home, 'job-split');
    await exportJob(home, run.id, dir);
    const fontloom = await loadTrainingData(data, run.valFraction);
    const arrays = Object.fromEntries(
      ['train', 'val'].flatMap((split) => ['images', 'labels', 'fonts'].map((part) => [`${split}_${part}`, readNpy(join(dir, `${split}_${part}.npy`))])),
    );
    // The counts of the split the run itself trains on, and whole fonts on one side only.
    expect(arrays.train_labels.shape).toEqual([fontloom.train.length]);
    expect(arrays.val_labels.shape).toEqual([fontloom.val.length]);
    expect(fontloom.val.length).toBeGreaterThan(0);
    const trainFonts = new Set(arrays.train_fonts.values);
    const valFonts = new Set(arrays.val_fonts.values);
    expect([...valFonts].filter((f) => trainFonts.has(f))).toEqual([]);
    expect(trainFonts.size + valFonts.size).toBe(12);
    expect(arrays.train_images).toMatchObject({ descr: '|u1', shape: [fontloom.train.length, 32, 32, 1] });
    expect(arrays.train_labels.descr).toBe('<i8');
    // The glyphs themselves, in split order, with their letters.
    const per = 32 * 32;
    for (const k of [0, fontloom.val.length - 1]) {
      const item = fontloom.val[k];
      expect(arrays.val_images.values.slice(k * per, (k + 1) * per)).toEqual(Array.from(fontloom.pixels.subarray(item * per, (item + 1) * per)));
      expect(arrays.val_labels.values[k]).toBe(fontloom.labels[item]);
    }

    const job = JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')) as JobFile;
    expect(job.config).toMatchObject({ preset: 'micro', steps: 30, batch: 8, seed: 4, valEvery: 10, recipe: PRESETS.micro.recipe });
    expect(job.shape).toEqual({ width: 8, deep: false, attention: [8, 4], heads: 4, timeDim: 64, channels: 1, classes: 26, size: 32 });
    expect(job.classNames).toHaveLength(26);
    expect(job.fontloomVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(job.torchCheckedWith).toMatch(/^\d+\.\d+/);
    expect(job.split).toEqual({ train: fontloom.train.length, val: fontloom.val.length, trainFonts: trainFonts.size, valFonts: valFonts.size });
    const script = readFileSync(join(dir, 'train.py'), 'utf8');
    expect(script).toMatch(/class UNetConditional/);
    expect(script).toMatch(/DistributedDataParallel/);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toMatch(/torchrun --nproc_per_node=2 train\.py/);
  });

  it('refuses a style model, and a folder that is not empty', async () => {
    const style = await createRun(home, { data, config: microConfig({ style: { ...STYLE_DEFAULTS } }) });
    await expect(exportJob(home, style.id, join(home, 'job-style'))).rejects.toThrow(/letter-only/);
    expect(existsSync(join(home, 'job-style'))).toBe(false);
    const plain = await createRun(home, { data, config: microConfig() });
    const busy = join(home, 'job-busy');
    await mkdir(busy);
    await writeFile(join(busy, 'notes.txt'), 'mine');
    await expect(exportJob(home, plain.id, busy)).rejects.toThrow(/not empty/);
    expect(await readdir(busy)).toEqual(['notes.txt']);
  });
});

/** An exported micro job whose checkpoints/ holds fresh `preset` weights at `step`, as train.py writes them. */
async function trainedElsewhere(folder: string, preset: 'micro' | 'tiny', step: number): Promise<string> {
  const run = await createRun(home, { data, config: microConfig() });
  const dir = join(home, folder);
  await exportJob(home, run.id, dir);
  const shape = { channels: 1, classes: 26, size: 32 };
  const net = createUNet(PRESETS[preset], shape, 1);
  const weights = await Promise.all([...net.variables].map(async ([name, v]) => ({ name, shape: v.shape, values: (await v.data()) as Float32Array })));
  net.dispose();
  const ckpt = checkpointOfWeights({ config: defaultTrainConfig(preset), shape, classNames: [...LETTERS], step, group: 'model', weights }, `${preset}.ckpt`);
  await mkdir(join(dir, 'checkpoints'));
  for (const which of ['model', 'ema'] as const) {
    await writeFile(join(dir, 'checkpoints', `${which}.safetensors`), Buffer.concat(safetensorsOf(ckpt, 'model', { id: 'x', name: 'x' })));
  }
  return dir;
}

describe('fontloom job import refuses and creates no run', () => {
  it('refuses a job folder that has not been trained', async () => {
    const run = await createRun(home, { data, config: microConfig() });
    const dir = join(home, 'job-untrained');
    await exportJob(home, run.id, dir);
    const [runs, folders] = [await runCount(), await runFolders()];
    await expect(importJob(home, dir)).rejects.toThrow(/has no checkpoint .*train it first/);
    expect(await runCount()).toBe(runs);
    expect(await runFolders()).toEqual(folders);
  });

  it('refuses weights of another preset, naming the first key that does not fit', async () => {
    const dir = await trainedElsewhere('job-tiny-weights', 'tiny', 30);
    const [runs, folders] = [await runCount(), await runFolders()];
    await expect(importJob(home, dir)).rejects.toThrow(/does not fit preset micro.*inc\.double_conv\.0\.weight/);
    expect(await runCount()).toBe(runs);
    expect(await runFolders()).toEqual(folders);
  });
});

describe('fontloom job import', () => {
  it('keeps the metrics up to the final checkpoint and both weights, as a completed run', async () => {
    const dir = await trainedElsewhere('job-ahead', 'micro', 10);
    // Rows past the checkpoint: a job stopped between checkpoints wrote them.
    const rows = Array.from({ length: 12 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1), lr: 1e-4, val: (i + 1) % 5 === 0 ? 0.5 - i / 100 : null }));
    await writeFile(join(dir, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const done = await importJob(home, dir, { name: 'came back' });
    expect(done).toMatchObject({ step: 10, metrics: 10 });
    expect(done.run).toMatchObject({ name: 'came back', status: 'completed', step: 10, checkpointStep: 10, bestVal: rows[9].val });
    expect(storeFor(home).metrics(done.run.id)).toEqual(rows.slice(0, 10));
    expect(done.run.config).toMatchObject({ preset: 'micro', seed: 4, batch: 8, recipe: PRESETS.micro.recipe });
  });

  it('refuses a damaged metrics line and creates no run', async () => {
    const dir = await trainedElsewhere('job-damaged', 'micro', 10);
    await writeFile(join(dir, 'metrics.jsonl'), '{"step": 1, "loss": 0.5, "lr": 0.0001, "val": null}\n{"step": 2, "loss": "nan"');
    const [runs, folders] = [await runCount(), await runFolders()];
    await expect(importJob(home, dir)).rejects.toThrow(/metrics\.jsonl, line 2/);
    expect(await runCount()).toBe(runs);
    expect(await runFolders()).toEqual(folders);
  });
});

describe.skipIf(torchMissing !== null)(`a job trained under torchrun and brought back${torchMissing ? ` (skipped: ${torchMissing})` : ''}`, () => {
  it('builds the network Fontloom computes: the micro fixture’s weights give the output PyTorch recorded for them', async () => {
    const run = await createRun(home, { data, config: microConfig() });
    const dir = join(home, 'job-parity');
    await exportJob(home, run.id, dir);
    // train.py's own UNetConditional, at job.json's shape, loads the fixture strictly (every
    // reference key, no other) and computes the fixture's recorded output: Fontloom's forward
    // pass matches the same output (test/weights.test.ts).
    const script = [
      'import json, struct, sys',
      'import numpy as np, torch',
      'sys.path.insert(0, sys.argv[1])',
      'import train',
      'def read(path):',
      '    raw = open(path, "rb").read()',
      '    (n,) = struct.unpack("<Q", raw[:8]); h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)',
      '    dt = {"F32": "<f4", "F64": "<f8"}',
      '    return {k: torch.from_numpy(np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype=dt[v["dtype"]]).copy().reshape(v["shape"])) for k, v in h.items()}',
      'job = json.load(open(sys.argv[1] + "/job.json"))',
      'net = train.UNetConditional(job["shape"]).double()',
      'net.load_state_dict({k: v.double() for k, v in read(sys.argv[2] + "/micro.safetensors").items()}, strict=True)',
      'b = read(sys.argv[2] + "/batch.safetensors")',
      'with torch.no_grad():',
      '    y = net(b["x"].double(), b["t"].double(), train.one_hot(b["labels"].long(), job["shape"]["classes"]).double())',
      'print(json.dumps({"relative_error": ((y - b["y"]).abs().max() / b["y"].abs().max()).item()}))',
    ].join('\n');
    const probe = spawnSync(PYTHON, ['-c', script, dir, join(__dirname, 'fixtures/torch')], { encoding: 'utf8' });
    expect(probe.status, probe.stderr).toBe(0);
    expect(JSON.parse(probe.stdout).relative_error).toBeLessThan(1e-10);
  }, 60_000);

  it('trains with Fontloom’s noise schedules and loss weights', async () => {
    const ts = [1, 10, 250, 500, 900, 999];
    const recipes = [PRESETS.micro.recipe, PRESETS.seed.recipe, { ...PRESETS.micro.recipe, prediction: 'eps' as const, snrGamma: 2 }];
    const script = [
      'import importlib.util, json, sys',
      'spec = importlib.util.spec_from_file_location("train", sys.argv[1])',
      'train = importlib.util.module_from_spec(spec)',
      'spec.loader.exec_module(train)',
      'ts, recipes = json.loads(sys.argv[2]), json.loads(sys.argv[3])',
      'out = []',
      'for r in recipes:',
      '    ab = train.alpha_bar(r["schedule"])',
      '    w = train.loss_weights(ab, r)',
      '    out.append({"alphaBar": [float(ab[t]) for t in ts], "weights": [float(w[t]) for t in ts]})',
      'print(json.dumps(out))',
    ].join('\n');
    const probe = spawnSync(PYTHON, ['-c', script, SCRIPT, JSON.stringify(ts), JSON.stringify(recipes)], { encoding: 'utf8' });
    expect(probe.status, probe.stderr).toBe(0);
    const python = JSON.parse(probe.stdout) as { alphaBar: number[]; weights: number[] }[];
    recipes.forEach((recipe, i) => {
      const schedule = makeSchedule(recipe.schedule);
      ts.forEach((t, k) => expect(python[i].alphaBar[k] / schedule.alphaBar[t]).toBeCloseTo(1, 9));
      const weights = lossWeights(schedule, ts, recipe);
      ts.forEach((_, k) => expect(python[i].weights[k] / weights[k]).toBeCloseTo(1, 5));
    });
  });

  it('trains micro with two gloo processes, imports as a completed run with its curves, and draws a sheet', async () => {
    const run = await createRun(home, { data, config: microConfig(), name: 'ddp run' });
    const dir = join(home, 'job-ddp');
    const exported = await runFontloom(home, ['job', 'export', '--run', run.id, '--out', dir]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/torchrun --nproc_per_node=2 --redirects 1 --tee 1 train\.py/);
    const torchrun = existsSync('/usr/bin/torchrun') ? ['/usr/bin/torchrun'] : [PYTHON, '-m', 'torch.distributed.run'];
    const started = performance.now();
    const trained = await new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(torchrun[0], [...torchrun.slice(1), '--standalone', '--nproc_per_node=2', ...TORCHRUN_OUTPUT, 'train.py'], { cwd: dir, env: { ...process.env, OMP_NUM_THREADS: '1', CUDA_VISIBLE_DEVICES: '' } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => done({ code, out }));
    });
    console.info(`torchrun, 2 gloo processes, 30 steps of micro: ${((performance.now() - started) / 1000).toFixed(1)} s\n${trained.out.trim().split('\n').slice(-4).join('\n')}`);
    expect(trained.code, trained.out).toBe(0);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; lr: number; val: number | null });
    expect(lines.map((m) => m.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(lines.filter((m) => m.val !== null).map((m) => m.step)).toEqual([10, 20, 30]);
    // PyTorch's OneCycleLR steps the learning rate as Fontloom's trainer does.
    const schedule = oneCycle(microConfig().lr, 30);
    for (const m of lines) expect(m.lr).toBeCloseTo(oneCycleAt(schedule, m.step - 1).lr, 12);

    const imported = await runFontloom(home, ['job', 'import', dir, '--name', 'from torchrun', '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const { id, parity } = JSON.parse(imported.stdout) as { id: string; parity: { relativeError: number; images: number } | null };
    // train.py wrote its probe: PyTorch's float64 output for a fixed batch with the EMA weights,
    // which Fontloom's own forward pass matches.
    expect(parity).not.toBeNull();
    console.info(`parity of the imported EMA with PyTorch on ${parity!.images} probe images: relative error ${parity!.relativeError.toExponential(2)}`);
    expect(parity!.images).toBe(8);
    expect(parity!.relativeError).toBeLessThan(1e-4);
    const back = storeFor(home).getRun(id)!;
    expect(back).toMatchObject({ name: 'from torchrun', status: 'completed', step: 30, checkpointStep: 30 });
    const metrics = storeFor(home).metrics(id);
    expect(metrics.map((m) => m.step)).toEqual(lines.map((m) => m.step));
    expect(metrics.map((m) => m.loss)).toEqual(lines.map((m) => m.loss));
    expect(back.bestVal).toBe(Math.min(...lines.flatMap((m) => (m.val === null ? [] : [m.val]))));

    const sheet = join(home, 'ddp-sheet.png');
    const drawn = await runFontloom(home, ['sample', '--run', id, '--out', sheet, '--steps', '4', '--backend', 'wasm']);
    expect(drawn.code, drawn.stderr).toBe(0);
    expect(readFileSync(sheet).subarray(1, 4).toString('latin1')).toBe('PNG');

    // A probe the imported network does not reproduce (PyTorch's output scaled by 1.01) is refused,
    // and no run is made.
    const probe = join(dir, 'checkpoints', 'probe.safetensors');
    const bytes = readFileSync(probe);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const y = (JSON.parse(bytes.toString('utf8', 8, 8 + headerLength)) as Record<string, { data_offsets: [number, number] }>).y.data_offsets;
    for (let at = 8 + headerLength + y[0]; at < 8 + headerLength + y[1]; at += 8) bytes.writeDoubleLE(bytes.readDoubleLE(at) * 1.01, at);
    writeFileSync(probe, bytes);
    const runs = await runCount();
    const refused = await runFontloom(home, ['job', 'import', dir]);
    expectRefusal(refused, /does not compute what PyTorch's did with these weights \(relative error 9\.\d+e-3/);
    expect(await runCount()).toBe(runs);
  }, 150_000);
});
