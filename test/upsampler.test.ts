// The 128-pixel upsampler: its shapes, that it is deterministic and survives a save, that it
// trains without leaking tensors, and that the one shipped beside the default model beats plain
// bicubic upscaling on fonts it never saw.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { VAL_FRACTION } from '../src-main/contract/presets.ts';
import { downsampleGlyphs, upsamplingData } from '../src-main/data/large-glyphs.ts';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import {
  createUpsampler, decodeUpsampler, disposeUpsampler, encodeUpsampler, upsample, upsampleGlyphs, UpsamplerTrainer,
} from '../src-main/engine/upsampler.ts';
import { bicubicGlyphs, evaluateUpsampler } from '../src-main/eval/upsampler.ts';
import { openRegistry } from '../src-main/data/registry.ts';
import { DEFAULT_UPSAMPLER, upsamplerFor } from '../src-main/jobs/upsampler.ts';

const config = { factor: 4, width: 8, depth: 2, classes: 3 };

/** A filled rectangle, antialiased at its edges by the same 4×4 averaging the importers use. */
function rectangles(count: number, size: number): { large: Uint8Array; small: Uint8Array } {
  const big = size * 4;
  const large = new Uint8Array(count * big * big);
  for (let g = 0; g < count; g++) {
    const [x0, y0, x1, y1] = [10 + g * 3, 13 + g, big - 17 - g * 2, big - 9 - g];
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) large[g * big * big + y * big + x] = 255;
  }
  return { large, small: downsampleGlyphs(large, count, big, 4) };
}

beforeAll(async () => {
  await initBackend('cpu');
});

describe('upsampler', () => {
  it('takes N×h×w×1 to N×4h×4w×1 and, untrained, is bilinear upscaling', () => {
    const u = createUpsampler(config, 1);
    const x = tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 3], 'int32');
    const y = upsample(u, x, labels);
    expect(y.shape).toEqual([2, 64, 64, 1]);
    const bilinear = tf.image.resizeBilinear(x, [64, 64], false, true);
    expect(tf.max(tf.abs(tf.sub(y, bilinear))).dataSync()[0]).toBeLessThan(1e-6);
    tf.dispose([x, labels, y, bilinear]);
    disposeUpsampler(u);
  });

  it('is deterministic: the same seed, the same weights and the same glyphs; a saved one draws the same bytes', async () => {
    const { small } = rectangles(3, 16);
    const a = createUpsampler(config, 7);
    const b = createUpsampler(config, 7);
    const c = createUpsampler(config, 8);
    const trainer = new UpsamplerTrainer(a, 3);
    const { large } = rectangles(3, 16);
    const batch = () => ({
      x: tf.tensor4d(Float32Array.from(small, (v) => v / 255), [3, 16, 16, 1]),
      labels: tf.tensor1d([0, 1, 2], 'int32'),
      target: tf.tensor4d(Float32Array.from(large, (v) => v / 255), [3, 64, 64, 1]),
    });
    for (let i = 0; i < 3; i++) {
      const t = batch();
      await trainer.trainStep(t);
      tf.dispose([t.x, t.labels, t.target]);
    }
    trainer.dispose();
    expect([...b.params.get('in.weight')!.dataSync()]).toEqual([...createUpsampler(config, 7).params.get('in.weight')!.dataSync()]);
    expect([...b.params.get('in.weight')!.dataSync()]).not.toEqual([...c.params.get('in.weight')!.dataSync()]);
    const first = await upsampleGlyphs(a, small, 3, 16, [0, 1, 2]);
    const again = await upsampleGlyphs(a, small, 3, 16, [0, 1, 2], 2);
    expect(first.length).toBe(3 * 64 * 64);
    expect(Buffer.compare(Buffer.from(first), Buffer.from(again))).toBe(0);
    const saved = decodeUpsampler(new Uint8Array(Buffer.concat(await encodeUpsampler(a, { note: 'test' }))), 'memory');
    expect(saved.upsampler.config).toEqual(config);
    expect(saved.metadata.note).toBe('test');
    expect(Buffer.compare(Buffer.from(await upsampleGlyphs(saved.upsampler, small, 3, 16, [0, 1, 2])), Buffer.from(first))).toBe(0);
    for (const u of [a, b, c, saved.upsampler]) disposeUpsampler(u);
  });

  it('learns: the loss on a few rectangles falls, and training steps leave no tensor behind', async () => {
    const { small, large } = rectangles(4, 16);
    const u = createUpsampler(config, 0);
    const trainer = new UpsamplerTrainer(u, 60, 5e-3);
    const x = tf.tensor4d(Float32Array.from(small, (v) => v / 255), [4, 16, 16, 1]);
    const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
    const target = tf.tensor4d(Float32Array.from(large, (v) => v / 255), [4, 64, 64, 1]);
    const first = await trainer.trainStep({ x, labels, target });
    const tensors = tf.memory().numTensors;
    let last = first;
    for (let i = 1; i < 60; i++) last = await trainer.trainStep({ x, labels, target });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(last).toBeLessThan(first * 0.5);
    trainer.dispose();
    tf.dispose([x, labels, target]);
    disposeUpsampler(u);
  });

  it('refuses a file that is not an upsampler, naming it', async () => {
    const u = createUpsampler(config, 0);
    const bytes = Buffer.concat(await encodeUpsampler(u));
    disposeUpsampler(u);
    const text = bytes.toString('latin1').replace('"fontloom":"upsampler"', '"fontloom":"upsampled"');
    expect(() => decodeUpsampler(new Uint8Array(Buffer.from(text, 'latin1')), 'weights.safetensors')).toThrow(/weights\.safetensors is not a Fontloom upsampler/);
  });

  it('shrinks by block means and upscales bicubically with centres aligned', () => {
    const big = Uint8Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 255 : 0)); // 4×4, left half ink
    expect([...downsampleGlyphs(big, 1, 4, 2)]).toEqual([255, 0, 255, 0]);
    const flat = bicubicGlyphs(new Uint8Array(4).fill(200), 1, 2, 4);
    expect(flat.every((v) => v === 200)).toBe(true);
    // A step edge stays centred: the left half of the output is inkier than the right, mirror for mirror.
    const edge = bicubicGlyphs(Uint8Array.from([255, 0, 255, 0]), 1, 2, 4);
    for (let x = 0; x < 4; x++) expect(edge[x] + edge[7 - x]).toBeGreaterThanOrEqual(254);
  });
});

