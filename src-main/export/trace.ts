// Generated bitmaps to outlines. A 32×32 glyph is too coarse to trace as it is (every pixel
// corner would become a vertex), so it is upscaled smoothly first, to about the same traced size
// whatever the glyphs' own (8× for 32 px, 2× for 128 px); one threshold for the whole font then cuts
// the antialiased edges where the model put them, potrace follows each edge in closed Béziers, and
// fit.ts redraws those with the few points, straight stems and smooth bowls a type designer would.
import sharp from 'sharp';
import potrace from 'potrace';
import { UserError } from '../errors.ts';
import { DEFAULT_FIT, fitContours } from './fit.ts';
import { cellOf, pixelToFont, type Cell } from './metrics.ts';
import { mapContours, normaliseWinding, type Contour, type Point, type Segment } from './outline.ts';

/** Generated glyphs, one per class: uint8 NHWC, white ink on black. */
export interface GlyphImages {
  images: Uint8Array;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
}

export interface TraceOptions {
  /** Grey level (1–254) at or above which a pixel is ink; default: one level for the whole font (fontThreshold). */
  threshold?: number;
  /**
   * Gaussian blur (σ in glyph pixels) after upscaling: it softens the staircase a 32-px glyph
   * keeps even when upscaled smoothly; 0 turns it off. Default 0.25: the outline fitter irons out
   * what ripple is left, and more blur rounds off corners it should keep sharp. Straight edges
   * stay where the threshold puts them.
   */
  smoothing?: number;
  /** Potrace's corner threshold (alphamax): 0 keeps every corner sharp, 1.334 rounds them all; default 1. */
  alphaMax?: number;
  /** Specks of ink (or holes) up to this area are dropped (potrace's turdsize), in pixels of a 32-px glyph so that a speck is one size at every glyph size; default 1. */
  speckle?: number;
  /** Smooth upscaling factor before tracing; default: about TRACED_SIZE pixels tall (upscaleFor). */
  upscale?: number;
}

export const DEFAULT_TRACE = { smoothing: 0.25, alphaMax: 1, speckle: 1 } as const;
/** Glyphs are upscaled to about this height before tracing, so potrace sees one scale of edge at every glyph size. */
const TRACED_SIZE = 256;
/** The font's threshold stays within these grey levels, whatever its histogram (a level near 0 or 255 would swell or starve every stroke). */
const THRESHOLD_RANGE = [64, 192] as const;

/** Contours in font units with the glyph where the dataset's cell puts it (see metrics.ts). */
export interface TracedGlyph {
  name: string;
  contours: Contour[];
}

export interface TracedSet {
  glyphs: TracedGlyph[];
  cell: Cell;
  warnings: string[];
  /** The grey level that was ink for every glyph. */
  threshold: number;
}

/** Upscaled images get this much black margin (in source pixels) so ink never touches the edge. */
const MARGIN_PX = 1;

export async function traceGlyphs(input: GlyphImages, opts: TraceOptions = {}): Promise<TracedSet> {
  checkImages(input);
  const options = traceSettings({ ...opts, threshold: opts.threshold ?? fontThreshold(input) }, input.height);
  const cell = cellOf(input.height, input.width);
  const glyphs: TracedGlyph[] = [];
  const warnings: string[] = [];
  for (const [i, name] of input.classNames.entries()) {
    const grey = greyGlyph(input, i);
    const contours = await traceBitmap(grey, input.height, input.width, options, cell);
    if (contours.length === 0) warnings.push(emptyWarning(name, grey, options.threshold));
    glyphs.push({ name, contours });
  }
  return { glyphs, cell, warnings, threshold: options.threshold };
}

/**
 * One ink threshold for the whole font: Otsu's, the grey level that best splits all its glyphs'
 * pixels into two classes (the middle of the best levels when several split alike, as a bitmap of
 * only black and white does), kept within THRESHOLD_RANGE. One level for every letter keeps their
 * strokes one weight.
 */
