// Measures a style-conditioned model through a StyleDrawer (the model abstracted away): are its
// invented alphabets each one style (consistency), different from each other (variety), and not
// a training font copied (novelty), beside the same figures for letter-by-letter drawing (the
// "before") and for real held-out fonts (the scale)? And given four letters of a held-out font,
// does it draw the other 22 better than the retrieval baseline, the training font whose four
// letters look most alike? Figures are read with the dataset's style judge (eval/style-judge.ts).
import { contentHash, type GlyphSet } from '../data/glyphset.ts';
import { loadTrainingData } from '../data/training.ts';
import { rngFor } from '../engine/rng.ts';
import { UserError } from '../errors.ts';
import { loadOrTrainStyleJudge, type CachedStyleJudge, type StyleCalibration, type StyleData, type StyleJudge } from './style-judge.ts';
import {
  alphabetCentroids,
  alphabetSimilarities,
  calibrate,
  centreGlyph,
  centroid,
  completeAlphabets,
  cosine,
  mean,
  median,
  nearestCentroid,
  quantile,
  pixelIoU,
  pixelL1,
  pixelSquaredDistance,
  row,
  span,
  variety,
  type Alphabets,
  type GlyphShape,
} from './style-metrics.ts';
import { gatherGlyphs } from './metrics.ts';

export interface StyleDrawer {
  /** n alphabets, each in its own invented style: n × classes glyphs, alphabet-major (alphabet i, class c at i·classes + c), uint8 NHWC. */
  invent(n: number, seed: number): Promise<Uint8Array>;
  /** n alphabets drawn letter by letter without a style (today's sampling), same layout — the "before" figures. */
  perLetter(n: number, seed: number): Promise<Uint8Array>;
  /** One alphabet in the style of the given glyphs (class index → glyph, uint8 size×size×channels): all classes, given ones included (the caller may overwrite them). */
  complete(given: Map<number, Uint8Array>, seed: number): Promise<Uint8Array>;
}

export interface StyleEvalOptions {
  /** Fontloom's home folder: the style judge is cached in its classifiers/ folder. */
  home: string;
  /** The glyph set the model trained on, and the share of its fonts held out. */
  dataPath: string;
  valFraction: number;
  drawer: StyleDrawer;
  /** Alphabets drawn by invent and by perLetter (e.g. 8). */
  alphabets: number;
  seed: number;
  /** The letters completion starts from, e.g. "HAMB". */
  given: string;
  /** How many held-out fonts to complete (default: all, at most 12). */
  completionFonts?: number;
  /** Whole alphabets (every class, class order) of fonts outside the dataset, to complete as the held-out ones. */
  outsideFonts?: { name: string; alphabet: Uint8Array }[];
  /** The letter classifier's reader: the share of glyphs read as their label. Reported when given. */
  legibility?: (images: Uint8Array, labels: number[]) => Promise<number>;
  onProgress?: (message: string) => void;
}

/** A font of the dataset. */
export interface FontRef {
  fontId: number;
  font: string;
}

/** An alphabet's nearest training font by centroid cosine distance. */
export interface NearestFont extends FontRef {
  distance: number;
}

/** How a set of alphabets reads in the judge's embedding. */
export interface AlphabetFigures {
  alphabets: number;
  /** Calibrated within-alphabet similarity: 1 reads as one real font, 0 as letters of random fonts. */
  consistency: { mean: number; perAlphabet: number[] };
  /**
   * Mean cosine distance between the alphabets' centroids (raw; null for one alphabet) and its
   * ratio to the real held-out fonts' figure (≥ 0.8 is the goal for invented alphabets).
   */
  variety: { raw: number | null; ratio: number | null };
  /**
   * Each alphabet's nearest training font, the median distance, and how many alphabets sit
   * nearer a training font than 9 in 10 real held-out fonts do (under realHeldOut.novelty.p10):
   * about a tenth for alphabets as new as real fonts, most of them for copies.
   */
  novelty: { perAlphabet: NearestFont[]; median: number; nearerThanRealP10: number };
  /** Share of the glyphs the letter classifier reads as the letter asked for (when a reader was given). */
  legibility?: number;
}

/** IoU and L1 of centred pixels, and the calibrated style score (1: the real font's own letters; 0: other fonts' letters). */
export interface CompletionScore {
  iou: number;
  l1: number;
  style: number;
}

