// Glyphs as CSV: one row per glyph, a label column and H×W pixel columns, with or without a
// header. The 28×28 "A–Z handwritten" CSV is 372,450 rows and ~700 MB, so rows are streamed
// into one array sized from the file's length, never held as text.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { UserError } from '../../errors.ts';
import { progressMeter, statExisting } from './files.ts';
import type { FontInfo, GlyphSet } from '../glyphset.ts';
import { LETTERS, type ImportOptions, type Imported, type Importer } from './types.ts';

const LABEL_HEADERS = ['label', 'letter', 'class', 'char'];
const FONT_HEADERS = ['font', 'font_id', 'fontid', 'font_name'];
const PIXEL_HEADER = /^(?:(?:pixel|pix|px|p)[_ ]?\d+|\d+x\d+|\d+)$/i;
/** The UNet halves the image three times, so sides must be multiples of 8. */
const SIDE_MULTIPLE = 8;
const SNIFF_BYTES = 256 * 1024;
const MIN_SNIFF_CELLS = 65;

/** Where each kind of column sits, and the image size its pixel columns make. */
interface Layout {
  hasHeader: boolean;
  cells: number;
  headerNames: string[] | null;
  labelColumn: number;
  fontColumn: number | null;
  pixelColumns: number[];
  side: number;
  /** The side after padding to a multiple of 8, and where the source image starts inside it. */
  paddedSide: number;
  offset: number;
}

/** Everything gathered from the data rows, before class names and polarity are settled. */
interface Rows {
  count: number;
  pixels: Uint8Array;
  /** Per row, an index into `labels`' keys; mapped to classes once all labels are known. */
  labelKeys: Int32Array;
  labels: Map<string, { key: number; row: number }>;
  fontIds: Int32Array;
  fonts: Map<string, number>;
  /** Histogram of the source images' border pixels, for telling the polarity. */
  border: Float64Array;
}

export const csvImporter: Importer = {
  format: 'csv',

  async sniff(path: string): Promise<boolean> {
    const head = await readHead(path, SNIFF_BYTES);
    if (!head || head.includes(0)) return false;
    const text = head.toString('utf8').replace(/^\uFEFF/, '');
    const newline = text.indexOf('\n');
    if (newline < 0 && head.length === SNIFF_BYTES) return false;
    const cells = splitLine(newline < 0 ? text : text.slice(0, newline));
    if (cells.length < MIN_SNIFF_CELLS) return false;
    const numeric = cells.filter((c) => isNumber(c)).length;
    const pixelNamed = cells.filter((c) => PIXEL_HEADER.test(c)).length;
    return numeric >= cells.length - 2 || pixelNamed >= cells.length - 2;
  },

  async read(path: string, opts: ImportOptions = {}): Promise<Imported> {
    const size = await fileSize(path);
    const { layout, rows } = await readRows(path, size, opts);
    const { classNames, classOfKey, note: classNote } = resolveClasses(rows.labels, path);
    const labels = rows.labelKeys.subarray(0, rows.count).map((key) => classOfKey[key]);
    const used = rows.count * layout.paddedSide * layout.paddedSide;
    // Keep the array when little of it is spare: copying 400 MB to trim 80 MB would double the peak.
    const pixels = used * 2 >= rows.pixels.length ? rows.pixels.subarray(0, used) : rows.pixels.slice(0, used);
    const notes = [
      ...(classNote ? [classNote] : []),
      settlePolarity(pixels, rows, layout),
      ...(layout.paddedSide === layout.side ? [] : [
        `Glyphs are ${layout.side}×${layout.side}; padded with a black border to ` +
          `${layout.paddedSide}×${layout.paddedSide}, since the model needs sides that are multiples of ${SIDE_MULTIPLE}.`,
      ]),
    ];
    const { fonts, fontIds, note: fontNote } = fontsOf(rows, layout, path);
    if (fontNote) notes.push(fontNote);
    const set: GlyphSet = {
      height: layout.paddedSide,
      width: layout.paddedSide,
      channels: 1,
      count: rows.count,
      pixels,
      labels,
      fontIds,
      classNames,
      fonts,
    };
    return { set, notes, suggestedName: basename(path, extname(path)) };
  },
};

