// CIFAR-10, binary version: data_batch_1..5.bin and test_batch.bin hold records of one label
// byte and 3,072 pixel bytes (R, G and B planes, each 32×32 row-major); batches.meta.txt names
// the classes. Read from the folder, from cifar-10-binary.tar.gz (streamed, never unpacked to
// disk) or from one batch file. Each batch is one "font", and the test batch is held out.
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { UserError } from '../../errors.ts';
import {
  checkFileSize,
  importBudget,
  openRegular,
  progressMeter,
  readHead,
  readRegular,
  refuseUnlessRegular,
  statNamed,
  type FileCap,
  type ImportBudget,
} from './files.ts';
import type { GlyphSet } from '../glyphset.ts';
import type { ImportOptions, Imported, Importer } from './types.ts';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD_BYTES = 1 + 3 * PLANE;
const CLASS_COUNT = 10;
const BATCH_FILE = /^(?:data_batch_(\d+)|test_batch)\.bin$/;
const TEST_BATCH = 'test_batch.bin';
const META_FILE = 'batches.meta.txt';
const SUBFOLDER = 'cifar-10-batches-bin';
export const STANDARD_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** How many records' label bytes sniff checks, and how many tar entries it looks at. */
const SNIFF_RECORDS = 8;
const SNIFF_TAR_ENTRIES = 8;
/** Larger entries than this that are not batches end a tar sniff: it never inflates a dataset. */
const SNIFF_TAR_SKIP_BYTES = 1 << 20;
/** A real batch is 30,730,000 bytes and the whole set 184 MB; the caps leave room for larger sets of the same records. */
const BATCH_CAP: FileCap = { maxBytes: 2 ** 30, what: 'a CIFAR-10 batch file' };
const MAX_IMPORT_BYTES = 2 * 2 ** 30;
/** The real batches.meta.txt is 61 bytes. */
const META_CAP: FileCap = { maxBytes: 2 ** 20, what: `a CIFAR-10 ${META_FILE}` };

/** One batch file, wherever it lives; `bytes` reads it when its turn comes. */
interface Batch {
  name: string;
  source: string;
  size: number;
  bytes(): Promise<Buffer>;
}

interface Found {
  batches: Batch[];
  meta: { source: string; text: string } | null;
  /** A single batch file was given: nothing is held out. */
  single: boolean;
}

export const cifar10Importer: Importer = {
  format: 'cifar10',
  // .bin and .tar.gz name many other kinds of file.
  extensions: [],

  async sniff(path: string): Promise<boolean> {
    try {
      const info = await statNamed(path);
      if (info.isDirectory()) return (await batchFolder(path)) !== null;
      if (await isGzip(path)) return await tarNamesBatches(path);
      return await looksLikeBatch(path, info.size);
    } catch {
      return false;
    }
  },

  async read(path: string, opts: ImportOptions = {}): Promise<Imported> {
    const found = await findBatches(path, opts);
    const notes: string[] = [];
    found.batches.sort(batchOrder);
    for (const batch of found.batches) checkSize(batch);

    let classNames: string[];
    if (found.meta) {
      classNames = classNamesFrom(found.meta.source, found.meta.text);
    } else {
      classNames = STANDARD_CLASSES;
      notes.push(`No ${META_FILE}: used the standard CIFAR-10 class names (${STANDARD_CLASSES.join(', ')}).`);
    }

    const count = found.batches.reduce((sum, b) => sum + b.size / RECORD_BYTES, 0);
    const pixels = new Uint8Array(count * PLANE * 3);
    const labels = new Int32Array(count);
    const fontIds = new Int32Array(count);
    let first = 0;
    for (const [fontId, batch] of found.batches.entries()) {
      opts.onProgress?.({ phase: 'decoding CIFAR-10 batches', done: first, total: count });
      first = decodeBatch(await batch.bytes(), batch, fontId, first, { pixels, labels, fontIds });
    }
    opts.onProgress?.({ phase: 'decoding CIFAR-10 batches', done: count, total: count });

    const testId = found.batches.findIndex((b) => b.name === TEST_BATCH);
    const holdOut = testId >= 0 && found.batches.length > 1;
    if (found.single) {
      notes.push(`Read the single batch ${found.batches[0].name}: nothing is held out for validation.`);
    } else if (!holdOut) {
      notes.push(`No ${TEST_BATCH}: nothing is held out, so validation uses whole training batches.`);
    }
    const set: GlyphSet = {
      height: SIDE,
      width: SIDE,
      channels: 3,
      count,
      pixels,
      labels,
      fontIds,
      classNames,
      fonts: found.batches.map((b) => ({ name: b.name, source: b.source })),
      ...(holdOut && { heldOutFonts: [testId] }),
    };
    const suggestedName = found.single ? basename(path, extname(path)) : 'cifar-10';
    return { set, notes, suggestedName };
  },
};