export interface StyleReport {
  classNames: string[];
  judge: {
    version: number;
    fromCache: boolean;
    retrainedBecause?: string;
    path: string;
    /** Loading, or training and calibrating, in this call. */
    seconds: number;
    /** Seconds its training took when it was trained (this call or an earlier one). */
    trainSeconds: number;
    trainFonts: number;
    /** Share of the training fonts' held-out glyphs whose font it names from that glyph alone. */
    heldOutFontAccuracy: number | null;
    heldOutGlyphs: number;
  };
  /** The judge's scales: s_real and s_random (alphabet), and the letter-to-centroid pair the style score uses. */
  calibration: StyleCalibration;
  /** Training fonts with every letter (novelty and retrieval compare with these), and how many lack one. */
  trainingFonts: { fonts: number; skipped: number };
  invented: AlphabetFigures;
  perLetter: AlphabetFigures;
  /** The held-out fonts with every letter, scored as alphabets: the scale the others are read on. */
  realHeldOut: {
    fonts: number;
    skipped: number;
    /** ≈ 1 by construction (the calibration's real fonts). */
    consistency: number;
    variety: number | null;
    /** Each held-out font's nearest training font distance: what "not copied" looks like (10th percentile, median). */
    novelty: { p10: number; median: number };
  };
  completion: {
    /** The letters given, e.g. "HAMB". */
    given: string;
    fonts: Array<FontRef & { model: CompletionScore; retrieval: CompletionScore; retrievedFrom: FontRef }>;
    /** Means over the fonts of the scores over the letters not given. */
    model: CompletionScore;
    retrieval: CompletionScore;
    /** Whether the model scores above the retrieval baseline. */
    beats: { iou: boolean; style: boolean };
    /** Fonts from outside the dataset (e.g. a font file the user names), completed and scored the same way. */
    outside: Array<{ font: string; model: CompletionScore; retrieval: CompletionScore; retrievedFrom: FontRef; beats: { iou: boolean; style: boolean } }>;
  };
  seconds: { judge: number; drawing: number; scoring: number; total: number };
}

/**
 * Scores one completed alphabet against the real one (both `classes` glyphs in class order) on
 * the letters not given: pixel IoU and L1 after centring, and the style score.
 */
export async function scoreCompletion(judge: StyleJudge, generated: Uint8Array, real: Uint8Array, givenClasses: Iterable<number>): Promise<CompletionScore> {
  const shape: GlyphShape = { size: judge.shape.size, channels: judge.shape.channels };
  const per = shape.size * shape.size * shape.channels;
  const classes = real.length / per;
  if (!Number.isInteger(classes) || generated.length !== real.length) {
    throw new Error(`scoreCompletion: the generated alphabet has ${generated.length} bytes, the real one ${real.length}; both should be whole alphabets of ${per}-byte glyphs`);
  }
  const given = new Set(givenClasses);
  const scored = span(0, classes).filter((c) => !given.has(c));
  if (scored.length === 0) throw new Error('scoreCompletion: every letter was given; nothing is left to score');
  const glyph = (a: Uint8Array, c: number) => a.subarray(c * per, (c + 1) * per);
  let iou = 0;
  let l1 = 0;
  for (const c of scored) {
    const g = centreGlyph(glyph(generated, c), shape);
    const r = centreGlyph(glyph(real, c), shape);
    iou += pixelIoU(g, r);
    l1 += pixelL1(g, r);
  }
  const realCentroid = centroid(await judge.embed(real, classes), span(0, classes));
  const drawn = await judge.embed(Buffer.concat(scored.map((c) => glyph(generated, c))), scored.length);
  const raw = mean(scored.map((_, k) => cosine(row(drawn, k), realCentroid)));
  return { iou: iou / scored.length, l1: l1 / scored.length, style: calibrate(raw, judge.calibration.letter) };
}

/** Training fonts with every letter, their glyphs centred once, to answer retrieval. */
export interface RetrievalFonts {
  shape: GlyphShape;
  classes: number;
  /** Font id of each alphabet. */
  fonts: number[];
  /** The alphabets' glyphs, alphabet-major, as stored. */
  alphabets: Uint8Array;
  /** The same glyphs, each centred on its ink. */
  centred: Uint8Array;
}

