// numpy's npz (as savez and savez_compressed write it, e.g. Kaggle's character_font.npz): a zip
// of `images.npy` (uint8, N×H×W or N×H×W×C) and `labels.npy` (integers 0..K−1).
import { basename, extname } from 'node:path';
import { UserError } from '../../errors.ts';
import { statNamed } from './files.ts';
import type { FontInfo, GlyphSet } from '../glyphset.ts';
import { LETTERS, type Importer, type ImportOptions, type Imported } from './types.ts';
import { checkZipSizes, listZip, readZipEntries, startsLikeZip, type ZipLimits } from './zip.ts';

const IMAGES = 'images.npy';
const LABELS = 'labels.npy';
/**
 * The real images.npy is 400 MB, so the caps are far above it. No ratio is absurd for arrays
 * (labels in order shrink a thousand-fold), so only near-empty giants count as bombs.
 */
const ZIP_LIMITS: ZipLimits = {
  maxEntryBytes: 2 * 2 ** 30,
  maxTotalBytes: 4 * 2 ** 30,
  maxRatio: 1000,
  ratioFloorBytes: 64 * 2 ** 20,
};
/** More classes than this is not a glyph dataset (or labels that are not class indices). */
const MAX_CLASSES = 1000;
const NPY_MAGIC = Buffer.from('\x93NUMPY', 'latin1');
const PHASE = 'reading arrays';

/** A parsed .npy: its dtype split into parts, its shape, and its data bytes (a view). */
interface NpyArray {
  descr: string;
  byteOrder: string;
  kind: string;
  itemSize: number;
  shape: number[];
  data: Buffer;
}

export const npzImporter: Importer = {
  format: 'npz',
  extensions: ['.npz'],

  async sniff(path: string): Promise<boolean> {
    if (!(await startsLikeZip(path))) return false;
    if (extname(path).toLowerCase() === '.npz') return true;
    try {
      const names = (await listZip(path, { checkNames: false })).map((entry) => entry.name);
      return names.includes(IMAGES) && names.includes(LABELS);
    } catch {
      return false;
    }
  },

  async read(path: string, opts: ImportOptions = {}): Promise<Imported> {
    const arrays = await readArrays(path, opts);
    const images = arrays.get(IMAGES)!;
    const labels = arrays.get(LABELS)!;
    const notes: string[] = [];
    const { count, height, width, channels } = imageDims(images, `${IMAGES} in ${path}`);
    const labelValues = labelsOf(labels, `${LABELS} in ${path}`);
    if (labelValues.length !== count) {
      throw new UserError(
        `${path} holds ${count} images but ${labelValues.length} labels: expected one label per image.`,
      );
    }
    const pixels = glyphPixels(images.data, `${IMAGES} in ${path}`, notes);
    const classCount = labelValues.reduce((max, label) => Math.max(max, label + 1), 0);
    const fonts = fontsOf(labelValues, path, notes);
    const set: GlyphSet = {
      height,
      width,
      channels,
      count,
      pixels,
      labels: labelValues,
      fontIds: fonts.ids,
      classNames: classCount <= LETTERS.length
        ? LETTERS.slice(0, classCount)
        : Array.from({ length: classCount }, (_, i) => String(i)),
      fonts: fonts.list,
    };
    return { set, notes, suggestedName: basename(path).replace(/\.npz$/i, '') || 'npz' };
  },
};