/** Inverts dark-on-light glyphs to white on black; returns the note saying which was found. */
function settlePolarity(pixels: Uint8Array, rows: Rows, layout: Layout): string {
  const borderMedian = histogramMedian(rows.border);
  if (borderMedian <= 127) {
    return `Detected white glyphs on a dark background (median border pixel ${borderMedian}); kept as they are.`;
  }
  invertInside(pixels, rows.count, layout);
  return `Detected dark glyphs on a light background (median border pixel ${borderMedian}); ` +
    'inverted them to white on black, as Fontloom trains on.';
}

/** The font column's fonts, or one font per row when there is none. */
function fontsOf(rows: Rows, layout: Layout, path: string): { fonts: FontInfo[]; fontIds: Int32Array; note: string | null } {
  if (layout.fontColumn !== null) {
    return {
      fonts: [...rows.fonts.keys()].map((name) => ({ name, source: path })),
      fontIds: rows.fontIds.slice(0, rows.count),
      note: null,
    };
  }
  const firstRow = layout.hasHeader ? 2 : 1;
  return {
    fonts: Array.from({ length: rows.count }, (_, i) => ({ name: `row ${firstRow + i}` })),
    fontIds: Int32Array.from({ length: rows.count }, (_, i) => i),
    note: `${basename(path)} has no font column (font, font_id, fontId or font_name): each row counts as its ` +
      'own font, so validation splits cannot hold out whole fonts.',
  };
}

async function readRows(path: string, size: number, opts: ImportOptions): Promise<{ layout: Layout; rows: Rows }> {
  let read: { layout: Layout; rows: Rows } | null = null;
  let rowNumber = 0;
  const meter = progressMeter('reading CSV', size, opts);
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true });
  const feeding = pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), meter, parser);
  // A read error also ends the loop below with that error; this only keeps it from going unhandled.
  feeding.catch(() => {});
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      rowNumber++;
      if (!read) {
        const layout = layoutOf(record, path);
        read = { layout, rows: allocateRows(layout, size) };
        if (layout.hasHeader) continue;
      }
      addRow(read.rows, record, rowNumber, read.layout, path);
    }
    await feeding;
  } catch (err) {
    // csv-parse's own errors (an unclosed quote) name the line; say which file too.
    if (String((err as { code?: unknown }).code).startsWith('CSV_')) {
      throw new UserError(`${path} is not a readable CSV: ${(err as Error).message}`);
    }
    throw err;
  }
  if (!read) throw emptyFile(path);
  if (read.rows.count === 0) throw new UserError(`${path} has a header row but no glyph rows.`);
  return read;
}

function emptyFile(path: string): UserError {
  return new UserError(`${path} is empty: expected one row per glyph, a label and H×W pixel values (0..255).`);
}

function layoutOf(first: string[], path: string): Layout {
  const lower = first.map((c) => c.trim().toLowerCase());
  const nonNumeric = first.filter((c) => !isNumber(c)).length;
  const named = lower.some((c) => LABEL_HEADERS.includes(c) || FONT_HEADERS.includes(c));
  // A data row has at most two non-numeric cells (a letter label and a font name).
  const hasHeader = nonNumeric > 2 || named;
  const labelByName = hasHeader ? lower.findIndex((c) => LABEL_HEADERS.includes(c)) : -1;
  const labelColumn = labelByName >= 0 ? labelByName : 0;
  const fontByName = hasHeader ? lower.findIndex((c) => FONT_HEADERS.includes(c)) : -1;
  const fontColumn = fontByName >= 0 && fontByName !== labelColumn ? fontByName : null;
  const pixelColumns = first.map((_, i) => i).filter((i) => i !== labelColumn && i !== fontColumn);
  const side = Math.round(Math.sqrt(pixelColumns.length));
  if (pixelColumns.length === 0 || side * side !== pixelColumns.length) {
    const other = fontColumn === null ? 'a label column' : 'a label column, a font column';
    throw new UserError(
      `${path} has ${first.length} columns: ${other} and ${pixelColumns.length} pixel columns, ` +
        'but the pixel columns must make a square image. Expected 784 pixel columns (28×28), ' +
        '1024 (32×32) or another N×N.',
    );
  }
  const paddedSide = Math.ceil(side / SIDE_MULTIPLE) * SIDE_MULTIPLE;
  return {
    hasHeader,
    cells: first.length,
    headerNames: hasHeader ? first.map((c) => c.trim()) : null,
    labelColumn,
    fontColumn,
    pixelColumns,
    side,
    paddedSide,
    offset: Math.floor((paddedSide - side) / 2),
  };
}

