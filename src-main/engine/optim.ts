// AdamW with decoupled weight decay and the OneCycle schedule, written out so their state is
// plain tensors a checkpoint can hold and tests can check against PyTorch's formulas.
import * as tf from '@tensorflow/tfjs-core';

export interface OneCycleConfig {
  maxLr: number;
  totalSteps: number;
  /** PyTorch defaults: 0.3, 25, 1e4, cosine annealing, β1 cycled between 0.85 and 0.95. */
  pctStart: number;
  divFactor: number;
  finalDivFactor: number;
  baseMomentum: number;
  maxMomentum: number;
}

export function oneCycle(maxLr: number, totalSteps: number): OneCycleConfig {
  return { maxLr, totalSteps, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4, baseMomentum: 0.85, maxMomentum: 0.95 };
}

function cosineAnneal(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/** Learning rate and β1 at a 0-based step, as torch.optim.lr_scheduler.OneCycleLR computes them. */
export function oneCycleAt(c: OneCycleConfig, step: number): { lr: number; beta1: number } {
  const initialLr = c.maxLr / c.divFactor;
  const minLr = initialLr / c.finalDivFactor;
  const warmEnd = c.pctStart * c.totalSteps - 1;
  const end = c.totalSteps - 1;
  if (step <= warmEnd) {
    const pct = step / warmEnd;
    return { lr: cosineAnneal(initialLr, c.maxLr, pct), beta1: cosineAnneal(c.maxMomentum, c.baseMomentum, pct) };
  }
  const pct = (step - warmEnd) / (end - warmEnd);
  return { lr: cosineAnneal(c.maxLr, minLr, pct), beta1: cosineAnneal(c.baseMomentum, c.maxMomentum, pct) };
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** AdamW (Loshchilov & Hutter) exactly as torch.optim.AdamW: decay first, then the Adam step. */
export class AdamW {
  /** Number of updates applied so far (PyTorch's `step` state). */
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(readonly params: ReadonlyMap<string, tf.Variable>) {
    for (const [name, p] of params) {
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** One update; `grads` is keyed by tfjs variable name, as tf.variableGrads returns it. */
  apply(grads: Record<string, tf.Tensor>, h: AdamWHyper): void {
    this.step += 1;
    const bc1 = 1 - Math.pow(h.beta1, this.step);
    const bc2 = 1 - Math.pow(h.beta2, this.step);
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads[p.name];
        if (!g) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1)));
        v.assign(tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), h.eps);
        const decayed = tf.mul(p, 1 - h.lr * h.weightDecay);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), h.lr / bc1)));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
