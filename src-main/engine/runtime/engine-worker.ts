// An engine worker: a second wasm (or cpu) engine on its own thread, given the main model's
// current weights with each request. tfjs-backend-wasm runs one thread in Node, so this is how
// training (loss and gradients of a share of each batch) and sampling (a share of the rows) use
// a second core.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import type { BackendName, SampleOptions } from '../../contract/api.ts';
import type { Preset, Recipe } from '../../contract/presets.ts';
import { initBackend } from './backend.ts';
import { lossAndGrads, makeDiffusion, sampleImages, type RowRange, type StartFrom, type StepBatch } from '../diffusion.ts';
import { createUNet, type ModelShape } from '../unet.ts';

export interface EngineWorkerInit {
  backend: BackendName;
  preset: Preset;
  shape: ModelShape;
  recipe: Recipe;
}

export type EngineRequest =
  /** `weights`: every variable's values, concatenated in the model's variable order. */
  | { kind: 'grad'; weights: Float32Array; batch: StepBatch }
  | { kind: 'sample'; weights: Float32Array; labels: number[]; opts: SampleOptions; rows: RowRange; styles?: Float32Array; start?: StartFrom };

export interface GradReply {
  loss: number;
  /** Every variable's gradient, concatenated in the model's variable order. */
  grads: Float32Array;
  /** Tensors alive in the worker's engine after the step (flat from step to step). */
  tensors: number;
}

export interface SampleReply {
  images: Uint8Array;
}

const init = workerData as EngineWorkerInit;
// The worker is the second of two engines: XNNPACK's pool takes its half of the cores.
await initBackend(init.backend, { engines: 2 });
const model = createUNet(init.preset, init.shape, 0);
const diffusion = makeDiffusion(model, init.recipe);
const variables = [...model.variables.values()];
const total = variables.reduce((n, v) => n + v.size, 0);

function loadWeights(weights: Float32Array): void {
  tf.tidy(() => {
    let offset = 0;
    for (const v of variables) {
      v.assign(tf.tensor(weights.subarray(offset, offset + v.size), v.shape, 'float32'));
      offset += v.size;
    }
  });
}

async function gradients(batch: StepBatch): Promise<GradReply> {
  // In a tidy, as on the main thread: the batch's own tensors (images, noise, scales) go with it.
  const { value, grads } = tf.tidy(() => lossAndGrads(diffusion, batch));
  const flat = new Float32Array(total);
  let offset = 0;
  for (const v of variables) {
    const g = grads[v.name];
    if (g) flat.set(await g.data(), offset);
    offset += v.size;
  }
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: flat, tensors: tf.memory().numTensors };
}

parentPort!.on('message', async (request: EngineRequest) => {
  loadWeights(request.weights);
  if (request.kind === 'grad') {
    const reply = await gradients(request.batch);
    parentPort!.postMessage(reply, [reply.grads.buffer as ArrayBuffer]);
  } else {
    const images = await sampleImages(diffusion, request.labels, request.opts, undefined, request.rows, request.styles, request.start);
    parentPort!.postMessage({ images } satisfies SampleReply, [images.buffer as ArrayBuffer]);
  }
});
parentPort!.postMessage('ready');
