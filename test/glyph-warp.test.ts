// Reshaping a glyph (data/glyph-warp.ts) and fitting the reshape to given letters
// (jobs/nearest-font.ts: fitWarp): what completion does to its nearest training font's letters
// before the model redraws them.
import { describe, expect, it } from 'vitest';
import { describeWarp, IDENTITY_WARP, type GlyphWarp } from '../src-main/contract/api.ts';
import { warpGlyph } from '../src-main/data/glyph-warp.ts';
import { centreGlyph, pixelL1, pixelSquaredDistance } from '../src-main/eval/style-metrics.ts';
import { fitWarp } from '../src-main/jobs/nearest-font.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

const size = 32;
const per = size * size;
const shape = { size, channels: 1 };
const warp = (w: Partial<GlyphWarp>): GlyphWarp => ({ ...IDENTITY_WARP, ...w });

/** A vertical bar, ink 255, columns [x0, x1) and rows [y0, y1). */
function bar(x0: number, x1: number, y0 = 4, y1 = 28): Uint8Array {
  const g = new Uint8Array(per);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) g[y * size + x] = 255;
  return g;
}

/** Ink in row y, in pixels (grey 255 counts 1). */
const rowInk = (g: Uint8Array, y: number) => g.subarray(y * size, (y + 1) * size).reduce((s, v) => s + v / 255, 0);
const rowCentre = (g: Uint8Array, y: number) => g.subarray(y * size, (y + 1) * size).reduce((s, v, x) => s + (v / 255) * (x + 0.5), 0) / rowInk(g, y);
const columnInk = (g: Uint8Array, x: number) => Array.from({ length: size }, (_, y) => g[y * size + x] / 255).reduce((a, b) => a + b, 0);

describe('reshaping a glyph', () => {
  const set = syntheticGlyphSet({ fonts: 3, seed: 4 });

  it('gives every letter back at the identity, antialiased edges to within a sixteenth of ink', () => {
    for (let i = 0; i < 78; i++) {
      const g = set.pixels.subarray(i * per, (i + 1) * per);
      const back = warpGlyph(g, size, IDENTITY_WARP);
      // Each pixel is 4 × 4 samples: its grey comes back rounded to the nearest of 17 levels.
      expect(Math.max(...back.map((v, k) => Math.abs(v - g[k]))), `glyph ${i}`).toBeLessThanOrEqual(8);
      expect(pixelL1(back, g), `glyph ${i}`).toBeLessThan(0.01);
    }
  });

  it('slants a stem right by the slant times the height', () => {
    const slanted = warpGlyph(bar(14, 18), size, warp({ slant: 0.25 }));
    // From row 26 up to row 6 is 20 pixels of height: 5 pixels of lean.
    expect(rowCentre(slanted, 6) - rowCentre(slanted, 26)).toBeCloseTo(5, 0);
    expect(rowInk(slanted, 16)).toBeCloseTo(4, 0);
    const left = warpGlyph(bar(14, 18), size, warp({ slant: -0.25 }));
    expect(rowCentre(left, 6) - rowCentre(left, 26)).toBeCloseTo(-5, 0);
  });

  it('makes strokes bolder or lighter by the weight, keeping a one-pixel hairline', () => {
    expect(rowInk(warpGlyph(bar(14, 18), size, warp({ weight: 2 })), 16)).toBeCloseTo(6, 0);
    expect(rowInk(warpGlyph(bar(14, 18), size, warp({ weight: -2 })), 16)).toBeCloseTo(2, 0);
    expect(rowInk(warpGlyph(bar(15, 16), size, IDENTITY_WARP), 16)).toBeCloseTo(1, 1);
    // A bolder stem also grows at its ends, by half the weight each.
    expect(columnInk(warpGlyph(bar(14, 18), size, warp({ weight: 2 })), 16)).toBeCloseTo(26, 0);
  });

  it('scales width and height about the ink, not the cell', () => {
    const wide = warpGlyph(bar(6, 10), size, warp({ width: 1.5 }));
    expect(rowInk(wide, 16)).toBeCloseTo(6, 0);
    expect(rowCentre(wide, 16)).toBeCloseTo(8, 0);
    const short = warpGlyph(bar(14, 18, 4, 28), size, warp({ height: 0.75 }));
    expect(columnInk(short, 16)).toBeCloseTo(18, 0);
  });

  it('leaves a blank glyph blank', () => {
    expect(warpGlyph(new Uint8Array(per), size, warp({ slant: 0.3, weight: 2 })).every((v) => v === 0)).toBe(true);
  });
});

describe('fitting a reshape to given letters', () => {
  const set = syntheticGlyphSet({ fonts: 2, seed: 11 });
  const letters = [7, 0, 12, 1].map((c) => set.pixels.slice(c * per, (c + 1) * per)); // H A M B of font 0
  const distance = (a: Uint8Array[], b: Uint8Array[]) => a.reduce((s, g, i) => s + pixelSquaredDistance(centreGlyph(g, shape), b[i]), 0);

  it('finds the slant, width and weight that turned one font\'s letters into the given ones', () => {
    const truth = warp({ slant: 0.2, width: 1.1, weight: 0.8 });
    const targets = letters.map((g) => centreGlyph(warpGlyph(g, size, truth), shape));
    const asIs = distance(letters, targets);
    const fit = fitWarp(letters, targets, shape, asIs);
    expect(fit.distance).toBeLessThan(asIs / 5);
    expect(fit.warp.slant).toBeCloseTo(0.2, 1);
    expect(Math.abs(fit.warp.width - 1.1)).toBeLessThan(0.08);
    expect(Math.abs(fit.warp.weight - 0.8)).toBeLessThan(0.5);
    expect(fit.distance).toBe(distance(letters.map((g) => warpGlyph(g, size, fit.warp)), targets));
  });

  it('keeps the letters as they are where no reshape brings them nearer', () => {
    const targets = letters.map((g) => centreGlyph(g, shape));
    expect(fitWarp(letters, targets, shape, 0)).toEqual({ warp: IDENTITY_WARP, distance: 0 });
  });

  it('says what it did in a type designer\'s words', () => {
    expect(describeWarp(warp({ slant: 0.14, width: 1.1, weight: 0.8 }))).toBe('slanted 8° right, 10% wider, bolder');
    expect(describeWarp(warp({ slant: -0.1, height: 0.95, weight: -0.5 }))).toBe('slanted 6° left, 5% shorter, lighter');
    expect(describeWarp(IDENTITY_WARP)).toBe('');
  });
});
