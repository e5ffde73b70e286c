// Exponential moving average of the weights, as the reference's EMA class: a hard copy for the
// first `start` steps, then ema ← β·ema + (1−β)·θ.
import * as tf from '@tensorflow/tfjs-core';

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
        e.assign(copy ? p : tf.add(tf.mul(e, this.beta), tf.mul(p, 1 - this.beta)));
      }
    });
    this.step += 1;
  }
}
