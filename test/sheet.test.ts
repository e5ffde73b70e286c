import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../src-main/errors.ts';
import { SHEET_SPACING, glyphStrip, renderSheet, writeSheet } from '../src-main/export/sheet.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-sheet-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const letters = syntheticGlyphSet({ fonts: 1, seed: 3 });
const { gap, label, title } = SHEET_SPACING;

async function decode(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
  return { info, at };
}

/** Where glyph i's image starts, from the sheet's spacing as a user would measure it. */
function cellOrigin(i: number, columns: number, cellWidth: number, cellHeight: number, titled: boolean) {
  const column = i % columns;
  const row = Math.floor(i / columns);
  return {
    left: gap + column * (cellWidth + gap),
    top: (titled ? title : 0) + gap + row * (label + cellHeight + gap) + label,
  };
}

describe('a sample sheet', () => {
  it('lays A–Z out in two rows of 13 at four times the size', async () => {
    const png = await renderSheet(letters.pixels, 26, 32, 32, 1, letters.classNames);
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(gap + 13 * (128 + gap));
    expect(meta.height).toBe(gap + 2 * (label + 128 + gap));
  });

  it('follows the columns and scale asked for, and makes room for a title', async () => {
    const png = await renderSheet(letters.pixels.subarray(0, 10 * 1024), 10, 32, 32, 1, letters.classNames,
      { columns: 4, scale: 2, title: 'run 1, step 1200, EMA' });
    const meta = await sharp(png).metadata();
    expect(meta.width).toBe(gap + 4 * (64 + gap));
    expect(meta.height).toBe(title + gap + 3 * (label + 64 + gap));
  });

  it('uses no more columns than it has glyphs', async () => {
    const png = await renderSheet(letters.pixels.subarray(0, 3 * 1024), 3, 32, 32, 1, ['A', 'B', 'C'], { scale: 1 });
    expect((await sharp(png).metadata()).width).toBe(gap + 3 * (32 + gap));
  });

  it('shows each glyph pixel for pixel, upscaled by the nearest neighbour', async () => {
    const scale = 3;
    const png = await renderSheet(letters.pixels, 26, 32, 32, 1, letters.classNames, { scale, title: 'check' });
    const sheet = await decode(png);
    for (const i of [0, 12, 13, 25]) {
      const glyph = letters.pixels.subarray(i * 1024, (i + 1) * 1024);
      const { left, top } = cellOrigin(i, 13, 96, 96, true);
      for (let y = 0; y < 96; y++) {
        for (let x = 0; x < 96; x++) {
          const v = glyph[Math.floor(y / scale) * 32 + Math.floor(x / scale)];
          const got = sheet.at(left + x, top + y);
          if (got[0] !== v || got[1] !== v || got[2] !== v) {
            throw new Error(`glyph ${i} at (${x}, ${y}): sheet has ${got}, glyph has ${v}`);
          }
        }
      }
    }
  });

  it('shows RGB images in their colours', async () => {
    const n = 3, h = 4, w = 6;
    const images = Uint8Array.from({ length: n * h * w * 3 }, (_, i) => (i * 53 + 11) % 256);
    const png = await renderSheet(images, n, h, w, 3, ['cat', 'automobile', 'ship'], { scale: 5, columns: 2 });
    const sheet = await decode(png);
    expect(sheet.info.channels).toBe(3);
    for (let i = 0; i < n; i++) {
      const { left, top } = cellOrigin(i, 2, w * 5, h * 5, false);
      for (let y = 0; y < h * 5; y++) {
        for (let x = 0; x < w * 5; x++) {
          const source = ((i * h + Math.floor(y / 5)) * w + Math.floor(x / 5)) * 3;
          expect(sheet.at(left + x, top + y)).toEqual(Array.from(images.subarray(source, source + 3)));
        }
      }
    }
  });

  it('writes each label above its glyph, markup characters included', async () => {
    const glyphs = letters.pixels.subarray(0, 2 * 1024);
    const png = await renderSheet(glyphs, 2, 32, 32, 1, ['<&"A\'>', ''], { title: 'a < b & "c"' });
    const sheet = await decode(png);
    const brightPixelsAbove = (i: number) => {
      const { left, top } = cellOrigin(i, 2, 128, 128, true);
      let bright = 0;
      for (let y = top - label; y < top; y++) {
        for (let x = left; x < left + 128; x++) if (sheet.at(x, y)[0] > 128) bright++;
      }
      return bright;
    };
    expect(brightPixelsAbove(0)).toBeGreaterThan(20);
    expect(brightPixelsAbove(1)).toBe(0);
  });

  it('refuses a scale that is not a positive whole number', async () => {
    await expect(renderSheet(letters.pixels, 26, 32, 32, 1, letters.classNames, { scale: 1.5 }))
      .rejects.toThrow(UserError);
  });
});

describe("a sheet's glyphs for the studio, with no text", () => {
  it('gives back every glyph of a titled A–Z sheet exactly, side by side at its own size', async () => {
    const png = await renderSheet(letters.pixels, 26, 32, 32, 1, letters.classNames, { title: 'run · step 200' });
    const strip = await glyphStrip(png, 26, 32, 32, { title: 'any title' });
    expect(strip).not.toBeNull();
    expect([strip!.width, strip!.height]).toEqual([26 * 32, 32]);
    const { at } = await decode(strip!.png);
    for (let i = 0; i < 26; i++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const v = letters.pixels[i * 1024 + y * 32 + x];
          const got = at(i * 32 + x, y);
          if (got[0] !== v || got[2] !== v) throw new Error(`glyph ${i} at (${x}, ${y}): strip has ${got}, glyph has ${v}`);
        }
      }
    }
  });

  it('says it cannot when the image is not a sheet of that layout', async () => {
    const untitled = await renderSheet(letters.pixels, 26, 32, 32, 1, letters.classNames);
    expect(await glyphStrip(untitled, 26, 32, 32, { title: 'run' })).toBeNull();
  });
});

describe('writing a sample sheet', () => {
  it('leaves only the finished PNG behind', async () => {
    const path = join(dir, 'step-1200.png');
    await writeSheet(path, letters.pixels, 26, 32, 32, 1, letters.classNames, { title: 'step 1200' });
    expect(await readdir(dir)).toEqual(['step-1200.png']);
    const png = await readFile(path);
    expect((await sharp(png).metadata()).height).toBe(title + gap + 2 * (label + 128 + gap));
  });

  it('removes its temp file when the final rename fails', async () => {
    const path = join(dir, 'taken.png');
    await mkdir(path); // a folder in the way: the PNG is written, then the rename fails
    await expect(writeSheet(path, letters.pixels, 26, 32, 32, 1, letters.classNames)).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken.png']);
  });

  it('leaves nothing and names the folder when the folder is missing', async () => {
    const path = join(dir, 'samples', 'step-1200.png');
    const err = await writeSheet(path, letters.pixels, 26, 32, 32, 1, letters.classNames).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(join(dir, 'samples'));
    expect(await readdir(dir)).toEqual([]);
  });
});
