// The real glyphs a run is measured against. Held-out fonts are split in two halves by font:
// one half is the FID reference, the other stands in for a perfect generator (real vs real),
// drawn with as many glyphs per class as the model is, so both face the same small-sample bias.
import { rngFor } from '../engine/rng.ts';

export interface HeldOutHalves {
  /** Items (glyph indices) of the reference half, the same number per class where possible. */
  reference: Int32Array;
  /** Items of the other half; empty when there was only one held-out font. */
  sample: Int32Array;
  referenceFonts: number;
  sampleFonts: number;
}

/** Splits the held-out items `val` by font into two halves (the reference gets the odd font). */
export function splitHeldOut(data: { labels: Int32Array; fontIds: Int32Array }, val: Int32Array, classes: number, seed: number): HeldOutHalves {
  const fonts = [...new Set(Array.from(val, (i) => data.fontIds[i]))].sort((a, b) => a - b);
  const order = rngFor(seed, 'held-out-halves').permutation(fonts.length);
  const referenceFonts = new Set<number>();
  for (let i = 0; i < Math.ceil(fonts.length / 2); i++) referenceFonts.add(fonts[order[i]]);
  const reference = val.filter((i) => referenceFonts.has(data.fontIds[i]));
  const sample = val.filter((i) => !referenceFonts.has(data.fontIds[i]));
  const counts = classCounts(data.labels, reference, classes).filter((c) => c > 0);
  return {
    reference: pickPerClass(data.labels, reference, classes, Math.min(...counts), seed),
    sample,
    referenceFonts: referenceFonts.size,
    sampleFonts: fonts.length - referenceFonts.size,
  };
}

function classCounts(labels: Int32Array, items: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const i of items) counts[labels[i]] += 1;
  return counts;
}

/** Up to `perClass` items of each class, drawn without replacement by a seeded shuffle, class by class. */
export function pickPerClass(labels: Int32Array, items: Int32Array, classes: number, perClass: number, seed: number): Int32Array {
  const shuffled = Array.from(rngFor(seed, 'pick-per-class').permutation(items.length), (k) => items[k]);
  const taken = new Array<number>(classes).fill(0);
  const picked: number[] = [];
  for (const i of shuffled) {
    if (taken[labels[i]] < perClass) {
      taken[labels[i]] += 1;
      picked.push(i);
    }
  }
  return Int32Array.from(picked.sort((a, b) => labels[a] - labels[b] || a - b));
}