/** Sized for the most rows the file can hold: every cell at least one character and a comma. */
function allocateRows(layout: Layout, size: number): Rows {
  const capacity = Math.max(1, Math.ceil(size / (2 * layout.cells - 1)));
  return {
    count: 0,
    pixels: new Uint8Array(capacity * layout.paddedSide * layout.paddedSide),
    labelKeys: new Int32Array(capacity),
    labels: new Map(),
    fontIds: new Int32Array(layout.fontColumn === null ? 0 : capacity),
    fonts: new Map(),
    border: new Float64Array(256),
  };
}

function addRow(rows: Rows, record: string[], row: number, layout: Layout, path: string): void {
  if (record.length !== layout.cells) {
    throw new UserError(
      `${path}: row ${row} has ${record.length} cells, expected ${layout.cells} like row 1.`,
    );
  }
  if (rows.count === rows.labelKeys.length) throw new Error(`${path} grew while it was being read.`);
  const label = record[layout.labelColumn].trim();
  if (label === '') {
    throw new UserError(`${path}: row ${row} has an empty label (${columnName(layout, layout.labelColumn)}).`);
  }
  let entry = rows.labels.get(label);
  if (!entry) {
    entry = { key: rows.labels.size, row };
    rows.labels.set(label, entry);
  }
  rows.labelKeys[rows.count] = entry.key;
  if (layout.fontColumn !== null) {
    const font = record[layout.fontColumn].trim();
    if (font === '') {
      throw new UserError(`${path}: row ${row} has an empty font (${columnName(layout, layout.fontColumn)}).`);
    }
    let id = rows.fonts.get(font);
    if (id === undefined) rows.fonts.set(font, (id = rows.fonts.size));
    rows.fontIds[rows.count] = id;
  }
  const { side, paddedSide, offset, pixelColumns } = layout;
  const base = rows.count * paddedSide * paddedSide;
  for (let y = 0, k = 0; y < side; y++) {
    const rowStart = base + (y + offset) * paddedSide + offset;
    for (let x = 0; x < side; x++, k++) {
      const cell = record[pixelColumns[k]];
      const value = pixelValue(cell);
      if (value < 0) {
        throw new UserError(
          `${path}: row ${row}, ${columnName(layout, pixelColumns[k])} has ${JSON.stringify(cell)}; ` +
            'expected a pixel value from 0 to 255.',
        );
      }
      rows.pixels[rowStart + x] = value;
      if (y === 0 || y === side - 1 || x === 0 || x === side - 1) rows.border[value]++;
    }
  }
  rows.count++;
}

/** A cell's pixel value, or −1 when it is not a number from 0 to 255. */
function pixelValue(cell: string): number {
  // Nearly every cell is one to three digits; Number() only for the rest.
  if (cell.length > 0 && cell.length <= 3) {
    let value = 0;
    for (let i = 0; i < cell.length; i++) {
      const digit = cell.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return slowPixelValue(cell);
      value = value * 10 + digit;
    }
    return value <= 255 ? value : -1;
  }
  return slowPixelValue(cell);
}

