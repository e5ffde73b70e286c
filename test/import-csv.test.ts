import { mkdir, mkdtemp, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { splitByFont, validateGlyphSet } from '../src-main/data/glyphset.ts';
import { csvImporter } from '../src-main/data/importers/csv.ts';
import { chooseImporter } from '../src-main/data/importers/index.ts';
import type { ImportProgress } from '../src-main/data/importers/types.ts';
import { UserError } from '../src-main/errors.ts';
import { makeFifo, releaseFifos } from './helpers/special-files.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A glyph drawn as the handwritten set is: ink (255) on black, a bar whose place depends on `i`. */
function glyph(side: number, i: number, ink = 255, paper = 0): number[] {
  return Array.from({ length: side * side }, (_, p) => {
    const y = Math.floor(p / side), x = p % side;
    return x === 3 + (i % 5) && y >= 4 && y < side - 4 ? ink : paper;
  });
}

async function writeCsv(name: string, rows: (string | number)[][]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, rows.map((r) => r.join(',')).join('\n') + '\n');
  return path;
}

/** The "A–Z handwritten" layout: 785 columns, label 0..25 first, no header. */
function handwrittenRows(count: number): number[][] {
  return Array.from({ length: count }, (_, i) => [(i * 7) % 26, ...glyph(28, i)]);
}

function pixelHeader(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `pixel${i}`);
}

async function readError(path: string): Promise<UserError> {
  const err = await csvImporter.read(path).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe('the 28×28 "A–Z handwritten" CSV', () => {
  it('imports numeric labels as letters and pads each glyph to 32×32 with a black border', async () => {
    const rows = handwrittenRows(30);
    const path = await writeCsv('handwritten.csv', rows);
    const progress: ImportProgress[] = [];
    const { set, notes, suggestedName } = await csvImporter.read(path, { onProgress: (p) => progress.push(p) });

    validateGlyphSet(set, path);
    expect(suggestedName).toBe('handwritten');
    expect([set.count, set.height, set.width, set.channels]).toEqual([30, 32, 32, 1]);
    expect(set.classNames[0]).toBe('A');
    expect(set.classNames).toHaveLength(26);
    expect([...set.labels]).toEqual(rows.map((r) => r[0]));
    for (const i of [0, 1, 29]) {
      const at = (y: number, x: number) => set.pixels[i * 1024 + y * 32 + x];
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) expect(at(y + 2, x + 2)).toBe(rows[i][1 + y * 28 + x]);
      }
      for (let k = 0; k < 32; k++) expect([at(0, k), at(1, k), at(31, k), at(k, 0), at(k, 30)]).toEqual([0, 0, 0, 0, 0]);
    }
    expect(notes.join('\n')).toMatch(/28×28; padded .* to 32×32/);
    expect(notes.join('\n')).toMatch(/white glyphs on a dark background/);
    expect(notes.join('\n')).toMatch(/no font column/);

    // No font column: every row is its own font.
    expect(set.fonts).toHaveLength(30);
    expect([...set.fontIds]).toEqual(rows.map((_, i) => i));

    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({ phase: 'reading CSV', done: (await stat(path)).size, total: (await stat(path)).size });
  });

  it('is sniffed from its content, whatever the file is called', async () => {
    const path = await writeCsv('handwritten.dat', handwrittenRows(3));
    expect(await csvImporter.sniff(path)).toBe(true);
  });
});

describe('a 32×32 CSV with a header, letter labels and a font column', () => {
  const fontNames = ['Inter', 'Lora', 'Mono'];
  async function fixture(): Promise<{ path: string; rows: (string | number)[][] }> {
    const header = ['font_name', 'Letter', ...pixelHeader(1024)];
    const rows: (string | number)[][] = [];
    for (let i = 0; i < 12; i++) {
      const letter = 'AbCdEfGhIjKl'[i];
      rows.push([fontNames[i % 3], letter, ...glyph(32, i)]);
    }
    return { path: await writeCsv('fonts.csv', [header, ...rows]), rows };
  }

  it('reads letters in either case, keeps 32×32 as is, and groups rows by font', async () => {
    const { path, rows } = await fixture();
    const { set, notes } = await csvImporter.read(path);

    expect([set.count, set.height, set.width]).toEqual([12, 32, 32]);
    expect([...set.labels]).toEqual(rows.map((r) => String(r[1]).toUpperCase().charCodeAt(0) - 65));
    expect(set.fonts.map((f) => f.name)).toEqual(fontNames);
    expect([...set.fontIds]).toEqual(rows.map((_, i) => i % 3));
    expect([...set.pixels.subarray(5 * 1024, 6 * 1024)]).toEqual(rows[5].slice(2));
    expect(notes.join('\n')).not.toMatch(/padded/);
    expect(notes.join('\n')).not.toMatch(/no font column/);

    const split = splitByFont(set, 0.34, 1);
    const valFonts = new Set([...split.val].map((i) => set.fontIds[i]));
    const trainFonts = new Set([...split.train].map((i) => set.fontIds[i]));
    expect(valFonts.size).toBe(1);
    expect([...valFonts].some((f) => trainFonts.has(f))).toBe(false);
  });

  it('is sniffed from its header of pixel columns', async () => {
    expect(await csvImporter.sniff((await fixture()).path)).toBe(true);
  });
});

