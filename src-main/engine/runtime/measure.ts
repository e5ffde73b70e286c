// How long a training step takes here: measured on random glyphs with the step the trainer runs,
// for benchmarks and for the studio's time estimate before a run starts.
import type { BackendName } from '../../contract/api.ts';
import { defaultTrainConfig, type PresetName } from '../../contract/presets.ts';
import { Rng } from '../rng.ts';
import { Trainer, type TrainingData } from '../train.ts';

/** `batch × 2` random 1-channel glyphs of `classes` classes, all for training. */
export function randomTrainingData(batch: number, classes: number, size: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const n = batch * 2;
  const pixels = new Uint8Array(n * size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.next() < 0.2 ? 255 : 0;
  return {
    height: size,
    width: size,
    channels: 1,
    pixels,
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
    classNames: Array.from({ length: classes }, (_, i) => String.fromCharCode(65 + i)),
    train: Int32Array.from({ length: n }, (_, i) => i),
    val: new Int32Array(0),
    // Fonts of one glyph per class, so a style model finds references.
    fontIds: Int32Array.from({ length: n }, (_, i) => Math.floor(i / classes)),
  };
}

/** Seconds per training step after one warm-up step (kernels compile, buffers allocate). */
export async function measureTrainStep(opts: { preset: PresetName; batch: number; backend: BackendName; threads: number; steps: number; classes?: number; size?: number }): Promise<{ secondsPerStep: number; threads: number }> {
  const trainer = new Trainer(defaultTrainConfig(opts.preset, { steps: 1000, batch: opts.batch }), randomTrainingData(opts.batch, opts.classes ?? 26, opts.size ?? 32, 1));
  try {
    if (opts.threads > 1 && (opts.backend === 'wasm' || opts.backend === 'cpu')) await trainer.startWorker(opts.backend);
    await trainer.trainStep();
    const started = performance.now();
    for (let i = 0; i < opts.steps; i++) await trainer.trainStep();
    return { secondsPerStep: (performance.now() - started) / 1000 / opts.steps, threads: trainer.threads };
  } finally {
    await trainer.stopWorker();
    trainer.dispose();
  }
}
