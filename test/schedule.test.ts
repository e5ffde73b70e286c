import { describe, expect, it } from 'vitest';
import { cosineSchedule, linearSchedule, makeSchedule } from '../src-main/engine/schedule.ts';

// The reference's schedule, written out here independently: β_t = 1e-4 + (0.02 − 1e-4)·t/999.
const T = 1000;
const betaAt = (t: number) => 1e-4 + ((0.02 - 1e-4) * t) / (T - 1);
function alphaBarAt(t: number): number {
  let prod = 1;
  for (let s = 0; s <= t; s++) prod *= 1 - betaAt(s);
  return prod;
}

describe('the linear noise schedule of the reference', () => {
  const s = linearSchedule();

  it('has 1000 steps running from β_0 = 1e-4 to β_999 = 0.02', () => {
    expect(s.kind).toBe('linear');
    expect(s.steps).toBe(1000);
    expect(s.beta.length).toBe(1000);
    expect(s.beta[0]).toBeCloseTo(1e-4, 15);
    expect(s.beta[999]).toBeCloseTo(0.02, 15);
  });

  it('spaces β evenly: every step adds (0.02 − 1e-4)/999', () => {
    const step = (0.02 - 1e-4) / 999;
    for (let t = 1; t < 1000; t++) expect(s.beta[t] - s.beta[t - 1]).toBeCloseTo(step, 12);
    expect(s.beta[500]).toBeCloseTo(betaAt(500), 15);
  });

  it('defines α = 1 − β', () => {
    for (const t of [0, 1, 250, 999]) expect(s.alpha[t]).toBeCloseTo(1 - betaAt(t), 15);
  });

  it('gives ᾱ_t = ∏_{s≤t}(1 − β_s), so ᾱ_0 = 1 − 1e-4 rather than 1', () => {
    expect(s.alphaBar[0]).toBeCloseTo(0.9999, 15);
    for (const t of [0, 1, 500, 999]) {
      const expected = alphaBarAt(t);
      expect(Math.abs(s.alphaBar[t] - expected) / expected).toBeLessThan(1e-12);
    }
    // Sanity against the well-known magnitudes: about 0.078 at the midpoint, about 4e-5 at the end.
    expect(s.alphaBar[500]).toBeGreaterThan(0.07);
    expect(s.alphaBar[500]).toBeLessThan(0.09);
    expect(s.alphaBar[999]).toBeGreaterThan(3e-5);
    expect(s.alphaBar[999]).toBeLessThan(5e-5);
  });

  it('makes ᾱ strictly decreasing: every step adds noise', () => {
    for (let t = 1; t < 1000; t++) expect(s.alphaBar[t]).toBeLessThan(s.alphaBar[t - 1]);
  });

  it('is what makeSchedule("linear") returns', () => {
    const m = makeSchedule('linear');
    expect(Array.from(m.alphaBar)).toEqual(Array.from(s.alphaBar));
  });
});

// Nichol & Dhariwal's cosine schedule, written out here: f(u) = cos²((u + 0.008)/1.008 · π/2).
// Index t is the paper's step t + 1 (as for the linear schedule), so ᾱ_t = f((t+1)/T)/f(0); the
// last step's β is clipped to 0.999, so ᾱ_999 = 0.001·ᾱ_998 rather than f(1)/f(0) = 0.
const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
const cosineAlphaBarAt = (t: number) => (t === T - 1 ? 0.001 * (f((T - 1) / T) / f(0)) : f((t + 1) / T) / f(0));

describe('the cosine noise schedule (Nichol & Dhariwal)', () => {
  const s = cosineSchedule();

  it('gives ᾱ_t = f((t+1)/T)/f(0) at t = 0, 1 and 500, and 0.001·ᾱ_998 at t = 999', () => {
    expect(s.kind).toBe('cosine');
    expect(s.steps).toBe(1000);
    for (const t of [0, 1, 500, 998, 999]) {
      const expected = cosineAlphaBarAt(t);
      expect(Math.abs(s.alphaBar[t] - expected) / expected, `t = ${t}`).toBeLessThan(1e-12);
    }
    // Sanity against the shape of the curve: ᾱ ≈ 0.5 just past the middle, ≈ 2.4e-9 at the end.
    expect(s.alphaBar[500]).toBeGreaterThan(0.48);
    expect(s.alphaBar[500]).toBeLessThan(0.5);
  });

  it('keeps ᾱ away from 1 at t = 0 and away from 0 at t = 999: finite SNR at both ends', () => {
    expect(1 - s.alphaBar[0]).toBeGreaterThan(4e-5);
    expect(1 - s.alphaBar[0]).toBeLessThan(4.2e-5);
    expect(s.alphaBar[999]).toBeGreaterThan(2e-9);
    expect(s.alphaBar[999]).toBeLessThan(3e-9);
    expect(Math.fround(1 - s.alphaBar[0])).toBeGreaterThan(0); // still below 1 in float32
    for (let t = 0; t < 1000; t++) {
      expect(s.beta[t]).toBeGreaterThan(0);
      expect(s.beta[t]).toBeLessThanOrEqual(0.999);
    }
    expect(s.beta[999]).toBe(0.999);
  });

  it('makes ᾱ strictly decreasing and keeps α = 1 − β, ᾱ = ∏α', () => {
    let prod = 1;
    for (let t = 0; t < 1000; t++) {
      if (t > 0) expect(s.alphaBar[t]).toBeLessThan(s.alphaBar[t - 1]);
      expect(s.alpha[t]).toBe(1 - s.beta[t]);
      prod *= s.alpha[t];
      expect(s.alphaBar[t]).toBe(prod);
    }
  });

  it('is what makeSchedule("cosine") returns', () => {
    expect(Array.from(makeSchedule('cosine').alphaBar)).toEqual(Array.from(s.alphaBar));
  });
});
