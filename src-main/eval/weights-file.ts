// The file a trained measuring network is cached in (the letter classifier, the style judge):
//   MAGIC (8 bytes) | uint32 LE header length | UTF-8 JSON header | padding to 4 | float32 weights
// The header lists each weight's name, shape and offset, and a sha256 of the weight bytes, so a
// damaged file is found and retrained rather than trusted. Written atomically.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic.ts';
import type { NamedWeight } from './classifier.ts';

interface WeightsLayout {
  /** sha256 (hex) of the weight bytes. */
  checksum: string;
  weights: Array<{ name: string; shape: number[]; offset: number }>;
}

const bytesOf = (w: NamedWeight) => new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength);

export async function writeWeightsFile(path: string, magic: string, header: object, weights: readonly NamedWeight[]): Promise<void> {
  const layout: WeightsLayout = { checksum: '', weights: [] };
  const hash = createHash('sha256');
  let offset = 0;
  for (const w of weights) {
    layout.weights.push({ name: w.name, shape: w.shape, offset });
    hash.update(bytesOf(w));
    offset += w.values.length;
  }
  layout.checksum = hash.digest('hex');
  const json = Buffer.from(JSON.stringify({ ...header, ...layout }), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(magic, 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  const padding = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFileAtomic(path, [prefix, json, padding, ...weights.map(bytesOf)]);
}

export type WeightsRead<H> = { header: H; weights: NamedWeight[] } | { problem: string; missing: boolean };

/**
 * A weights file's header and weights, or why it cannot be used. `check` refuses a sound file
 * that is not the one wanted (another version, other data), returning why; null accepts it.
 */
export async function readWeightsFile<H extends object>(path: string, magic: string, what: string, check: (header: H) => string | null): Promise<WeightsRead<H>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { problem: `no cached ${what}`, missing: true };
    return { problem: `cannot read ${path}: ${(err as Error).message}`, missing: false };
  }
  const bad = (why: string) => ({ problem: `${path} ${why}`, missing: false });
  if (bytes.length < 12 || bytes.toString('latin1', 0, 8) !== magic) return bad(`is not a Fontloom ${what}`);
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) return bad('is truncated');
  let header: H & WeightsLayout;
  try {
    header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)) as H & WeightsLayout;
  } catch {
    return bad('has a damaged header');
  }
  const refused = check(header);
  if (refused) return bad(refused);
  const start = 12 + headerLength + ((4 - ((12 + headerLength) % 4)) % 4);
  const floats = header.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length - start !== floats * 4) return bad(`should hold ${start + floats * 4} bytes, holds ${bytes.length} (truncated or damaged)`);
  const body = bytes.subarray(start);
  if (createHash('sha256').update(body).digest('hex') !== header.checksum) return bad('is damaged: its weights do not match their checksum');
  const values = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  const weights = header.weights.map((w) => ({ name: w.name, shape: w.shape, values: values.subarray(w.offset, w.offset + w.shape.reduce((a, b) => a * b, 1)) }));
  const { checksum: _checksum, weights: _layout, ...rest } = header;
  return { header: rest as unknown as H, weights };
}