export function retrievalFonts(data: StyleData, training: Alphabets): RetrievalFonts {
  const shape: GlyphShape = { size: data.height, channels: data.channels };
  const per = data.height * data.width * data.channels;
  const alphabets = gatherGlyphs(data, training.items, per).images;
  const centred = new Uint8Array(alphabets.length);
  for (let i = 0; i < training.items.length; i++) centred.set(centreGlyph(alphabets.subarray(i * per, (i + 1) * per), shape), i * per);
  return { shape, classes: training.classes, fonts: training.fonts, alphabets, centred };
}

/**
 * The retrieval baseline: the training font whose given letters are nearest to `given` (pixel
 * L2 after centring), and its whole alphabet as the answer.
 */
export function retrieveCompletion(index: RetrievalFonts, given: Map<number, Uint8Array>): { fontId: number; alphabet: Uint8Array } {
  return nearestAlphabets(index, given, 1)[0];
}

/**
 * The k training fonts whose given letters are nearest to `given` (pixel L2 after centring),
 * nearest first, each with its distance and whole alphabet.
 */
export function nearestAlphabets(index: RetrievalFonts, given: Map<number, Uint8Array>, k: number): { fontId: number; distance: number; alphabet: Uint8Array }[] {
  const per = index.shape.size * index.shape.size * index.shape.channels;
  const wanted = [...given].map(([c, g]) => [c, centreGlyph(g, index.shape)] as const);
  const distances = index.fonts.map((_, a) => {
    let d = 0;
    for (const [c, g] of wanted) {
      const at = (a * index.classes + c) * per;
      d += pixelSquaredDistance(g, index.centred.subarray(at, at + per));
    }
    return { a, d };
  });
  distances.sort((x, y) => x.d - y.d || x.a - y.a);
  const alphabetBytes = index.classes * per;
  return distances.slice(0, Math.max(1, k)).map(({ a, d }) => ({ fontId: index.fonts[a], distance: d, alphabet: index.alphabets.slice(a * alphabetBytes, (a + 1) * alphabetBytes) }));
}

/** Class indices of the given letters; a letter the dataset lacks, or all of them, is the user's error. */
export function givenClasses(given: string, classNames: readonly string[]): number[] {
  const letters = [...new Set([...given])];
  const unknown = letters.filter((l) => !classNames.includes(l));
  if (unknown.length) throw new UserError(`the given letters "${given}" include ${unknown.join(', ')}, which this dataset does not have (it has ${classNames.join('')})`);
  if (letters.length === 0 || letters.length >= classNames.length) throw new UserError(`give between 1 and ${classNames.length - 1} letters to complete a font from, not "${given}"`);
  return letters.map((l) => classNames.indexOf(l));
}

/** What generated alphabets are read against: the training fonts, and the held-out fonts' figures. */
interface Reference {
  judge: StyleJudge;
  classes: number;
  fontName: (id: number) => string;
  training: Alphabets;
  trainingCentroids: Float32Array[];
  held: Alphabets;
  realHeldOut: StyleReport['realHeldOut'];
}

async function referenceOf(judge: StyleJudge, data: StyleData, training: Alphabets, held: Alphabets, fontName: (id: number) => string): Promise<Reference> {
  const classes = data.classNames.length;
  const glyphs = (items: Int32Array) => gatherGlyphs(data, items, data.height * data.width * data.channels).images;
  const trainingCentroids = alphabetCentroids(await judge.embed(glyphs(training.items), training.items.length), training.fonts.length, classes);
  const heldEmbeddings = await judge.embed(glyphs(held.items), held.items.length);
  const heldCentroids = alphabetCentroids(heldEmbeddings, held.fonts.length, classes);
  const heldNovelty = heldCentroids.map((c) => nearestCentroid(c, trainingCentroids).distance);
  const realHeldOut: StyleReport['realHeldOut'] = {
    fonts: held.fonts.length,
    skipped: held.skipped,
    consistency: mean(alphabetSimilarities(heldEmbeddings, held.fonts.length, classes).map((s) => calibrate(s, judge.calibration.alphabet))),
    variety: variety(heldCentroids),
    novelty: { p10: quantile(heldNovelty, 0.1), median: median(heldNovelty) },
  };
  return { judge, classes, fontName, training, trainingCentroids, held, realHeldOut };
}