async function readArrays(path: string, { onProgress }: ImportOptions): Promise<Map<string, NpyArray>> {
  await statNamed(path);
  if (!(await startsLikeZip(path))) {
    throw new UserError(
      `${path} is not an npz file: it is not a zip archive. Expected the zip of ${IMAGES} and ${LABELS} ` +
        'that numpy.savez(path, images=…, labels=…) writes.',
    );
  }
  const entries = await listZip(path);
  const names = entries.map((entry) => entry.name);
  const missing = [IMAGES, LABELS].filter((name) => !names.includes(name));
  if (missing.length > 0) {
    throw new UserError(
      `${path} has no ${missing.join(' or ')} (it holds ${names.join(', ') || 'nothing'}). Expected the ` +
        `arrays images and labels, as numpy.savez(path, images=…, labels=…) writes them.`,
    );
  }
  checkZipSizes(path, entries.filter((entry) => entry.name === IMAGES || entry.name === LABELS), ZIP_LIMITS);
  const arrays = new Map<string, NpyArray>();
  onProgress?.({ phase: PHASE, done: 0, total: 2 });
  for await (const { name, data } of readZipEntries(path, new Set([IMAGES, LABELS]), ZIP_LIMITS)) {
    arrays.set(name, parseNpy(data, `${name} in ${path}`));
    onProgress?.({ phase: PHASE, done: arrays.size, total: 2 });
  }
  return arrays;
}

// ---- .npy ----

/** Parses the .npy format (versions 1.0, 2.0 and 3.0) as numpy documents it in numpy.lib.format. */
function parseNpy(bytes: Buffer, where: string): NpyArray {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(NPY_MAGIC)) {
    throw new UserError(`${where} is not a .npy array: it does not start with "\\x93NUMPY".`);
  }
  const major = bytes[6];
  if (major < 1 || major > 3) {
    throw new UserError(`${where} uses .npy format version ${major}.${bytes[7]}; expected 1.0, 2.0 or 3.0.`);
  }
  const headerStart = major === 1 ? 10 : 12;
  const headerLength = bytes.length < headerStart ? 0 : major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart) {
    throw new UserError(`${where} is truncated: its header needs ${dataStart} bytes, found ${bytes.length}.`);
  }
  const header = bytes.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new UserError(
      `${where} has a header numpy would not write (${JSON.stringify(header.trim().slice(0, 120))}): ` +
        "expected a plain array with 'descr', 'fortran_order' and 'shape'.",
    );
  }
  if (fortran === 'True') {
    throw new UserError(`${where} is stored in Fortran order; save it with numpy.ascontiguousarray(array) first.`);
  }
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!dims.every((d) => /^\d+L?$/.test(d))) {
    throw new UserError(`${where} has shape (${shapeText}); expected whole numbers.`);
  }
  const shape = dims.map((d) => Number.parseInt(d, 10));
  const dtype = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  if (dtype === null) throw new UserError(`${where} has dtype ${descr}; expected a plain number type.`);
  const [, byteOrder, kind, size] = dtype;
  const itemSize = Number(size);
  if (byteOrder === '>' && itemSize > 1) {
    throw new UserError(
      `${where} is big-endian (${descr}); save it little-endian, e.g. array.astype('<${kind}${itemSize}').`,
    );
  }
  const expected = shape.reduce((a, b) => a * b, 1) * itemSize;
  const found = bytes.length - dataStart;
  if (found !== expected) {
    throw new UserError(
      `${where} is ${found < expected ? 'truncated' : 'longer than its shape'}: shape (${shape.join(', ')}) of ` +
        `${descr} needs ${expected} bytes of data, found ${found}.`,
    );
  }
  return { descr, byteOrder, kind, itemSize, shape, data: bytes.subarray(dataStart) };
}

function imageDims(images: NpyArray, where: string): { count: number; height: number; width: number; channels: number } {
  if (images.kind !== 'u' || images.itemSize !== 1) {
    throw new UserError(
      `${where} holds ${images.descr} values; expected uint8 (|u1) pixels 0..255, e.g. images.astype('uint8').`,
    );
  }
  const [count, height, width, channels = 1] = images.shape;
  const ok = (images.shape.length === 3 || images.shape.length === 4) && (channels === 1 || channels === 3);
  if (!ok) {
    throw new UserError(
      `${where} has shape (${images.shape.join(', ')}); expected (count, height, width) or ` +
        '(count, height, width, channels) with 1 or 3 channels.',
    );
  }
  if (count === 0 || height === 0 || width === 0) throw new UserError(`${where} holds no pixels (shape (${images.shape.join(', ')})).`);
  return { count, height, width, channels };
}

