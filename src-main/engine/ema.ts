// Exponential moving average of the weights, as the reference's EMA class: a hard copy for the
// first `start` steps, then ema ← β·ema + (1−β)·θ.
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsApply, once, registerHostKernel } from './host-kernels.ts';

const EMA = 'FontloomEma';

const registerEma = once(() => {
  registerHostKernel(EMA, (host, inputs, attrs) => {
    const b = attrs.beta as number;
    const out = host.output(inputs.e.shape);
    const [ev, pv, o] = [host.read(inputs.e), host.read(inputs.p), out.values];
    for (let i = 0; i < ev.length; i++) o[i] = b * ev[i] + (1 - b) * pv[i];
    return out.info;
  });
});

/** β·e + (1−β)·p in one host pass (three kernels per variable otherwise). */
function emaKernel(e: tf.Tensor, p: tf.Tensor, beta: number): tf.Tensor {
  registerEma();
  return tf.engine().runKernel(EMA, { e, p }, { beta }) as tf.Tensor;
}

export class Ema {
  /** Steps taken so far (the reference's `self.step`). */
  step = 0;

  constructor(
    readonly target: ReadonlyMap<string, tf.Variable>,
    readonly source: ReadonlyMap<string, tf.Variable>,
    readonly beta: number,
    readonly start: number,
  ) {}

  update(): void {
    const copy = this.step < this.start;
    tf.tidy(() => {
      for (const [name, p] of this.source) {
        const e = this.target.get(name)!;
        if (copy) e.assign(p);
        else if (hostKernelsApply(e, p)) e.assign(emaKernel(e, p, this.beta));
        else e.assign(tf.add(tf.mul(e, this.beta), tf.mul(p, 1 - this.beta)));
      }
    });
    this.step += 1;
  }
}
