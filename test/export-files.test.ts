// The glyph PNG set and sheet as a user unpacks them, and exports that fail: they leave nothing.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import yauzl from 'yauzl';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../src-main/errors.ts';
import { exportGlyphs } from '../src-main/export/index.ts';
import { writeStaged } from '../src-main/export/write.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

const letters = syntheticGlyphSet({ fonts: 1, seed: 5 });
const LETTERS = letters.classNames;
const glyphs = { images: letters.pixels, height: 32, width: 32, channels: 1, classNames: LETTERS };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-export-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function zipEntries(path: string): Promise<string[]> {
  return new Promise((done, fail) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err) return fail(err);
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => done(names));
      zip.on('error', fail);
      zip.readEntry();
    });
  });
}

describe('the PNG glyph set', () => {
  it('writes A.png…Z.png at each size asked for, in a folder per size, and a zip of them', async () => {
    const out = join(dir, 'glyphs');
    const result = await exportGlyphs({ ...glyphs, format: 'png', out, sizes: [128, 32], zip: true });
    expect(result.path).toBe(out);
    expect((await readdir(out)).sort()).toEqual(['128px', '32px']);
    for (const size of [32, 128]) {
      expect((await readdir(join(out, `${size}px`))).sort()).toEqual(LETTERS.map((l) => `${l}.png`).sort());
      for (const letter of ['A', 'O', 'Z']) {
        const meta = await sharp(join(out, `${size}px`, `${letter}.png`)).metadata();
        expect([meta.format, meta.width, meta.height]).toEqual(['png', size, size]);
      }
    }
    expect(result.files).toHaveLength(52);
    expect(result.zip).toBe(`${out}.zip`);
    const entries = await zipEntries(`${out}.zip`);
    expect(entries.sort()).toEqual([32, 128].flatMap((s) => LETTERS.map((l) => `glyphs/${s}px/${l}.png`)).sort());
  });

  it('keeps the 32-px glyphs exactly as generated and upscales smoothly, not in blocks', async () => {
    const out = join(dir, 'glyphs');
    await exportGlyphs({ ...glyphs, format: 'png', out, sizes: [32, 128] });
    const small = await sharp(join(out, '32px', 'O.png')).greyscale().raw().toBuffer();
    const o = LETTERS.indexOf('O');
    expect(Buffer.compare(small, Buffer.from(letters.pixels.subarray(o * 1024, (o + 1) * 1024)))).toBe(0);
    const large = await sharp(join(out, '128px', 'O.png')).greyscale().raw().toBuffer();
    const levels = new Set(large);
    // Nearest neighbour would repeat the 32-px image's grey levels only; a smooth filter makes new ones.
    expect(levels.size).toBeGreaterThan(new Set(small).size);
  });

  it('names files after the classes, made safe for a file system', async () => {
    const images = new Uint8Array(3 * 1024);
    const out = join(dir, 'odd');
    await exportGlyphs({ images, height: 32, width: 32, channels: 1, classNames: ['cat/dog', 'A', 'a'], format: 'png', out });
    expect((await readdir(join(out, '32px'))).sort()).toEqual(['A.png', 'a-2.png', 'cat_dog.png']);
  });

  it('refuses sizes that are not whole pixels from 8 to 1024', async () => {
    await expect(exportGlyphs({ ...glyphs, format: 'png', out: join(dir, 'x'), sizes: [4] })).rejects.toThrow(/PNG size 4/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('the sample sheet', () => {
  it('writes one PNG sheet of every glyph', async () => {
    const out = join(dir, 'sheet.png');
    const result = await exportGlyphs({ ...glyphs, format: 'sheet', out, title: 'step 10' });
    expect(result.files).toEqual([out]);
    const meta = await sharp(out).metadata();
    expect(meta.width).toBeGreaterThan(13 * 32);
  });

  it('asks for a .png name', async () => {
    await expect(exportGlyphs({ ...glyphs, format: 'sheet', out: join(dir, 'sheet.jpg') })).rejects.toThrow(/name it \*\.png/);
  });
});

describe('a failed export leaves nothing behind', () => {
  it('refuses a destination whose folder is a file, writing nothing', async () => {
    const notAFolder = join(dir, 'notes.txt');
    await writeFile(notAFolder, 'not a folder');
    for (const format of ['png', 'svg', 'otf'] as const) {
      const out = join(notAFolder, format === 'otf' ? 'Loom.otf' : 'glyphs');
      const attempt = exportGlyphs({ ...glyphs, format, out, zip: true });
      await expect(attempt).rejects.toThrow(UserError);
      await expect(attempt).rejects.toThrow(/notes\.txt is a file/);
    }
    expect(await readdir(dir)).toEqual(['notes.txt']);
  });

  it('does not write into a folder that already holds files, and leaves them as they were', async () => {
    const out = join(dir, 'glyphs');
    await mkdir(out);
    await writeFile(join(out, 'mine.txt'), 'keep me');
    await expect(exportGlyphs({ ...glyphs, format: 'png', out })).rejects.toThrow(/glyphs is a folder with files in it/);
    expect(await readdir(out)).toEqual(['mine.txt']);
    expect(await readdir(dir)).toEqual(['glyphs']);
  });

  it('removes what was written when a write fails half way, and leaves no destination', async () => {
    const out = join(dir, 'glyphs');
    const png = new Uint8Array([1, 2, 3]);
    // The second file needs A.png to be a folder: the export fails after writing the first.
    const files = [{ path: 'A.png', bytes: png }, { path: 'A.png/B.png', bytes: png }];
    await expect(writeStaged(out, 'folder', files, true)).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it('replaces an earlier font file in one step', async () => {
    const out = join(dir, 'Loom.otf');
    await writeFile(out, 'an older font');
    await writeStaged(out, 'file', [{ path: '', bytes: new Uint8Array([79, 84, 84, 79]) }], false);
    expect(await readdir(dir)).toEqual(['Loom.otf']);
    expect(await readFile(out, 'latin1')).toBe('OTTO');
  });
});
