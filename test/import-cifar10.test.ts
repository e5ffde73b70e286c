import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import sharp from 'sharp';
import { pack } from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { contentHash, readGlyphSet, splitByFont, validateGlyphSet, writeGlyphSet } from '../src-main/data/glyphset.ts';
import { cifar10Importer } from '../src-main/data/importers/cifar10.ts';
import { UserError } from '../src-main/errors.ts';
import { makeFifo, releaseFifos } from './helpers/special-files.ts';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const BATCHES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
const RECORDS_PER_BATCH = 3;
/** The real meta file ends with blank lines. */
const META = CLASSES.join('\n') + '\n\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-cifar10-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * One record byte by byte: the label, then the R, G and B planes (32×32, row-major). R is a
 * gradient over the pixel index, G its mirror, B marks the batch and record.
 */
function record(label: number, batch: number, index: number): Buffer {
  const bytes = Buffer.alloc(3073);
  bytes[0] = label;
  for (let p = 0; p < 1024; p++) {
    bytes[1 + p] = p % 256;
    bytes[1 + 1024 + p] = 255 - (p % 256);
    bytes[1 + 2048 + p] = batch * 16 + index;
  }
  return bytes;
}

function labelOf(batch: number, index: number): number {
  return (batch * 3 + index) % 10;
}

function batchBytes(batch: number): Buffer {
  return Buffer.concat(Array.from({ length: RECORDS_PER_BATCH }, (_, i) => record(labelOf(batch, i), batch, i)));
}

async function writeFolder(name: string, opts: { meta?: string | null; batches?: string[] } = {}): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  for (const [b, file] of (opts.batches ?? BATCHES).entries()) await writeFile(join(folder, file), batchBytes(b));
  if (opts.meta !== null) await writeFile(join(folder, 'batches.meta.txt'), opts.meta ?? META);
  return folder;
}

/** Laid out as cifar-10-binary.tar.gz is: a folder entry, then the batches, the meta file among them. */
async function writeTarGz(name: string, entries: { name: string; bytes: Buffer }[]): Promise<string> {
  const path = join(dir, name);
  const tar = pack();
  tar.entry({ name: 'cifar-10-batches-bin/', type: 'directory' });
  for (const entry of entries) tar.entry({ name: entry.name, size: entry.bytes.length }, entry.bytes);
  tar.finalize();
  await pipeline(tar, createGzip(), createWriteStream(path));
  return path;
}

function cifarEntries(): { name: string; bytes: Buffer }[] {
  const batches = BATCHES.map((file, b) => ({ name: `cifar-10-batches-bin/${file}`, bytes: batchBytes(b) }));
  const meta = { name: 'cifar-10-batches-bin/batches.meta.txt', bytes: Buffer.from(META) };
  return [batches[0], meta, ...batches.slice(1), { name: 'cifar-10-batches-bin/readme.html', bytes: Buffer.from('<html/>') }];
}

