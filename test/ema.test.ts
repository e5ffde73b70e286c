import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { onBackendOrSkip } from './helpers/backends.ts';
import { Ema } from '../src-main/engine/ema.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

afterAll(async () => {
  await initBackend('cpu');
});

let made: tf.Variable[] = [];
let serial = 0;
afterEach(() => {
  tf.dispose(made);
  made = [];
});

/** A model's variables by reference-style name; tfjs's global names are made unique per model. */
function model(values: Record<string, number[]>): Map<string, tf.Variable> {
  serial += 1;
  const map = new Map<string, tf.Variable>();
  for (const [name, data] of Object.entries(values)) {
    const v = tf.variable(tf.tensor1d(data), true, `ema-test-${serial}/${name}`);
    map.set(name, v);
    made.push(v);
  }
  return map;
}

function setWeights(m: Map<string, tf.Variable>, values: Record<string, number[]>): void {
  for (const [name, data] of Object.entries(values)) {
    const t = tf.tensor1d(data);
    m.get(name)!.assign(t);
    t.dispose();
  }
}

const read = async (v: tf.Variable) => Array.from(await v.data());

// cpu runs Fontloom's one-pass host kernel; webgpu the update composed from tfjs ops.
describe.each(['cpu', 'webgpu'] as const)('the EMA of the weights, as the reference’s EMA class, on %s', (backend) => {
  beforeEach(async (ctx) => {
    await onBackendOrSkip(backend, ctx);
  });

  // The weights the trained model passes through, one row per training step.
  const trajectory = [
    { conv: [1, 2, 3], bias: [0.5] },
    { conv: [-1, 0.25, 4], bias: [-0.5] },
    { conv: [2, -3, 0.5], bias: [1.5] },
    { conv: [4, 1, -2], bias: [2] },
    { conv: [0, 8, 1], bias: [-1] },
  ];

  it('copies the model exactly for the first `start` steps, then averages with β', async () => {
    const source = model({ conv: [0, 0, 0], bias: [0] });
    const target = model({ conv: [9, 9, 9], bias: [9] });
    const beta = 0.9;
    const ema = new Ema(target, source, beta, 3);

    for (let k = 0; k < 3; k++) {
      setWeights(source, trajectory[k]);
      ema.update();
      expect(await read(target.get('conv')!)).toEqual(trajectory[k].conv);
      expect(await read(target.get('bias')!)).toEqual(trajectory[k].bias);
    }
    expect(ema.step).toBe(3);

    // Step 4 is the first average: ema = β·ema + (1 − β)·θ, from the copy of step 3.
    setWeights(source, trajectory[3]);
    ema.update();
    const after4 = {
      conv: trajectory[2].conv.map((e, i) => beta * e + (1 - beta) * trajectory[3].conv[i]),
      bias: trajectory[2].bias.map((e, i) => beta * e + (1 - beta) * trajectory[3].bias[i]),
    };
    for (const name of ['conv', 'bias'] as const) {
      const got = await read(target.get(name)!);
      got.forEach((g, i) => expect(g).toBeCloseTo(after4[name][i], 6));
    }

    // Step 5 averages again, from the average, not from the source.
    setWeights(source, trajectory[4]);
    ema.update();
    const after5 = after4.conv.map((e, i) => beta * e + (1 - beta) * trajectory[4].conv[i]);
    (await read(target.get('conv')!)).forEach((g, i) => expect(g).toBeCloseTo(after5[i], 6));
    expect(ema.step).toBe(5);
  });

  it('leaves the model it follows untouched', async () => {
    const source = model({ conv: [1, 2, 3] });
    const target = model({ conv: [0, 0, 0] });
    const ema = new Ema(target, source, 0.995, 0);
    ema.update();
    expect(await read(source.get('conv')!)).toEqual([1, 2, 3]);
    // With start = 0 there is no copy: the first update already averages.
    (await read(target.get('conv')!)).forEach((g, i) => expect(g).toBeCloseTo(0.005 * [1, 2, 3][i], 7));
  });

  it('keeps the copy independent: changing the model later does not change the EMA', async () => {
    const source = model({ conv: [1, 2, 3] });
    const target = model({ conv: [0, 0, 0] });
    new Ema(target, source, 0.995, 2000).update();
    setWeights(source, { conv: [7, 7, 7] });
    expect(await read(target.get('conv')!)).toEqual([1, 2, 3]);
  });

  it('does not leak tensors per update', () => {
    const source = model({ conv: [1, 2, 3] });
    const target = model({ conv: [0, 0, 0] });
    const ema = new Ema(target, source, 0.995, 1);
    ema.update();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) ema.update();
    expect(tf.memory().numTensors).toBe(before);
  });
});
