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

export type StyleSupport = { ok: true; fonts: number } | { ok: false; reason: string };

/**
 * Whether a glyph set can train a style model: its glyphs must be grouped by font, each font one
 * design with at most one glyph per letter, and most glyphs must have other letters of their font
 * beside them (the references). A CSV without a font column makes every row its own font; a
 * CIFAR-10 batch holds thousands of images per class.
 */
export function styleSupport(set: Pick<GlyphSet, 'fontIds' | 'labels' | 'fonts' | 'classNames'>): StyleSupport {
  const perFont = new Map<number, Set<number>>();
  const glyphs = new Map<number, number>();
  for (let i = 0; i < set.fontIds.length; i++) {
    const f = set.fontIds[i];
    (perFont.get(f) ?? perFont.set(f, new Set()).get(f)!).add(set.labels[i]);
    glyphs.set(f, (glyphs.get(f) ?? 0) + 1);
  }
  const repeated = [...glyphs].find(([f, n]) => n > 2 * perFont.get(f)!.size);
  if (repeated) {
    const [f, n] = repeated;
    return {
      ok: false,
      reason: `its groups are not fonts: "${set.fonts[f]?.name ?? f}" holds ${n} images of ${perFont.get(f)!.size} classes, where a font holds one glyph per letter`,
    };
  }
  let withOthers = 0;
  for (const [f, n] of glyphs) if (perFont.get(f)!.size >= 2) withOthers += n;
  if (withOthers < set.fontIds.length / 2) {
    return {
      ok: false,
      reason: `it does not say which glyphs share a font: ${glyphs.size} of its ${set.fontIds.length} glyphs are each their own "font" (a CSV needs a font column)`,
    };
  }
  const fonts = [...perFont.values()].filter((letters) => letters.size >= 2).length;
  return { ok: true, fonts };
}

/** Refuses a style model on a glyph set that cannot train one, naming the dataset and why. */
export function requireStyleSupport(set: Pick<GlyphSet, 'fontIds' | 'labels' | 'fonts' | 'classNames'>, dataset: string): void {
  const support = styleSupport(set);
  if (!support.ok) throw new UserError(`dataset ${dataset} cannot train a style model (--style): ${support.reason}. Train it without --style, or import it with its fonts.`);
}