export function fontThreshold(input: GlyphImages): number {
  const histogram = new Float64Array(256);
  for (let i = 0; i < input.classNames.length; i++) for (const v of greyGlyph(input, i)) histogram[v]++;
  let total = 0;
  let sum = 0;
  for (let v = 0; v < 256; v++) {
    total += histogram[v];
    sum += v * histogram[v];
  }
  // Level t: pixels below t are background, t and above ink.
  const between = new Float64Array(256);
  let below = 0;
  let belowSum = 0;
  for (let t = 1; t < 256; t++) {
    below += histogram[t - 1];
    belowSum += (t - 1) * histogram[t - 1];
    const above = total - below;
    if (below > 0 && above > 0) between[t] = below * above * (belowSum / below - (sum - belowSum) / above) ** 2;
  }
  const best = Math.max(...between);
  if (!(best > 0)) return 128;
  const levels = [...between.keys()].filter((t) => between[t] >= best * (1 - 1e-9));
  const level = Math.round((levels[0] + levels[levels.length - 1]) / 2);
  return Math.min(THRESHOLD_RANGE[1], Math.max(THRESHOLD_RANGE[0], level));
}

/** The upscaling that brings a glyph `height` pixels tall to about TRACED_SIZE. */
export function upscaleFor(height: number): number {
  return Math.min(32, Math.max(1, Math.round(TRACED_SIZE / height)));
}

/** One glyph (H×W grey) to contours in font units; none for a glyph with no ink above the threshold. */
export async function traceBitmap(
  grey: Uint8Array,
  height: number,
  width: number,
  options: Required<TraceOptions>,
  cell: Cell = cellOf(height, width),
): Promise<Contour[]> {
  if (!grey.some((v) => v >= options.threshold)) return [];
  const { upscale } = options;
  const margin = MARGIN_PX * upscale;
  const png = await sharp(Buffer.from(grey.buffer, grey.byteOffset, grey.byteLength), { raw: { width, height, channels: 1 } })
    .resize(width * upscale, height * upscale, { kernel: 'lanczos3' })
    .blur(options.smoothing > 0 ? Math.max(0.3, options.smoothing * upscale) : false)
    .extend({ top: margin, bottom: margin, left: margin, right: margin, background: { r: 0, g: 0, b: 0 } })
    .png()
    .toBuffer();
  const tracer = new potrace.Potrace({
    threshold: options.threshold,
    blackOnWhite: false, // our ink is the light side
    alphaMax: options.alphaMax,
    turdSize: options.speckle * ((upscale * height) / 32) ** 2,
    optCurve: true,
    optTolerance: 0.5, // in upscaled pixels: about a sixteenth of a 32-px glyph's pixel at every glyph size
  });
  await new Promise<void>((done, fail) => tracer.loadImage(png, (err) => (err ? fail(err) : done())));
  const traced = parsePathData(pathDataOf(tracer.getPathTag('')));
  const inFontUnits = mapContours(traced, (p) => pixelToFont(cell, (p.x - margin) / upscale, (p.y - margin) / upscale));
  return normaliseWinding(fitContours(inFontUnits, DEFAULT_FIT));
}

/** Glyph i as H×W grey: its only channel, or the luma of an RGB image. */
export function greyGlyph(input: GlyphImages, i: number): Uint8Array {
  const { height, width, channels } = input;
  const size = height * width;
  const pixels = input.images.subarray(i * size * channels, (i + 1) * size * channels);
  if (channels === 1) return pixels;
  const grey = new Uint8Array(size);
  for (let p = 0; p < size; p++) {
    grey[p] = Math.round(0.299 * pixels[p * channels] + 0.587 * pixels[p * channels + 1] + 0.114 * pixels[p * channels + 2]);
  }
  return grey;
}

