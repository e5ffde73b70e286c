// A dataset at a glance: a grid of its glyphs, one column per class, and a row per font or, where
// the dataset knows no fonts, the first, second, … glyph of each class. The studio gets the
// glyphs alone and writes the labels beside them; the CLI's sheet has them drawn in.
import type { DatasetPreview } from '../contract/api.ts';
import type { GlyphSet } from '../data/glyphset.ts';
import { SHEET_SPACING, renderSheet, sheetLayout } from './sheet.ts';

const SCALE = 2;

/** Which glyph goes in each cell (−1: none), row by row, and what the rows are. */
interface Grid {
  by: DatasetPreview['by'];
  cells: Int32Array;
  shown: number;
  of: number;
  rowNames: string[] | null;
}

/** The first `rows` fonts, those with every class first, each in class order. */
function fontRows(set: GlyphSet, rows: number): Grid {
  const classes = set.classNames.length;
  const byFont = new Map<number, Int32Array>();
  for (let i = 0; i < set.labels.length; i++) {
    let row = byFont.get(set.fontIds[i]);
    if (!row) byFont.set(set.fontIds[i], (row = new Int32Array(classes).fill(-1)));
    if (row[set.labels[i]] < 0) row[set.labels[i]] = i;
  }
  const fonts = [...byFont.entries()];
  const complete = (row: Int32Array) => row.every((i) => i >= 0);
  const chosen = [...fonts.filter(([, r]) => complete(r)), ...fonts.filter(([, r]) => !complete(r))].slice(0, rows);
  return {
    by: 'font',
    cells: Int32Array.from(chosen.flatMap(([, r]) => [...r])),
    shown: chosen.length,
    of: fonts.length,
    rowNames: chosen.map(([font]) => fontName(set, font)),
  };
}

/** Row k holds the k-th glyph of each class, in the dataset's order. */
function glyphRows(set: GlyphSet, rows: number): Grid {
  const classes = set.classNames.length;
  const perClass: number[][] = Array.from({ length: classes }, () => []);
  set.labels.forEach((label, i) => perClass[label].push(i));
  const of = Math.max(...perClass.map((items) => items.length));
  const shown = Math.min(rows, of);
  const cells = Int32Array.from({ length: shown * classes }, (_, k) => perClass[k % classes][Math.floor(k / classes)] ?? -1);
  return { by: 'glyph', cells, shown, of, rowNames: null };
}

/** A font's name as a row label: Kaggle's fonts are numbered files, "font 12". */
function fontName(set: GlyphSet, font: number): string {
  const name = set.fonts[font]?.name ?? String(font);
  return /^\d+$/.test(name) ? `font ${name}` : name;
}

function gridOf(set: GlyphSet, fontsKnown: boolean, rows: number): Grid {
  return fontsKnown ? fontRows(set, rows) : glyphRows(set, rows);
}

function pixelsOf(set: GlyphSet, cells: Int32Array): Uint8Array {
  const per = set.height * set.width * set.channels;
  const out = new Uint8Array(cells.length * per);
  cells.forEach((item, k) => item >= 0 && out.set(set.pixels.subarray(item * per, (item + 1) * per), k * per));
  return out;
}

/** The studio's preview: the glyphs alone, and the words that go around them. */
export async function renderPreview(set: GlyphSet, fontsKnown: boolean, rows: number): Promise<{ png: Buffer; preview: Omit<DatasetPreview, 'png' | 'width' | 'height'> }> {
  const grid = gridOf(set, fontsKnown, rows);
  const options = { columns: set.classNames.length, scale: SCALE, labels: false };
  const png = await renderSheet(pixelsOf(set, grid.cells), grid.cells.length, set.height, set.width, set.channels as 1 | 3, [], options);
  const layout = sheetLayout(grid.cells.length, set.height, set.width, options);
  return {
    png,
    preview: {
      by: grid.by,
      shown: grid.shown,
      of: grid.of,
      columns: [...set.classNames],
      rows: grid.rowNames,
      gap: SHEET_SPACING.gap,
      cellWidth: layout.glyphWidth,
      cellHeight: layout.glyphHeight,
    },
  };
}

/** The CLI's preview sheet: each glyph under its class name, and a title that says what the rows are. */
export async function renderPreviewSheet(set: GlyphSet, meta: { name: string; fontsKnown: boolean }, rows: number): Promise<Buffer> {
  const grid = gridOf(set, meta.fontsKnown, rows);
  const labels = Array.from(grid.cells, (_, k) => set.classNames[k % set.classNames.length]);
  const title = grid.by === 'font'
    ? `${meta.name} · ${grid.shown} of ${grid.of} fonts`
    : `${meta.name} · fonts unknown: the first ${grid.shown} glyphs of each class`;
  return renderSheet(pixelsOf(set, grid.cells), grid.cells.length, set.height, set.width, set.channels as 1 | 3, labels, {
    columns: set.classNames.length,
    title,
    scale: SCALE,
  });
}
