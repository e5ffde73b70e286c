// How well the 128-pixel upsampler draws real letters it never saw: the default dataset's held-out
// fonts at 128 pixels, shrunk to 32 and brought back up, against the 128-pixel originals, beside
// plain bicubic upscaling of the same 32-pixel glyphs. Ink is a grey level of 128 or more.
import type { UpsamplingData } from '../data/large-glyphs.ts';
import { upsampleGlyphs, type Upsampler } from '../engine/upsampler.ts';
import { mean, pixelIoU, pixelL1 } from './style-metrics.ts';

export interface UpsamplerScore {
  glyphs: number;
  fonts: number;
  size: { from: number; to: number };
  /** Mean per-glyph pixel IoU of the ink (grey ≥ 128) with the real 128-pixel glyph. */
  iou: { upsampler: number; bicubic: number };
  /** Mean absolute grey difference, 0–1. */
  l1: { upsampler: number; bicubic: number };
}

/** Keys' cubic convolution kernel (a = −0.5, Catmull–Rom), the usual "bicubic". */
function cubicWeight(d: number): number {
  const x = Math.abs(d);
  if (x <= 1) return 1.5 * x ** 3 - 2.5 * x ** 2 + 1;
  if (x < 2) return -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2;
  return 0;
}

/**
 * Bicubic upscaling of one-channel glyphs, pixel centres aligned (output pixel centre y + ½ maps to
 * input (y + ½) / factor), edges extended: what image editors call bicubic.
 */
export function bicubicGlyphs(glyphs: Uint8Array, count: number, size: number, factor: number): Uint8Array {
  const big = size * factor;
  // Each output coordinate's four input taps and weights, the same for rows and columns.
  const taps = Array.from({ length: big }, (_, o) => {
    const at = (o + 0.5) / factor - 0.5;
    const base = Math.floor(at);
    return [-1, 0, 1, 2].map((k) => ({ index: Math.min(size - 1, Math.max(0, base + k)), weight: cubicWeight(at - (base + k)) }));
  });
  const out = new Uint8Array(count * big * big);
  const rows = new Float32Array(big * size);
  for (let g = 0; g < count; g++) {
    const src = glyphs.subarray(g * size * size, (g + 1) * size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < big; x++) rows[y * big + x] = taps[x].reduce((s, t) => s + t.weight * src[y * size + t.index], 0);
    }
    for (let y = 0; y < big; y++) {
      for (let x = 0; x < big; x++) {
        const v = taps[y].reduce((s, t) => s + t.weight * rows[t.index * big + x], 0);
        out[g * big * big + y * big + x] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

/** The upsampler and bicubic upscaling on the held-out fonts' glyphs (`limit`: at most this many). */
export async function evaluateUpsampler(u: Upsampler, data: UpsamplingData, limit = Infinity): Promise<UpsamplerScore> {
  const items = [...data.val].slice(0, limit);
  const { smallSize: size, factor, large } = data;
  const big = size * factor;
  const input = new Uint8Array(items.length * size * size);
  items.forEach((item, i) => input.set(data.small.subarray(item * size * size, (item + 1) * size * size), i * size * size));
  const ours = await upsampleGlyphs(u, input, items.length, size, items.map((item) => large.labels[item]));
  const cubic = bicubicGlyphs(input, items.length, size, factor);
  const scores = { iou: { upsampler: [] as number[], bicubic: [] as number[] }, l1: { upsampler: [] as number[], bicubic: [] as number[] } };
  items.forEach((item, i) => {
    const real = large.pixels.subarray(item * big * big, (item + 1) * big * big);
    const a = ours.subarray(i * big * big, (i + 1) * big * big);
    const b = cubic.subarray(i * big * big, (i + 1) * big * big);
    scores.iou.upsampler.push(pixelIoU(a, real));
    scores.iou.bicubic.push(pixelIoU(b, real));
    scores.l1.upsampler.push(pixelL1(a, real));
    scores.l1.bicubic.push(pixelL1(b, real));
  });
  const round = (v: number) => Number(v.toFixed(4));
  return {
    glyphs: items.length,
    fonts: new Set(items.map((item) => large.fontIds[item])).size,
    size: { from: size, to: big },
    iou: { upsampler: round(mean(scores.iou.upsampler)), bicubic: round(mean(scores.iou.bicubic)) },
    l1: { upsampler: round(mean(scores.l1.upsampler)), bicubic: round(mean(scores.l1.bicubic)) },
  };
}
