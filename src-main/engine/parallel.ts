// The main thread's side of gradient workers: send the weights and a share of the batch, get the
// share's loss and gradients back.
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './backend.ts';
import type { GradReply, GradWorkerInit } from './grad-worker.ts';
import type { StepBatch } from './step.ts';
import type { UNet } from './unet.ts';

export class GradWorker {
  private constructor(private readonly worker: Worker) {}

  static async start(backend: BackendName, model: UNet): Promise<GradWorker> {
    const init: GradWorkerInit = { backend, preset: model.preset, shape: model.shape };
    const worker = new Worker(new URL('./grad-worker-entry.mjs', import.meta.url), { workerData: init });
    await new Promise<void>((ready, fail) => {
      worker.once('message', () => ready());
      worker.once('error', fail);
    });
    return new GradWorker(worker);
  }

  /** Posts the request; the worker computes while the caller does its own share. */
  compute(weights: Float32Array, batch: StepBatch): Promise<GradReply> {
    return new Promise((done, fail) => {
      const onError = (err: Error) => fail(new Error(`gradient worker failed: ${err.message}`));
      this.worker.once('error', onError);
      this.worker.once('message', (reply: GradReply) => {
        this.worker.off('error', onError);
        done(reply);
      });
      this.worker.postMessage({ weights, batch });
    });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The model's weights concatenated in variable order (the layout the worker reads). */
export async function flatWeights(model: UNet): Promise<Float32Array> {
  const variables = [...model.variables.values()];
  const out = new Float32Array(variables.reduce((n, v) => n + v.size, 0));
  let offset = 0;
  for (const v of variables) {
    out.set((await v.data()) as Float32Array, offset);
    offset += v.size;
  }
  return out;
}

/** Splits a flat gradient back into tensors keyed by tfjs variable name. */
export function unflatGrads(model: UNet, flat: Float32Array): tf.NamedTensorMap {
  const grads: tf.NamedTensorMap = {};
  let offset = 0;
  for (const v of model.variables.values()) {
    grads[v.name] = tf.tensor(flat.subarray(offset, offset + v.size), v.shape, 'float32');
    offset += v.size;
  }
  return grads;
}
