// `fontloom eval --outlines`: how a run's exported fonts look as outlines, beside real fonts. Each
// alphabet the run draws (seeds S … S+N−1, as `fontloom export --format otf --seed` would draw it)
// becomes the OTF that export writes, built in memory by the exporter itself; the real held-out
// fonts of the run's dataset go through the very same pipeline from their glyphs at the size the
// run's glyphs are traced at (128 px where the run has the default dataset's upsampler, else 32), for scale;
// font files given with --font are measured from their own outlines (eval/outline-fonts.ts).
import { existsSync } from 'node:fs';
import opentype from 'opentype.js';
import { DEFAULT_SAMPLE, type SampleOptions } from '../contract/api.ts';
import { contentHash } from '../data/glyphset.ts';
import { readRegular } from '../data/importers/files.ts';
import { FONT_CAP, parseFont } from '../data/importers/fonts.ts';
import { loadTrainingData } from '../data/training.ts';
import { loadOrTrainClassifier } from '../eval/cache.ts';
import { measureFont, summariseFonts, type FontFigures, type FontSetFigures, type LetterReader } from '../eval/outline-fonts.ts';
import { completeAlphabets } from '../eval/style-metrics.ts';
import { otfOfGlyphs } from '../export/index.ts';
import { checkLetterClasses } from '../export/otf.ts';
import { UserError } from '../errors.ts';
import { readGlyphSet, type GlyphSet } from '../data/glyphset.ts';
import { DEFAULT_LARGE_DATASET } from '../data/large-glyphs.ts';
import { drawFromCheckpoint } from './generate.ts';
import { upsamplerFor } from './upsampler.ts';
import { checkpointPath, loadRun, measuringData } from './run.ts';

/** Held-out fonts traced for scale, at most: each is a trace and a font build of 26 glyphs. */
export const REAL_FONTS = 12;

export interface EvaluateOutlinesOptions {
  weights: 'model' | 'ema';
  alphabets: number;
  seed: number;
  steps?: number;
  cfg?: number;
  /** Font files measured from their own outlines. */
  fontFiles?: string[];
  /** false: trace the glyphs at the model's size even where the run has an upsampler (today's 32-px fonts). */
  upsample?: boolean;
  onProgress?: (message: string) => void;
}

export interface OutlineRow {
  summary: FontSetFigures;
  fonts: FontFigures[];
}

export interface OutlinesReport {
  run: string;
  step: number;
  weights: string;
  sampler: SampleOptions;
  /** Pixels per glyph side as traced: the model's size, or the upsampler's. */
  tracedAt: number;
  /** The run's alphabets as `export --format otf` builds them. */
  generated: OutlineRow;
  /** Real held-out fonts' glyphs at `tracedAt` pixels through the same tracing and font build; null without held-out fonts. */
  realTraced: OutlineRow | null;
  /** Font files from their own outlines: not rendered the same way (no 32-px bitmap, no tracing). */
  fontFiles: OutlineRow | null;
  classifier: { heldOutAccuracy: number | null; fromCache: boolean };
  warnings: string[];
}

