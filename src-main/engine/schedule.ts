// The noise schedule as data: β, α = 1 − β and ᾱ = ∏α, computed once in float64.
// Indexing follows the reference: t runs over 0..T−1, training draws t from [1, T−1],
// and the last sampling step lands on t = 0 (ᾱ_0 = α_0, not 1).

export type ScheduleKind = 'linear';

export interface NoiseSchedule {
  readonly kind: ScheduleKind;
  readonly steps: number;
  readonly beta: Float64Array;
  readonly alpha: Float64Array;
  readonly alphaBar: Float64Array;
}

export function linearSchedule(steps = 1000, betaStart = 1e-4, betaEnd = 0.02): NoiseSchedule {
  const beta = new Float64Array(steps);
  const alpha = new Float64Array(steps);
  const alphaBar = new Float64Array(steps);
  let prod = 1;
  for (let t = 0; t < steps; t++) {
    beta[t] = betaStart + ((betaEnd - betaStart) * t) / (steps - 1);
    alpha[t] = 1 - beta[t];
    prod *= alpha[t];
    alphaBar[t] = prod;
  }
  return { kind: 'linear', steps, beta, alpha, alphaBar };
}

export function makeSchedule(kind: ScheduleKind, steps = 1000): NoiseSchedule {
  switch (kind) {
    case 'linear':
      return linearSchedule(steps);
  }
}
