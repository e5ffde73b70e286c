// Generated bitmaps to outlines. A 32×32 glyph is too coarse to trace as it is (every pixel
// corner would become a vertex), so it is upscaled smoothly first; the threshold then cuts the
// antialiased edge where the model put it, and potrace fits closed Béziers to that edge.
import sharp from 'sharp';
import potrace from 'potrace';
import { UserError } from '../errors.ts';
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
  /** Grey level (1–254) at or above which a pixel is ink; default 128. */
  threshold?: number;
  /**
   * Gaussian blur (σ in glyph pixels) after upscaling: it rounds off the staircase a 32-px glyph
   * keeps even when upscaled smoothly, so an O traces to a handful of curves, not dozens; 0 turns
   * it off. Default 0.5. Straight edges stay where the threshold puts them.
   */
  smoothing?: number;
  /** Potrace's corner threshold (alphamax): 0 keeps every corner sharp, 1.334 rounds them all; default 1. */
  alphaMax?: number;
  /** Specks of ink (or holes) up to this area in glyph pixels are dropped (potrace's turdsize); default 1. */
  speckle?: number;
  /** Smooth upscaling factor before tracing; default 8. */
  upscale?: number;
}

export const DEFAULT_TRACE = { threshold: 128, smoothing: 0.5, alphaMax: 1, speckle: 1, upscale: 8 } as const;

/** Contours in font units with the glyph where the dataset's cell puts it (see metrics.ts). */
export interface TracedGlyph {
  name: string;
  contours: Contour[];
}

export interface TracedSet {
  glyphs: TracedGlyph[];
  cell: Cell;
  warnings: string[];
}

/** Upscaled images get this much black margin (in source pixels) so ink never touches the edge. */
const MARGIN_PX = 1;

export async function traceGlyphs(input: GlyphImages, opts: TraceOptions = {}): Promise<TracedSet> {
  checkImages(input);
  const options = traceSettings(opts);
  const cell = cellOf(input.height, input.width);
  const glyphs: TracedGlyph[] = [];
  const warnings: string[] = [];
  for (const [i, name] of input.classNames.entries()) {
    const grey = greyGlyph(input, i);
    const contours = await traceBitmap(grey, input.height, input.width, options, cell);
    if (contours.length === 0) warnings.push(emptyWarning(name, grey, options.threshold));
    glyphs.push({ name, contours });
  }
  return { glyphs, cell, warnings };
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
    turdSize: options.speckle * upscale * upscale,
    optCurve: true,
    optTolerance: 0.5, // in upscaled pixels: a sixteenth of a glyph pixel at 8×
  });
  await new Promise<void>((done, fail) => tracer.loadImage(png, (err) => (err ? fail(err) : done())));
  const traced = parsePathData(pathDataOf(tracer.getPathTag('')));
  const inFontUnits = mapContours(traced, (p) => pixelToFont(cell, (p.x - margin) / upscale, (p.y - margin) / upscale));
  return normaliseWinding(inFontUnits);
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

export function traceSettings(opts: TraceOptions): Required<TraceOptions> {
  const settings: Required<TraceOptions> = {
    threshold: opts.threshold ?? DEFAULT_TRACE.threshold,
    smoothing: opts.smoothing ?? DEFAULT_TRACE.smoothing,
    alphaMax: opts.alphaMax ?? DEFAULT_TRACE.alphaMax,
    speckle: opts.speckle ?? DEFAULT_TRACE.speckle,
    upscale: opts.upscale ?? DEFAULT_TRACE.upscale,
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
  if (!(settings.speckle >= 0)) throw new UserError(`speckle size must be ≥ 0 glyph pixels, got ${settings.speckle}.`);
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