describe('the default model\'s upsampler', () => {
  it('belongs to runs on the default dataset only: another dataset\'s runs, or a run whose dataset is gone, draw at their own size', async () => {
    const home = await mkdtemp(join(tmpdir(), 'fontloom-upsampler-'));
    try {
      const registry = await openRegistry(home);
      const { record: embedded } = await registry.ensureDefault();
      const { record: other } = await registry.register({
        height: 32, width: 32, channels: 1, count: 2, pixels: new Uint8Array(2 * 32 * 32).fill(9),
        labels: Int32Array.from([0, 1]), fontIds: Int32Array.from([0, 0]), classNames: ['A', 'B'], fonts: [{ name: 'Mine' }],
      }, { name: 'mine', format: 'fonts', source: 'test' });
      expect(upsamplerFor(home, { dataset: embedded.id })).toBe(DEFAULT_UPSAMPLER);
      expect(upsamplerFor(home, { dataset: other.id })).toBeNull();
      expect(upsamplerFor(home, { dataset: null })).toBeNull();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('is shipped, and on held-out fonts it never saw draws 128-pixel letters closer to the real ones than bicubic upscaling', async () => {
    const { upsampler, metadata } = decodeUpsampler(new Uint8Array(await readFile(DEFAULT_UPSAMPLER)), DEFAULT_UPSAMPLER);
    expect(upsampler.config.factor).toBe(4);
    expect(JSON.parse(metadata.trained).steps).toBeGreaterThan(0);
    const data = await upsamplingData(VAL_FRACTION);
    expect(data.large.height).toBe(128);
    const score = await evaluateUpsampler(upsampler, data, 78);
    disposeUpsampler(upsampler);
    expect(score.glyphs).toBe(78);
    expect(score.iou.upsampler).toBeGreaterThan(score.iou.bicubic + 0.02);
    expect(score.l1.upsampler).toBeLessThan(score.l1.bicubic);
  }, 60_000);
});