export async function evaluateRunOutlines(home: string, id: string, opts: EvaluateOutlinesOptions): Promise<OutlinesReport> {
  const run = loadRun(home, id);
  const file = checkpointPath(home, run.id);
  if (!existsSync(file)) throw new UserError(`run ${run.id} has no checkpoint yet: train it first (fontloom resume ${run.id})`);
  const dataPath = measuringData(run);
  const fontFiles = await readFontFiles(opts.fontFiles ?? []);
  const progress = opts.onProgress ?? (() => {});
  const sampler: SampleOptions = { sampler: 'ddim', steps: opts.steps ?? DEFAULT_SAMPLE.steps, cfg: opts.cfg ?? DEFAULT_SAMPLE.cfg, seed: opts.seed, eta: 0 };

  const data = await loadTrainingData(dataPath, run.valFraction);
  const classNames = data.set.classNames;
  checkLetterClasses(classNames);
  progress('loading the letter classifier (it trains once per dataset)');
  const { classifier, info, fromCache } = await loadOrTrainClassifier({
    home,
    data: { ...data, classes: classNames.length },
    dataHash: contentHash(data.set),
    valFraction: run.valFraction,
  });
  const read: LetterReader = (images, n) => classifier.predict(images, n);
  const warnings: string[] = [];
  const upsampler = opts.upsample === false ? null : upsamplerFor(home, run);
  // The real fonts at the size the run's glyphs are traced at: the default dataset drawn at 128 px.
  const realSet: GlyphSet = upsampler ? await readGlyphSet(DEFAULT_LARGE_DATASET) : data.set;
  if (realSet.count !== data.set.count) throw new UserError(`${DEFAULT_LARGE_DATASET} does not hold the run's dataset's ${data.set.count} glyphs: rebuild it with npm run data:build`);
  try {
    const generated: FontFigures[] = [];
    let step = 0;
    for (let i = 0; i < opts.alphabets; i++) {
      const seed = opts.seed + i;
      progress(`drawing alphabet ${i + 1}/${opts.alphabets} (seed ${seed})`);
      const drawn = await drawFromCheckpoint(file, run.id, { ...sampler, seed, ema: opts.weights === 'ema', upsampler });
      if (drawn.classNames.join('') !== classNames.join('')) {
        throw new UserError(`run ${run.id} draws ${drawn.classNames.join('')}, but its dataset ${dataPath} holds ${classNames.join('')}: the letters cannot be compared`);
      }
      step = drawn.step;
      const { images, size } = drawn.large ?? drawn;
      const font = await tracedFont({ images, height: size, width: size, channels: drawn.channels, classNames }, `seed ${seed}`, warnings);
      generated.push(await measureFont(font, `seed ${seed}`, classNames, read, data.height));
    }

    const held = completeAlphabets(data.set, data.val, classNames.length);
    const real: FontFigures[] = [];
    const per = realSet.height * realSet.width * realSet.channels;
    for (const [a, fontId] of held.fonts.slice(0, REAL_FONTS).entries()) {
      const name = data.set.fonts[fontId]?.name ?? `font ${fontId}`;
      progress(`tracing held-out font ${a + 1}/${Math.min(REAL_FONTS, held.fonts.length)} (${name})`);
      const images = new Uint8Array(classNames.length * per);
      for (let c = 0; c < classNames.length; c++) {
        const item = held.items[a * classNames.length + c];
        images.set(realSet.pixels.subarray(item * per, (item + 1) * per), c * per);
      }
      const font = await tracedFont({ images, height: realSet.height, width: realSet.width, channels: realSet.channels, classNames }, name, warnings);
      real.push(await measureFont(font, name, classNames, read, data.height));
    }

    const files: FontFigures[] = [];
    for (const { path, font } of fontFiles) {
      progress(`measuring ${path}`);
      const figures = await measureFont(font, path, classNames, read, data.height);
      if (figures.missing.length > 0) warnings.push(`${path} has no ${figures.missing.join(', ')}: measured on the letters it has, and read as wrong for legibility.`);
      files.push(figures);
    }

    return {
      run: run.id,
      step,
      weights: opts.weights,
      sampler,
      tracedAt: realSet.height,
      generated: { summary: summariseFonts(generated), fonts: generated },
      realTraced: real.length > 0 ? { summary: summariseFonts(real), fonts: real } : null,
      fontFiles: files.length > 0 ? { summary: summariseFonts(files), fonts: files } : null,
      classifier: { heldOutAccuracy: info.heldOutAccuracy, fromCache },
      warnings,
    };
  } finally {
    classifier.dispose();
  }
}

/** The OTF `export --format otf` would write for these glyphs (default tracing), read back as a font. */
async function tracedFont(glyphs: Parameters<typeof otfOfGlyphs>[0], name: string, warnings: string[]): Promise<opentype.Font> {
  const otf = await otfOfGlyphs(glyphs);
  warnings.push(...otf.warnings.map((w) => `${name}: ${w}`));
  return opentype.parse(otf.bytes.buffer.slice(otf.bytes.byteOffset, otf.bytes.byteOffset + otf.bytes.byteLength));
}

/** Every font file read before any drawing, so a bad path is said at once. */
async function readFontFiles(paths: readonly string[]): Promise<{ path: string; font: opentype.Font }[]> {
  const fonts = [];
  for (const path of paths) {
    const bytes = await readRegular(path, { named: true, cap: FONT_CAP });
    try {
      fonts.push({ path, font: parseFont(bytes) });
    } catch (err) {
      throw new UserError(`--font ${path} is not a font opentype.js can read (expected a .ttf, .otf or .woff file): ${(err as Error).message}`);
    }
  }
  return fonts;
}