async function findBatches(path: string, opts: ImportOptions): Promise<Found> {
  const info = await statNamed(path);
  if (info.isDirectory()) return fromFolder(path);
  if (await isGzip(path)) return fromTarGz(path, info.size, opts);
  return fromSingleFile(path, info.size);
}

async function fromFolder(path: string): Promise<Found> {
  const folder = await batchFolder(path);
  if (!folder) {
    throw new UserError(
      `No CIFAR-10 batch files in ${path} or its ${SUBFOLDER}/ folder: expected data_batch_1.bin … ` +
        `data_batch_5.bin and ${TEST_BATCH} (the binary version of CIFAR-10).`,
    );
  }
  const batches = await Promise.all(folder.names.map(async (name): Promise<Batch> => {
    const source = join(folder.dir, name);
    const info = await lstat(source);
    refuseUnlessRegular(source, info);
    checkFileSize(source, info.size, BATCH_CAP);
    return { name, source, size: info.size, bytes: () => readRegular(source, { named: false, cap: BATCH_CAP }) };
  }));
  const budget = importBudget(folder.dir, MAX_IMPORT_BYTES);
  for (const batch of batches) budget.take(batch.source, batch.size);
  return { batches, meta: await readMeta(join(folder.dir, META_FILE)), single: false };
}

async function fromSingleFile(path: string, size: number): Promise<Found> {
  checkFileSize(path, size, BATCH_CAP);
  const batch: Batch = { name: basename(path), source: path, size, bytes: () => readRegular(path, { named: true, cap: BATCH_CAP }) };
  return { batches: [batch], meta: await readMeta(join(dirname(path), META_FILE)), single: true };
}

/** Streams the archive once, keeping only the batch and meta entries' bytes. */
async function fromTarGz(path: string, size: number, opts: ImportOptions): Promise<Found> {
  const batches: Batch[] = [];
  let meta: Found['meta'] = null;
  const meter = progressMeter('unpacking CIFAR-10 archive', size, opts);
  const budget = importBudget(path, MAX_IMPORT_BYTES);
  await forEachTarEntry(path, meter, async (entry) => {
    const name = basename(entry.header.name);
    const source = `${path}/${entry.header.name}`;
    const wanted = entry.header.type === 'file' && (BATCH_FILE.test(name) || name === META_FILE);
    if (!wanted || batches.some((b) => b.name === name)) {
      entry.resume();
      return true;
    }
    checkTarEntrySize(source, name, entry.header.size ?? 0, budget);
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    if (name === META_FILE) meta = { source, text: bytes.toString('utf8') };
    else batches.push({ name, source, size: bytes.length, bytes: async () => bytes });
    return true;
  });
  if (batches.length === 0) {
    throw new UserError(
      `${path} holds no CIFAR-10 batch files: expected data_batch_1.bin … data_batch_5.bin and ` +
        `${TEST_BATCH}, as in cifar-10-binary.tar.gz.`,
    );
  }
  return { batches, meta, single: false };
}

/** Refused from the size its header declares, before it is inflated (tar-stream holds an entry to that size). */
function checkTarEntrySize(source: string, name: string, size: number, budget: ImportBudget): void {
  checkFileSize(source, size, name === META_FILE ? META_CAP : BATCH_CAP);
  budget.take(source, size);
}

interface TarEntry extends AsyncIterable<unknown> {
  header: { name: string; type?: string | null; size?: number };
  resume(): void;
}

/**
 * Calls `visit` for each entry of a .tar.gz until it returns false; a damaged archive becomes
 * a UserError naming the file.
 */
async function forEachTarEntry(
  path: string,
  meter: Transform | null,
  visit: (entry: TarEntry) => Promise<boolean>,
): Promise<void> {
  const extract = tarExtract();
  const { handle, size } = await openRegular(path, { named: true });
  // Up to the size it had when opened: a file that keeps growing cannot keep the import going.
  const file = handle.createReadStream({ end: Math.max(0, size - 1) });
  const stages = [file, ...(meter ? [meter] : []), createGunzip()] as const;
  const feeding = pipeline([...stages, extract]);
  // The loop below reports the same failure; this only keeps the rejection from going unhandled.
  feeding.catch(() => {});
  try {
    for await (const entry of extract) {
      if (!(await visit(entry as TarEntry))) return;
    }
    await feeding;
  } catch (err) {
    if (err instanceof UserError || (err as NodeJS.ErrnoException).syscall) throw err;
    const gzipError = String((err as NodeJS.ErrnoException).code).startsWith('Z_');
    const why = gzipError ? `its gzip data is damaged: ${(err as Error).message}` : 'what it holds is not a complete tar archive';
    throw new UserError(
      `${path} is not a readable .tar.gz (${why}). Download cifar-10-binary.tar.gz again, or unpack it ` +
        'and import the folder.',
    );
  }
}