async function readError(path: string): Promise<UserError> {
  const err = await cifar10Importer.read(path).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe('the CIFAR-10 binary version as a folder', () => {
  it('imports six batches as six fonts, holds out the test batch, and interleaves the planes', async () => {
    const folder = await writeFolder('plain');
    const { set, notes } = await cifar10Importer.read(folder);

    validateGlyphSet(set, folder);
    expect([set.count, set.height, set.width, set.channels]).toEqual([18, 32, 32, 3]);
    expect(set.classNames).toEqual(CLASSES);
    expect(set.fonts).toEqual(BATCHES.map((name) => ({ name, source: join(folder, name) })));
    expect(set.heldOutFonts).toEqual([5]);
    expect(notes).toEqual([]);
    for (let b = 0; b < 6; b++) {
      for (let i = 0; i < RECORDS_PER_BATCH; i++) {
        const item = b * RECORDS_PER_BATCH + i;
        expect([set.labels[item], set.fontIds[item]]).toEqual([labelOf(b, i), b]);
      }
    }
    // Record 2 of data_batch_2: pixel (y 5, x 7) is plane index 167.
    const pixel = (item: number, y: number, x: number) => [...set.pixels.subarray((item * 1024 + y * 32 + x) * 3, (item * 1024 + y * 32 + x) * 3 + 3)];
    expect(pixel(1 * 3 + 2, 5, 7)).toEqual([167, 255 - 167, 1 * 16 + 2]);
    expect(pixel(0, 0, 0)).toEqual([0, 255, 0]);
    expect(pixel(17, 31, 31)).toEqual([1023 % 256, 255 - (1023 % 256), 5 * 16 + 2]);

    const split = splitByFont(set, 0.5, 1);
    expect([...split.val]).toEqual([15, 16, 17]);
    expect([...split.train]).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('finds the batches inside cifar-10-batches-bin/', async () => {
    const outer = join(dir, 'outer');
    await writeFolder(join('outer', 'cifar-10-batches-bin'));
    expect(await cifar10Importer.sniff(outer)).toBe(true);
    const { set } = await cifar10Importer.read(outer);
    expect(set.count).toBe(18);
    expect(set.fonts[5].source).toBe(join(outer, 'cifar-10-batches-bin', 'test_batch.bin'));
  });

  it('falls back to the standard class names without batches.meta.txt, and says so', async () => {
    const { set, notes } = await cifar10Importer.read(await writeFolder('no-meta', { meta: null }));
    expect(set.classNames).toEqual(CLASSES);
    expect(notes.join('\n')).toMatch(/No batches\.meta\.txt: used the standard CIFAR-10 class names/);
  });

  it('holds nothing out without a test batch, and says so', async () => {
    const folder = await writeFolder('no-test', { batches: BATCHES.slice(0, 5) });
    const { set, notes } = await cifar10Importer.read(folder);
    expect(set.count).toBe(15);
    expect(set.heldOutFonts).toBeUndefined();
    expect(notes.join('\n')).toMatch(/No test_batch\.bin: nothing is held out/);
  });

  it('imports a single batch file on its own', async () => {
    const folder = await writeFolder('single', { batches: ['data_batch_1.bin'], meta: null });
    const { set, notes } = await cifar10Importer.read(join(folder, 'data_batch_1.bin'));
    expect([set.count, set.fonts.length]).toEqual([3, 1]);
    expect(set.heldOutFonts).toBeUndefined();
    expect(notes.join('\n')).toMatch(/single batch data_batch_1\.bin/);
  });

  it('keeps the held-out test batch through writeGlyphSet and readGlyphSet', async () => {
    const { set } = await cifar10Importer.read(await writeFolder('round-trip'));
    const file = join(dir, 'cifar.glyphs');
    await writeGlyphSet(file, set);
    const back = await readGlyphSet(file);
    expect(back.heldOutFonts).toEqual([5]);
    expect(contentHash(back)).toBe(contentHash(set));
    expect([...splitByFont(back, 0.5, 1).val]).toEqual([15, 16, 17]);
  });
});

describe('cifar-10-binary.tar.gz', () => {
  it('streams the archive to the same glyphs as the folder', async () => {
    const archive = await writeTarGz('cifar-10-binary.tar.gz', cifarEntries());
    const progress: string[] = [];
    const { set } = await cifar10Importer.read(archive, { onProgress: (p) => progress.push(p.phase) });
    const fromFolder = (await cifar10Importer.read(await writeFolder('for-tar'))).set;

    expect(contentHash(set)).toBe(contentHash(fromFolder));
    expect(set.fonts.map((f) => f.name)).toEqual(BATCHES);
    expect(set.fonts[0].source).toBe(`${archive}/cifar-10-batches-bin/data_batch_1.bin`);
    expect(set.heldOutFonts).toEqual([5]);
    expect(progress).toContain('unpacking CIFAR-10 archive');
  });

  it('refuses an archive without batches, and a damaged one, naming the file', async () => {
    const empty = await writeTarGz('other.tar.gz', [{ name: 'notes.txt', bytes: Buffer.from('hello') }]);
    expect((await readError(empty)).message).toMatch(/other\.tar\.gz holds no CIFAR-10 batch files/);

    const garbage = join(dir, 'garbage.tar.gz');
    await writeFile(garbage, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(200, 7)]));
    expect((await readError(garbage)).message).toMatch(/garbage\.tar\.gz is not a readable \.tar\.gz \(its gzip data is damaged/);

    const good = await readFile(await writeTarGz('good.tar.gz', cifarEntries()));
    const truncated = join(dir, 'truncated.tar.gz');
    await writeFile(truncated, good.subarray(0, good.length - 40));
    expect((await readError(truncated)).message).toMatch(/truncated\.tar\.gz is not a readable \.tar\.gz \(its gzip data is damaged: unexpected end of file/);
  });
});

describe('refusing bad CIFAR-10 files', () => {
  it('names a batch whose size is not a whole number of records', async () => {
    const folder = await writeFolder('odd-size');
    await writeFile(join(folder, 'data_batch_3.bin'), Buffer.concat([batchBytes(2), Buffer.alloc(1)]));
    const err = await readError(folder);
    expect(err.message).toContain(`${join(folder, 'data_batch_3.bin')} is 9,220 bytes, not a whole number of 3,073-byte records`);
  });

  it('names the batch and record of a label byte above 9', async () => {
    const folder = await writeFolder('bad-label');
    const bytes = batchBytes(3);
    bytes[2 * 3073] = 12;
    await writeFile(join(folder, 'data_batch_4.bin'), bytes);
    const err = await readError(folder);
    expect(err.message).toMatch(/data_batch_4\.bin: record index 2 \(byte offset 6,146\) has label byte 12, expected 0\.\.9/);
  });

  it('refuses a meta file with fewer than 10 class names', async () => {
    const folder = await writeFolder('short-meta', { meta: CLASSES.slice(0, 7).join('\n') });
    const err = await readError(folder);
    expect(err.message).toMatch(/batches\.meta\.txt lists 7 class names, expected 10/);
    expect(err.message).toContain(folder);
  });

  it('refuses a folder with no batch files', async () => {
    const folder = join(dir, 'unrelated');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'readme.txt'), 'not a dataset');
    const err = await readError(folder);
    expect(err.message).toContain(`No CIFAR-10 batch files in ${folder}`);
  });
});

describe('sniffing', () => {
  it('says yes to the folder, the archive and a batch file', async () => {
    const folder = await writeFolder('sniff');
    const archive = await writeTarGz('sniff.tar.gz', cifarEntries());
    const renamed = join(dir, 'batch.dat');
    await copyFile(join(folder, 'data_batch_2.bin'), renamed);
    for (const path of [folder, archive, join(folder, 'test_batch.bin'), renamed]) {
      expect(await cifar10Importer.sniff(path), path).toBe(true);
    }
  });

  it('says no to a random binary, a PNG, unrelated folders and archives, and a CSV', async () => {
    const random = join(dir, 'random.bin');
    await writeFile(random, Buffer.from(Array.from({ length: 3073 * 2 }, (_, i) => 10 + ((i * 7919) % 246))));
    const png = join(dir, 'glyph.png');
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toFile(png);
    const folder = join(dir, 'unrelated-sniff');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'a.png'), 'x');
    const archive = await writeTarGz('pictures.tar.gz', Array.from({ length: 10 }, (_, i) => ({ name: `img/${i}.png`, bytes: Buffer.alloc(100) })));
    const csv = join(dir, 'glyphs.csv');
    await writeFile(csv, Array.from({ length: 3 }, (_, i) => [i, ...new Array(784).fill(0)].join(',')).join('\n'));

    for (const path of [random, png, folder, archive, csv, join(dir, 'missing')]) {
      expect(await cifar10Importer.sniff(path), path).toBe(false);
    }
  });
});

