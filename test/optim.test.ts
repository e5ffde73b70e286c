import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { onBackendOrSkip } from './helpers/backends.ts';
import { AdamW, oneCycle, oneCycleAt, type AdamWHyper } from '../src-main/engine/optim.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

afterAll(async () => {
  await initBackend('cpu');
});

function expectRelClose(actual: number, expected: number, rel: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: got ${actual}, expected ${expected}`).toBeLessThanOrEqual(
    rel * Math.abs(expected),
  );
}

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, abs: number, what: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`).toBeLessThan(abs);
  }
}

describe('the OneCycle learning-rate schedule, as PyTorch’s OneCycleLR', () => {
  // torch.optim.lr_scheduler.OneCycleLR with its defaults, written out from its source:
  // initial_lr = max_lr/25, min_lr = initial_lr/1e4; phase 1 ends at pct_start·total − 1 and
  // anneals lr initial → max and β1 0.95 → 0.85; phase 2 ends at total − 1 and anneals lr
  // max → min and β1 0.85 → 0.95; anneal(start, end, pct) = end + (start − end)/2·(cos(π·pct) + 1).
  const anneal = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  function torchOneCycle(maxLr: number, total: number, step: number): { lr: number; beta1: number } {
    const initialLr = maxLr / 25;
    const minLr = initialLr / 1e4;
    const warmEnd = 0.3 * total - 1;
    const end = total - 1;
    if (step <= warmEnd) {
      const pct = step / warmEnd;
      return { lr: anneal(initialLr, maxLr, pct), beta1: anneal(0.95, 0.85, pct) };
    }
    const pct = (step - warmEnd) / (end - warmEnd);
    return { lr: anneal(maxLr, minLr, pct), beta1: anneal(0.85, 0.95, pct) };
  }

  it('uses PyTorch’s defaults: 30% warm-up, div 25, final div 1e4, β1 between 0.85 and 0.95', () => {
    expect(oneCycle(3e-4, 2000)).toEqual({
      maxLr: 3e-4,
      totalSteps: 2000,
      pctStart: 0.3,
      divFactor: 25,
      finalDivFactor: 1e4,
      baseMomentum: 0.85,
      maxMomentum: 0.95,
    });
  });

  it('starts at max_lr/25 with β1 = 0.95, peaks at the end of warm-up and ends at max_lr/25/1e4', () => {
    const c = oneCycle(3e-4, 2000);
    const first = oneCycleAt(c, 0);
    expectRelClose(first.lr, 3e-4 / 25, 1e-12, 'lr at step 0');
    expectRelClose(first.beta1, 0.95, 1e-12, 'β1 at step 0');
    const peak = oneCycleAt(c, 599); // 0.3 · 2000 − 1
    expectRelClose(peak.lr, 3e-4, 1e-12, 'lr at the end of warm-up');
    expectRelClose(peak.beta1, 0.85, 1e-12, 'β1 at the end of warm-up');
    const last = oneCycleAt(c, 1999);
    expectRelClose(last.lr, 3e-4 / 25 / 1e4, 1e-9, 'lr at the last step');
    expectRelClose(last.beta1, 0.95, 1e-12, 'β1 at the last step');
  });

  it('follows the cosine of both phases at every step, by PyTorch’s formulas', () => {
    for (const [maxLr, total] of [
      [3e-4, 2000],
      [1e-3, 100],
      [3e-4, 7],
    ]) {
      const c = oneCycle(maxLr, total);
      for (let step = 0; step < total; step++) {
        const got = oneCycleAt(c, step);
        const want = torchOneCycle(maxLr, total, step);
        expectRelClose(got.lr, want.lr, 1e-12, `lr at step ${step}/${total}`);
        expectRelClose(got.beta1, want.beta1, 1e-12, `β1 at step ${step}/${total}`);
      }
    }
  });

  it('is half way down at the middle of the annealing phase, with β1 half way back up', () => {
    const c = oneCycle(3e-4, 2000);
    // Phase 2 runs from 599 to 1999: its middle is 1299, where cos(π/2) = 0.
    const mid = oneCycleAt(c, 1299);
    expectRelClose(mid.lr, (3e-4 + 3e-4 / 25 / 1e4) / 2, 1e-12, 'lr mid-anneal');
    expectRelClose(mid.beta1, 0.9, 1e-12, 'β1 mid-anneal');
  });

  // Produced by torch.optim.lr_scheduler.OneCycleLR, PyTorch 1.13 (CPU), with
  //   /usr/bin/python3 onecycle.py
  // where onecycle.py is:
  //   import torch
  //   for total in (100, 7):
  //       p = torch.nn.Parameter(torch.zeros(1))
  //       opt = torch.optim.AdamW([p], lr=3e-4)
  //       sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-4, total_steps=total)
  //       for step in range(total):
  //           g = opt.param_groups[0]
  //           print(total, step, repr(g['lr']), repr(g['betas'][0]))
  //           opt.step(); sched.step()
  const TORCH_ONE_CYCLE: Array<[total: number, step: number, lr: number, beta1: number]> = [
    [100, 0, 1.200000000000002e-5, 0.95],
    [100, 1, 1.2844134169772217e-5, 0.9497068978577179],
    [100, 15, 0.0001637960028363001, 0.897293054570729],
    [100, 28, 0.0002991558658302278, 0.850293102142282],
    [100, 29, 0.0003, 0.85],
    [100, 30, 0.00029984896058535726, 0.8500503466729342],
    [100, 50, 0.0002381680351727196, 0.8706107373853763],
    [100, 64, 0.0001500006, 0.8999999999999999],
    [100, 98, 1.522394146427364e-7, 0.9499496533270657],
    [100, 99, 1.1999999999999998e-9, 0.95],
    [7, 0, 1.200000000000002e-5, 0.95],
    [7, 1, 0.0002941669882004876, 0.8520253513192751],
    [7, 2, 0.00027571331288091315, 0.858095594755408],
    [7, 3, 0.00020180515094416352, 0.8827317472789346],
    [7, 4, 0.00010732163272189712, 0.9142263793315516],
    [7, 5, 2.9789037567979678e-5, 0.9400706810933978],
    [7, 6, 1.1999999999999998e-9, 0.95],
  ];

  it('gives the learning rate and β1 that PyTorch 1.13’s OneCycleLR gives for AdamW', () => {
    for (const [total, step, lr, beta1] of TORCH_ONE_CYCLE) {
      const got = oneCycleAt(oneCycle(3e-4, total), step);
      expectRelClose(got.lr, lr, 1e-12, `lr at step ${step}/${total}`);
      expectRelClose(got.beta1, beta1, 1e-12, `β1 at step ${step}/${total}`);
    }
  });
});

