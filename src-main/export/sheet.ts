// A sample sheet: glyphs in a grid, each upscaled (nearest neighbour) under its label, with an
// optional title line. Glyph pixels are copied by hand so they stay exact; text is an SVG overlay.

import sharp from 'sharp';
import { writeFileAtomic } from '../atomic.ts';
import { UserError } from '../errors.ts';

export interface SheetOptions {
  title?: string;
  /** Integer nearest-neighbour upscaling factor; default: about 128 px per glyph (4 for 32-px glyphs, 1 for 128). */
  scale?: number;
  /** Glyphs per row; default 13 (A–Z in two rows). */
  columns?: number;
  /** Whether each glyph's label is written above it; default true. False: the glyphs alone, for a page that writes its own. */
  labels?: boolean;
}

/** Pixel spacing of a sheet, fixed so that a cell's position follows from its index alone. */
export const SHEET_SPACING = { gap: 4, label: 14, title: 22 } as const;

export interface SheetLayout {
  width: number;
  height: number;
  columns: number;
  rows: number;
  glyphWidth: number;
  glyphHeight: number;
  titleHeight: number;
  labelHeight: number;
}

const BACKGROUND = 0x30; // dark grey, so black glyph cells stand out
const TEXT_COLOR = '#dddddd';
const LABEL_FONT_PX = 11;
const TITLE_FONT_PX = 13;
const FONT_FAMILY = 'DejaVu Sans, sans-serif';

export function sheetLayout(n: number, height: number, width: number, opts: SheetOptions = {}): SheetLayout {
  // By default glyphs show about 128 px tall: a 32-px glyph four times, a 128-px one as it is.
  const scale = opts.scale ?? Math.max(1, Math.floor(128 / height));
  const columnsWanted = opts.columns ?? 13;
  requirePositiveInteger(scale, 'Sheet scale');
  requirePositiveInteger(columnsWanted, 'Sheet columns');
  const { gap, label, title } = SHEET_SPACING;
  const columns = Math.min(columnsWanted, n);
  const rows = Math.ceil(n / columns);
  const glyphWidth = width * scale;
  const glyphHeight = height * scale;
  const titleHeight = opts.title ? title : 0;
  const labelHeight = opts.labels === false ? 0 : label;
  return {
    width: gap + columns * (glyphWidth + gap),
    height: titleHeight + gap + rows * (labelHeight + glyphHeight + gap),
    columns,
    rows,
    glyphWidth,
    glyphHeight,
    titleHeight,
    labelHeight,
  };
}

/** Top-left pixel of glyph i's image (below its label). */
export function glyphOrigin(layout: SheetLayout, i: number): { left: number; top: number } {
  const { gap } = SHEET_SPACING;
  const column = i % layout.columns;
  const row = Math.floor(i / layout.columns);
  return {
    left: gap + column * (layout.glyphWidth + gap),
    top: layout.titleHeight + gap + row * (layout.labelHeight + layout.glyphHeight + gap) + layout.labelHeight,
  };
}

