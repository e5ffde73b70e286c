// The main thread's side of an engine worker: send the weights and a share of the work (rows of
// a training batch, or rows of a batch being sampled) and get the share's result back.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, SampleOptions } from '../../contract/api.ts';
import { plannedEngines } from './backend.ts';
import type { EngineRequest, EngineWorkerInit, GradReply, SampleReply } from './engine-worker.ts';
import { sampleImages, type Diffusion, type RowRange, type StartFrom, type StepBatch } from '../diffusion.ts';
import type { UNet } from '../unet.ts';

export class EngineWorker {
  private constructor(private readonly worker: Worker) {}

  static async start(backend: BackendName, d: Diffusion): Promise<EngineWorker> {
    const init: EngineWorkerInit = { backend, preset: d.model.preset, shape: d.model.shape, recipe: d.recipe };
    const worker = new Worker(new URL('./engine-worker-entry.mjs', import.meta.url), { workerData: init });
    await new Promise<void>((ready, fail) => {
      worker.once('message', () => ready());
      worker.once('error', fail);
    });
    return new EngineWorker(worker);
  }

  /** Loss and gradients of a share of a training batch; the caller computes its own share meanwhile. */
  compute(weights: Float32Array, batch: StepBatch): Promise<GradReply> {
    return this.ask<GradReply>({ kind: 'grad', weights, batch });
  }

  /** Rows of a batch being sampled (see sampleImages); the caller samples the other rows meanwhile. */
  async sample(weights: Float32Array, labels: readonly number[], opts: SampleOptions, rows: RowRange, styles?: Float32Array, start?: StartFrom): Promise<Uint8Array> {
    return (await this.ask<SampleReply>({ kind: 'sample', weights, labels: [...labels], opts, rows, styles, start })).images;
  }

  private ask<T>(request: EngineRequest): Promise<T> {
    return new Promise((done, fail) => {
      const onError = (err: Error) => fail(new Error(`engine worker failed: ${err.message}`));
      this.worker.once('error', onError);
      this.worker.once('message', (reply: T) => {
        this.worker.off('error', onError);
        done(reply);
      });
      this.worker.postMessage(request);
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

/**
 * Samples a batch on two engines: the worker draws the second half of the rows while this thread
 * draws the first, each with the noise the whole batch would give its rows.
 */
export async function sampleOnTwoEngines(
  worker: EngineWorker,
  d: Diffusion,
  labels: readonly number[],
  opts: SampleOptions,
  onStep?: (done: number, total: number) => void,
  styles?: Float32Array,
  start?: StartFrom,
): Promise<Uint8Array> {
  const n = labels.length;
  const first = Math.ceil(n / 2);
  const theirs = worker.sample(await flatWeights(d.model), labels, opts, { start: first, count: n - first }, styles, start);
  const mine = await sampleImages(d, labels, opts, onStep, { start: 0, count: first }, styles, start);
  const rest = await theirs;
  const out = new Uint8Array(mine.length + rest.length);
  out.set(mine, 0);
  out.set(rest, mine.length);
  return out;
}

/**
 * A batch of two glyphs or more shares a second core on cpu (one thread per engine), and on wasm
 * where this process planned two engines; a wasm engine planned alone has every core already.
 * A style model draws row i in style `styles[i·dim …]`, and `start` begins from given glyphs
 * (see sampleImages).
 */
export async function sampleOnEngines(
  d: Diffusion,
  labels: readonly number[],
  opts: SampleOptions,
  onStep?: (done: number, total: number) => void,
  styles?: Float32Array,
  start?: StartFrom,
): Promise<Uint8Array> {
  const backend = tf.getBackend();
  const oneEngine = backend === 'wasm' && plannedEngines() === 1;
  if (labels.length < 2 || availableParallelism() < 2 || (backend !== 'wasm' && backend !== 'cpu') || oneEngine) {
    return sampleImages(d, labels, opts, onStep, undefined, styles, start);
  }
  const worker = await EngineWorker.start(backend, d);
  try {
    return await sampleOnTwoEngines(worker, d, labels, opts, onStep, styles, start);
  } finally {
    await worker.stop();
  }
}