// cpu runs Fontloom's one-pass host kernel; webgpu the update composed from tfjs ops.
describe.each(['cpu', 'webgpu'] as const)('AdamW, as torch.optim.AdamW, on %s', (backend) => {
  beforeEach(async (ctx) => {
    await onBackendOrSkip(backend, ctx);
  });

  let made: Array<{ dispose(): void }> = [];
  let serial = 0;
  afterEach(() => {
    for (const d of made) d.dispose();
    made = [];
  });

  /** Parameters keyed by a model-style name; tfjs's own (global) variable names are made unique. */
  function params(values: Record<string, { data: number[]; shape: number[] }>): Map<string, tf.Variable> {
    const map = new Map<string, tf.Variable>();
    serial += 1;
    for (const [name, { data, shape }] of Object.entries(values)) {
      const v = tf.variable(tf.tensor(data, shape, 'float32'), true, `optim-test-${serial}/${name}`);
      map.set(name, v);
      made.push(v);
    }
    return map;
  }

  function applyGrads(opt: AdamW, p: Map<string, tf.Variable>, grads: Record<string, number[]>, h: AdamWHyper): void {
    const byVariable: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) byVariable[p.get(name)!.name] = tf.tensor(g, p.get(name)!.shape);
    opt.apply(byVariable, h);
    tf.dispose(Object.values(byVariable));
  }

  const values = async (v: tf.Variable) => Array.from(await v.data());

  it('takes one step by hand: p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε)', async () => {
    const p = params({ w: { data: [1.0, -2.0, 0.5, 3.0], shape: [2, 2] } });
    const opt = new AdamW(p);
    made.push(opt);
    const g = [0.5, 0.1, -0.02, 0];
    const h: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 };
    applyGrads(opt, p, { w: g }, h);

    // After one step, m = (1 − β1)·g and v = (1 − β2)·g², so the bias-corrected m̂ = g and v̂ = g².
    const expected = [1.0, -2.0, 0.5, 3.0].map((p0, i) => {
      const m = (1 - h.beta1) * g[i];
      const v = (1 - h.beta2) * g[i] * g[i];
      const mHat = m / (1 - h.beta1);
      const vHat = v / (1 - h.beta2);
      return p0 * (1 - h.lr * h.weightDecay) - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    });
    expect(opt.step).toBe(1);
    expectAllClose(await values(p.get('w')!), expected, 2e-7, 'w');
    // The Adam step is about lr·sign(g): the size of a gradient hardly matters.
    expectAllClose(await values(p.get('w')!), [0.98999, -2.00998, 0.509995, 2.99997], 2e-7, 'w ≈ p − lr·sign(g)');
    // Its moments are the plain tensors a checkpoint holds.
    expectAllClose(await values(opt.m.get('w')!), g.map((x) => 0.1 * x), 1e-8, 'm');
    expectAllClose(await values(opt.v.get('w')!), g.map((x) => 0.001 * x * x), 1e-10, 'v');
  });

  // Produced by torch.optim.AdamW, PyTorch 1.13 (CPU, float64), with
  //   /usr/bin/python3 adamw.py
  // where adamw.py is:
  //   import torch
  //   w = torch.nn.Parameter(torch.tensor([[0.5, -1.0, 2.0], [1.5, -0.25, 0.75]], dtype=torch.float64))
  //   frozen = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
  //   opt = torch.optim.AdamW([w, frozen], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-3)
  //   grads = [[[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6]],
  //            [[0.05, 0.1, -0.3], [0.2, 0.0, 0.6]],
  //            [[-0.3, 0.25, 0.1], [0.0, -0.5, 0.2]]]
  //   for g in grads:
  //       w.grad = torch.tensor(g, dtype=torch.float64)
  //       frozen.grad = torch.zeros(3, dtype=torch.float64)
  //       opt.step()
  //       print('w', [repr(x) for x in w.detach().flatten().tolist()])
  //       print('frozen', [repr(x) for x in frozen.detach().flatten().tolist()])
  const TORCH_GRADS = [
    [0.1, -0.2, 0.3, -0.4, 0.5, -0.6],
    [0.05, 0.1, -0.3, 0.2, 0.0, 0.6],
    [-0.3, 0.25, 0.1, 0.0, -0.5, 0.2],
  ];
  const TORCH_W = [
    [0.48999500099999993, -0.9899900005, 1.9899800003333334, 1.5099849997500001, -0.25999749980000003, 0.7599924998333334],
    [0.48066830584117715, -0.9873167303718626, 1.99048641630526, 1.5126332702123708, -0.26669548217679895, 0.7594585841276333],
    [0.48413573403997057, -0.9906983553331591, 1.9893959073723577, 1.5146769368357529, -0.2658341380985336, 0.7575884317413557],
  ];
  const TORCH_FROZEN = [
    [0.99999, -1.99998, 0.499995],
    [0.9999800001000001, -1.9999600002000002, 0.49999000005000005],
    [0.9999700002999992, -1.9999400005999983, 0.4999850001499996],
  ];

  it('matches three steps of PyTorch 1.13’s AdamW, moments and bias correction included', async () => {
    const p = params({
      w: { data: [0.5, -1.0, 2.0, 1.5, -0.25, 0.75], shape: [2, 3] },
      frozen: { data: [1.0, -2.0, 0.5], shape: [3] },
    });
    const opt = new AdamW(p);
    made.push(opt);
    const h: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 };
    for (let k = 0; k < 3; k++) {
      applyGrads(opt, p, { w: TORCH_GRADS[k], frozen: [0, 0, 0] }, h);
      expectAllClose(await values(p.get('w')!), TORCH_W[k], 1e-6, `w after step ${k + 1}`);
      expectAllClose(await values(p.get('frozen')!), TORCH_FROZEN[k], 3e-7, `frozen after step ${k + 1}`);
    }
    expect(opt.step).toBe(3);
  });

  it('shrinks a parameter with zero gradient by lr·wd·p a step: the decay is decoupled from Adam', async () => {
    const p = params({ frozen: { data: [1.0, -2.0, 0.5], shape: [3] } });
    const opt = new AdamW(p);
    made.push(opt);
    const h: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 };
    for (let k = 1; k <= 3; k++) {
      applyGrads(opt, p, { frozen: [0, 0, 0] }, h);
      const expected = [1.0, -2.0, 0.5].map((p0) => p0 * Math.pow(1 - h.lr * h.weightDecay, k));
      // Each step removes 1e-5·p (5e-6 for the smallest), far above the 3e-7 tolerance.
      expectAllClose(await values(p.get('frozen')!), expected, 3e-7, `frozen after step ${k}`);
    }
  });

  // Produced by torch.optim.AdamW driven by torch.optim.lr_scheduler.OneCycleLR, PyTorch 1.13
  // (CPU, float64), with /usr/bin/python3 adamw_onecycle.py, where adamw_onecycle.py is:
  //   import torch
  //   w = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 1.5], dtype=torch.float64))
  //   opt = torch.optim.AdamW([w], lr=3e-4, weight_decay=1e-3)
  //   sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-4, total_steps=10)
  //   grads = [[0.1, -0.2, 0.3, -0.4], [0.3, 0.1, -0.2, 0.0], [-0.1, 0.4, 0.2, 0.1],
  //            [0.2, -0.3, 0.0, 0.5], [0.0, 0.2, -0.1, -0.3]]
  //   for g in grads:
  //       w.grad = torch.tensor(g, dtype=torch.float64)
  //       opt.step(); sched.step()
  //   print([repr(x) for x in w.detach().tolist()])
  it('matches five steps of PyTorch’s AdamW under OneCycleLR, β1 cycling included', async () => {
    const p = params({ w: { data: [0.5, -1.0, 2.0, 1.5], shape: [4] } });
    const opt = new AdamW(p);
    made.push(opt);
    const schedule = oneCycle(3e-4, 10);
    const grads = [
      [0.1, -0.2, 0.3, -0.4],
      [0.3, 0.1, -0.2, 0.0],
      [-0.1, 0.4, 0.2, 0.1],
      [0.2, -0.3, 0.0, 0.5],
      [0.0, 0.2, -0.1, -0.3],
    ];
    for (let step = 0; step < grads.length; step++) {
      const { lr, beta1 } = oneCycleAt(schedule, step);
      applyGrads(opt, p, { w: grads[step] }, { lr, beta1, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 });
    }
    const torchW = [0.4995724131607319, -1.000252159802728, 1.9998519496260416, 1.499891837236112];
    // The whole run moves w by about 1e-3; float32 carries it to ~1e-7.
    expectAllClose(await values(p.get('w')!), torchW, 3e-7, 'w after 5 steps');
  });

  it('leaves a parameter without a gradient untouched, as PyTorch skips grad = None', async () => {
    const p = params({
      used: { data: [1, 2], shape: [2] },
      unused: { data: [3, 4], shape: [2] },
    });
    const opt = new AdamW(p);
    made.push(opt);
    applyGrads(opt, p, { used: [0.1, 0.1] }, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-3 });
    expect(await values(p.get('unused')!)).toEqual([3, 4]);
    expect(await values(opt.m.get('unused')!)).toEqual([0, 0]);
  });
});
