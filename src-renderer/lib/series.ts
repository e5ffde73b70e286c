// Training metrics as the charts want them: one array per quantity, indexed like `steps`,
// filled from runMetrics and then from progress events, each step kept once.
import type { Metric } from '../../src-main/contract/api.ts';

export class MetricSeries {
  readonly steps: number[] = [];
  readonly loss: number[] = [];
  readonly lr: number[] = [];
  readonly val: (number | null)[] = [];

  get lastStep(): number {
    return this.steps.length ? this.steps[this.steps.length - 1] : -1;
  }

  /** Adds a metric, replacing the one at the same step (a resumed run repeats steps). */
  add(m: Metric): void {
    let i = this.steps.length;
    if (m.step <= this.lastStep) i = lowerBound(this.steps, m.step);
    if (this.steps[i] === m.step) {
      this.loss[i] = m.loss;
      this.lr[i] = m.lr;
      if (m.val !== null || this.val[i] === undefined) this.val[i] = m.val;
      return;
    }
    this.steps.splice(i, 0, m.step);
    this.loss.splice(i, 0, m.loss);
    this.lr.splice(i, 0, m.lr);
    this.val.splice(i, 0, m.val);
  }

  /** The step after which steps are missing (0: from the start), or null when none are. */
  firstGap(): number | null {
    if (this.steps.length > 0 && this.steps[0] > 1) return 0;
    for (let i = 1; i < this.steps.length; i++) if (this.steps[i] > this.steps[i - 1] + 1) return this.steps[i - 1];
    return null;
  }

  /** The validation points only, for a chart that should not draw gaps. */
  validation(): [number[], number[]] {
    const steps: number[] = [];
    const values: number[] = [];
    this.val.forEach((v, i) => {
      if (v !== null) {
        steps.push(this.steps[i]);
        values.push(v);
      }
    });
    return [steps, values];
  }
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** An exponential moving average, as TensorBoard smooths a noisy loss (0 = none). */
export function smooth(values: readonly number[], weight = 0.9): number[] {
  const out: number[] = [];
  let last = NaN;
  let debias = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(v);
      continue;
    }
    last = Number.isNaN(last) ? 0 : last;
    last = last * weight + (1 - weight) * v;
    debias = debias * weight + (1 - weight);
    out.push(last / debias);
  }
  return out;
}