async function alphabetFigures(ref: Reference, images: Uint8Array, n: number, legibility: StyleEvalOptions['legibility']): Promise<AlphabetFigures> {
  const { judge, classes, realHeldOut } = ref;
  const expected = n * classes * judge.shape.size * judge.shape.size * judge.shape.channels;
  if (images.length !== expected) throw new Error(`the drawer gave ${images.length} bytes for ${n} alphabets of ${classes} glyphs; expected ${expected}`);
  const e = await judge.embed(images, n * classes);
  const consistency = alphabetSimilarities(e, n, classes).map((s) => calibrate(s, judge.calibration.alphabet));
  const centroids = alphabetCentroids(e, n, classes);
  const raw = variety(centroids);
  const nearest = centroids.map((c) => {
    const { index, distance } = nearestCentroid(c, ref.trainingCentroids);
    const fontId = ref.training.fonts[index];
    return { fontId, font: ref.fontName(fontId), distance };
  });
  return {
    alphabets: n,
    consistency: { mean: mean(consistency), perAlphabet: consistency },
    variety: { raw, ratio: raw !== null && realHeldOut.variety ? raw / realHeldOut.variety : null },
    novelty: {
      perAlphabet: nearest,
      median: median(nearest.map((x) => x.distance)),
      nearerThanRealP10: nearest.filter((x) => x.distance < realHeldOut.novelty.p10).length,
    },
    ...(legibility && { legibility: await legibility(images, span(0, n * classes).map((i) => i % classes)) }),
  };
}

/**
 * Held-out fonts completion is scored on: a fixed shuffle of those with every letter, the first
 * `count`. The rest of the shuffle (`from` = count) are never scored: completion's settings are
 * tuned on those (scripts/tune-completion.ts).
 */
export function completionFonts(held: Alphabets, count: number, from = 0): number[] {
  const order = rngFor(0, 'style-completion-fonts').permutation(held.fonts.length);
  return Array.from(order.subarray(Math.min(from, held.fonts.length), Math.min(from + count, held.fonts.length)));
}

function meanScore(scores: CompletionScore[]): CompletionScore {
  return { iou: mean(scores.map((s) => s.iou)), l1: mean(scores.map((s) => s.l1)), style: mean(scores.map((s) => s.style)) };
}

type Draw = <T>(what: string, f: () => Promise<T>) => Promise<T>;

/** The model and the retrieval baseline complete held-out fonts from the given letters; both scored on the rest. */
async function completionFigures(ref: Reference, data: StyleData, given: number[], opts: StyleEvalOptions, draw: Draw): Promise<StyleReport['completion']> {
  const { classes, held, fontName } = ref;
  const index = retrievalFonts(data, ref.training);
  const per = data.height * data.width * data.channels;
  const chosen = completionFonts(held, opts.completionFonts ?? 12);
  const fonts: StyleReport['completion']['fonts'] = [];
  for (const [k, a] of chosen.entries()) {
    const real = gatherGlyphs(data, held.items.subarray(a * classes, (a + 1) * classes), per).images;
    const givenGlyphs = new Map(given.map((c) => [c, real.slice(c * per, (c + 1) * per)]));
    const drawn = await draw(`a completion of ${fontName(held.fonts[a])} from ${opts.given} (${k + 1}/${chosen.length})`, () => opts.drawer.complete(givenGlyphs, opts.seed + k));
    if (drawn.length !== real.length) throw new Error(`the drawer completed an alphabet of ${drawn.length} bytes; expected ${real.length}`);
    const retrieved = retrieveCompletion(index, givenGlyphs);
    fonts.push({
      fontId: held.fonts[a],
      font: fontName(held.fonts[a]),
      model: await scoreCompletion(ref.judge, drawn, real, given),
      retrieval: await scoreCompletion(ref.judge, retrieved.alphabet, real, given),
      retrievedFrom: { fontId: retrieved.fontId, font: fontName(retrieved.fontId) },
    });
  }
  const model = meanScore(fonts.map((f) => f.model));
  const retrieval = meanScore(fonts.map((f) => f.retrieval));
  const outside: StyleReport['completion']['outside'] = [];
  for (const [k, font] of (opts.outsideFonts ?? []).entries()) {
    if (font.alphabet.length !== classes * per) throw new Error(`${font.name}: expected ${classes} glyphs of ${per} bytes`);
    const givenGlyphs = new Map(given.map((c) => [c, font.alphabet.slice(c * per, (c + 1) * per)]));
    const drawn = await draw(`a completion of ${font.name} from ${opts.given}`, () => opts.drawer.complete(givenGlyphs, opts.seed + chosen.length + k));
    const retrieved = retrieveCompletion(index, givenGlyphs);
    const m = await scoreCompletion(ref.judge, drawn, font.alphabet, given);
    const r = await scoreCompletion(ref.judge, retrieved.alphabet, font.alphabet, given);
    outside.push({ font: font.name, model: m, retrieval: r, retrievedFrom: { fontId: retrieved.fontId, font: fontName(retrieved.fontId) }, beats: { iou: m.iou > r.iou, style: m.style > r.style } });
  }
  return {
    given: given.map((c) => data.classNames[c]).join(''),
    fonts,
    model,
    retrieval,
    beats: { iou: model.iou > retrieval.iou, style: model.style > retrieval.style },
    outside,
  };
}

