// A gradient worker: a second wasm engine on its own thread that computes the loss and gradients
// of its share of each batch with the main model's current weights. tfjs-backend-wasm runs one
// thread in Node, so this is how training uses a second core.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { initBackend, type BackendName } from './backend.ts';
import type { Preset } from './presets.ts';
import { makeSchedule } from './schedule.ts';
import { lossAndGrads, type StepBatch } from './step.ts';
import { createUNet, type ModelShape } from './unet.ts';

export interface GradWorkerInit {
  backend: BackendName;
  preset: Preset;
  shape: ModelShape;
}

export interface GradRequest {
  /** Every variable's values, concatenated in the model's variable order. */
  weights: Float32Array;
  batch: StepBatch;
}

export interface GradReply {
  loss: number;
  /** Every variable's gradient, concatenated in the model's variable order. */
  grads: Float32Array;
}

const init = workerData as GradWorkerInit;
await initBackend(init.backend);
const model = createUNet(init.preset, init.shape, 0);
const schedule = makeSchedule(init.preset.recipe.schedule);
const variables = [...model.variables.values()];
const total = variables.reduce((n, v) => n + v.size, 0);

parentPort!.on('message', async ({ weights, batch }: GradRequest) => {
  tf.tidy(() => {
    let offset = 0;
    for (const v of variables) {
      v.assign(tf.tensor(weights.subarray(offset, offset + v.size), v.shape, 'float32'));
      offset += v.size;
    }
  });
  const { value, grads } = lossAndGrads(model, schedule, init.preset.recipe.prediction, batch);
  const flat = new Float32Array(total);
  let offset = 0;
  for (const v of variables) {
    const g = grads[v.name];
    if (g) flat.set(await g.data(), offset);
    offset += v.size;
  }
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  const reply: GradReply = { loss, grads: flat };
  parentPort!.postMessage(reply, [flat.buffer]);
});
parentPort!.postMessage('ready');
