// A glyph PNG set: one file per class, named after it, at the model's size and at larger sizes
// upscaled smoothly. Each size gets its own folder, `32px/A.png`, `128px/A.png`, so a set of
// one size can be handed over whole and the names stay the class names.
import sharp from 'sharp';
import { UserError } from '../errors.ts';
import type { GlyphImages } from './trace.ts';

/** A file of an export, by its path inside the export folder. */
export interface ExportFile {
  path: string;
  bytes: Uint8Array;
}

export const DEFAULT_PNG_SIZES = [32] as const;
const MIN_SIZE = 8;
const MAX_SIZE = 1024;

/** PNGs of every glyph at each size (the glyph's height in pixels; width keeps the aspect). */
export async function glyphPngs(input: GlyphImages, sizes: readonly number[] = DEFAULT_PNG_SIZES): Promise<ExportFile[]> {
  checkSizes(sizes);
  const { height, width, channels } = input;
  const names = fileNames(input.classNames);
  const perGlyph = height * width * channels;
  const files: ExportFile[] = [];
  for (const size of [...new Set(sizes)].sort((a, b) => a - b)) {
    for (const [i, name] of names.entries()) {
      const pixels = input.images.subarray(i * perGlyph, (i + 1) * perGlyph);
      files.push({ path: `${size}px/${name}.png`, bytes: await glyphPng(pixels, height, width, channels, size) });
    }
  }
  return files;
}

async function glyphPng(pixels: Uint8Array, height: number, width: number, channels: number, size: number): Promise<Buffer> {
  const image = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels: channels as 1 | 3 } });
  // Lanczos keeps the antialiased edges the model drew; nearest neighbour would show its pixels as blocks.
  const sized = size === height ? image : image.resize(Math.round((width * size) / height), size, { kernel: 'lanczos3' });
  return sized.png().toBuffer();
}

/**
 * A safe file name per class: letters, digits, hyphens and underscores kept, the rest turned to
 * "_", a numbered name when nothing is left, and a suffix where two would coincide, ignoring case
 * (macOS and Windows do).
 */
export function fileNames(classNames: readonly string[]): string[] {
  const taken = new Set<string>();
  return classNames.map((name, i) => {
    const base = name.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 64) || `class-${i}`;
    let candidate = base;
    for (let k = 2; taken.has(candidate.toLowerCase()); k++) candidate = `${base}-${k}`;
    taken.add(candidate.toLowerCase());
    return candidate;
  });
}

function checkSizes(sizes: readonly number[]): void {
  if (sizes.length === 0) throw new UserError('PNG sizes: give at least one size in pixels, e.g. 32,128.');
  for (const size of sizes) {
    if (!(Number.isInteger(size) && size >= MIN_SIZE && size <= MAX_SIZE)) {
      throw new UserError(`PNG size ${size} is not a whole number of pixels from ${MIN_SIZE} to ${MAX_SIZE}.`);
    }
  }
}
