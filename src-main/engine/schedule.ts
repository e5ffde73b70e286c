// The noise schedule as data: β, α = 1 − β and ᾱ = ∏α, computed once in float64.
// Indexing follows the reference: t runs over 0..T−1, training draws t from [1, T−1],
// and the last sampling step lands on t = 0 (ᾱ_0 = α_0, not 1).

import type { ScheduleKind } from '../contract/presets.ts';

export interface NoiseSchedule {
  readonly kind: ScheduleKind;
  readonly steps: number;
  readonly beta: Float64Array;
  readonly alpha: Float64Array;
  readonly alphaBar: Float64Array;
}

function fromBeta(kind: ScheduleKind, beta: Float64Array): NoiseSchedule {
  const steps = beta.length;
  const alpha = new Float64Array(steps);
  const alphaBar = new Float64Array(steps);
  let prod = 1;
  for (let t = 0; t < steps; t++) {
    alpha[t] = 1 - beta[t];
    prod *= alpha[t];
    alphaBar[t] = prod;
  }
  return { kind, steps, beta, alpha, alphaBar };
}

export function linearSchedule(steps = 1000, betaStart = 1e-4, betaEnd = 0.02): NoiseSchedule {
  const beta = new Float64Array(steps);
  for (let t = 0; t < steps; t++) beta[t] = betaStart + ((betaEnd - betaStart) * t) / (steps - 1);
  return fromBeta('linear', beta);
}

/** The cosine schedule's largest β (Nichol & Dhariwal): it keeps ᾱ_{T−1} = 0.001·ᾱ_{T−2} > 0. */
export const COSINE_MAX_BETA = 0.999;

/**
 * Nichol & Dhariwal (2021): ᾱ(u) = f(u)/f(0), f(u) = cos²((u + s)/(1 + s)·π/2), s = 0.008.
 * Index t is the paper's step t + 1, as in the linear schedule, so ᾱ_t = f((t+1)/T)/f(0) and
 * ᾱ_0 = 1 − 4e-5 stays below 1 (SNR finite). β_t = 1 − ᾱ_t/ᾱ_{t−1} is clipped to 0.999, so the
 * last ᾱ (f(1) = 0) becomes 0.001·ᾱ_{T−2} ≈ 2.4e-9 instead of 0; ᾱ is rebuilt from the clipped β.
 */
export function cosineSchedule(steps = 1000, s = 0.008): NoiseSchedule {
  const f = (u: number) => Math.cos(((u + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const beta = new Float64Array(steps);
  for (let t = 0; t < steps; t++) beta[t] = Math.min(1 - f((t + 1) / steps) / f(t / steps), COSINE_MAX_BETA);
  return fromBeta('cosine', beta);
}

export function makeSchedule(kind: ScheduleKind, steps = 1000): NoiseSchedule {
  switch (kind) {
    case 'linear':
      return linearSchedule(steps);
    case 'cosine':
      return cosineSchedule(steps);
  }
}
