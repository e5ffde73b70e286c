// The glyphs a run trains on: a glyph set, checked for what the UNet can take, split by font into
// training and validation items.
import type { TrainingData } from '../engine/train.ts';
import { UserError } from '../errors.ts';
import { contentHash, readGlyphSet, splitByFont, type GlyphSet } from './glyphset.ts';

/**
 * The glyph set a run trains on, checked for what the UNet can take. Validation fonts follow
 * from the set's content hash, so every run on one dataset is validated on the same fonts.
 */
export async function loadTrainingData(path: string, valFraction: number): Promise<TrainingData & { set: GlyphSet }> {
  const set = await readGlyphSet(path);
  if (set.height !== set.width || set.height % 8 !== 0) {
    throw new UserError(`${path}: images are ${set.height}×${set.width}; Fontloom's UNet needs square images whose side is a multiple of 8 (e.g. 32×32)`);
  }
  const fonts = new Set(set.fontIds).size;
  const seed = Number.parseInt(contentHash(set).slice(0, 8), 16);
  const split = fonts >= 2 || set.heldOutFonts?.length ? splitByFont(set, valFraction, seed) : { train: Int32Array.from(set.labels, (_, i) => i), val: new Int32Array(0) };
  return { ...set, train: split.train, val: split.val, set };
}
