// Completion's starting point (jobs/nearest-font.ts): the training font whose given letters are
// nearest to the user's, never a held-out font, answered from an index built once per dataset.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VAL_FRACTION } from '../src-main/contract/presets.ts';
import { writeGlyphSet, type GlyphSet } from '../src-main/data/glyphset.ts';
import { loadTrainingData } from '../src-main/data/training.ts';
import { glyphsAsStart, trainingFontIndex } from '../src-main/jobs/nearest-font.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

let dir: string;
let path: string;
let set: GlyphSet;
const per = 32 * 32;
const glyph = (font: number, c: number) => set.pixels.slice((font * 26 + c) * per, (font * 26 + c + 1) * per);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-nearest-'));
  path = join(dir, 'fonts.glyphs');
  set = syntheticGlyphSet({ fonts: 10, seed: 9 });
  await writeGlyphSet(path, set);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the training font nearest to given letters', () => {
  it('finds the font the letters came from, with its whole alphabet, and never answers with a held-out font', async () => {
    const split = await loadTrainingData(path, VAL_FRACTION);
    const train = [...new Set([...split.train].map((i) => set.fontIds[i]))];
    const held = [...new Set([...split.val].map((i) => set.fontIds[i]))];
    expect(held.length).toBeGreaterThan(0);
    const index = await trainingFontIndex(path, VAL_FRACTION);
    expect(index.fonts).toBe(train.length);
    expect(index).toBe(await trainingFontIndex(path, VAL_FRACTION)); // built once
    for (const font of train) {
      const found = index.nearest(new Map([7, 0, 12].map((c) => [c, glyph(font, c)])));
      expect(found.fontId).toBe(font);
      expect(found.font).toBe(set.fonts[font].name);
      for (let c = 0; c < 26; c++) expect(Buffer.from(found.alphabet.subarray(c * per, (c + 1) * per)).equals(Buffer.from(glyph(font, c))), `class ${c}`).toBe(true);
    }
    // A held-out font's letters lead to some training font, not to itself.
    const found = index.nearest(new Map([[7, glyph(held[0], 7)]]));
    expect(train).toContain(found.fontId);
  });

  it('maps glyph bytes to the [−1, 1] a start takes', () => {
    expect([...glyphsAsStart(Uint8Array.from([0, 255]))]).toEqual([-1, 1]);
  });
});