/** Every setting for glyphs `height` pixels tall, the font's threshold chosen: the given ones checked, the others their defaults. */
export function traceSettings(opts: TraceOptions & { threshold: number }, height: number): Required<TraceOptions> {
  const settings: Required<TraceOptions> = {
    threshold: opts.threshold,
    smoothing: opts.smoothing ?? DEFAULT_TRACE.smoothing,
    alphaMax: opts.alphaMax ?? DEFAULT_TRACE.alphaMax,
    speckle: opts.speckle ?? DEFAULT_TRACE.speckle,
    upscale: opts.upscale ?? upscaleFor(height),
  };
  if (!(settings.threshold >= 1 && settings.threshold <= 254)) {
    throw new UserError(`threshold must be a grey level from 1 to 254, got ${settings.threshold}.`);
  }
  if (!(settings.alphaMax >= 0 && settings.alphaMax <= 1.334)) {
    throw new UserError(`corner threshold (alphaMax) must be from 0 (sharp corners) to 1.334 (all curves), got ${settings.alphaMax}.`);
  }
  if (!(settings.smoothing >= 0 && settings.smoothing <= 4)) {
    throw new UserError(`smoothing must be a blur from 0 to 4 glyph pixels, got ${settings.smoothing}.`);
  }
  if (!(settings.speckle >= 0)) throw new UserError(`speckle size must be ≥ 0 pixels of a 32-px glyph, got ${settings.speckle}.`);
  if (!(Number.isInteger(settings.upscale) && settings.upscale >= 1 && settings.upscale <= 32)) {
    throw new UserError(`upscale must be a whole number from 1 to 32, got ${settings.upscale}.`);
  }
  return settings;
}

function checkImages({ images, height, width, channels, classNames }: GlyphImages): void {
  if (channels !== 1 && channels !== 3) throw new UserError(`glyph images must have 1 or 3 channels, got ${channels}.`);
  const expected = classNames.length * height * width * channels;
  if (classNames.length === 0 || images.length !== expected) {
    throw new UserError(`glyph images hold ${images.length} bytes, expected ${classNames.length} × ${height}×${width}×${channels} = ${expected}.`);
  }
}

function emptyWarning(name: string, grey: Uint8Array, threshold: number): string {
  const brightest = grey.reduce((a, b) => Math.max(a, b), 0);
  const why = brightest < threshold
    ? `no pixel reaches the threshold ${threshold} (brightest ${brightest})`
    : 'its ink is only specks smaller than the speckle size';
  return `${name}: ${why}; exported as an empty glyph.`;
}

function pathDataOf(pathTag: string): string {
  return /\sd="([^"]*)"/.exec(pathTag)?.[1] ?? '';
}

/** Potrace's path data (absolute M, L, C; every contour closed by returning to its M) as contours. */
export function parsePathData(d: string): Contour[] {
  const tokens = d.match(/[MLC]|-?\d*\.?\d+(?:e[-+]?\d+)?/gi) ?? [];
  const contours: Contour[] = [];
  let command = '';
  let i = 0;
  const point = (): Point => ({ x: Number(tokens[i++]), y: Number(tokens[i++]) });
  while (i < tokens.length) {
    if (/^[MLC]$/i.test(tokens[i])) command = tokens[i++].toUpperCase();
    if (command === 'M') {
      contours.push({ start: point(), segments: [] });
      command = 'L'; // further pairs after M are lines, as in SVG
      continue;
    }
    const contour = contours.at(-1);
    if (!contour) throw new Error(`potrace path data does not start with M: ${d.slice(0, 40)}`);
    const segment: Segment = command === 'C' ? { kind: 'cubic', c1: point(), c2: point(), to: point() } : { kind: 'line', to: point() };
    contour.segments.push(segment);
  }
  return contours.filter((c) => c.segments.length > 0).map(closeContour);
}

/** Ends a contour on its start point: potrace does, but a contour closed by Z alone would not. */
function closeContour(contour: Contour): Contour {
  const last = contour.segments.at(-1)!.to;
  if (last.x === contour.start.x && last.y === contour.start.y) return contour;
  return { ...contour, segments: [...contour.segments, { kind: 'line', to: contour.start }] };
}
