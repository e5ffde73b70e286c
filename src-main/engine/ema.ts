// Exponential moving average of the weights, as the reference's EMA class: a hard copy for the
// first `start` steps, then ema ← β·ema + (1−β)·θ.
import * as tf from '@tensorflow/tfjs-core';
import { hostKernelsApply, once, registerHostKernel } from './ops/host-kernels.ts';

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
      // Made once an update, not once a variable: on a GPU backend each JS-number operand is an upload.
      let k: [tf.Scalar, tf.Scalar] | null = null;
      for (const [name, p] of this.source) {
        const e = this.target.get(name)!;
        if (copy) e.assign(p);
        else if (hostKernelsApply(e, p)) e.assign(emaKernel(e, p, this.beta));
        else {
          const [keep, take] = (k ??= [tf.scalar(this.beta), tf.scalar(1 - this.beta)]);
          e.assign(tf.add(tf.mul(e, keep), tf.mul(p, take)));
        }
      }
    });
    this.step += 1;
  }
}