/** A glyph set's glyphs with their fonts, split as training splits it (data/training.ts). */
export async function loadStyleData(dataPath: string, valFraction: number): Promise<StyleData & { set: GlyphSet }> {
  const loaded = await loadTrainingData(dataPath, valFraction);
  return { ...loaded, fontIds: loaded.set.fontIds };
}

/** The set's style judge, from the cache or trained and calibrated (minutes on the default set). */
export function styleJudgeFor(home: string, data: StyleData & { set: GlyphSet }, valFraction: number, onProgress?: (message: string) => void): Promise<CachedStyleJudge> {
  return loadOrTrainStyleJudge({
    home,
    data,
    dataHash: contentHash(data.set),
    valFraction,
    onEpoch: (epoch, epochs, loss) => onProgress?.(`training the style judge on ${data.train.length} glyphs: epoch ${epoch}/${epochs}, loss ${loss.toFixed(3)}`),
  });
}

export async function evaluateStyle(opts: StyleEvalOptions): Promise<StyleReport> {
  const started = performance.now();
  const since = (t: number) => Math.round(performance.now() - t) / 1000;
  if (!(Number.isInteger(opts.alphabets) && opts.alphabets >= 1)) throw new UserError(`alphabets must be a whole number of at least 1, got ${opts.alphabets}`);
  const data = await loadStyleData(opts.dataPath, opts.valFraction);
  const classes = data.classNames.length;
  const given = givenClasses(opts.given, data.classNames);
  const training = completeAlphabets(data, data.train, classes);
  if (training.fonts.length === 0) throw new UserError(`none of the ${training.skipped} training fonts of ${opts.dataPath} has all ${classes} letters: novelty and retrieval compare whole alphabets`);
  const held = completeAlphabets(data, data.val, classes);
  const fontName = (id: number) => data.set.fonts[id]?.name ?? `font ${id}`;

  const judgeStart = performance.now();
  const cached = await styleJudgeFor(opts.home, data, opts.valFraction, opts.onProgress);
  const judgeSeconds = since(judgeStart);
  const { judge } = cached;
  try {
    opts.onProgress?.('embedding the training and held-out fonts');
    const ref = await referenceOf(judge, data, training, held, fontName);
    let drawing = 0;
    const draw: Draw = async (what, f) => {
      opts.onProgress?.(`drawing ${what}`);
      const t = performance.now();
      const out = await f();
      drawing += since(t);
      return out;
    };
    const n = opts.alphabets;
    const invented = await alphabetFigures(ref, await draw(`${n} invented alphabets`, () => opts.drawer.invent(n, opts.seed)), n, opts.legibility);
    const perLetter = await alphabetFigures(ref, await draw(`${n} alphabets letter by letter`, () => opts.drawer.perLetter(n, opts.seed)), n, opts.legibility);
    const completion = await completionFigures(ref, data, given, opts, draw);
    const total = since(started);
    return {
      classNames: [...data.classNames],
      judge: {
        version: cached.info.version,
        fromCache: cached.fromCache,
        ...(cached.retrainedBecause && { retrainedBecause: cached.retrainedBecause }),
        path: cached.path,
        seconds: judgeSeconds,
        trainSeconds: Math.round(cached.info.trainSeconds * 10) / 10,
        trainFonts: cached.info.trainFonts,
        heldOutFontAccuracy: cached.info.heldOutAccuracy,
        heldOutGlyphs: cached.info.heldOutGlyphs,
      },
      calibration: judge.calibration,
      trainingFonts: { fonts: training.fonts.length, skipped: training.skipped },
      invented,
      perLetter,
      realHeldOut: ref.realHeldOut,
      completion,
      seconds: { judge: judgeSeconds, drawing, scoring: Math.round((total - judgeSeconds - drawing) * 1000) / 1000, total },
    };
  } finally {
    judge.dispose();
  }
}