describe('other labels and polarities', () => {
  it('inverts dark glyphs on a light background to white on black, and says so', async () => {
    const rows = Array.from({ length: 4 }, (_, i) => [i, ...glyph(28, i, 0, 255)]);
    const path = await writeCsv('dark-on-light.csv', rows);
    const { set, notes } = await csvImporter.read(path);

    const light = Array.from({ length: 4 }, (_, i) => glyph(28, i));
    for (let i = 0; i < 4; i++) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) expect(set.pixels[i * 1024 + (y + 2) * 32 + x + 2]).toBe(light[i][y * 28 + x]);
      }
      expect(set.pixels[i * 1024]).toBe(0); // the padding stays black
    }
    expect(notes.join('\n')).toMatch(/dark glyphs on a light background.*inverted/);
  });

  it('takes indices beyond 25 as classes of their own, in order', async () => {
    const labels = [40, 3, 46, 3, 0];
    const path = await writeCsv('emnist.csv', labels.map((l, i) => [l, ...glyph(16, i)]));
    const { set, notes } = await csvImporter.read(path);

    expect(set.classNames).toEqual(['0', '3', '40', '46']);
    expect([...set.labels]).toEqual([2, 1, 3, 1, 0]);
    expect([set.height, set.width]).toEqual([16, 16]);
    expect(notes.join('\n')).toMatch(/beyond 25/);
  });
});

describe('refusing bad CSVs', () => {
  it('names the row with the wrong number of cells', async () => {
    const rows: number[][] = handwrittenRows(20);
    rows[16] = rows[16].slice(0, 784);
    const err = await readError(await writeCsv('short-row.csv', rows));
    expect(err.message).toContain('short-row.csv');
    expect(err.message).toContain('row 17 has 784 cells, expected 785 like row 1');
  });

  it('names the row, column header and value of a non-numeric pixel', async () => {
    const rows: (string | number)[][] = [['label', ...pixelHeader(1024)], ...handwrittenRows(3).map((r) => [r[0], ...glyph(32, 0)])];
    rows[2][6] = 'x7';
    const err = await readError(await writeCsv('letters.csv', rows));
    expect(err.message).toMatch(/letters\.csv: row 3, column "pixel5" has "x7"; expected a pixel value from 0 to 255/);
  });

  it('names the row, column index and value of an out-of-range pixel', async () => {
    const rows = handwrittenRows(5);
    rows[3][100] = 256;
    const err = await readError(await writeCsv('range.csv', rows));
    expect(err.message).toMatch(/range\.csv: row 4, column 101 has "256"/);
  });

  it('names the row of an empty label', async () => {
    const rows: (string | number)[][] = handwrittenRows(5);
    rows[2][0] = '';
    const err = await readError(await writeCsv('no-label.csv', rows));
    expect(err.message).toMatch(/no-label\.csv: row 3 has an empty label \(column 1\)/);
  });

  it('names the row of a label that is no class index', async () => {
    const rows = handwrittenRows(5);
    rows[4][0] = -1;
    const err = await readError(await writeCsv('negative.csv', rows));
    expect(err.message).toMatch(/negative\.csv: row 5 has label "-1"/);
  });

  it('refuses a quote that never closes, naming the file', async () => {
    const rows: (string | number)[][] = handwrittenRows(4);
    rows[2][0] = '"B';
    const err = await readError(await writeCsv('quote.csv', rows));
    expect(err.message).toMatch(/quote\.csv is not a readable CSV: Quote Not Closed.*at line \d+/);
  });

  it('refuses a quote in the middle of a cell, naming the file, as the user’s mistake', async () => {
    const rows: (string | number)[][] = handwrittenRows(4);
    rows[2][0] = 'B"x';
    const err = await readError(await writeCsv('midquote.csv', rows));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/midquote\.csv is not a readable CSV: Invalid Opening Quote.*line 3/);
  });

  it('says how many pixel columns it found when they make no square', async () => {
    const err = await readError(await writeCsv('odd.csv', [[1, ...new Array(700).fill(0)]]));
    expect(err.message).toMatch(/odd\.csv has 701 columns: a label column and 700 pixel columns/);
    expect(err.message).toMatch(/784 pixel columns \(28×28\), 1024 \(32×32\)/);
  });

  it('refuses an empty file and a header without rows', async () => {
    expect((await readError(await writeCsv('empty.csv', []))).message).toMatch(/empty\.csv is empty/);
    const path = join(dir, 'blank.csv');
    await writeFile(path, '');
    expect((await readError(path)).message).toMatch(/blank\.csv is empty/);
    const header = await writeCsv('header-only.csv', [['label', ...pixelHeader(784)]]);
    expect((await readError(header)).message).toMatch(/header-only\.csv has a header row but no glyph rows/);
  });
});