/** PNG bytes of a sheet of n glyphs (NHWC uint8); labels[i] is written above glyph i. */
export async function renderSheet(
  images: Uint8Array,
  n: number,
  height: number,
  width: number,
  channels: 1 | 3,
  labels: string[],
  opts: SheetOptions = {},
): Promise<Buffer> {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`A sheet needs at least one glyph, got n = ${n}.`);
  if (images.length !== n * height * width * channels) {
    throw new Error(`Sheet images hold ${images.length} bytes, expected ${n}×${height}×${width}×${channels}.`);
  }
  const labelled = opts.labels !== false;
  if (labelled && labels.length < n) throw new Error(`A sheet of ${n} glyphs got only ${labels.length} labels.`);
  const layout = sheetLayout(n, height, width, opts);
  const canvas = drawGlyphGrid(images, n, height, width, channels, layout);
  const overlay = Buffer.from(textOverlay(labelled ? labels.slice(0, n) : [], layout, opts.title));
  const composited = await sharp(canvas, { raw: { width: layout.width, height: layout.height, channels: 3 } })
    .composite([{ input: overlay, left: 0, top: 0 }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Composite always runs last in a sharp pipeline, so dropping its alpha takes a second pass.
  return sharp(composited.data, { raw: composited.info }).removeAlpha().png().toBuffer();
}

export async function writeSheet(
  path: string,
  images: Uint8Array,
  n: number,
  height: number,
  width: number,
  channels: 1 | 3,
  labels: string[],
  opts: SheetOptions = {},
): Promise<void> {
  const png = await renderSheet(images, n, height, width, channels, labels, opts);
  await writeFileAtomic(path, png);
}

/**
 * A sheet's n glyphs cut back out of it (each cell read at its scale, the exact inverse of the
 * nearest-neighbour upscale), side by side with no text: the studio sets them under labels of its
 * own, readable at any display size. Null when the image is not a sheet of this layout.
 */
export async function glyphStrip(sheetPng: Uint8Array, n: number, height: number, width: number, opts: SheetOptions = {}): Promise<{ png: Buffer; width: number; height: number } | null> {
  const layout = sheetLayout(n, height, width, opts);
  const { data, info } = await sharp(sheetPng).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== layout.width || info.height !== layout.height) return null;
  const scale = layout.glyphWidth / width;
  const stripWidth = n * width;
  const strip = Buffer.alloc(stripWidth * height * 3);
  for (let i = 0; i < n; i++) {
    const { left, top } = glyphOrigin(layout, i);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const source = ((top + y * scale) * info.width + left + x * scale) * info.channels;
        const target = (y * stripWidth + i * width + x) * 3;
        for (let c = 0; c < 3; c++) strip[target + c] = data[source + (info.channels >= 3 ? c : 0)];
      }
    }
  }
  const png = await sharp(strip, { raw: { width: stripWidth, height, channels: 3 } }).png().toBuffer();
  return { png, width: stripWidth, height };
}

/** An RGB canvas of the background with every glyph copied in, nearest-neighbour upscaled. */
function drawGlyphGrid(
  images: Uint8Array,
  n: number,
  height: number,
  width: number,
  channels: 1 | 3,
  layout: SheetLayout,
): Buffer {
  const canvas = Buffer.alloc(layout.width * layout.height * 3, BACKGROUND);
  const scale = layout.glyphWidth / width;
  for (let i = 0; i < n; i++) {
    const { left, top } = glyphOrigin(layout, i);
    const glyph = images.subarray(i * height * width * channels, (i + 1) * height * width * channels);
    for (let y = 0; y < layout.glyphHeight; y++) {
      const sourceRow = Math.floor(y / scale) * width;
      const targetRow = ((top + y) * layout.width + left) * 3;
      for (let x = 0; x < layout.glyphWidth; x++) {
        const source = (sourceRow + Math.floor(x / scale)) * channels;
        const target = targetRow + x * 3;
        canvas[target] = glyph[source];
        canvas[target + 1] = glyph[source + (channels === 3 ? 1 : 0)];
        canvas[target + 2] = glyph[source + (channels === 3 ? 2 : 0)];
      }
    }
  }
  return canvas;
}

function textOverlay(labels: string[], layout: SheetLayout, title: string | undefined): string {
  const { gap } = SHEET_SPACING;
  const texts = labels.map((text, i) => {
    const { left, top } = glyphOrigin(layout, i);
    const shown = fitText(text, layout.glyphWidth, LABEL_FONT_PX);
    return `<text x="${left + layout.glyphWidth / 2}" y="${top - 4}" font-size="${LABEL_FONT_PX}" ` +
      `text-anchor="middle">${escapeXml(shown)}</text>`;
  });
  if (title) {
    const shown = fitText(title, layout.width - 2 * gap, TITLE_FONT_PX);
    texts.unshift(`<text x="${gap}" y="${layout.titleHeight - 6}" font-size="${TITLE_FONT_PX}">${escapeXml(shown)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">` +
    `<g font-family="${FONT_FAMILY}" fill="${TEXT_COLOR}">${texts.join('')}</g></svg>`;
}

/** Cuts text that would overrun its space (DejaVu Sans averages about 0.6 em per character). */
function fitText(text: string, widthPx: number, fontPx: number): string {
  const maxChars = Math.max(1, Math.floor(widthPx / (0.6 * fontPx)));
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(1, maxChars - 1))}…`;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function requirePositiveInteger(value: number, what: string): void {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new UserError(`${what} must be a positive integer, got ${value}.`);
  }
}

