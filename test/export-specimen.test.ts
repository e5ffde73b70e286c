// The specimen written beside every exported font, as a user opens it: the font set as type in a
// PNG named after it, and the two files written together or not at all.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../src-main/errors.ts';
import { exportGlyphs } from '../src-main/export/index.ts';
import { renderSpecimen, specimenPathFor } from '../src-main/export/specimen.ts';
import { writeStaged } from '../src-main/export/write.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

const letters = syntheticGlyphSet({ fonts: 1, seed: 5 });
const glyphs = { images: letters.pixels, height: 32, width: 32, channels: 1, classNames: letters.classNames };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-export-specimen-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pixels darker than mid-grey (ink; the labels are a lighter grey) in rows top…bottom, right of the size labels. */
async function inkIn(png: string, top: number, bottom: number): Promise<number> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  let ink = 0;
  for (let y = top; y < bottom; y++) for (let x = 160; x < info.width; x++) if (data[y * info.width + x] < 96) ink++;
  return ink;
}

describe("a font's specimen", () => {
  it('is written beside the font as Loom.specimen.png: the font set as type, 1600 px wide, ink in the waterfall', async () => {
    const out = join(dir, 'Loom.otf');
    const result = await exportGlyphs({ ...glyphs, format: 'otf', out, family: 'Loom Sans' });
    const specimen = join(dir, 'Loom.specimen.png');
    expect(result.specimen).toBe(specimen);
    expect(result.files).toEqual([out, specimen]);
    expect((await readdir(dir)).sort()).toEqual(['Loom.otf', 'Loom.specimen.png']);

    // Set from the font as written: rendering the file's bytes again gives the same image.
    const expected = await renderSpecimen(new Uint8Array(await readFile(out)));
    expect((await readFile(specimen)).equals(expected.png)).toBe(true);
    const meta = await sharp(specimen).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1600, expected.height]);
    expect(expected.height).toBeGreaterThan(1000);
    expect(expected.height).toBeLessThan(2400);

    const { top, bottom } = expected.waterfall;
    const area = (bottom - top) * (1600 - 160);
    const ink = await inkIn(specimen, top, bottom);
    expect(ink).toBeGreaterThan(0.02 * area);
    // Dark ink on white: most of the waterfall is paper, and the page's corner is white.
    expect(ink).toBeLessThan(0.4 * area);
    const { data } = await sharp(specimen).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(data[0]).toBe(255);
  });

  it('shows no ink for letters the model left empty: an all-black sample sets as blank space', async () => {
    const out = join(dir, 'Blank.otf');
    const result = await exportGlyphs({ ...glyphs, images: new Uint8Array(glyphs.images.length), format: 'otf', out });
    expect(result.warnings).toHaveLength(26);
    const { waterfall } = await renderSpecimen(new Uint8Array(await readFile(out)));
    expect(await inkIn(result.specimen!, waterfall.top, waterfall.bottom)).toBe(0);
  });

  it('is named after the font, in its folder', () => {
    expect(specimenPathFor('/fonts/Loom Sans.otf')).toBe('/fonts/Loom Sans.specimen.png');
    expect(specimenPathFor('LOOM.OTF')).toBe('LOOM.specimen.png');
  });
});

describe('the font and its specimen, together or not at all', () => {
  it('refuses an export whose specimen path is a folder, before any tracing, writing nothing', async () => {
    const taken = join(dir, 'Loom.specimen.png');
    await mkdir(taken);
    const attempt = exportGlyphs({ ...glyphs, format: 'otf', out: join(dir, 'Loom.otf') });
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(/Loom\.specimen\.png is a folder: choose a new path or remove it first/);
    expect(await readdir(dir)).toEqual(['Loom.specimen.png']);
    expect(await readdir(taken)).toEqual([]);
  });

  it('replaces an earlier font and its specimen in one step, as a font file alone is replaced', async () => {
    const out = join(dir, 'Loom.otf');
    await writeFile(out, 'an older font');
    await writeFile(join(dir, 'Loom.specimen.png'), 'an older specimen');
    await exportGlyphs({ ...glyphs, format: 'otf', out });
    expect((await readdir(dir)).sort()).toEqual(['Loom.otf', 'Loom.specimen.png']);
    expect((await readFile(out)).subarray(0, 4).toString('latin1')).toBe('OTTO');
    expect((await sharp(join(dir, 'Loom.specimen.png')).metadata()).format).toBe('png');
  });

  it('takes the specimen back when the font cannot land, leaving neither', async () => {
    const out = join(dir, 'Loom.otf');
    // Files appear at the font's path after the export's checks: its rename fails after the specimen's.
    await mkdir(out);
    await writeFile(join(out, 'mine.txt'), 'keep me');
    const font = { path: '', bytes: new Uint8Array([79, 84, 84, 79]) };
    const specimen = { path: join(dir, 'Loom.specimen.png'), bytes: new Uint8Array([137, 80, 78, 71]) };
    await expect(writeStaged(out, 'file', [font], false, [specimen])).rejects.toThrow(/Cannot export to .*Loom\.otf: files appeared there during the export; nothing was written/);
    expect(await readdir(dir)).toEqual(['Loom.otf']);
    expect(await readdir(out)).toEqual(['mine.txt']);
  });
});
