// Completion's starting point (jobs/nearest-font.ts): the training font whose given letters are
// nearest to the user's, never a held-out font, answered from an index built once per dataset.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VAL_FRACTION } from '../src-main/contract/presets.ts';
import { writeGlyphSet, type GlyphSet } from '../src-main/data/glyphset.ts';
import { loadTrainingData } from '../src-main/data/training.ts';
import { glyphsAsStart, rmsError, trainingFontIndex } from '../src-main/jobs/nearest-font.ts';
import { IDENTITY_WARP } from '../src-main/contract/api.ts';
import { warpGlyph } from '../src-main/data/glyph-warp.ts';
import { centreGlyph, pixelSquaredDistance } from '../src-main/eval/style-metrics.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

let dir: string;
let path: string;
let set: GlyphSet;
const per = 32 * 32;
const shape = { size: 32, channels: 1 };
const glyph = (font: number, c: number) => set.pixels.slice((font * 26 + c) * per, (font * 26 + c + 1) * per);
/** The ink's mean column over rows [y0, y1). */
function inkCentreX(g: Uint8Array, y0: number, y1: number): number {
  let mass = 0;
  let mx = 0;
  for (let y = y0; y < y1; y++) for (let x = 0; x < 32; x++) {
    mass += g[y * 32 + x];
    mx += g[y * 32 + x] * x;
  }
  return mx / mass;
}

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

  it('reshapes the nearest font to slanted given letters, and says how', async () => {
    const split = await loadTrainingData(path, VAL_FRACTION);
    const font = set.fontIds[split.train[0]];
    const index = await trainingFontIndex(path, VAL_FRACTION);
    const slant = { ...IDENTITY_WARP, slant: 0.3 };
    const given = new Map([7, 0, 12].map((c) => [c, warpGlyph(glyph(font, c), 32, slant)]));
    const found = index.nearest(given);
    expect(found.warp.slant).toBeGreaterThan(0.15);
    // Its start is its letters reshaped so: the missing letters lean as the given ones do.
    const lean = (g: Uint8Array) => inkCentreX(g, 4, 12) - inkCentreX(g, 20, 28);
    const asStored = glyph(found.fontId, 4); // E
    expect(lean(found.alphabet.subarray(4 * per, 5 * per)) - lean(asStored)).toBeGreaterThan(1.5);
    // Its error is the reshaped letters' error, below the unreshaped nearest font's.
    const plain = [...given].reduce((s, [c, g]) => s + pixelSquaredDistance(centreGlyph(g, shape), centreGlyph(glyph(found.fontId, c), shape)), 0);
    expect(found.rms).toBeLessThan(rmsError(plain, 3 * per));
  });

  it('maps glyph bytes to the [−1, 1] a start takes', () => {
    expect([...glyphsAsStart(Uint8Array.from([0, 255]))]).toEqual([-1, 1]);
  });
});