function decodeBatch(
  bytes: Buffer,
  batch: Batch,
  fontId: number,
  first: number,
  out: { pixels: Uint8Array; labels: Int32Array; fontIds: Int32Array },
): number {
  const records = bytes.length / RECORD_BYTES;
  for (let r = 0; r < records; r++) {
    const start = r * RECORD_BYTES;
    const label = bytes[start];
    if (label >= CLASS_COUNT) {
      throw new UserError(
        `${batch.source}: record index ${r} (byte offset ${start.toLocaleString('en-US')}) has label byte ` +
          `${label}, expected 0..${CLASS_COUNT - 1}. Is this the binary version of CIFAR-10 (not CIFAR-100)?`,
      );
    }
    const item = first + r;
    out.labels[item] = label;
    out.fontIds[item] = fontId;
    // Planar R, G, B in the file; interleaved (NHWC) in a GlyphSet.
    const base = item * PLANE * 3;
    for (let p = 0; p < PLANE; p++) {
      out.pixels[base + 3 * p] = bytes[start + 1 + p];
      out.pixels[base + 3 * p + 1] = bytes[start + 1 + PLANE + p];
      out.pixels[base + 3 * p + 2] = bytes[start + 1 + 2 * PLANE + p];
    }
  }
  return first + records;
}

function checkSize(batch: Batch): void {
  if (batch.size === 0) throw new UserError(`${batch.source} is empty: expected ${RECORD_BYTES.toLocaleString('en-US')}-byte records.`);
  if (batch.size % RECORD_BYTES !== 0) {
    throw new UserError(
      `${batch.source} is ${batch.size.toLocaleString('en-US')} bytes, not a whole number of ` +
        `${RECORD_BYTES.toLocaleString('en-US')}-byte records. The file may be truncated: copy or download it again.`,
    );
  }
}

function classNamesFrom(source: string, text: string): string[] {
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  if (names.length < CLASS_COUNT) {
    throw new UserError(
      `${source} lists ${names.length} class names, expected ${CLASS_COUNT} (one per line, as in CIFAR-10's ${META_FILE}).`,
    );
  }
  return names.slice(0, CLASS_COUNT);
}

async function readMeta(path: string): Promise<Found['meta']> {
  try {
    return { source: path, text: (await readRegular(path, { named: false, cap: META_CAP })).toString('utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** data_batch_1..n in number order, then test_batch. */
function batchOrder(a: Batch, b: Batch): number {
  return batchRank(a.name) - batchRank(b.name);
}

function batchRank(name: string): number {
  const number = BATCH_FILE.exec(name)?.[1];
  return number === undefined ? Number.MAX_SAFE_INTEGER : Number(number);
}

/**
 * The folder that holds the batch files (the given one or its cifar-10-batches-bin/), or null.
 * Batch-named links and special files count, to be refused by name when read; a
 * cifar-10-batches-bin/ that is a link is refused, not followed.
 */
async function batchFolder(path: string): Promise<{ dir: string; names: string[] } | null> {
  for (const dir of [path, join(path, SUBFOLDER)]) {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    const names = entries.filter((e) => !e.isDirectory() && BATCH_FILE.test(e.name)).map((e) => e.name);
    if (names.length > 0) return { dir, names };
    const inner = entries.find((e) => e.name === SUBFOLDER);
    if (inner && !inner.isDirectory()) refuseUnlessRegular(join(dir, SUBFOLDER), inner);
  }
  return null;
}

async function tarNamesBatches(path: string): Promise<boolean> {
  let seen = 0;
  let found = false;
  await forEachTarEntry(path, null, async (entry) => {
    if (BATCH_FILE.test(basename(entry.header.name))) {
      found = true;
      return false;
    }
    if (++seen >= SNIFF_TAR_ENTRIES || (entry.header.size ?? 0) > SNIFF_TAR_SKIP_BYTES) return false;
    entry.resume();
    return true;
  });
  return found;
}

/** Whole records, and the first few records start with a label byte 0..9. */
async function looksLikeBatch(path: string, size: number): Promise<boolean> {
  if (size === 0 || size % RECORD_BYTES !== 0) return false;
  const records = Math.min(SNIFF_RECORDS, size / RECORD_BYTES);
  const head = await readHead(path, (records - 1) * RECORD_BYTES + 1, { named: true });
  if (head === null || head.length < (records - 1) * RECORD_BYTES + 1) return false;
  for (let r = 0; r < records; r++) if (head[r * RECORD_BYTES] >= CLASS_COUNT) return false;
  return true;
}

async function isGzip(path: string): Promise<boolean> {
  const head = await readHead(path, 2, { named: true });
  return head !== null && head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}
