// `fontloom bench` on the webgpu backend alone, for an accelerator machine that has no npm: bundled
// by scripts/device/pack.sh with esbuild (the `webgpu` package stays outside, beside the bundle),
// run by scripts/device/run.sh. Usage: node bench-webgpu.mjs PRESET BATCH STEPS [--sheets] [--profile F]
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/runtime/backend.ts';
import { runBench } from '../../src-main/cli/bench.ts';

// FONTLOOM_DEVICE_SUBMIT_BATCH=N: tfjs's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (kernels recorded per
// queue submission; tfjs's default is 15), to measure it against the default.
const submitBatch = process.env.FONTLOOM_DEVICE_SUBMIT_BATCH;
if (submitBatch) {
  await initBackend('webgpu');
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', Number(submitBatch));
  process.stderr.write(`bench: WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE ${tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')}\n`);
}

const [preset = 'seed', batch = '4', steps = '5'] = process.argv.slice(2);
const profileAt = process.argv.indexOf('--profile');
await runBench({
  backend: 'webgpu',
  preset,
  batch: Number(batch),
  steps: Number(steps),
  threads: 1,
  sheets: process.argv.includes('--sheets'),
  profile: profileAt > 0 ? process.argv[profileAt + 1] : undefined,
  json: true,
});
