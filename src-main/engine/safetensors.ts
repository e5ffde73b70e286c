// safetensors, the weights format PyTorch users share (https://github.com/huggingface/safetensors),
// written and read by hand:
//   uint64 LE header length N | N bytes of JSON | the tensors' bytes, little-endian, back to back
// The JSON maps each tensor's name to { dtype, shape, data_offsets: [begin, end) } (offsets into
// the bytes after the header) and "__metadata__" to a string → string map. A reader trusts none of
// it: every offset must lie inside the file and the tensors must tile the data exactly.
import { UserError } from '../errors.ts';
import type { NamedFloats, RawTensor } from './state-dict.ts';

/** Bytes per element of every dtype the format names. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
};

/** The format's own cap on the JSON header (safetensors refuses larger ones too). */
const MAX_HEADER_BYTES = 100 * 2 ** 20;

export interface SafetensorsFile {
  /** In the file's order of data offsets. */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Bytes per element of a dtype the format names (0 for one it does not). */
export function dtypeBytes(dtype: string): number {
  return Object.hasOwn(DTYPE_BYTES, dtype) ? DTYPE_BYTES[dtype] : 0;
}

/** The file as chunks to write: float32 tensors in the order given, the header padded to 8 bytes. */
export function encodeSafetensors(tensors: readonly NamedFloats[], metadata: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    if (t.values.length !== elements(t.shape)) throw new Error(`${t.name}: ${t.values.length} values for shape ${t.shape.join('×')}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.values.byteLength] };
    offset += t.values.byteLength;
  }
  const json = JSON.stringify(header);
  // Spaces pad the header so the data starts 8-byte aligned, as the format's own writer does.
  const padded = Buffer.from(json + ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  return [prefix, padded, ...tensors.map((t) => new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength))];
}

/** Reads a whole file's bytes; `file` names it in messages. Tensor bytes are views into `bytes`. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const bad = (what: string) => new UserError(`${file} is not a usable safetensors file: ${what}`);
  if (bytes.length < 8) throw bad(`it is ${bytes.length} bytes long, shorter than the 8-byte header length (truncated?)`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.readBigUInt64LE(0);
  if (declared > BigInt(MAX_HEADER_BYTES)) throw bad(`its header claims ${declared} bytes, over the format's ${MAX_HEADER_BYTES}`);
  const headerBytes = Number(declared);
  if (8 + headerBytes > bytes.length) throw bad(`its header claims ${headerBytes} bytes but only ${bytes.length - 8} follow (the file is truncated)`);
  let header: unknown;
  try {
    header = JSON.parse(view.toString('utf8', 8, 8 + headerBytes));
  } catch {
    throw bad('its header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('its header is not a JSON object');
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, RawTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad('its __metadata__ is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw bad(`its __metadata__ entry "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !dtypeBytes(dtype)) throw bad(`tensor ${name} has dtype ${JSON.stringify(dtype)}, which the format does not define`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`tensor ${name} has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw bad(`tensor ${name} has no valid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) throw bad(`tensor ${name}'s data_offsets [${begin}, ${end}] run past the end of its ${dataBytes} bytes of data (the file is truncated)`);
    const size = elements(shape) * dtypeBytes(dtype);
    if (end - begin !== size) throw bad(`tensor ${name} is ${shape.join('×')} ${dtype} (${size} bytes) but its data_offsets span ${end - begin}`);
    spans.push({ name, begin, end });
    tensors.set(name, { dtype, shape: shape as number[], bytes: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  // The tensors must cover the data exactly: no overlaps (one region read as two tensors), no gaps.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of spans) {
    if (s.begin !== at) throw bad(`tensor ${s.name} starts at byte ${s.begin} of the data where ${at} was expected (tensors overlap or leave a gap)`);
    at = s.end;
  }
  if (at !== dataBytes) throw bad(`${dataBytes - at} bytes follow the last tensor`);
  return { tensors: new Map(spans.map((s) => [s.name, tensors.get(s.name)!])), metadata };
}

/** Whether bytes begin like a safetensors file: a plausible header length, then a JSON object. */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.length < 9) return false;
  const declared = Buffer.from(head.buffer, head.byteOffset, head.byteLength).readBigUInt64LE(0);
  return declared > 1n && declared <= BigInt(MAX_HEADER_BYTES) && head[8] === 0x7b; // '{'
}
