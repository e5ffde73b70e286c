import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { contentHash, validateGlyphSet } from '../src-main/data/glyphset.ts';
import { npzImporter } from '../src-main/data/importers/npz.ts';
import { UserError } from '../src-main/errors.ts';
import { makeFifo, releaseFifos } from './helpers/special-files.ts';
import { LETTERS, syntheticGlyphSet } from './helpers/synthetic.ts';

// Five fonts of A..Z, font-major: labels run A..Z five times, as in Kaggle's character_font.npz.
const drawn = syntheticGlyphSet({ fonts: 5 });
const N = drawn.count;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-npz-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface NpyOptions {
  version?: 1 | 2 | 3;
  fortran?: boolean;
}

/** A .npy file as numpy.lib.format writes it: magic, version, padded dict header, raw data. */
function npy(descr: string, shape: number[], data: Uint8Array, { version = 1, fortran = false }: NpyOptions = {}): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = version === 1 ? 10 : 12;
  const header = dict + ' '.repeat((64 - ((prefix + dict.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(prefix);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = version;
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

/** Integers in a little-endian (or '|') integer dtype such as '<i8' or '|u1'. */
function integers(values: ArrayLike<number>, descr: string): Buffer {
  const size = Number(descr.slice(2));
  const signed = descr[1] === 'i';
  const out = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (size === 8) {
      if (signed) out.writeBigInt64LE(BigInt(v), i * 8);
      else out.writeBigUInt64LE(BigInt(v), i * 8);
    } else if (signed) out.writeIntLE(v, i * size, size);
    else out.writeUIntLE(v, i * size, size);
  }
  return out;
}

async function writeNpz(name: string, arrays: Record<string, Buffer>, compress = true): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const [key, data] of Object.entries(arrays)) zip.addBuffer(data, key, { compress });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const file = join(dir, name);
  await writeFile(file, Buffer.concat(chunks));
  return file;
}

function imagesNpy(pixels: Uint8Array = drawn.pixels, options?: NpyOptions): Buffer {
  return npy('|u1', [pixels.length / 1024, 32, 32], pixels, options);
}

function labelsNpy(labels: ArrayLike<number> = drawn.labels, descr = '<i8', options?: NpyOptions): Buffer {
  return npy(descr, [labels.length], integers(labels, descr), options);
}

/** Kaggle's own npz: the drawn glyphs and their labels, deflated as savez_compressed writes them. */
function characterFontNpz(compress = true): Promise<string> {
  return writeNpz('character_font.npz', { 'images.npy': imagesNpy(), 'labels.npy': labelsNpy() }, compress);
}

/** Byte equality without vitest's element-by-element diffing, which is slow on megabytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function importError(path: string): Promise<UserError> {
  const error = await npzImporter.read(path).then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('the npz importer', () => {
  it('imports savez_compressed images and labels, one font per block of A..Z', async () => {
    const { set, notes, suggestedName } = await npzImporter.read(await characterFontNpz());
    validateGlyphSet(set, 'imported');
    expect([set.count, set.height, set.width, set.channels]).toEqual([N, 32, 32, 1]);
    expect(sameBytes(set.pixels, drawn.pixels)).toBe(true);
    expect(set.labels).toEqual(drawn.labels);
    expect(set.classNames).toEqual(LETTERS);
    expect(set.fontIds).toEqual(drawn.fontIds);
    expect(set.fonts).toHaveLength(5);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/each block of 26 glyphs is taken to be one font \(5 fonts\)/);
    expect(suggestedName).toBe('character_font');
  });

  it('reads a stored (savez) npz and .npy versions 2.0 and 3.0 to the same content hash', async () => {
    const reference = contentHash((await npzImporter.read(await characterFontNpz())).set);
    const stored = await characterFontNpz(false);
    expect(contentHash((await npzImporter.read(stored)).set)).toBe(reference);
    for (const version of [2, 3] as const) {
      const npz = await writeNpz(`v${version}.npz`, {
        'images.npy': imagesNpy(drawn.pixels, { version }),
        'labels.npy': labelsNpy(drawn.labels, '<i8', { version }),
      });
      expect(contentHash((await npzImporter.read(npz)).set)).toBe(reference);
    }
  });

  it('reads a savez_compressed npz of over a megabyte, as the real one is', async () => {
    const copies = 9; // 1170 glyphs, 1.2 MB of pixels: inflated off the main thread
    const pixels = new Uint8Array(drawn.pixels.length * copies);
    for (let c = 0; c < copies; c++) pixels.set(drawn.pixels, c * drawn.pixels.length);
    const labels = Array.from({ length: N * copies }, (_, i) => i % 26);
    const npz = await writeNpz('big.npz', { 'images.npy': imagesNpy(pixels), 'labels.npy': labelsNpy(labels) });
    const { set } = await npzImporter.read(npz);
    expect(set.count).toBe(N * copies);
    expect(sameBytes(set.pixels, pixels)).toBe(true);
    expect(set.fonts).toHaveLength(5 * copies);
  });

  it('reads labels of every integer dtype alike', async () => {
    for (const descr of ['|u1', '|i1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8']) {
      const npz = await writeNpz(`${descr.slice(1)}.npz`, { 'images.npy': imagesNpy(), 'labels.npy': labelsNpy(drawn.labels, descr) });
      expect((await npzImporter.read(npz)).set.labels).toEqual(drawn.labels);
    }
  });

  it('makes each glyph its own font when the labels do not run A..Z, and says splits cannot keep fonts whole', async () => {
    const labels = Int32Array.from(drawn.labels).reverse();
    const npz = await writeNpz('shuffled.npz', { 'images.npy': imagesNpy(), 'labels.npy': labelsNpy(labels) });
    const { set, notes } = await npzImporter.read(npz);
    expect(set.labels).toEqual(labels);
    expect(set.fonts).toHaveLength(N);
    expect(set.fontIds).toEqual(Int32Array.from({ length: N }, (_, i) => i));
    expect(notes.join(' ')).toMatch(/each glyph counts as its own font: train\/validation splits cannot keep fonts whole/);
  });

  it('names up to 26 classes A.., and more classes by number', async () => {
    const ten = await writeNpz('ten.npz', { 'images.npy': imagesNpy(), 'labels.npy': labelsNpy(Array.from({ length: N }, (_, i) => i % 10)) });
    expect((await npzImporter.read(ten)).set.classNames).toEqual([...'ABCDEFGHIJ']);
    const thirty = await writeNpz('thirty.npz', { 'images.npy': imagesNpy(), 'labels.npy': labelsNpy(Array.from({ length: N }, (_, i) => i % 30)) });
    const { set } = await npzImporter.read(thirty);
    expect(set.classNames).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    expect(set.labels[29]).toBe(29);
  });

  it('inverts dark glyphs on light ground to white on black, and says so', async () => {
    const npz = await writeNpz('dark.npz', { 'images.npy': imagesNpy(drawn.pixels.map((v) => 255 - v)), 'labels.npy': labelsNpy() });
    const { set, notes } = await npzImporter.read(npz);
    expect(sameBytes(set.pixels, drawn.pixels)).toBe(true);
    expect(notes[0]).toMatch(/dark on light .* inverted to white glyphs on black/);
  });

  it('keeps three colour channels, and reads (N, H, W, 1) as grey', async () => {
    const rgb = new Uint8Array(N * 1024 * 3);
    drawn.pixels.forEach((v, i) => rgb.set([v, v >> 1, 255 - v], i * 3));
    const colour = await writeNpz('rgb.npz', { 'images.npy': npy('|u1', [N, 32, 32, 3], rgb), 'labels.npy': labelsNpy() });
    const { set } = await npzImporter.read(colour);
    expect(set.channels).toBe(3);
    expect(sameBytes(set.pixels, rgb)).toBe(true);
    const grey = await writeNpz('grey.npz', { 'images.npy': npy('|u1', [N, 32, 32, 1], drawn.pixels), 'labels.npy': labelsNpy() });
    expect((await npzImporter.read(grey)).set.channels).toBe(1);
  });

  it('sniffs npz files and zips of images.npy and labels.npy, and nothing else', async () => {
    const npz = await characterFontNpz();
    const asZip = await writeNpz('arrays.zip', { 'images.npy': imagesNpy(), 'labels.npy': labelsNpy() });
    expect(await npzImporter.sniff(npz)).toBe(true);
    expect(await npzImporter.sniff(asZip)).toBe(true);
    const csv = join(dir, 'letters.csv');
    await writeFile(csv, 'label,p0,p1\n0,0,255\n');
    const binary = join(dir, 'data_batch_1.bin');
    await writeFile(binary, Buffer.from(Array.from({ length: 3073 }, (_, i) => (i * 97) % 256)));
    const kaggleZip = await writeNpz('archive.zip', { 'Images/Images/A/0.png': Buffer.from('png') });
    const folder = join(dir, 'Images');
    await mkdir(join(folder, 'A'), { recursive: true });
    for (const path of [csv, binary, kaggleZip, folder, join(dir, 'missing.npz')]) {
      expect(await npzImporter.sniff(path)).toBe(false);
    }
  });
});

describe('the npz importer refuses', () => {
  it('pixels in 0..1', async () => {
    const npz = await writeNpz('unit.npz', { 'images.npy': imagesNpy(drawn.pixels.map((v) => (v > 127 ? 1 : 0))), 'labels.npy': labelsNpy() });
    expect((await importError(npz)).message).toContain(`images.npy in ${npz} holds pixels 0..1; pixels must be 0..255 uint8`);
  });

  it('an array in Fortran order', async () => {
    const npz = await writeNpz('fortran.npz', { 'images.npy': imagesNpy(drawn.pixels, { fortran: true }), 'labels.npy': labelsNpy() });
    expect((await importError(npz)).message).toContain(`images.npy in ${npz} is stored in Fortran order`);
  });

  it('big-endian labels', async () => {
    const labels = Buffer.alloc(N * 4);
    drawn.labels.forEach((v, i) => labels.writeInt32BE(v, i * 4));
    const npz = await writeNpz('big.npz', { 'images.npy': imagesNpy(), 'labels.npy': npy('>i4', [N], labels) });
    expect((await importError(npz)).message).toContain(`labels.npy in ${npz} is big-endian (>i4)`);
  });

  it('labels that are not integers', async () => {
    const labels = Buffer.from(Float64Array.from(drawn.labels).buffer);
    const npz = await writeNpz('float-labels.npz', { 'images.npy': imagesNpy(), 'labels.npy': npy('<f8', [N], labels) });
    expect((await importError(npz)).message).toContain(`labels.npy in ${npz} holds <f8 values; expected integer class indices`);
  });

  it('images that are not uint8', async () => {
    const pixels = Buffer.from(Float32Array.from(drawn.pixels, (v) => v / 255).buffer);
    const npz = await writeNpz('float-images.npz', { 'images.npy': npy('<f4', [N, 32, 32], pixels), 'labels.npy': labelsNpy() });
    expect((await importError(npz)).message).toContain(`images.npy in ${npz} holds <f4 values; expected uint8 (|u1) pixels 0..255`);
  });

  it('an npz without labels, naming the arrays it has', async () => {
    const npz = await writeNpz('positional.npz', { 'arr_0.npy': imagesNpy(), 'arr_1.npy': labelsNpy() });
    expect((await importError(npz)).message).toContain(`${npz} has no images.npy or labels.npy (it holds arr_0.npy, arr_1.npy)`);
  });

  it('images and labels of different lengths', async () => {
    const npz = await writeNpz('short.npz', { 'images.npy': imagesNpy(), 'labels.npy': labelsNpy(drawn.labels.subarray(0, 100)) });
    expect((await importError(npz)).message).toContain(`${npz} holds 130 images but 100 labels`);
  });

  it('a truncated .npy, saying how many bytes it should have', async () => {
    const images = imagesNpy();
    const npz = await writeNpz('cut.npz', { 'images.npy': images.subarray(0, images.length - 1000), 'labels.npy': labelsNpy() });
    expect((await importError(npz)).message).toContain(`images.npy in ${npz} is truncated: shape (130, 32, 32) of |u1 needs 133120 bytes of data, found 132120`);
  });

  it('an entry that is not a .npy array', async () => {
    const npz = await writeNpz('text.npz', { 'images.npy': Buffer.from('just some text here'), 'labels.npy': labelsNpy() });
    expect((await importError(npz)).message).toContain(`images.npy in ${npz} is not a .npy array`);
  });

  it('a file that is not a zip at all', async () => {
    const csv = join(dir, 'letters.npz');
    await writeFile(csv, 'label,p0,p1\n0,0,255\n');
    expect((await importError(csv)).message).toContain(`${csv} is not an npz file: it is not a zip archive`);
  });
});

describe('the npz importer opens regular files only', () => {
  afterEach(releaseFifos);

  it('refuses a FIFO named as the npz, and does not sniff it, instead of waiting on it', async () => {
    const fifo = makeFifo(join(dir, 'character_font.npz'));
    expect((await importError(fifo)).message).toBe(`${fifo} is a FIFO, not a regular file: Fontloom imports regular files only.`);
    expect(await npzImporter.sniff(fifo)).toBe(false);
  }, 10_000);
});
