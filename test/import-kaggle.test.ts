import { mkdir, mkdtemp, rename, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { contentHash, validateGlyphSet } from '../src-main/data/glyphset.ts';
import { kaggleImporter } from '../src-main/data/importers/kaggle.ts';
import type { ImportProgress } from '../src-main/data/importers/types.ts';
import { UserError } from '../src-main/errors.ts';
import { makeFifo, releaseFifos } from './helpers/special-files.ts';
import { LETTERS, syntheticGlyphSet } from './helpers/synthetic.ts';

// Five fonts, named as Kaggle names them (file stems), deliberately out of natural order.
const STEMS = ['10', '2', '0', '33', '7'];
const SORTED_STEMS = ['0', '2', '7', '10', '33'];
const drawn = syntheticGlyphSet({ fonts: STEMS.length });
const AREA = 32 * 32;

function glyph(font: number, letter: number): Uint8Array {
  const item = font * LETTERS.length + letter;
  return drawn.pixels.subarray(item * AREA, (item + 1) * AREA);
}

function greyPng(pixels: Uint8Array, size = 32): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

/** "A/10.png" → the PNG of that glyph, for all 5 × 26. */
let pngs: Map<string, Buffer>;
beforeAll(async () => {
  pngs = new Map();
  for (const [font, stem] of STEMS.entries()) {
    for (const [letter, name] of LETTERS.entries()) pngs.set(`${name}/${stem}.png`, await greyPng(glyph(font, letter)));
  }
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-kaggle-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `<dir>/<name>/Images/Images/{A..Z}/{stem}.png` and returns `<dir>/<name>`. */
async function writeKaggleFolder(name = 'alphabet-dataset', letterCase: 'upper' | 'lower' = 'upper'): Promise<string> {
  const top = join(dir, name);
  for (const [file, png] of pngs) {
    const [letter, base] = file.split('/');
    const folder = join(top, 'Images', 'Images', letterCase === 'upper' ? letter : letter.toLowerCase());
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, base), png);
  }
  return top;
}

interface ZipInput {
  name: string;
  data: Buffer;
  compress?: boolean;
}

function kaggleEntries(prefix = 'Images/Images/'): ZipInput[] {
  return [...pngs].map(([file, data]) => ({ name: `${prefix}${file}`, data }));
}

async function zipBytes(entries: ZipInput[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    if (entry.name.endsWith('/')) zip.addEmptyDirectory(entry.name);
    else zip.addBuffer(entry.data, entry.name, { compress: entry.compress ?? true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function writeZip(name: string, entries: ZipInput[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, await zipBytes(entries));
  return file;
}

/** Offsets of the central-directory records, by entry name, read from the end-of-directory record. */
function centralDirectory(zip: Buffer): Map<string, number> {
  const end = zip.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const records = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(offset + 28);
    records.set(zip.toString('utf8', offset + 46, offset + 46 + nameLength), offset);
    offset += 46 + nameLength + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return records;
}

/** Rewrites the uncompressed size an entry declares in the central directory (what readers trust). */
function declareSize(zip: Buffer, name: string, size: number): void {
  zip.writeUInt32LE(size, centralDirectory(zip).get(name)! + 24);
}

async function importError(path: string): Promise<UserError> {
  const error = await kaggleImporter.read(path).then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('the Kaggle importer', () => {
  it('imports the folder: one font per file name in natural order, letters from the folders, pixels as drawn', async () => {
    const top = await writeKaggleFolder();
    const progress: ImportProgress[] = [];
    const { set, notes, suggestedName } = await kaggleImporter.read(top, { onProgress: (p) => progress.push(p) });

    validateGlyphSet(set, 'imported');
    expect([set.count, set.height, set.width, set.channels]).toEqual([130, 32, 32, 1]);
    expect(set.classNames).toEqual(LETTERS);
    expect(set.fonts.map((font) => font.name)).toEqual(SORTED_STEMS);
    expect(set.fonts[0].source).toBe(join(top, 'Images', 'Images'));
    for (let item = 0; item < set.count; item++) {
      const font = Math.floor(item / 26);
      const letter = item % 26;
      expect(set.labels[item]).toBe(letter);
      expect(set.fontIds[item]).toBe(font);
      const drawnFont = STEMS.indexOf(SORTED_STEMS[font]);
      expect(set.pixels.subarray(item * AREA, (item + 1) * AREA)).toEqual(glyph(drawnFont, letter));
    }
    expect(notes).toEqual([]);
    expect(suggestedName).toBe('alphabet-dataset');
    expect(progress[0]).toEqual({ phase: 'reading PNGs', done: 0, total: 130 });
    expect(progress.at(-1)).toEqual({ phase: 'reading PNGs', done: 130, total: 130 });
    expect(progress.length).toBeLessThanOrEqual(102);
  });

  it('accepts the download at any level: the top folder, Images/ and Images/Images/ give the same set', async () => {
    const top = await writeKaggleFolder();
    const hashes = await Promise.all(
      [top, join(top, 'Images'), join(top, 'Images', 'Images')].map(async (path) => contentHash((await kaggleImporter.read(path)).set)),
    );
    expect(new Set(hashes).size).toBe(1);
    expect((await kaggleImporter.read(join(top, 'Images', 'Images'))).suggestedName).toBe('alphabet-dataset');
  });

  it('reads a zip of the folder without unpacking it, to the same content hash', async () => {
    const folderHash = contentHash((await kaggleImporter.read(await writeKaggleFolder())).set);
    const extras = [{ name: 'character_font.npz', data: Buffer.from('not read') }];
    const kaggleZip = await writeZip('archive.zip', [...extras, ...kaggleEntries('Images/Images/')]);
    const deeperZip = await writeZip('mine.zip', kaggleEntries('alphabet-dataset/Images/Images/'));
    const storedZip = await writeZip('letters.zip', kaggleEntries('').map((e) => ({ ...e, compress: false })));
    for (const zip of [kaggleZip, deeperZip, storedZip]) {
      const { set } = await kaggleImporter.read(zip);
      expect(contentHash(set)).toBe(folderHash);
      expect(set.fonts[0].source).toBe(zip);
    }
    expect((await kaggleImporter.read(kaggleZip)).suggestedName).toBe('archive');
  });

  it('keeps a font that lacks letters, skips stray files, and says so', async () => {
    const top = await writeKaggleFolder();
    const letters = join(top, 'Images', 'Images');
    await unlink(join(letters, 'Q', '7.png'));
    await unlink(join(letters, 'W', '7.png'));
    await writeFile(join(letters, 'A', 'Thumbs.db'), 'x');
    const { set, notes } = await kaggleImporter.read(top);
    expect(set.count).toBe(128);
    const font7 = SORTED_STEMS.indexOf('7');
    const labels7 = [...set.labels].filter((_, item) => set.fontIds[item] === font7);
    expect(labels7.map((l) => LETTERS[l]).join('')).toBe('ABCDEFGHIJKLMNOPRSTUVXYZ');
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/1 of 5 fonts lack some letters.*font 7 lacks Q, W/);
    expect(notes[1]).toMatch(/Skipped 1 file .*Thumbs\.db/);
  });

  it('takes lowercase letter folders, and colour or transparent PNGs as grey on black', async () => {
    const top = await writeKaggleFolder('lower', 'lower');
    const letters = join(top, 'Images', 'Images');
    const a = glyph(STEMS.indexOf('0'), 0);
    const b = glyph(STEMS.indexOf('0'), 1);
    // A as grey RGB, B as white ink whose alpha carries the glyph.
    const rgb = Buffer.alloc(AREA * 3);
    a.forEach((v, i) => rgb.fill(v, i * 3, i * 3 + 3));
    const rgba = Buffer.alloc(AREA * 4, 255);
    b.forEach((v, i) => (rgba[i * 4 + 3] = v));
    await writeFile(join(letters, 'a', '0.png'), await sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer());
    await writeFile(join(letters, 'b', '0.png'), await sharp(rgba, { raw: { width: 32, height: 32, channels: 4 } }).png().toBuffer());
    const { set } = await kaggleImporter.read(top);
    expect(set.classNames).toEqual(LETTERS);
    expect(set.channels).toBe(1);
    expect(set.pixels.subarray(0, AREA)).toEqual(a);
    expect(set.pixels.subarray(AREA, 2 * AREA)).toEqual(b);
  });

  it('sniffs its own folders and zips, and nothing else', async () => {
    const top = await writeKaggleFolder();
    const zip = await writeZip('archive.zip', kaggleEntries());
    for (const path of [top, join(top, 'Images'), join(top, 'Images', 'Images'), zip]) {
      expect(await kaggleImporter.sniff(path)).toBe(true);
    }
    const csv = join(dir, 'letters.csv');
    await writeFile(csv, 'label,p0,p1\n0,0,255\n');
    const binary = join(dir, 'data_batch_1.bin');
    await writeFile(binary, Buffer.from(Array.from({ length: 3073 }, (_, i) => (i * 97) % 256)));
    const npz = await writeZip('character_font.npz', [{ name: 'images.npy', data: Buffer.alloc(10) }, { name: 'labels.npy', data: Buffer.alloc(10) }]);
    const fontsZip = await writeZip('fonts.zip', [{ name: 'fonts/A/Arial.ttf', data: Buffer.alloc(10) }]);
    const plain = join(dir, 'plain');
    await mkdir(join(plain, 'fonts'), { recursive: true });
    await writeFile(join(plain, 'fonts', 'a.ttf'), 'x');
    const empty = join(dir, 'empty');
    await mkdir(empty);
    for (const path of [csv, binary, npz, fontsZip, plain, empty, join(dir, 'missing')]) {
      expect(await kaggleImporter.sniff(path)).toBe(false);
    }
  });
});

describe('the Kaggle importer refuses', () => {
  it('a truncated PNG, naming it', async () => {
    const top = await writeKaggleFolder();
    const file = join(top, 'Images', 'Images', 'B', '2.png');
    await truncate(file, Math.floor(pngs.get('B/2.png')!.length / 2));
    expect((await importError(top)).message).toContain(`${file} is not a readable PNG`);
  });

  it('a file that is not a PNG at all, naming it', async () => {
    const top = await writeKaggleFolder();
    const file = join(top, 'Images', 'Images', 'B', '33.png');
    await writeFile(file, 'GIF89a, not a PNG');
    expect((await importError(top)).message).toContain(`${file} is not a readable PNG`);
  });

  it('a 28×28 glyph among 32×32 ones', async () => {
    const top = await writeKaggleFolder();
    const file = join(top, 'Images', 'Images', 'C', '7.png');
    await writeFile(file, await greyPng(new Uint8Array(28 * 28), 28));
    expect((await importError(top)).message).toContain(`${file} is 28×28, expected 32×32 like the other glyphs`);
  });

  it('a set of letter folders with letters missing, naming them', async () => {
    const top = await writeKaggleFolder();
    await rm(join(top, 'Images', 'Images', 'Q'), { recursive: true });
    await rm(join(top, 'Images', 'Images', 'W'), { recursive: true });
    const message = (await importError(top)).message;
    expect(message).toContain(join(top, 'Images', 'Images'));
    expect(message).toContain('lacks the letter folders Q, W');
  });

  it('an empty folder, and a folder without letter folders', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    expect((await importError(empty)).message).toMatch(/empty\b.* is empty: expected letter folders A\.\.Z/);
    await mkdir(join(dir, 'other', 'fonts'), { recursive: true });
    expect((await importError(join(dir, 'other'))).message).toContain(`${join(dir, 'other')} holds no letter folders`);
  });

  it('a letter folder with no PNGs in it', async () => {
    const top = await writeKaggleFolder();
    const folder = join(top, 'Images', 'Images', 'K');
    await rm(folder, { recursive: true });
    await mkdir(folder);
    await writeFile(join(folder, 'Thumbs.db'), 'x');
    expect((await importError(top)).message).toContain(`Letter folder ${folder} holds no PNG glyphs`);
  });

  it('a zip with a letter folder missing or empty, naming it', async () => {
    const withoutK = kaggleEntries().filter((e) => !e.name.includes('/K/'));
    const missing = await writeZip('missing.zip', withoutK);
    expect((await importError(missing)).message).toContain(`Zip ${missing}: Images/Images/ lacks the letter folder K`);
    const empty = await writeZip('empty.zip', [...withoutK, { name: 'Images/Images/K/', data: Buffer.alloc(0) }]);
    expect((await importError(empty)).message).toContain(`Letter folder Images/Images/K/ in ${empty} holds no PNG glyphs`);
  });

  it('a broken PNG inside a zip, naming the entry', async () => {
    const entries = kaggleEntries().map((e) => (e.name.endsWith('B/2.png') ? { ...e, data: e.data.subarray(0, 60) } : e));
    const zip = await writeZip('archive.zip', entries);
    expect((await importError(zip)).message).toContain(`Zip entry Images/Images/B/2.png in ${zip} is not a readable PNG`);
  });

  it('a zip bomb: a 16 MB entry of zeros, at once and without inflating it', async () => {
    const bomb = Buffer.alloc(16 * 2 ** 20);
    const entries = kaggleEntries().map((e) => (e.name.endsWith('A/0.png') ? { ...e, data: bomb } : e));
    const zip = await writeZip('bomb.zip', entries);
    const started = performance.now();
    const message = (await importError(zip)).message;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(message).toContain(`Zip entry Images/Images/A/0.png in ${zip} is refused: it would inflate to 16.0 MB`);
  });

  it('a zip entry that inflates past the size it declares', async () => {
    const entries = kaggleEntries().map((e) => (e.name.endsWith('A/0.png') ? { ...e, data: Buffer.alloc(2 * 2 ** 20) } : e));
    const bytes = await zipBytes(entries);
    declareSize(bytes, 'Images/Images/A/0.png', 1000);
    const zip = join(dir, 'liar.zip');
    await writeFile(zip, bytes);
    expect((await importError(zip)).message).toContain(
      `Zip entry Images/Images/A/0.png in ${zip} is refused: it inflates past the 1000 bytes it declares`,
    );
  });

  it('a zip entry with a compression ratio no PNG has', async () => {
    const entries = kaggleEntries().map((e) => (e.name.endsWith('A/0.png') ? { ...e, data: Buffer.alloc(2 ** 20) } : e));
    const zip = await writeZip('ratio.zip', entries);
    expect((await importError(zip)).message).toMatch(
      new RegExp(`Zip entry Images/Images/A/0\\.png in .*ratio\\.zip is refused: it would inflate \\d+-fold`),
    );
  });

  it('a zip whose entries would inflate past 4 GB in all', async () => {
    const entries: ZipInput[] = [];
    for (const letter of LETTERS) {
      for (let stem = 0; stem < 24; stem++) entries.push({ name: `${letter}/${stem}.png`, data: Buffer.from('x'), compress: false });
    }
    const bytes = await zipBytes(entries);
    for (const entry of entries) declareSize(bytes, entry.name, 7_000_000);
    const zip = join(dir, 'huge.zip');
    await writeFile(zip, bytes);
    expect((await importError(zip)).message).toContain(`Zip ${zip} is refused: its 624 entries would inflate to 4.1 GB, over the 4.0 GB limit`);
  });

  it('a zip entry that points outside the archive', async () => {
    for (const [placeholder, evil] of [['aa/x.png', '../x.png'], ['etc/xx', '/etc/x']]) {
      const bytes = await zipBytes([...kaggleEntries(), { name: placeholder, data: Buffer.from('hello'), compress: false }]);
      let patched = 0;
      for (let at = bytes.indexOf(placeholder); at >= 0; at = bytes.indexOf(placeholder, at + 1)) {
        bytes.write(evil, at, 'latin1');
        patched++;
      }
      expect(patched).toBe(2); // the local header and the central directory
      const zip = join(dir, 'evil.zip');
      await writeFile(zip, bytes);
      expect((await importError(zip)).message).toContain(`Zip entry ${evil} in ${zip} is refused: it points outside the archive`);
    }
  });

  it('a file that looks like a zip but is not one', async () => {
    const zip = join(dir, 'broken.zip');
    await writeFile(zip, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(100, 7)]));
    expect((await importError(zip)).message).toContain(`${zip} is not a readable zip archive`);
    const csv = join(dir, 'letters.csv');
    await writeFile(csv, 'label,p0\n0,0\n');
    expect((await importError(csv)).message).toContain(`${csv} is neither a folder nor a zip archive`);
  });
});

describe('the Kaggle importer opens regular files only', () => {
  afterEach(releaseFifos);

  /** Puts a FIFO where a glyph was, and returns its path. */
  async function fifoGlyph(top: string, glyph: string): Promise<string> {
    const file = join(top, 'Images', 'Images', glyph);
    await unlink(file);
    return makeFifo(file);
  }

  it('refuses a FIFO among the glyphs, naming it, instead of waiting on it forever', async () => {
    const top = await writeKaggleFolder();
    const fifo = await fifoGlyph(top, 'A/2.png');
    expect((await importError(top)).message).toBe(`${fifo} is a FIFO, not a regular file: Fontloom imports regular files only.`);
  }, 10_000);

  it('refuses four such imports at once and still reads the next folder (no file read is left hanging)', async () => {
    const top = await writeKaggleFolder();
    // The first glyph, read before any other: each import would hold one of libuv's four threads on it.
    const fifo = await fifoGlyph(top, 'A/0.png');
    const errors = await Promise.all([1, 2, 3, 4].map(() => importError(top)));
    for (const error of errors) expect(error.message).toContain(`${fifo} is a FIFO`);
    const { set } = await kaggleImporter.read(await writeKaggleFolder('another'));
    expect(set.count).toBe(130);
  }, 20_000);

  it('refuses a link among the glyphs, to a PNG elsewhere or to /dev/zero, without following it', async () => {
    const top = await writeKaggleFolder();
    const file = join(top, 'Images', 'Images', 'A', '2.png');
    const elsewhere = join(dir, 'elsewhere.png');
    await writeFile(elsewhere, pngs.get('A/2.png')!);
    for (const target of [elsewhere, '/dev/zero']) {
      await rm(file, { force: true });
      await symlink(target, file);
      const message = (await importError(top)).message;
      expect(message).toContain(`${file} is a symbolic link, not a regular file: Fontloom imports regular files only.`);
      expect(message).toContain('Links inside a dataset folder are not followed');
    }
  }, 10_000);

  it('refuses a letter folder that is a link, naming it', async () => {
    const top = await writeKaggleFolder();
    const letters = join(top, 'Images', 'Images');
    await rename(join(letters, 'K'), join(dir, 'K-elsewhere'));
    await symlink(join(dir, 'K-elsewhere'), join(letters, 'K'));
    expect((await importError(top)).message).toContain(`${join(letters, 'K')} is a symbolic link`);
  });

  it('follows a link the user names to the folder, as they meant', async () => {
    const link = join(dir, 'letters-link');
    await symlink(await writeKaggleFolder(), link);
    expect((await kaggleImporter.read(link)).set.count).toBe(130);
  });

  it('refuses a FIFO named as the dataset, or reached through a named link, and does not sniff it', async () => {
    const fifo = makeFifo(join(dir, 'archive.zip'));
    const link = join(dir, 'link.zip');
    await symlink(fifo, link);
    for (const path of [fifo, link]) {
      expect((await importError(path)).message).toBe(`${path} is a FIFO, not a regular file: Fontloom imports regular files only.`);
      expect(await kaggleImporter.sniff(path)).toBe(false);
    }
  }, 10_000);

  it('refuses a glyph PNG over the 8 MB cap, naming the file and the cap, without reading it', async () => {
    const top = await writeKaggleFolder();
    const file = join(top, 'Images', 'Images', 'M', '33.png');
    await truncate(file, 9 * 2 ** 20); // sparse: the PNG's header, then nothing stored
    expect((await importError(top)).message).toContain(`${file} is 9.0 MB, over the 8.0 MB limit for a glyph PNG`);
  });
});