function slowPixelValue(cell: string): number {
  if (!isNumber(cell)) return -1;
  const value = Math.round(Number(cell));
  return value >= 0 && value <= 255 ? value : -1;
}

function columnName(layout: Layout, column: number): string {
  return layout.headerNames ? `column "${layout.headerNames[column]}"` : `column ${column + 1}`;
}

/**
 * Letters (any case) and indices 0..25 are the 26 letters; other labels become classes of
 * their own, in sorted order.
 */
function resolveClasses(
  labels: Map<string, { key: number; row: number }>,
  path: string,
): { classNames: string[]; classOfKey: Int32Array; note: string | null } {
  const keys = [...labels.keys()];
  const classOfKey = new Int32Array(keys.length);
  if (keys.every((k) => /^[A-Za-z]$/.test(k))) {
    keys.forEach((k, i) => (classOfKey[i] = k.toUpperCase().charCodeAt(0) - 65));
    const note = keys.some((k) => k !== k.toUpperCase()) ? 'Letter labels are read regardless of case (a and A are both A).' : null;
    return { classNames: [...LETTERS], classOfKey, note };
  }
  if (keys.every((k) => isNumber(k))) {
    const bad = keys.find((k) => !/^\d+$/.test(k));
    if (bad !== undefined) {
      throw new UserError(
        `${path}: row ${labels.get(bad)!.row} has label ${JSON.stringify(bad)}; numeric labels must be ` +
          'class indices 0, 1, 2, … (0..25 for the letters A–Z).',
      );
    }
    const values = keys.map((k) => Number(k));
    if (Math.max(...values) <= 25) {
      values.forEach((v, i) => (classOfKey[i] = v));
      return { classNames: [...LETTERS], classOfKey, note: 'Labels are indices 0..25, read as the letters A–Z (0 = A).' };
    }
    const sorted = [...new Set(values)].sort((a, b) => a - b);
    values.forEach((v, i) => (classOfKey[i] = sorted.indexOf(v)));
    return {
      classNames: sorted.map(String),
      classOfKey,
      note: `Labels go beyond 25, so they are not read as letters: the classes are the ${sorted.length} distinct labels in order.`,
    };
  }
  const sorted = [...keys].sort();
  keys.forEach((k, i) => (classOfKey[i] = sorted.indexOf(k)));
  return {
    classNames: sorted,
    classOfKey,
    note: `Labels are not letters or indices 0..25: the classes are the ${sorted.length} distinct labels in sorted order.`,
  };
}

function histogramMedian(histogram: Float64Array): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let value = 0; value < 256; value++) {
    seen += histogram[value];
    if (seen * 2 >= total) return value;
  }
  return 0;
}

/** Inverts each glyph's source area only, so the padding border stays black. */
function invertInside(pixels: Uint8Array, count: number, layout: Layout): void {
  const { side, paddedSide, offset } = layout;
  for (let i = 0; i < count; i++) {
    for (let y = 0; y < side; y++) {
      const start = i * paddedSide * paddedSide + (y + offset) * paddedSide + offset;
      for (let p = start; p < start + side; p++) pixels[p] = 255 - pixels[p];
    }
  }
}

function isNumber(cell: string): boolean {
  return cell.trim() !== '' && Number.isFinite(Number(cell));
}

/** A first line's cells for sniffing: commas only, quotes stripped; enough to tell a glyph CSV. */
function splitLine(line: string): string[] {
  return line.replace(/\r$/, '').split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
}

async function fileSize(path: string): Promise<number> {
  const info = await statExisting(path);
  if (!info.isFile()) throw new UserError(`${path} is not a file; a CSV dataset is one .csv file.`);
  if (info.size === 0) throw emptyFile(path);
  return info.size;
}

/** Up to `bytes` bytes from the start of a file, or null when it cannot be read as a file. */
async function readHead(path: string, bytes: number): Promise<Buffer | null> {
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(bytes);
      const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}
