// Completion's starting point: the training font whose given letters look most like the user's
// once reshaped to them. The FIT_CANDIDATES fonts nearest by pixels (distance after centring each
// glyph on its ink, the measure the retrieval baseline of `fontloom eval --style` uses) each have
// their slant, width, height and stroke weight fitted to the given letters (data/glyph-warp.ts);
// the one that then matches best wins. Completion draws the missing letters from that font's
// reshaped letters partly noised, in the style read from the given letters (engine/diffusion.ts:
// StartFrom), so the model adapts real letterforms instead of inventing each one from noise.
import { loadStyleData, nearestAlphabets, retrievalFonts, type RetrievalFonts } from '../eval/style-evaluate.ts';
import { centreGlyph, completeAlphabets, pixelSquaredDistance, type GlyphShape } from '../eval/style-metrics.ts';
import { inkField, warpField, warpGlyph, type InkField } from '../data/glyph-warp.ts';
import { UserError } from '../errors.ts';
import { COMPLETION_COVER, IDENTITY_WARP, type GlyphWarp } from '../contract/api.ts';
import { strengthFor, type StartFrom } from '../engine/diffusion.ts';
import type { NoiseSchedule } from '../engine/schedule.ts';

export interface NearestFont {
  fontId: number;
  /** Its root-mean-square pixel error on the given letters (centred, reshaped), on the [−1, 1] scale. */
  rms: number;
  /** The font's name in the dataset. */
  font: string;
  /** How its letters were reshaped to the given ones (IDENTITY_WARP where that did not help). */
  warp: GlyphWarp;
  /** Its whole alphabet reshaped (every class, class order), uint8 glyphs. */
  alphabet: Uint8Array;
}

/**
 * How many of the nearest fonts by pixels are reshaped and compared. On the 24 held-out fonts of
 * the default dataset that `fontloom eval --style` does not score, completing from HAMB
 * (`scripts/tune-completion.ts --from 12 --fonts 24 --candidates 1,4,8,16`), the reshaped start
 * alone scored IoU 0.702 for 4 and 8 candidates and 0.705 for 16, against 0.688 for the nearest
 * font reshaped and 0.659 for it as it is (the retrieval baseline).
 */
export const FIT_CANDIDATES = 8;

/** The range each warp parameter is searched over, and its first step. */
const WARP_SEARCH: Record<keyof GlyphWarp, { min: number; max: number; step: number }> = {
  slant: { min: -0.4, max: 0.4, step: 0.1 },
  width: { min: 0.7, max: 1.4, step: 0.1 },
  height: { min: 0.8, max: 1.25, step: 0.06 },
  weight: { min: -2.5, max: 2.5, step: 0.6 },
};

export interface FontIndex {
  /** Training fonts with every letter. */
  fonts: number;
  size: number;
  channels: number;
  classNames: readonly string[];
  /** The best reshaped of the `candidates` (default FIT_CANDIDATES) fonts nearest by pixels. */
  nearest(given: Map<number, Uint8Array>, candidates?: number): NearestFont;
}

let cached: { key: string; index: Promise<FontIndex> } | null = null;

/**
 * The training fonts of a run's dataset (its training split: held-out fonts are never answers),
 * indexed once per process for repeated completions.
 */
export function trainingFontIndex(dataPath: string, valFraction: number): Promise<FontIndex> {
  const key = `${dataPath}\n${valFraction}`;
  if (cached?.key !== key) {
    const index = buildIndex(dataPath, valFraction);
    cached = { key, index };
    index.catch(() => {
      if (cached?.index === index) cached = null;
    });
  }
  return cached.index;
}

