// A dataset at a glance: a grid of its first fonts, one row per font in class order.
import type { GlyphSet } from '../data/glyphset.ts';
import { renderSheet } from './sheet.ts';

/** The first `fonts` fonts that have every class, one row each (class order), as one NHWC block. */
function previewGrid(set: GlyphSet, fonts: number) {
  const classes = set.classNames.length;
  const per = set.height * set.width * set.channels;
  const byFont = new Map<number, Int32Array>();
  for (let i = 0; i < set.labels.length; i++) {
    let row = byFont.get(set.fontIds[i]);
    if (!row) byFont.set(set.fontIds[i], (row = new Int32Array(classes).fill(-1)));
    if (row[set.labels[i]] < 0) row[set.labels[i]] = i;
  }
  const rows = [...byFont.values()].filter((r) => r.every((i) => i >= 0)).slice(0, fonts);
  if (rows.length === 0) {
    // No font has every class (e.g. one glyph per font): show the first glyph of each class instead.
    const first = new Int32Array(classes).fill(-1);
    set.labels.forEach((l, i) => first[l] < 0 && (first[l] = i));
    rows.push(first);
  }
  const cells = rows.flatMap((r) => [...r]);
  const out = new Uint8Array(cells.length * per);
  cells.forEach((item, k) => item >= 0 && out.set(set.pixels.subarray(item * per, (item + 1) * per), k * per));
  return { pixels: out, cells, fonts: rows.length };
}

export async function renderPreview(set: GlyphSet, meta: { name: string; fonts: number }, fonts: number): Promise<{ png: Buffer; fonts: number }> {
  const grid = previewGrid(set, fonts);
  const labels = grid.cells.map((_, i) => set.classNames[i % set.classNames.length]);
  const png = await renderSheet(grid.pixels, grid.cells.length, set.height, set.width, set.channels as 1 | 3, labels, {
    columns: set.classNames.length,
    title: `${meta.name} · ${grid.fonts} of ${meta.fonts} fonts`,
    scale: 2,
  });
  return { png, fonts: grid.fonts };
}
