// Trains the 128-pixel upsampler that ships with the default model (data/default-upsampler.safetensors)
// on the default dataset's training fonts at 128 pixels, each glyph shrunk to 32 as its input, and
// prints its pixel IoU on the held-out fonts beside bicubic upscaling's. A developer's build step,
// like data:build: the studio never trains an upsampler itself.
//   npx tsx scripts/train-upsampler.ts [--steps 4000] [--batch 16] [--width 32] [--depth 3] [--noise 0.08] [--out FILE]
// --noise: each training input gets Gaussian grain of a standard deviation drawn from 0 to this (in
// ink units, 0–1), as a diffusion model's glyphs carry, so the upsampler smooths it away rather than
// drawing it finely. --measure FILE: train nothing, print FILE's held-out figures.
//   npx tsx scripts/train-upsampler.ts --measure data/default-upsampler.safetensors
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { VAL_FRACTION } from '../src-main/contract/presets.ts';
import { upsamplingData } from '../src-main/data/large-glyphs.ts';
import { initBackend, describeBackend } from '../src-main/engine/runtime/backend.ts';
import { rngFor } from '../src-main/engine/rng.ts';
import { createUpsampler, decodeUpsampler, encodeUpsampler, UpsamplerTrainer, type UpsamplerBatch } from '../src-main/engine/upsampler.ts';
import { evaluateUpsampler } from '../src-main/eval/upsampler.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '4000' },
    noise: { type: 'string', default: '0.08' },
    batch: { type: 'string', default: '16' },
    width: { type: 'string', default: '32' },
    depth: { type: 'string', default: '3' },
    lr: { type: 'string', default: '0.002' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'data/default-upsampler.safetensors' },
    measure: { type: 'string' },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values.batch);
const seed = Number(values.seed);
const noise = Number(values.noise);
const backend = await initBackend('wasm', { engines: 1 });
console.log(`backend ${describeBackend(backend)}`);
const data = await upsamplingData(VAL_FRACTION);
const { large, small, smallSize, factor, train } = data;
const bigSize = large.height;
console.log(`${train.length} training glyphs, ${data.val.length} held out; ${smallSize} → ${bigSize} px`);
if (values.measure) {
  const { upsampler, metadata } = decodeUpsampler(new Uint8Array(await readFile(values.measure)), values.measure);
  console.log(`${values.measure}: trained ${metadata.trained ?? '(no record)'}`);
  console.log(JSON.stringify(await evaluateUpsampler(upsampler, data), null, 2));
  process.exit(0);
}
const upsampler = createUpsampler({ factor, width: Number(values.width), depth: Number(values.depth), classes: large.classNames.length }, seed);
const trainer = new UpsamplerTrainer(upsampler, steps, Number(values.lr));

function batchAt(step: number): UpsamplerBatch {
  const rng = rngFor(seed, 'upsampler-batch', step);
  const x = new Float32Array(batchSize * smallSize * smallSize);
  const target = new Float32Array(batchSize * bigSize * bigSize);
  const labels = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    const item = train[rng.int(0, train.length)];
    labels[i] = large.labels[item];
    const sigma = noise * rng.next();
    const grain = rng.normal(smallSize * smallSize);
    for (let p = 0; p < smallSize * smallSize; p++) {
      x[i * smallSize * smallSize + p] = Math.min(1, Math.max(0, small[item * smallSize * smallSize + p] / 255 + sigma * grain[p]));
    }
    for (let p = 0; p < bigSize * bigSize; p++) target[i * bigSize * bigSize + p] = large.pixels[item * bigSize * bigSize + p] / 255;
  }
  return {
    x: tf.tensor4d(x, [batchSize, smallSize, smallSize, 1]),
    labels: tf.tensor1d(labels, 'int32'),
    target: tf.tensor4d(target, [batchSize, bigSize, bigSize, 1]),
  };
}

const started = performance.now();
let recent = 0;
for (let step = 0; step < steps; step++) {
  const batch = batchAt(step);
  recent += await trainer.trainStep(batch);
  tf.dispose([batch.x, batch.labels, batch.target]);
  if ((step + 1) % 100 === 0) {
    const seconds = (performance.now() - started) / 1000;
    console.log(`step ${step + 1}/${steps}: loss ${(recent / 100).toFixed(5)}, ${(seconds / (step + 1) * 1000).toFixed(0)} ms/step, ${seconds.toFixed(0)} s`);
    recent = 0;
  }
}
const seconds = (performance.now() - started) / 1000;
trainer.dispose();
const score = await evaluateUpsampler(upsampler, data);
console.log(JSON.stringify(score, null, 2));
const metadata = {
  trained: JSON.stringify({ steps, batch: batchSize, lr: Number(values.lr), noise, seed, seconds: Math.round(seconds), backend: describeBackend(backend), command: `npx tsx scripts/train-upsampler.ts ${process.argv.slice(2).join(' ')}`.trim() }),
  heldOut: JSON.stringify(score),
};
const staged = `${values.out}.partial`;
await writeFile(staged, Buffer.concat(await encodeUpsampler(upsampler, metadata)));
await rename(staged, values.out!);
console.log(`wrote ${values.out} after ${steps} steps in ${seconds.toFixed(0)} s`);
