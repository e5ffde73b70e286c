// `fontloom bench`: training images/s and forward time for a preset, per backend, measured on
// random data with the same step the trainer runs. Figures, never assertions.
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, initBackend, type BackendChoice, type BackendName } from '../engine/backend.ts';
import { getPreset } from '../engine/presets.ts';
import { Trainer, defaultTrainConfig, type TrainingData } from '../engine/train.ts';
import { oneHot, parameterCount } from '../engine/unet.ts';
import { Rng } from '../engine/rng.ts';

export interface BenchRow {
  backend: BackendName;
  adapter: string | null;
  preset: string;
  batch: number;
  params: number | null;
  train_ms_per_step: number | null;
  train_img_per_s: number | null;
  forward_ms: number | null;
  error?: string;
}

function randomData(batch: number, classes: number, size: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const n = batch * 2;
  const pixels = new Uint8Array(n * size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.next() < 0.2 ? 255 : 0;
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return {
    height: size,
    width: size,
    channels: 1,
    pixels,
    labels,
    classNames: Array.from({ length: classes }, (_, i) => String.fromCharCode(65 + i)),
    train: Int32Array.from({ length: n }, (_, i) => i),
    val: new Int32Array(0),
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

async function benchOne(backend: BackendName, presetName: string, batch: number, steps: number): Promise<BenchRow> {
  const preset = getPreset(presetName);
  const row: BenchRow = { backend, adapter: null, preset: preset.name, batch, params: null, train_ms_per_step: null, train_img_per_s: null, forward_ms: null };
  let trainer: Trainer | null = null;
  try {
    const info = await initBackend(backend);
    row.adapter = info.adapter;
    trainer = new Trainer(defaultTrainConfig(preset.name, { steps: 1000, batch }), randomData(batch, 26, 32, 1));
    row.params = parameterCount(trainer.model);
    await trainer.trainStep(); // warm-up: kernels compile, buffers allocate
    let t0 = performance.now();
    for (let i = 0; i < steps; i++) await trainer.trainStep();
    const ms = (performance.now() - t0) / steps;
    row.train_ms_per_step = round1(ms);
    row.train_img_per_s = round1((batch * 1000) / ms);
    const model = trainer.model;
    const x = tf.randomNormal([batch, 32, 32, 1]) as tf.Tensor4D;
    const classes = oneHot(Array.from({ length: batch }, (_, i) => i % 26), 26);
    const t = Array.from({ length: batch }, (_, i) => 1 + ((i * 37) % 999));
    const forward = async () => {
      const y = tf.tidy(() => model.apply(x, t, classes));
      await y.data();
      y.dispose();
    };
    await forward();
    t0 = performance.now();
    for (let i = 0; i < steps; i++) await forward();
    row.forward_ms = round1((performance.now() - t0) / steps);
    tf.dispose([x, classes]);
  } catch (err) {
    row.error = (err as Error).message;
  } finally {
    trainer?.dispose();
  }
  return row;
}

export async function runBench(opts: { backend?: BackendChoice; preset: string; batch: number; steps: number; json?: boolean }): Promise<void> {
  const backends: BackendName[] =
    opts.backend && opts.backend !== 'auto' ? [opts.backend] : opts.backend === 'auto' ? [(await initBackend('auto')).name] : [...BACKEND_NAMES];
  const results: BenchRow[] = [];
  for (const b of backends) {
    process.stderr.write(`bench: ${b} ${opts.preset} batch ${opts.batch}…\n`);
    results.push(await benchOne(b, opts.preset, opts.batch, opts.steps));
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ results }) + '\n');
    return;
  }
  for (const r of results) {
    process.stdout.write(
      r.error
        ? `${r.backend.padEnd(10)} unavailable: ${r.error}\n`
        : `${r.backend.padEnd(10)} ${r.adapter} — ${r.preset}, batch ${r.batch}: ${r.train_ms_per_step} ms/step (${r.train_img_per_s} img/s), forward ${r.forward_ms} ms\n`,
    );
  }
}
