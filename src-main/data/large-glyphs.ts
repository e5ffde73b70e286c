// The default dataset drawn at 128 pixels (data/default-128.glyphs.gz, built beside the 32-pixel
// set by `npm run data:build`): the same fonts and letters in the same order, four times finer.
// The upsampler learns from it, and is measured on its held-out fonts: the fonts a run on the
// default dataset validates on.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import { readGlyphSet, type GlyphSet } from './glyphset.ts';
import { DEFAULT_DATASET } from './registry.ts';
import { loadTrainingData } from './training.ts';

export const DEFAULT_LARGE_DATASET = fileURLToPath(new URL('../../data/default-128.glyphs.gz', import.meta.url));

/** Glyphs `factor` times smaller, each pixel the mean of a factor × factor block (how the fonts importer antialiases). */
export function downsampleGlyphs(pixels: Uint8Array, count: number, size: number, factor: number): Uint8Array {
  if (size % factor !== 0) throw new Error(`cannot shrink ${size}-pixel glyphs by ${factor}`);
  const small = size / factor;
  const out = new Uint8Array(count * small * small);
  const area = factor * factor;
  for (let g = 0; g < count; g++) {
    const from = g * size * size;
    for (let y = 0; y < small; y++) {
      for (let x = 0; x < small; x++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++) {
          const row = from + (y * factor + dy) * size + x * factor;
          for (let dx = 0; dx < factor; dx++) sum += pixels[row + dx];
        }
        out[g * small * small + y * small + x] = Math.round(sum / area);
      }
    }
  }
  return out;
}

export interface UpsamplingData {
  /** The 128-pixel glyphs. */
  large: GlyphSet;
  /** The same glyphs shrunk to the dataset's size (32), the upsampler's input. */
  small: Uint8Array;
  smallSize: number;
  factor: number;
  /** Item indices by the default dataset's own split: runs on it validate on the `val` fonts. */
  train: Int32Array;
  val: Int32Array;
}

/** The default dataset's 128-pixel glyphs, paired with themselves shrunk to 32 and split as runs split it. */
export async function upsamplingData(valFraction: number, largePath = DEFAULT_LARGE_DATASET): Promise<UpsamplingData> {
  if (!existsSync(largePath)) throw new UserError(`${largePath} is missing: \`npm run data:build\` writes it beside data/default.glyphs.gz`);
  const [large, split] = await Promise.all([readGlyphSet(largePath), loadTrainingData(DEFAULT_DATASET, valFraction)]);
  if (large.count !== split.set.count || large.classNames.join('') !== split.classNames.join('') || large.height % split.height !== 0) {
    throw new UserError(`${largePath} does not hold the default dataset's ${split.set.count} glyphs at a multiple of ${split.height} pixels: rebuild both with \`npm run data:build\``);
  }
  const factor = large.height / split.height;
  return { large, small: downsampleGlyphs(large.pixels, large.count, large.height, factor), smallSize: split.height, factor, train: split.train, val: split.val };
}