/** Class indices from any integer dtype, refusing values no class list could hold. */
function labelsOf(labels: NpyArray, where: string): Int32Array {
  const flat = labels.shape.length === 1 || (labels.shape.length === 2 && labels.shape[1] === 1);
  if (!flat) throw new UserError(`${where} has shape (${labels.shape.join(', ')}); expected one label per image, (count,).`);
  if ((labels.kind !== 'i' && labels.kind !== 'u') || ![1, 2, 4, 8].includes(labels.itemSize)) {
    throw new UserError(`${where} holds ${labels.descr} values; expected integer class indices (int64, uint8, …).`);
  }
  const view = new DataView(labels.data.buffer, labels.data.byteOffset, labels.data.byteLength);
  const count = labels.shape[0];
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const value = readInteger(view, i * labels.itemSize, labels.kind, labels.itemSize);
    if (value < 0 || value >= MAX_CLASSES) {
      throw new UserError(
        `${where}[${i}] is ${value}; expected a class index 0..${MAX_CLASSES - 1} (0..25 for the letters A..Z).`,
      );
    }
    out[i] = value;
  }
  return out;
}

function readInteger(view: DataView, offset: number, kind: string, size: number): number {
  const signed = kind === 'i';
  switch (size) {
    case 1: return signed ? view.getInt8(offset) : view.getUint8(offset);
    case 2: return signed ? view.getInt16(offset, true) : view.getUint16(offset, true);
    case 4: return signed ? view.getInt32(offset, true) : view.getUint32(offset, true);
    default: return Number(signed ? view.getBigInt64(offset, true) : view.getBigUint64(offset, true));
  }
}

/** White glyphs on black, as Fontloom trains: dark-on-light images are inverted in place. */
function glyphPixels(data: Buffer, where: string, notes: string[]): Uint8Array {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    sum += v;
    if (v > max) max = v;
  }
  if (max <= 1) {
    throw new UserError(
      `${where} holds pixels 0..${max}; pixels must be 0..255 uint8, e.g. (images * 255).astype('uint8').`,
    );
  }
  const mean = sum / data.length;
  if (mean > 127) {
    for (let i = 0; i < data.length; i++) data[i] = 255 - data[i];
    notes.push(`The images are dark on light (mean pixel ${mean.toFixed(0)}); they were inverted to white glyphs on black.`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * An npz names no fonts. Labels running A..Z, A..Z, … are taken as one font per block of 26, as
 * the Kaggle export stores them; anything else makes every glyph its own font.
 */
function fontsOf(labels: Int32Array, path: string, notes: string[]): { ids: Int32Array; list: FontInfo[] } {
  const blocks = labels.length % LETTERS.length === 0 && labels.every((label, i) => label === i % LETTERS.length);
  if (blocks) {
    const fontCount = labels.length / LETTERS.length;
    notes.push(
      `The labels run A..Z over and over, so each block of 26 glyphs is taken to be one font (${fontCount} ` +
        'fonts), as in the Kaggle export; train/validation splits keep these fonts whole.',
    );
    return {
      ids: Int32Array.from(labels, (_, i) => Math.floor(i / LETTERS.length)),
      list: Array.from({ length: fontCount }, (_, font) => ({ name: `font ${font}`, source: path })),
    };
  }
  notes.push(
    'The npz does not say which glyphs share a font, so each glyph counts as its own font: ' +
      'train/validation splits cannot keep fonts whole.',
  );
  return {
    ids: Int32Array.from(labels, (_, i) => i),
    list: Array.from(labels, (_, i) => ({ name: `glyph ${i}` })),
  };
}
