// What a run's glyphs are worth, in three numbers a person checks by eye on a sample sheet:
// - legibility: the share the letter classifier reads as the letter asked for;
// - glyph FID: the Fréchet distance between Gaussian fits of the classifier's penultimate
//   features of the generated glyphs and of real held-out glyphs. It is a dataset-specific FID
//   (this classifier, this dataset, 128 features), NOT comparable with Inception FID or with
//   FIDs on another dataset, and biased upwards by small samples: compare it only with
//   numbers computed with the same classifier, reference and glyph count (the baselines);
// - diversity: the mean pairwise distance between glyphs of one letter, as the root mean
//   square difference of their pixels scaled to [0, 1] (0: identical glyphs, a collapsed
//   model; real fonts of one letter differ by some 0.2–0.4 on this scale).
import { FEATURES, type Classifier } from './classifier.ts';
import { fitGaussian, frechetDistance } from './frechet.ts';

/** Glyphs (uint8 NHWC, white on black) with a class per glyph. */
export interface GlyphBatch {
  images: Uint8Array;
  labels: ArrayLike<number>;
}

export interface Legibility {
  /** Share of all generated glyphs read as the class asked for. */
  overall: number;
  /** The same per class; null for a class that was not asked for. */
  perClass: Array<number | null>;
}

export interface RunMetrics {
  /** Glyphs evaluated. */
  count: number;
  legibility: number;
  /** Legibility per class; null for a class that was not asked for. */
  perClass: Array<number | null>;
  /** Glyph FID against the real reference glyphs (dataset-specific; lower is closer). */
  fid: number;
  /** Mean over classes of the mean pairwise RMS pixel distance; null with under 2 glyphs per class. */
  diversity: number | null;
  perClassDiversity: Array<number | null>;
}

export async function legibility(classifier: Classifier, images: Uint8Array, asked: ArrayLike<number>): Promise<Legibility> {
  const classes = classifier.shape.classes;
  const read = await classifier.predict(images, asked.length);
  const hits = new Array<number>(classes).fill(0);
  const totals = new Array<number>(classes).fill(0);
  let correct = 0;
  for (let i = 0; i < asked.length; i++) {
    totals[asked[i]] += 1;
    if (read[i] === asked[i]) {
      hits[asked[i]] += 1;
      correct += 1;
    }
  }
  return { overall: correct / asked.length, perClass: hits.map((h, k) => (totals[k] ? h / totals[k] : null)) };
}

/** Mean pairwise RMS pixel distance (pixels in [0, 1]) among the glyphs of each class. */
export function diversity(glyphs: GlyphBatch, classes: number, perImage: number): { overall: number | null; perClass: Array<number | null> } {
  const members: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < glyphs.labels.length; i++) members[glyphs.labels[i]].push(i);
  const perClass = members.map((items) => {
    if (items.length < 2) return null;
    let sum = 0;
    let pairs = 0;
    for (let a = 0; a < items.length; a++) {
      for (let b = a + 1; b < items.length; b++) {
        const x = items[a] * perImage;
        const y = items[b] * perImage;
        let sq = 0;
        for (let k = 0; k < perImage; k++) sq += (glyphs.images[x + k] - glyphs.images[y + k]) ** 2;
        sum += Math.sqrt(sq / perImage) / 255;
        pairs += 1;
      }
    }
    return sum / pairs;
  });
  const known = perClass.filter((d): d is number => d !== null);
  return { overall: known.length ? known.reduce((a, b) => a + b, 0) / known.length : null, perClass };
}

/**
 * Legibility, glyph FID and diversity of `images` (asked[i] is the class glyph i was drawn
 * for), with `real` glyphs as the FID reference. Real glyphs evaluated the same way (asked =
 * their labels) give the reference point a model is judged against.
 */
export async function evaluateGlyphs(input: {
  images: Uint8Array;
  asked: ArrayLike<number>;
  classifier: Classifier;
  real: GlyphBatch;
}): Promise<RunMetrics> {
  const { images, asked, classifier, real } = input;
  const { classes, size, channels } = classifier.shape;
  const perImage = size * size * channels;
  const count = asked.length;
  if (count < 2 || real.labels.length < 2) throw new Error(`glyph FID needs at least 2 generated and 2 real glyphs, got ${count} and ${real.labels.length}`);
  const read = await legibility(classifier, images, asked);
  const generated = fitGaussian(await classifier.features(images, count), count, FEATURES);
  const reference = fitGaussian(await classifier.features(real.images, real.labels.length), real.labels.length, FEATURES);
  const spread = diversity({ images, labels: asked }, classes, perImage);
  return {
    count,
    legibility: read.overall,
    perClass: read.perClass,
    fid: frechetDistance(generated, reference),
    diversity: spread.overall,
    perClassDiversity: spread.perClass,
  };
}

/** The glyphs `items` (indices into `pixels`) as one batch. */
export function gatherGlyphs(data: { pixels: Uint8Array; labels: Int32Array }, items: ArrayLike<number>, perImage: number): GlyphBatch {
  const images = new Uint8Array(items.length * perImage);
  const labels = new Int32Array(items.length);
  for (let i = 0; i < items.length; i++) {
    images.set(data.pixels.subarray(items[i] * perImage, (items[i] + 1) * perImage), i * perImage);
    labels[i] = data.labels[items[i]];
  }
  return { images, labels };
}