async function buildIndex(dataPath: string, valFraction: number): Promise<FontIndex> {
  const data = await loadStyleData(dataPath, valFraction);
  const training = completeAlphabets(data, data.train, data.classNames.length);
  if (training.fonts.length === 0) throw new UserError(`${dataPath}: none of its training fonts has all ${data.classNames.length} letters, so there is no font to start a completion from`);
  const index: RetrievalFonts = retrievalFonts(data, training);
  return {
    fonts: training.fonts.length,
    size: data.height,
    channels: data.channels,
    classNames: data.classNames,
    nearest(given, candidates = FIT_CANDIDATES) {
      if (given.size === 0) throw new Error('nearest font: no letter given');
      const shape = { size: data.height, channels: data.channels };
      const per = data.height * data.width * data.channels;
      const targets = [...given].map(([c, g]) => ({ c, centred: centreGlyph(g, shape) }));
      const fitted = nearestAlphabets(index, given, candidates).map((n) => {
        const letters = targets.map(({ c }) => n.alphabet.subarray(c * per, (c + 1) * per));
        return { ...n, ...fitWarp(letters, targets.map((t) => t.centred), shape, n.distance) };
      });
      const best = fitted.reduce((a, b) => (b.distance < a.distance ? b : a));
      return {
        fontId: best.fontId,
        font: data.set.fonts[best.fontId]?.name ?? `font ${best.fontId}`,
        rms: rmsError(best.distance, given.size * per),
        warp: best.warp,
        alphabet: warpAlphabet(best.alphabet, shape, best.warp),
      };
    },
  };
}

/**
 * The warp that brings `letters` nearest to `targets` (each centred on its ink; summed squared
 * pixel distance), by a pattern search that halves its steps three times; the identity, with the
 * letters as they are, where no warp beats `asIs` (their distance unwarped).
 */
export function fitWarp(letters: Uint8Array[], targets: Uint8Array[], shape: GlyphShape, asIs: number): { warp: GlyphWarp; distance: number } {
  if (shape.channels !== 1) return { warp: { ...IDENTITY_WARP }, distance: asIs };
  const fields: InkField[] = letters.map((g) => inkField(g, shape.size));
  const cost = (w: GlyphWarp) => fields.reduce((sum, f, i) => sum + pixelSquaredDistance(centreGlyph(warpField(f, w), shape), targets[i]), 0);
  const keys = Object.keys(WARP_SEARCH) as (keyof GlyphWarp)[];
  const step = Object.fromEntries(keys.map((k) => [k, WARP_SEARCH[k].step])) as Record<keyof GlyphWarp, number>;
  let warp: GlyphWarp = { ...IDENTITY_WARP };
  let best = cost(warp);
  for (let round = 0; round < 3; round++) {
    for (let moved = true; moved; ) {
      moved = false;
      for (const k of keys) {
        for (const dir of [1, -1]) {
          const v = warp[k] + dir * step[k];
          if (v < WARP_SEARCH[k].min - 1e-9 || v > WARP_SEARCH[k].max + 1e-9) continue;
          const tried = { ...warp, [k]: v };
          const c = cost(tried);
          if (c < best) {
            best = c;
            warp = tried;
            moved = true;
            break;
          }
        }
      }
    }
    for (const k of keys) step[k] /= 2;
  }
  return best < asIs ? { warp, distance: best } : { warp: { ...IDENTITY_WARP }, distance: asIs };
}

/** Every glyph of an alphabet reshaped by `warp`; the alphabet itself for the identity. */
export function warpAlphabet(alphabet: Uint8Array, shape: GlyphShape, warp: GlyphWarp): Uint8Array {
  if (isIdentity(warp) || shape.channels !== 1) return alphabet;
  const per = shape.size * shape.size;
  const out = new Uint8Array(alphabet.length);
  for (let at = 0; at < alphabet.length; at += per) out.set(warpGlyph(alphabet.subarray(at, at + per), shape.size, warp), at);
  return out;
}

function isIdentity(w: GlyphWarp): boolean {
  return w.slant === 0 && w.width === 1 && w.height === 1 && w.weight === 0;
}

/**
 * A completion's start from its nearest font's letters (uint8 glyphs, as drawn): noised by
 * `strength` where one is asked for, else just enough to cover the font's error on the given
 * letters (COMPLETION_COVER).
 */
export function completionStartFrom(schedule: NoiseSchedule, nearest: Pick<NearestFont, 'rms'>, glyphs: Uint8Array, strength?: number): StartFrom {
  return { x0: glyphsAsStart(glyphs), strength: strength ?? strengthFor(schedule, nearest.rms, COMPLETION_COVER) };
}

/** A summed squared distance of 0..255 pixels as a root-mean-square error on the [−1, 1] scale. */
export function rmsError(squaredDistance: number, pixels: number): number {
  return (2 * Math.sqrt(squaredDistance / pixels)) / 255;
}

/** uint8 glyphs (0..255) as the [−1, 1] floats a start takes. */
export function glyphsAsStart(glyphs: Uint8Array): Float32Array {
  return Float32Array.from(glyphs, (v) => v / 127.5 - 1);
}
