// A dataset's figures in words.
import type { Dataset, DatasetFormat } from '../../src-main/contract/api.ts';
import { integer, when } from './format.ts';

/** What a dataset's items are: glyphs, or CIFAR-10's photos. */
function items(d: Pick<Dataset, 'format'>): string {
  return d.format === 'cifar10' ? 'images' : 'glyphs';
}

/** The count of its items, and of its fonts or why it knows none. */
function contents(d: Dataset): string {
  const count = `${integer(d.count)} ${items(d)}`;
  if (d.fontsKnown) return `${count} · ${integer(d.fonts)} fonts`;
  if (d.format === 'cifar10') return `${count}, not fonts`;
  if (d.format === 'csv') return `no font column: ${count}, fonts unknown`;
  return `${count}, fonts unknown`;
}

export function datasetSummary(d: Dataset): string {
  const colour = d.channels === 1 ? 'grey' : d.channels === 3 ? 'RGB' : `${d.channels} channels`;
  return `${contents(d)} · ${d.classes} classes · ${d.height}×${d.width} ${colour}`;
}

export function classList(d: Dataset): string {
  const names = d.classNames;
  if (isAlphabet(d)) return 'A–Z';
  return names.join(', ');
}

function isAlphabet(d: Dataset): boolean {
  return d.classNames.join('') === 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
}

/** The files an import read, as the owner of what they hold: "The CSV's". */
const READ_AS: Record<DatasetFormat, string> = {
  kaggle: 'The letter folders’',
  npz: 'The npz’s',
  csv: 'The CSV’s',
  fonts: 'The fonts’',
  cifar10: 'The CIFAR-10 batches’',
};

/** What an import says when its glyphs were imported before: what it read, and which dataset holds the same. */
export function alreadyImported(readAs: DatasetFormat, d: Dataset): string {
  return `${READ_AS[readAs]} ${integer(d.count)} ${items({ format: readAs })} are the same as those of “${d.name}”, ` +
    `imported on ${when(d.created)}: showing it.`;
}

/** The preview's choice of rows, named for what a row is: a font, or the k-th glyph of each class. */
export function previewRowsLabel(d: Dataset): string {
  if (d.fontsKnown) return 'Fonts shown';
  return `${d.format === 'cifar10' ? 'Images' : 'Glyphs'} of each ${isAlphabet(d) ? 'letter' : 'class'}`;
}

/** Words under the preview: which rows it shows, out of how many. */
export function previewCaption(d: Dataset, p: { by: 'font' | 'glyph'; shown: number; of: number }): string {
  if (p.by === 'font') return p.shown === p.of ? `All ${integer(p.of)} fonts, one a row.` : `${integer(p.shown)} of ${integer(p.of)} fonts, one a row.`;
  const what = `${items(d)} of each ${isAlphabet(d) ? 'letter' : 'class'}`;
  const why = d.format === 'cifar10' ? 'CIFAR-10 holds photos, not fonts' : d.format === 'csv' ? 'the CSV has no font column' : 'the dataset does not say which glyphs share a font';
  return `The first ${integer(p.shown)} ${what}, in the order of the file (${why}).`;
}
