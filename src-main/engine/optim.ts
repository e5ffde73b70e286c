// AdamW with decoupled weight decay and the OneCycle schedule, written out so their state is
// plain tensors a checkpoint can hold and tests can check against PyTorch's formulas.
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsApply, once, registerHostKernel } from './ops/host-kernels.ts';

const ADAMW = 'FontloomAdamW';

/** The gradient as w1·g + w2·g2: two engines' halves of a batch, each weighted by its share. */
export interface GradientBlend {
  grads: Record<string, tf.Tensor>;
  own: number;
  other: number;
}

type AdamWAttrs = AdamWHyper & { bc1: number; bc2: number; w1: number; w2: number };

const registerAdamW = once(() => {
  registerHostKernel(ADAMW, (host, inputs, a) => {
    const { lr, beta1, beta2, eps, weightDecay, bc1, bc2, w1, w2 } = a as unknown as AdamWAttrs;
    const pOut = host.output(inputs.p.shape);
    const mOut = host.output(inputs.p.shape);
    const vOut = host.output(inputs.p.shape);
    const [pv, mv, vv, gv] = [host.read(inputs.p), host.read(inputs.m), host.read(inputs.v), host.read(inputs.g)];
    const g2v = inputs.g2 ? host.read(inputs.g2) : null;
    const [p2, m2, v2] = [pOut.values, mOut.values, vOut.values];
    const decay = 1 - lr * weightDecay;
    const step = lr / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (let i = 0; i < pv.length; i++) {
      const gi = g2v ? w1 * gv[i] + w2 * g2v[i] : gv[i];
      const mi = beta1 * mv[i] + (1 - beta1) * gi;
      const vi = beta2 * vv[i] + (1 - beta2) * gi * gi;
      m2[i] = mi;
      v2[i] = vi;
      p2[i] = pv[i] * decay - (step * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
    }
    return [pOut.info, mOut.info, vOut.info];
  });
});

/** The update below as one host pass: new p, m and v (in float64 arithmetic, stored as float32). */
function adamWKernel(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, g2: tf.Tensor | null, attrs: AdamWAttrs): tf.Tensor[] {
  registerAdamW();
  const inputs: tf.NamedTensorMap = g2 ? { p, m, v, g, g2 } : { p, m, v, g };
  return tf.engine().runKernel(ADAMW, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

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

  /**
   * One update; `grads` is keyed by tfjs variable name, as tf.variableGrads returns it. With
   * `blend`, the gradient is blend.own·grads + blend.other·blend.grads, formed inside the update.
   */
  apply(grads: Record<string, tf.Tensor>, h: AdamWHyper, blend?: GradientBlend): void {
    this.step += 1;
    const bc1 = 1 - Math.pow(h.beta1, this.step);
    const bc2 = 1 - Math.pow(h.beta2, this.step);
    tf.tidy(() => {
      // The composed update's numbers, each made once a step rather than once a variable (on a GPU
      // backend every JS-number operand is an upload).
      let k: Record<'b1' | 'c1' | 'b2' | 'c2' | 'bc2' | 'eps' | 'decay' | 'rate' | 'own' | 'other', tf.Scalar> | null = null;
      const numbers = () => (k ??= {
        b1: tf.scalar(h.beta1), c1: tf.scalar(1 - h.beta1), b2: tf.scalar(h.beta2), c2: tf.scalar(1 - h.beta2),
        bc2: tf.scalar(Math.sqrt(bc2)), eps: tf.scalar(h.eps), decay: tf.scalar(1 - h.lr * h.weightDecay),
        rate: tf.scalar(h.lr / bc1), own: tf.scalar(blend?.own ?? 1), other: tf.scalar(blend?.other ?? 0),
      });
      for (const [name, p] of this.params) {
        const own = grads[p.name];
        if (!own) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const other = blend?.grads[p.name] ?? null;
        if (hostKernelsApply(p, m, v, own) && (!other || hostKernelsApply(other))) {
          // One pass instead of eleven kernels per variable (tiny has ~140 variables).
          const [p2, m2, v2] = adamWKernel(p, m, v, own, other, { ...h, bc1, bc2, w1: blend?.own ?? 1, w2: blend?.other ?? 0 });
          m.assign(m2);
          v.assign(v2);
          p.assign(p2);
          continue;
        }
        const c = numbers();
        const g = other ? tf.add(tf.mul(own, c.own), tf.mul(other, c.other)) : own;
        m.assign(tf.add(tf.mul(m, c.b1), tf.mul(g, c.c1)));
        v.assign(tf.add(tf.mul(v, c.b2), tf.mul(tf.square(g), c.c2)));
        const denom = tf.add(tf.div(tf.sqrt(v), c.bc2), c.eps);
        const decayed = tf.mul(p, c.decay);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), c.rate)));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
