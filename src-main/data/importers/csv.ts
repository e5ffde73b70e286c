// Glyphs as CSV: one row per glyph, a label column and H×W pixel columns, with or without a
// header. The 28×28 "A–Z handwritten" CSV is 372,450 rows and ~700 MB, so rows are streamed
// into chunks that grow with the glyphs read (a file's length says nothing of how many glyphs it
// holds), never held as text.
import type { FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { UserError } from '../../errors.ts';
import { openRegular, progressMeter, readHead, statNamed, type FileCap } from './files.ts';
import type { FontInfo, GlyphSet } from '../glyphset.ts';
import { LETTERS, MAX_PIXEL_BYTES, type ImportOptions, type Imported, type Importer } from './types.ts';

const LABEL_HEADERS = ['label', 'letter', 'class', 'char'];
const FONT_HEADERS = ['font', 'font_id', 'fontid', 'font_name'];
const PIXEL_HEADER = /^(?:(?:pixel|pix|px|p)[_ ]?\d+|\d+x\d+|\d+)$/i;
/** The UNet halves the image three times, so sides must be multiples of 8. */
const SIDE_MULTIPLE = 8;
/** Rows of a pixel or two are a table of something else (a 1×1 "glyph" is a label and a number). */
const MIN_SIDE = 8;
/** Over five times the 372,450 rows of the largest real glyph CSV. */
const MAX_GLYPHS = 2_000_000;
/** Rows are streamed, so this bounds time, not memory: 2,000,000 rows of 28×28 fit. */
const CSV_CAP: FileCap = { maxBytes: 4 * 2 ** 30, what: 'a glyph CSV' };
/** One row of 1024×1024 pixels is ~4 M characters; a longer one is a wrong delimiter or not a glyph table. */
const MAX_RECORD_CHARS = 16 * 2 ** 20;
/** Pixels are gathered in chunks of up to this many bytes, the first ones smaller. */
const CHUNK_BYTES = 16 * 2 ** 20;
const FIRST_CHUNK_GLYPHS = 256;
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
  /** The most glyph rows taken: MAX_GLYPHS, or fewer where their pixels would pass MAX_PIXEL_BYTES. */
  maxRows: number;
}

/** Everything gathered from the data rows, before class names and polarity are settled. */
interface Rows {
  count: number;
  pixels: GlyphChunks;
  /** Per row, an index into `labels`' keys; mapped to classes once all labels are known. */
  labelKeys: number[];
  labels: Map<string, { key: number; row: number }>;
  fontIds: number[];
  fonts: Map<string, number>;
  /** Histogram of the source images' border pixels, for telling the polarity. */
  border: Float64Array;
}