describe('CSVs that would take the machine', () => {
  afterEach(releaseFifos);

  it('refuses a million rows of a label and one pixel at the first row, not after reading them all', async () => {
    const path = join(dir, 'one-pixel.csv');
    await writeFile(path, 'A,7\n'.repeat(1_000_000));
    const rssBefore = process.memoryUsage().rss;
    const err = await readError(path);
    expect(err.message).toBe(
      `${path} has 2 columns, so its rows hold 1×1-pixel images: too small for glyphs, which must be at least 8×8 ` +
        '(64 pixel columns; 784 for 28×28). Is it a glyph table, one row per glyph?',
    );
    // A sanity bound, not a measurement: the tester saw 674 MB for 1.5 million such rows.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(300 * 2 ** 20);
  });

  it('gathers thousands of rows in growing chunks and puts every glyph where its row says', async () => {
    // Each glyph carries its row number in its first two pixels, so a glyph out of place shows.
    const count = 3000;
    const rows = Array.from({ length: count }, (_, i) => {
      const pixels = new Array<number>(784).fill(0);
      pixels[0] = i % 256;
      pixels[1] = Math.floor(i / 256);
      return [i % 26, ...pixels];
    });
    const { set } = await csvImporter.read(await writeCsv('many.csv', rows));
    expect([set.count, set.height, set.width]).toEqual([count, 32, 32]);
    expect(set.pixels.length).toBe(count * 1024);
    for (let i = 0; i < count; i++) {
      const first = i * 1024 + 2 * 32 + 2; // (2, 2): the source's (0, 0) inside the padding
      expect([set.pixels[first], set.pixels[first + 1], set.labels[i]], `row ${i + 1}`).toEqual([i % 256, Math.floor(i / 256), i % 26]);
    }
  });

  it('refuses a CSV over the 4 GB cap, naming the file and the cap, without reading it', async () => {
    const path = await writeCsv('huge.csv', handwrittenRows(2));
    await truncate(path, 5 * 2 ** 30); // sparse: nothing past the two rows is stored
    expect((await readError(path)).message).toBe(`${path} is 5.0 GB, over the 4.0 GB limit for a glyph CSV. Is it the right file?`);
  });

  it('refuses a FIFO named as the CSV, by its format or found by sniffing, instead of waiting on it', async () => {
    const fifo = makeFifo(join(dir, 'pipe.csv'));
    const refusal = `${fifo} is a FIFO, not a regular file: Fontloom imports regular files only.`;
    expect((await readError(fifo)).message).toBe(refusal);
    expect(await csvImporter.sniff(fifo)).toBe(false);
    await expect(chooseImporter(fifo, 'auto')).rejects.toThrow(refusal);
  }, 10_000);

  it('follows a link the user names to a CSV, as they meant', async () => {
    const link = join(dir, 'link.csv');
    await symlink(await writeCsv('target.csv', handwrittenRows(3)), link);
    expect((await csvImporter.read(link)).set.count).toBe(3);
  });
});

describe('sniffing', () => {
  it('says no to a random binary, a PNG, a folder and a small table', async () => {
    const random = join(dir, 'random.bin');
    await writeFile(random, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)));
    const png = join(dir, 'glyph.png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toFile(png);
    const folder = join(dir, 'folder');
    await mkdir(folder, { recursive: true });
    const table = await writeCsv('table.csv', [['a', 'b'], [1, 2]]);

    for (const path of [random, png, folder, table, join(dir, 'missing.csv')]) {
      expect(await csvImporter.sniff(path), path).toBe(false);
    }
  });
});
