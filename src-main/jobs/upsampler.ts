// Which runs draw at 128 pixels, and drawing them there. The upsampler that ships beside the default
// model (data/default-upsampler.safetensors, trained by scripts/train-upsampler.ts) learned from the
// default dataset drawn at 128 pixels, so every run trained on the default dataset has it: the
// default model and the user's own runs alike. A Kaggle, CSV or CIFAR-10 dataset has no 128-pixel
// original to learn from, and its runs stay at their own size.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { decodeUpsampler, upsampleGlyphs, type Upsampler } from '../engine/upsampler.ts';
import type { StoredRun } from '../store/store.ts';
import { storeFor } from '../store/store.ts';

export const DEFAULT_UPSAMPLER = fileURLToPath(new URL('../../data/default-upsampler.safetensors', import.meta.url));
const DEFAULT_MANIFEST = fileURLToPath(new URL('../../data/default-manifest.json', import.meta.url));

let defaultHash: string | null | undefined;

/** The embedded default dataset's content hash, as its manifest records it. */
function defaultDatasetHash(): string | null {
  if (defaultHash === undefined) {
    try {
      defaultHash = (JSON.parse(readFileSync(DEFAULT_MANIFEST, 'utf8')) as { totals?: { contentHash?: string } }).totals?.contentHash ?? null;
    } catch {
      defaultHash = null;
    }
  }
  return defaultHash;
}

/** The upsampler file a run draws at 128 pixels with, or null where it draws at its own size. */
export function upsamplerFor(home: string, run: Pick<StoredRun, 'dataset'>): string | null {
  if (!run.dataset || !existsSync(DEFAULT_UPSAMPLER)) return null;
  const dataset = storeFor(home).getDataset(run.dataset);
  return dataset && dataset.hash === defaultDatasetHash() ? DEFAULT_UPSAMPLER : null;
}

const loaded = new Map<string, Upsampler>();

/** An upsampler file, read once per process. */
export async function loadUpsampler(file: string): Promise<Upsampler> {
  let u = loaded.get(file);
  if (!u) {
    u = decodeUpsampler(new Uint8Array(await readFile(file)), file).upsampler;
    loaded.set(file, u);
  }
  return u;
}

/** Drawn glyphs (one channel, `size` pixels, `classes[i]` the letter of glyph i) at the upsampler's size. */
export async function upsampleDrawn(file: string, images: Uint8Array, classes: readonly number[], size: number): Promise<{ images: Uint8Array; size: number }> {
  const u = await loadUpsampler(file);
  return { images: await upsampleGlyphs(u, images, classes.length, size, classes), size: size * u.config.factor };
}