describe('opening regular files only, within their caps', () => {
  afterEach(releaseFifos);

  it('refuses a FIFO in place of a batch, naming it, instead of waiting on it', async () => {
    const folder = await writeFolder('fifo-batch');
    const fifo = join(folder, 'data_batch_2.bin');
    await unlink(fifo);
    makeFifo(fifo);
    expect((await readError(folder)).message).toBe(`${fifo} is a FIFO, not a regular file: Fontloom imports regular files only.`);
    // Still recognised, so that an import by auto-detection gets this message too.
    expect(await cifar10Importer.sniff(folder)).toBe(true);
  }, 10_000);

  it('refuses a cifar-10-batches-bin/ that is a link, naming it', async () => {
    const top = join(dir, 'linked-top');
    await mkdir(top);
    await symlink(await writeFolder('real-batches'), join(top, 'cifar-10-batches-bin'));
    expect((await readError(top)).message).toContain(`${join(top, 'cifar-10-batches-bin')} is a symbolic link`);
  });

  it('refuses a batches.meta.txt that is a FIFO or a link, beside a folder of batches or a lone batch', async () => {
    const folder = await writeFolder('odd-meta', { meta: null });
    const meta = join(folder, 'batches.meta.txt');
    makeFifo(meta);
    expect((await readError(folder)).message).toContain(`${meta} is a FIFO`);
    expect((await readError(join(folder, 'data_batch_1.bin'))).message).toContain(`${meta} is a FIFO`);
    await unlink(meta);
    await symlink('/dev/zero', meta);
    expect((await readError(folder)).message).toContain(`${meta} is a symbolic link, not a regular file`);
  }, 10_000);

  it('refuses a batch over the 1 GB cap, naming the file and the cap, without reading it', async () => {
    const folder = await writeFolder('huge-batch');
    const batch = join(folder, 'data_batch_3.bin');
    await truncate(batch, 3073 * 400_000); // sparse, 1.1 GB of whole records
    const refusal = `${batch} is 1.1 GB, over the 1.0 GB limit for a CIFAR-10 batch file.`;
    expect((await readError(folder)).message).toContain(refusal);
    expect((await readError(batch)).message).toContain(refusal);
  });

  it('refuses batches that come to more than 2 GB in all, before reading any', async () => {
    const folder = await writeFolder('huge-set', { batches: BATCHES.slice(0, 3) });
    for (const batch of BATCHES.slice(0, 3)) await truncate(join(folder, batch), 3073 * 300_000); // sparse, 0.9 GB each
    expect((await readError(folder)).message).toMatch(
      new RegExp(`^${folder} is refused: its files come to more than 2\\.0 GB, the limit for one import \\(passed at .*data_batch_3\\.bin\\)`),
    );
  });
});
