// Run as a process of its own (the wasm backend's thread pool is fixed per process): starts wasm
// as FONTLOOM_WASM_THREADS says, computes a micro UNet's output and one gradient, prints JSON and
// ends by itself (no process.exit: a pool that held the process open would show as a hang).
// FONTLOOM_PROBE_POOL_WORKER_ENDS: see firstWorkerEnds.
import workerThreads from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { initBackend } from '../../src-main/engine/runtime/backend.ts';
import { getPreset } from '../../src-main/contract/presets.ts';
import { createUNet, oneHot } from '../../src-main/engine/unet.ts';
import { Rng } from '../../src-main/engine/rng.ts';

/**
 * FONTLOOM_PROBE_POOL_WORKER_ENDS=1: the first worker thread made in this process ends as soon as it
 * starts, before it could load, as a pool worker that failed to start would.
 */
function firstWorkerEnds(): void {
  const Native = workerThreads.Worker;
  let made = 0;
  workerThreads.Worker = class extends Native {
    constructor(...args: ConstructorParameters<typeof Native>) {
      super(...args);
      if (made++ === 0) void this.terminate();
    }
  };
}

async function main(): Promise<void> {
  if (process.env.FONTLOOM_PROBE_POOL_WORKER_ENDS === '1') firstWorkerEnds();
  const backend = await initBackend('wasm');
  const model = createUNet(getPreset('micro'), { channels: 1, classes: 26, size: 32 }, 5);
  const rng = new Rng(11);
  const x = tf.tensor4d(rng.normal(4 * 32 * 32), [4, 32, 32, 1]);
  const classes = oneHot([0, 5, -1, 25], 26);
  const t = [1, 300, 600, 999];
  const out = tf.tidy(() => model.apply(x, t, classes));
  const variables = [...model.variables.values()];
  const grads = tf.tidy(() => {
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x, t, classes))) as tf.Scalar, variables);
    return tf.concat(Object.values(grads).map((g) => g.reshape([-1])));
  });
  process.stdout.write(JSON.stringify({ adapter: backend.adapter, out: [...(await out.data())], grads: [...(await grads.data())] }));
  tf.dispose([x, classes, out, grads]);
  model.dispose();
}

await main();
