// Several runs' loss curves on one step axis, for one chart.
import uPlot from 'uplot';
import type { Metric } from '../../src-main/contract/api.ts';
import { smooth } from './series.ts';

/** One x array (the union of steps) and each run's smoothed loss, null where it has no step. */
export function joinCurves(curves: readonly Metric[][]): uPlot.AlignedData {
  if (curves.length === 0) return [[]];
  return uPlot.join(curves.map((metrics) => [metrics.map((m) => m.step), smooth(metrics.map((m) => m.loss))]));
}