export const csvImporter: Importer = {
  format: 'csv',
  extensions: ['.csv'],

  async sniff(path: string): Promise<boolean> {
    const head = await readHead(path, SNIFF_BYTES, { named: true });
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
    const { layout, rows } = await readRows(path, await openCsv(path), opts);
    const { classNames, classOfKey, note: classNote } = resolveClasses(rows.labels, path);
    const labels = Int32Array.from(rows.labelKeys, (key) => classOfKey[key]);
    const pixels = rows.pixels.join();
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
      fontIds: Int32Array.from(rows.fontIds),
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

/** The CSV, opened once it is known to be a regular file within CSV_CAP that is not empty. */
async function openCsv(path: string): Promise<{ handle: FileHandle; size: number }> {
  if ((await statNamed(path)).isDirectory()) {
    throw new UserError(`${path} is a folder; a CSV dataset is one .csv file.`);
  }
  const opened = await openRegular(path, { named: true, cap: CSV_CAP });
  if (opened.size === 0) {
    await opened.handle.close();
    throw emptyFile(path);
  }
  return opened;
}

async function readRows(
  path: string,
  { handle, size }: { handle: FileHandle; size: number },
  opts: ImportOptions,
): Promise<{ layout: Layout; rows: Rows }> {
  let read: { layout: Layout; rows: Rows } | null = null;
  let rowNumber = 0;
  const meter = progressMeter('reading CSV', size, opts);
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, max_record_size: MAX_RECORD_CHARS });
  // Up to the size it had when opened: a file that keeps growing cannot keep the import going.
  const feeding = pipeline(handle.createReadStream({ highWaterMark: 1 << 20, end: size - 1 }), meter, parser);
  // A read error also ends the loop below with that error; this only keeps it from going unhandled.
  feeding.catch(() => {});
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      rowNumber++;
      if (!read) {
        const layout = layoutOf(record, path);
        read = { layout, rows: emptyRows(layout) };
        if (layout.hasHeader) continue;
      }
      addRow(read.rows, record, rowNumber, read.layout, path);
    }
    await feeding;
  } catch (err) {
    // csv-parse's own errors (an unclosed quote) name the line; say which file too.
    if (err instanceof CsvError) {
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
  if (side < MIN_SIDE) {
    throw new UserError(
      `${path} has ${first.length} columns, so its rows hold ${side}×${side}-pixel images: too small for ` +
        `glyphs, which must be at least ${MIN_SIDE}×${MIN_SIDE} (${MIN_SIDE * MIN_SIDE} pixel columns; 784 for 28×28). ` +
        'Is it a glyph table, one row per glyph?',
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
    maxRows: Math.min(MAX_GLYPHS, Math.floor(MAX_PIXEL_BYTES / (paddedSide * paddedSide))),
  };
}

function emptyRows(layout: Layout): Rows {
  return {
    count: 0,
    pixels: new GlyphChunks(layout.paddedSide * layout.paddedSide),
    labelKeys: [],
    labels: new Map(),
    fontIds: [],
    fonts: new Map(),
    border: new Float64Array(256),
  };
}

/**
 * Glyph pixels in chunks added as rows arrive, each as large as all before it up to CHUNK_BYTES,
 * so memory follows the glyphs read; joined into one array at the end.
 */
class GlyphChunks {
  private readonly chunks: Uint8Array[] = [];
  /** Glyphs the last chunk has room for still. */
  private room = 0;
  private stored = 0;

  constructor(private readonly area: number) {}

  /** The chunk and offset where the next glyph's pixels go (zeroed: padding stays black). */
  next(): { chunk: Uint8Array; offset: number } {
    if (this.room === 0) {
      const most = Math.max(1, Math.floor(CHUNK_BYTES / this.area));
      this.room = Math.min(most, Math.max(FIRST_CHUNK_GLYPHS, this.stored));
      this.chunks.push(new Uint8Array(this.room * this.area));
    }
    const chunk = this.chunks[this.chunks.length - 1];
    const offset = chunk.length - this.room * this.area;
    this.room--;
    this.stored++;
    return { chunk, offset };
  }

  /** Every glyph stored, as one array; each chunk is let go once it is copied. */
  join(): Uint8Array {
    const out = new Uint8Array(this.stored * this.area);
    for (let at = 0; this.chunks.length > 0;) {
      const chunk = this.chunks.shift()!;
      const bytes = Math.min(chunk.length, out.length - at);
      out.set(chunk.subarray(0, bytes), at);
      at += bytes;
    }
    return out;
  }
}

function addRow(rows: Rows, record: string[], row: number, layout: Layout, path: string): void {
  if (record.length !== layout.cells) {
    throw new UserError(
      `${path}: row ${row} has ${record.length} cells, expected ${layout.cells} like row 1.`,
    );
  }
  if (rows.count === layout.maxRows) throw tooManyRows(path, row, layout);
  const label = record[layout.labelColumn].trim();
  if (label === '') {
    throw new UserError(`${path}: row ${row} has an empty label (${columnName(layout, layout.labelColumn)}).`);
  }
  let entry = rows.labels.get(label);
  if (!entry) {
    entry = { key: rows.labels.size, row };
    rows.labels.set(label, entry);
  }
  rows.labelKeys.push(entry.key);
  if (layout.fontColumn !== null) {
    const font = record[layout.fontColumn].trim();
    if (font === '') {
      throw new UserError(`${path}: row ${row} has an empty font (${columnName(layout, layout.fontColumn)}).`);
    }
    let id = rows.fonts.get(font);
    if (id === undefined) rows.fonts.set(font, (id = rows.fonts.size));
    rows.fontIds.push(id);
  }
  const { side, paddedSide, offset, pixelColumns } = layout;
  const { chunk, offset: base } = rows.pixels.next();
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
      chunk[rowStart + x] = value;
      if (y === 0 || y === side - 1 || x === 0 || x === side - 1) rows.border[value]++;
    }
  }
  rows.count++;
}

function tooManyRows(path: string, row: number, layout: Layout): UserError {
  const { maxRows, paddedSide } = layout;
  const bound = maxRows === MAX_GLYPHS
    ? `at most ${MAX_GLYPHS.toLocaleString('en-US')} glyphs`
    : `at most ${maxRows.toLocaleString('en-US')} glyphs of ${paddedSide}×${paddedSide} ` +
      `(${MAX_PIXEL_BYTES / 2 ** 30} GB of pixels)`;
  return new UserError(
    `${path} has more than ${maxRows.toLocaleString('en-US')} glyph rows (row ${row} is one too many): ` +
      `Fontloom imports ${bound} from one CSV. Split the file, or import part of it.`,
  );
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
