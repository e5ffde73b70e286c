// How the studio words a dataset: its figures, a second import of the same glyphs, and what its
// preview's rows are, for fonts, a CSV without a font column, an npz and CIFAR-10's photos.
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../src-main/contract/api.ts';
import { alreadyImported, datasetSummary, previewCaption, previewRowsLabel } from '../src-renderer/lib/datasets.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

function dataset(d: Partial<Dataset>): Dataset {
  return {
    id: 'x-0a1b2c3d', name: 'x', format: 'kaggle', count: 156, classes: 26, classNames: LETTERS, fonts: 6, fontsKnown: true,
    height: 32, width: 32, channels: 1, source: '/data/x', created: '2026-11-27T10:00:00.000Z', notes: [], ...d,
  };
}

const kaggle = dataset({ name: 'kaggle' });
const rows = dataset({ name: 'rows', format: 'csv', count: 312, fonts: 312, fontsKnown: false });
const plainNpz = dataset({ name: 'arrays', format: 'npz', count: 40, fonts: 40, fontsKnown: false });
const cifar = dataset({
  name: 'cifar', format: 'cifar10', count: 60_000, classes: 10, fonts: 6, fontsKnown: false, channels: 3,
  classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
});

describe("a dataset's words", () => {
  it('counts fonts only where the dataset knows them', () => {
    expect(datasetSummary(kaggle)).toBe('156 glyphs · 6 fonts · 26 classes · 32×32 grey');
    expect(datasetSummary(rows)).toBe('no font column: 312 glyphs, fonts unknown · 26 classes · 32×32 grey');
    expect(datasetSummary(plainNpz)).toBe('40 glyphs, fonts unknown · 26 classes · 32×32 grey');
    expect(datasetSummary(cifar)).toBe('60,000 images, not fonts · 10 classes · 32×32 RGB');
  });

  it('says what a second import read and which dataset holds the same glyphs', () => {
    expect(alreadyImported('csv', kaggle)).toMatch(/^The CSV’s 156 glyphs are the same as those of “kaggle”, imported on .+: showing it\.$/);
    expect(alreadyImported('fonts', kaggle)).toMatch(/^The fonts’ 156 glyphs are the same as those of “kaggle”/);
  });

  it('names the preview’s rows by what they are: fonts, or the glyphs or images of each class', () => {
    expect(previewRowsLabel(kaggle)).toBe('Fonts shown');
    expect(previewRowsLabel(rows)).toBe('Glyphs of each letter');
    expect(previewRowsLabel(cifar)).toBe('Images of each class');
    expect(previewCaption(kaggle, { by: 'font', shown: 6, of: 6 })).toBe('All 6 fonts, one a row.');
    expect(previewCaption(kaggle, { by: 'font', shown: 8, of: 355 })).toBe('8 of 355 fonts, one a row.');
    expect(previewCaption(rows, { by: 'glyph', shown: 8, of: 12 })).toBe('The first 8 glyphs of each letter, in the order of the file (the CSV has no font column).');
    expect(previewCaption(cifar, { by: 'glyph', shown: 16, of: 6000 })).toBe('The first 16 images of each class, in the order of the file (CIFAR-10 holds photos, not fonts).');
  });
});
