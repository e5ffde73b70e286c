// Completion's starting point: the training font whose given letters look most like the user's
// (pixel distance after centring each glyph on its ink, the same measure the retrieval baseline
// of `fontloom eval --style` uses). Completion draws the missing letters from that font's letters
// partly noised, in the style read from the given ones (engine/diffusion.ts: StartFrom), so the
// model adapts real letterforms instead of inventing each one from noise.
import { loadStyleData, nearestAlphabets, retrievalFonts, type RetrievalFonts } from '../eval/style-evaluate.ts';
import { completeAlphabets } from '../eval/style-metrics.ts';
import { UserError } from '../errors.ts';
import { COMPLETION_COVER } from '../contract/api.ts';
import { strengthFor, type StartFrom } from '../engine/diffusion.ts';
import type { NoiseSchedule } from '../engine/schedule.ts';

export interface NearestFont {
  fontId: number;
  /** Its root-mean-square pixel error on the given letters (centred), on the [−1, 1] scale. */
  rms: number;
  /** The font's name in the dataset. */
  font: string;
  /** Its whole alphabet (every class, class order), uint8 glyphs as stored. */
  alphabet: Uint8Array;
}

export interface FontIndex {
  /** Training fonts with every letter. */
  fonts: number;
  size: number;
  channels: number;
  classNames: readonly string[];
  nearest(given: Map<number, Uint8Array>): NearestFont;
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
    nearest(given) {
      if (given.size === 0) throw new Error('nearest font: no letter given');
      const [{ fontId, distance, alphabet }] = nearestAlphabets(index, given, 1);
      return { fontId, font: data.set.fonts[fontId]?.name ?? `font ${fontId}`, rms: rmsError(distance, given.size * data.height * data.width * data.channels), alphabet };
    },
  };
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