const fixed = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? '—' : x.toFixed(digits));
const percent = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);

function figuresRow(name: string, f: AlphabetFigures): string {
  const variety = f.variety.raw === null ? '—' : `${f.variety.raw.toFixed(3)} (${fixed(f.variety.ratio, 2)})`;
  return `  ${name.padEnd(20)}${fixed(f.consistency.mean, 2).padStart(12)}${variety.padStart(16)}${f.novelty.median.toFixed(3).padStart(14)}${percent(f.legibility).padStart(12)}\n`;
}

function scoreRow(name: string, s: CompletionScore): string {
  return `  ${name.padEnd(44)}${s.iou.toFixed(3).padStart(8)}${s.l1.toFixed(3).padStart(8)}${s.style.toFixed(2).padStart(8)}\n`;
}

/** A compact table of a StyleReport for the terminal. */
export function describeStyleReport(r: StyleReport): string {
  const j = r.judge;
  const c = r.completion;
  return (
    `style judge v${j.version}: names the font of ${percent(j.heldOutFontAccuracy)} of ${j.heldOutGlyphs} held-out glyphs of ${j.trainFonts} training fonts; ` +
    `${j.fromCache ? `loaded from cache in ${Math.round(j.seconds * 1000)} ms` : `trained in ${j.seconds.toFixed(0)} s and cached`}${j.retrainedBecause ? ` (retrained: ${j.retrainedBecause})` : ''}\n` +
    `  calibrated on ${r.calibration.fonts} held-out fonts: within-alphabet cosine ${r.calibration.alphabet.real.toFixed(3)} for real fonts (consistency 1), ` +
    `${r.calibration.alphabet.random.toFixed(3)} for random-font mixes (consistency 0)\n` +
    `  ${''.padEnd(20)}${'consistency'.padStart(12)}${'variety (ratio)'.padStart(16)}${'nearest font'.padStart(14)}${'legibility'.padStart(12)}\n` +
    figuresRow(`invented (${r.invented.alphabets})`, r.invented) +
    figuresRow(`letter by letter (${r.perLetter.alphabets})`, r.perLetter) +
    `  ${`real held-out (${r.realHeldOut.fonts})`.padEnd(20)}${r.realHeldOut.consistency.toFixed(2).padStart(12)}${fixed(r.realHeldOut.variety, 3).padStart(16)}${r.realHeldOut.novelty.median.toFixed(3).padStart(14)}\n` +
    `  nearest font: median cosine distance to the nearest of ${r.trainingFonts.fonts} training fonts; ` +
    `${r.invented.novelty.nearerThanRealP10} of ${r.invented.alphabets} invented alphabets sit nearer one than 9 in 10 real held-out fonts (${r.realHeldOut.novelty.p10.toFixed(3)})\n` +
    (r.realHeldOut.skipped || r.trainingFonts.skipped ? `  fonts lacking a letter, left out: ${r.realHeldOut.skipped} held-out, ${r.trainingFonts.skipped} training\n` : '') +
    `completion from ${c.given} on ${c.fonts.length} held-out fonts (scored on the other ${r.classNames.length - c.given.length} letters)\n` +
    `  ${''.padEnd(44)}${'IoU'.padStart(8)}${'L1'.padStart(8)}${'style'.padStart(8)}\n` +
    scoreRow('model', c.model) +
    scoreRow(`retrieval (training font nearest on ${c.given})`, c.retrieval) +
    `  the model ${c.beats.iou ? 'beats' : 'does not beat'} retrieval on IoU and ${c.beats.style ? 'beats' : 'does not beat'} it on style\n` +
    c.outside
      .map(
        (o) =>
          `completion of ${o.font} (not in the dataset) from ${c.given}\n` +
          scoreRow('model', o.model) +
          scoreRow(`retrieval (${o.retrievedFrom.font})`, o.retrieval) +
          `  the model ${o.beats.iou ? 'beats' : 'does not beat'} retrieval on IoU and ${o.beats.style ? 'beats' : 'does not beat'} it on style\n`,
      )
      .join('') +
    `time: judge ${r.seconds.judge.toFixed(1)} s, drawing ${r.seconds.drawing.toFixed(1)} s, scoring ${r.seconds.scoring.toFixed(1)} s, total ${r.seconds.total.toFixed(1)} s\n`
  );
}
