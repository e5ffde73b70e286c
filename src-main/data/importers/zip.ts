// Reads zip archives (zipped Kaggle folders, numpy's npz) in memory, entry by entry, without
// unpacking to disk. Refuses what could escape the archive or exhaust memory: absolute or `..`
// names, entries or totals over the caller's limits, compression ratios no real data reaches,
// and data that inflates past the size its entry declares.
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { inflateRaw, inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { UserError, errorCode } from '../../errors.ts';
import { formatBytes, openRegular, readHead } from './files.ts';

export interface ZipLimits {
  /** Largest declared uncompressed size of one entry that is read. */
  maxEntryBytes: number;
  /** Largest sum of the declared uncompressed sizes of the entries that are read. */
  maxTotalBytes: number;
  /** Largest uncompressed : compressed ratio of an entry of at least `ratioFloorBytes`. */
  maxRatio: number;
  ratioFloorBytes: number;
}

export interface ZipEntryInfo {
  name: string;
  /** Declared uncompressed size, in bytes. */
  size: number;
  compressedSize: number;
}

export interface ZipEntryData {
  name: string;
  data: Buffer;
}

const STORED = 0;
const DEFLATED = 8;
/**
 * The archive is read through a cache of blocks this large: walking the central directory and
 * reading small entries in order then costs a read per block, not a few per entry.
 */
const BLOCK_BYTES = 2 ** 20;
const CACHED_BLOCKS = 4;
const SYNC_INFLATE_BYTES = 2 ** 20;

const inflateRawAsync = promisify(inflateRaw);

/** True when the named path is a regular file that begins like a zip archive (a local file header, or an empty archive). */
export async function startsLikeZip(path: string): Promise<boolean> {
  const magic = (await readHead(path, 4, { named: true }))?.toString('latin1');
  return magic === 'PK\x03\x04' || magic === 'PK\x05\x06';
}

/**
 * Every entry of the central directory (nothing is inflated). Entry names are checked unless
 * `checkNames` is false, which sniffing uses so that a bad archive is refused by `read` instead.
 */
export async function listZip(path: string, { checkNames = true } = {}): Promise<ZipEntryInfo[]> {
  const entries: ZipEntryInfo[] = [];
  await walkZip(path, (entry, name) => {
    if (checkNames) refuseUnsafeName(path, name);
    entries.push({ name, size: entry.uncompressedSize, compressedSize: entry.compressedSize });
    return true;
  });
  return entries;
}

/** True as soon as one entry name passes `test`; reads the central directory only, as far as needed. */
export async function someZipEntry(path: string, test: (name: string) => boolean): Promise<boolean> {
  let found = false;
  await walkZip(path, (_, name) => {
    found = test(name);
    return !found;
  });
  return found;
}

/** Refuses, before anything is inflated, entries whose declared sizes break `limits`. */
export function checkZipSizes(path: string, entries: readonly ZipEntryInfo[], limits: ZipLimits): void {
  let total = 0;
  for (const entry of entries) {
    checkEntrySize(path, entry, limits);
    total += entry.size;
  }
  if (total > limits.maxTotalBytes) {
    throw new UserError(
      `Zip ${path} is refused: its ${entries.length} entries would inflate to ${formatBytes(total)}, ` +
        `over the ${formatBytes(limits.maxTotalBytes)} limit. Is it the right archive?`,
    );
  }
  for (const entry of entries) checkEntryRatio(path, entry, limits);
}

/**
 * Yields the contents of the entries named in `names`, in archive order, one at a time. Every
 * entry name is checked as the central directory is walked, and each wanted entry is checked
 * against `limits` before it is inflated and while it inflates.
 */
export async function* readZipEntries(
  path: string,
  names: ReadonlySet<string>,
  limits: ZipLimits,
): AsyncGenerator<ZipEntryData> {
  const { zip, reader } = await openZip(path);
  let total = 0;
  try {
    for await (const entry of iterateEntries(zip, path)) {
      const name = entryName(entry);
      refuseUnsafeName(path, name);
      if (!names.has(name)) continue;
      const info = { name, size: entry.uncompressedSize, compressedSize: entry.compressedSize };
      checkEntrySize(path, info, limits);
      checkEntryRatio(path, info, limits);
      total += info.size;
      if (total > limits.maxTotalBytes) {
        throw new UserError(
          `Zip ${path} is refused: its entries would inflate to more than ` +
            `${formatBytes(limits.maxTotalBytes)}. Is it the right archive?`,
        );
      }
      yield { name, data: await inflateEntry(zip, reader, entry, name, path) };
    }
  } finally {
    zip.close();
  }
}

/** Walks the central directory until `visit` returns false; zip errors become UserErrors. */
async function walkZip(
  path: string,
  visit: (entry: yauzl.Entry, name: string) => boolean,
): Promise<void> {
  const { zip } = await openZip(path);
  try {
    for await (const entry of iterateEntries(zip, path)) {
      if (!visit(entry, entryName(entry))) break;
    }
  } finally {
    zip.close();
  }
}

/**
 * The archive itself has no size cap: only its central directory and the wanted entries are read,
 * and those are bounded by the caller's limits.
 */
async function openZip(path: string): Promise<{ zip: yauzl.ZipFile; reader: BlockReader }> {
  let opened: { handle: FileHandle; size: number };
  try {
    opened = await openRegular(path, { named: true });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path} could not be opened (${errorMessage(err)}).`);
  }
  const { handle: file, size } = opened;
  const reader = new BlockReader(file);
  try {
    // Names are decoded and checked here, to refuse them with a message of our own.
    const options = { decodeStrings: false, validateEntrySizes: false, autoClose: false };
    return { zip: await yauzl.fromRandomAccessReaderPromise(reader, size, options), reader };
  } catch (err) {
    await file.close();
    throw new UserError(`${path} is not a readable zip archive (${errorMessage(err)}).`);
  }
}

async function* iterateEntries(zip: yauzl.ZipFile, path: string): AsyncGenerator<yauzl.Entry> {
  const entries = zip.eachEntry();
  try {
    while (true) {
      let next: IteratorResult<yauzl.Entry>;
      try {
        next = await entries.next();
      } catch (err) {
        throw new UserError(`${path} is not a readable zip archive (${errorMessage(err)}).`);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await entries.return?.();
  }
}

function entryName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
}

function refuseUnsafeName(path: string, name: string): void {
  const absolute = name.startsWith('/') || /^[a-zA-Z]:/.test(name);
  if (absolute || name.split('/').includes('..')) {
    throw new UserError(
      `Zip entry ${name} in ${path} is refused: it points outside the archive. ` +
        'The archive may be malicious; use one made by a tool you trust.',
    );
  }
}

function checkEntrySize(path: string, entry: ZipEntryInfo, limits: ZipLimits): void {
  if (entry.size > limits.maxEntryBytes) {
    throw new UserError(
      `Zip entry ${entry.name} in ${path} is refused: it would inflate to ${formatBytes(entry.size)}, ` +
        `over the ${formatBytes(limits.maxEntryBytes)} limit for one entry.`,
    );
  }
}

function checkEntryRatio(path: string, entry: ZipEntryInfo, limits: ZipLimits): void {
  if (entry.size >= limits.ratioFloorBytes && entry.size > limits.maxRatio * entry.compressedSize) {
    const ratio = entry.compressedSize > 0 ? Math.round(entry.size / entry.compressedSize) : Infinity;
    throw new UserError(
      `Zip entry ${entry.name} in ${path} is refused: it would inflate ${ratio}-fold ` +
        `(${formatBytes(entry.compressedSize)} to ${formatBytes(entry.size)}), more than real data ` +
        `compresses (limit ${limits.maxRatio}-fold). The archive may be a zip bomb.`,
    );
  }
}

/** Inflates one entry; zlib stops the moment the output runs past the size the entry declares. */
async function inflateEntry(
  zip: yauzl.ZipFile,
  reader: BlockReader,
  entry: yauzl.Entry,
  name: string,
  path: string,
): Promise<Buffer> {
  const where = `Zip entry ${name} in ${path}`;
  if (entry.isEncrypted()) throw new UserError(`${where} is encrypted; use an archive without a password.`);
  if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATED) {
    throw new UserError(
      `${where} uses compression method ${entry.compressionMethod}; only stored and deflated ` +
        'entries can be read. Re-create the zip with a standard tool.',
    );
  }
  let data: Buffer;
  try {
    const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
    const raw = await reader.bytes(fileDataStart, entry.compressedSize);
    data = entry.compressionMethod === STORED ? raw : await inflate(raw, entry.uncompressedSize);
  } catch (err) {
    if (errorCode(err) === 'ERR_BUFFER_TOO_LARGE') {
      throw new UserError(
        `${where} is refused: it inflates past the ${entry.uncompressedSize} bytes it declares. ` +
          'The archive is corrupt or malicious.',
      );
    }
    throw new UserError(`${where} is corrupt (${errorMessage(err)}). Download or create the archive again.`);
  }
  if (data.length !== entry.uncompressedSize) {
    throw new UserError(
      `${where} is corrupt: it declares ${entry.uncompressedSize} bytes but holds ${data.length}. ` +
        'Download or create the archive again.',
    );
  }
  return data;
}

/** Small entries inflate at once (a hop to the thread pool costs more), large ones off the main thread. */
function inflate(raw: Buffer, declared: number): Buffer | Promise<Buffer> {
  const options = { maxOutputLength: Math.max(1, declared) };
  return declared <= SYNC_INFLATE_BYTES ? inflateRawSync(raw, options) : inflateRawAsync(raw, options);
}

/** yauzl's view of the file, served from a few cached blocks (reads here are mostly small and in order). */
class BlockReader extends yauzl.RandomAccessReader {
  private readonly blocks = new Map<number, Promise<Buffer>>();

  constructor(private readonly file: FileHandle) {
    super();
  }

  async bytes(position: number, length: number): Promise<Buffer> {
    if (length > BLOCK_BYTES) return this.readFromFile(position, length);
    const out = Buffer.allocUnsafe(length);
    for (let done = 0; done < length;) {
      const at = position + done;
      const index = Math.floor(at / BLOCK_BYTES);
      const block = await this.block(index);
      const from = at - index * BLOCK_BYTES;
      if (from >= block.length) throw new Error('unexpected end of file');
      done += block.copy(out, done, from, Math.min(block.length, from + length - done));
    }
    return out;
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null, bytesRead?: number) => void,
  ): void {
    this.bytes(position, length).then(
      (bytes) => callback(null, bytes.copy(buffer, offset)),
      (err: Error) => callback(err),
    );
  }

  override close(callback: (err: Error | null) => void): void {
    this.file.close().then(() => callback(null), callback);
  }

  private block(index: number): Promise<Buffer> {
    let block = this.blocks.get(index);
    if (block === undefined) {
      block = this.readFromFile(index * BLOCK_BYTES, BLOCK_BYTES, { partial: true });
      if (this.blocks.size >= CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    } else {
      this.blocks.delete(index); // re-inserted below as the most recently used
    }
    this.blocks.set(index, block);
    return block;
  }

  /** Reads until `length` bytes or the end of the file (one read returns at most 2 GB on Linux). */
  private async readFromFile(position: number, length: number, { partial = false } = {}): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.file.read(out, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < length && !partial) throw new Error('unexpected end of file');
    return out.subarray(0, filled);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

