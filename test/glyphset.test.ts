import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../src-main/errors.ts';
import {
  contentHash,
  readGlyphSet,
  splitByFont,
  validateGlyphSet,
  writeGlyphSet,
  type GlyphSet,
} from '../src-main/data/glyphset.ts';
import { LETTERS, syntheticGlyphSet } from './helpers/synthetic.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-glyphset-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small RGB set with uneven dims, so that any mix-up of height, width and channels shows. */
function rgbSet(): GlyphSet {
  const height = 5, width = 7, channels = 3, count = 4;
  return {
    height, width, channels, count,
    pixels: Uint8Array.from({ length: count * height * width * channels }, (_, i) => (i * 37) % 256),
    labels: Int32Array.from([0, 1, 2, 1]),
    fontIds: Int32Array.from([0, 0, 1, 1]),
    classNames: ['cat', 'dog', 'ship'],
    fonts: [{ name: 'batch 1', source: 'data_batch_1.bin', license: 'MIT' }, { name: 'batch 2' }],
  };
}

/**
 * Encodes a file from the format's description, independently of writeGlyphSet, so that tests
 * can put in headers and values the writer would refuse.
 */
function encodeGlyphFile(header: Record<string, unknown>, set: GlyphSet): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(12);
  preamble.write('FLGLYPH1', 0, 'latin1');
  preamble.writeUInt32LE(json.length, 8);
  const padding = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);
  const ints = (values: Int32Array) => {
    const out = Buffer.alloc(values.length * 4);
    values.forEach((v, i) => out.writeInt32LE(v, i * 4));
    return out;
  };
  return Buffer.concat([preamble, json, padding, ints(set.labels), ints(set.fontIds), set.pixels]);
}

function headerOf(set: GlyphSet): Record<string, unknown> {
  const { height, width, channels, count, classNames, fonts } = set;
  return { version: 1, height, width, channels, count, classNames, fonts, hash: contentHash(set) };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UserError);
  return err as Error;
}

describe('a glyph set file', () => {
  it('reads back exactly what was written, hash included', async () => {
    const set = syntheticGlyphSet({ fonts: 3, seed: 5 });
    const path = join(dir, 'letters.glyphs');
    await writeGlyphSet(path, set);
    const back = await readGlyphSet(path);
    expect(back.height).toBe(32);
    expect(back.count).toBe(3 * 26);
    expect(back.classNames).toEqual(set.classNames);
    expect(back.fonts).toEqual(set.fonts);
    expect(Array.from(back.labels)).toEqual(Array.from(set.labels));
    expect(Array.from(back.fontIds)).toEqual(Array.from(set.fontIds));
    expect(Buffer.from(back.pixels).equals(Buffer.from(set.pixels))).toBe(true);
    expect(contentHash(back)).toBe(contentHash(set));
  });

  it('keeps height, width and channels of an RGB set apart, and its font provenance', async () => {
    const set = rgbSet();
    const path = join(dir, 'cifar.glyphs');
    await writeGlyphSet(path, set);
    const back = await readGlyphSet(path);
    expect([back.height, back.width, back.channels, back.count]).toEqual([5, 7, 3, 4]);
    expect(back.fonts).toEqual(set.fonts);
    expect(Array.from(back.pixels)).toEqual(Array.from(set.pixels));
  });

  it('is laid out as the format says: magic, header length, JSON header with the hash, padded data', async () => {
    const set = rgbSet();
    const path = join(dir, 'layout.glyphs');
    await writeGlyphSet(path, set);
    const bytes = await readFile(path);
    expect(bytes.toString('latin1', 0, 8)).toBe('FLGLYPH1');
    const headerLength = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength));
    expect(header).toEqual(headerOf(set));
    expect(bytes.equals(encodeGlyphFile(header, set))).toBe(true);
  });

  it('changes its hash when one pixel, label or class name changes', () => {
    const set = rgbSet();
    const base = contentHash(set);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    const pixels = set.pixels.slice();
    pixels[10] ^= 1;
    expect(contentHash({ ...set, pixels })).not.toBe(base);
    expect(contentHash({ ...set, labels: Int32Array.from([0, 1, 2, 2]) })).not.toBe(base);
    expect(contentHash({ ...set, classNames: ['cat', 'dog', 'boat'] })).not.toBe(base);
    expect(contentHash({ ...set, fonts: [{ name: 'x' }, { name: 'y' }] })).toBe(base);
  });

  it('refuses a file that is not a glyph set', async () => {
    const path = join(dir, 'photo.glyphs');
    await writeFile(path, Buffer.from('\x89PNG\r\n\x1a\n and then some bytes', 'latin1'));
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('not a Fontloom glyph set');
  });

  it('refuses a missing file by name', async () => {
    const path = join(dir, 'nowhere.glyphs');
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('does not exist');
  });

  it('refuses a truncated file, saying how many bytes it expected and found', async () => {
    const path = join(dir, 'cut.glyphs');
    await writeGlyphSet(path, rgbSet());
    const full = (await readFile(path)).length;
    await truncate(path, full - 9);
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain(`expected ${full} bytes, found ${full - 9}`);
  });

  it('refuses a file cut inside its header', async () => {
    const path = join(dir, 'cut-header.glyphs');
    await writeGlyphSet(path, rgbSet());
    const bytes = await readFile(path);
    const headerEnd = 12 + bytes.readUInt32LE(8);
    await truncate(path, 20);
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain(`expected at least ${headerEnd} bytes, found 20`);
  });

  it('refuses a file with bytes after its pixels', async () => {
    const path = join(dir, 'long.glyphs');
    const bytes = encodeGlyphFile(headerOf(rgbSet()), rgbSet());
    await writeFile(path, Buffer.concat([bytes, Buffer.alloc(3)]));
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(`expected ${bytes.length} bytes, found ${bytes.length + 3}`);
  });

  for (const [field, value] of [
    ['height', 0],
    ['width', 2.5],
    ['channels', -3],
    ['count', '4'],
  ] as const) {
    it(`refuses a header whose ${field} is ${JSON.stringify(value)}`, async () => {
      const path = join(dir, `bad-${field}.glyphs`);
      await writeFile(path, encodeGlyphFile({ ...headerOf(rgbSet()), [field]: value }, rgbSet()));
      const err = await rejection(readGlyphSet(path));
      expect(err.message).toContain(path);
      expect(err.message).toContain(`${field} must be a positive integer`);
    });
  }

  it('refuses a label outside the class list, naming the item', async () => {
    const set = { ...rgbSet(), labels: Int32Array.from([0, 1, 3, 1]) };
    const path = join(dir, 'bad-label.glyphs');
    await writeFile(path, encodeGlyphFile(headerOf(set), set));
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('labels[2] is 3');
    expect(err.message).toContain('3 classes');
  });

  it('refuses a font id outside the font list', async () => {
    const set = { ...rgbSet(), fontIds: Int32Array.from([0, -1, 1, 1]) };
    const path = join(dir, 'bad-font.glyphs');
    await writeFile(path, encodeGlyphFile(headerOf(set), set));
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('fontIds[1] is -1');
  });

  it('refuses a file whose content no longer matches its hash', async () => {
    const path = join(dir, 'flipped.glyphs');
    await writeGlyphSet(path, rgbSet());
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(path, bytes);
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain(path);
    expect(err.message).toContain('does not match the hash');
  });

  it('refuses a header from another format version', async () => {
    const path = join(dir, 'future.glyphs');
    await writeFile(path, encodeGlyphFile({ ...headerOf(rgbSet()), version: 2 }, rgbSet()));
    const err = await rejection(readGlyphSet(path));
    expect(err.message).toContain('format version 2');
  });
});

describe('writing a glyph set', () => {
  it('leaves only the finished file behind, also when it replaces an older one', async () => {
    const path = join(dir, 'letters.glyphs');
    await writeGlyphSet(path, rgbSet());
    await writeGlyphSet(path, syntheticGlyphSet({ fonts: 2 }));
    expect(await readdir(dir)).toEqual(['letters.glyphs']);
    expect((await readGlyphSet(path)).count).toBe(52);
  });

  it('leaves nothing when the target folder is missing', async () => {
    const path = join(dir, 'missing', 'letters.glyphs');
    const err = await rejection(writeGlyphSet(path, rgbSet()));
    expect(err.message).toContain(join(dir, 'missing'));
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes its temp file when the final rename fails', async () => {
    const path = join(dir, 'taken.glyphs');
    await mkdir(path); // a folder in the way: the data is written, then the rename fails
    await expect(writeGlyphSet(path, rgbSet())).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken.glyphs']);
    expect(await readdir(path)).toEqual([]);
  });

  it('refuses an inconsistent set before writing anything', async () => {
    const set = { ...rgbSet(), pixels: new Uint8Array(10) };
    const err = await rejection(writeGlyphSet(join(dir, 'x.glyphs'), set));
    expect(err.message).toContain('pixels has 10 entries, expected 420');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('validateGlyphSet', () => {
  it('names the place and the field that is wrong', () => {
    expect(() => validateGlyphSet({ ...rgbSet(), labels: new Int32Array(3) }, 'import of cifar-10'))
      .toThrow(/^import of cifar-10: labels has 3 entries, expected 4/);
    expect(() => validateGlyphSet({ ...rgbSet(), classNames: ['a', 'b', 'a'] }, 'csv'))
      .toThrow('csv: classNames lists "a" twice');
    expect(() => validateGlyphSet({ ...rgbSet(), fonts: [{ name: 'only' }] }, 'npz'))
      .toThrow('npz: fontIds[2] is 1, outside 0..0');
    expect(() => validateGlyphSet(rgbSet(), 'fine')).not.toThrow();
  });
});

describe('splitByFont', () => {
  const set = syntheticGlyphSet({ fonts: 20, size: 8 });

  function fontsOf(items: Int32Array): Set<number> {
    return new Set(Array.from(items, (i) => set.fontIds[i]));
  }

  it('puts whole fonts in validation, about the fraction asked for', () => {
    const { train, val } = splitByFont(set, 0.1, 1);
    const valFonts = fontsOf(val);
    expect(valFonts.size).toBe(2);
    expect([...fontsOf(train)].filter((f) => valFonts.has(f))).toEqual([]);
    expect(val.length).toBe(2 * 26);
  });

  it('covers every item exactly once', () => {
    const { train, val } = splitByFont(set, 0.25, 7);
    const all = [...train, ...val].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: set.count }, (_, i) => i));
  });

  it('is the same for the same seed and differs across seeds', () => {
    const first = splitByFont(set, 0.2, 3);
    const again = splitByFont(set, 0.2, 3);
    expect(Array.from(again.val)).toEqual(Array.from(first.val));
    const others = [4, 5, 6, 7].map((seed) => Array.from(splitByFont(set, 0.2, seed).val).join());
    expect(others.some((v) => v !== Array.from(first.val).join())).toBe(true);
  });

  it('holds out one font of two even for a tiny fraction, and none of one', () => {
    const two = syntheticGlyphSet({ fonts: 2, size: 8 });
    expect(new Set(Array.from(splitByFont(two, 0.01, 0).val, (i) => two.fontIds[i])).size).toBe(1);
    const one = syntheticGlyphSet({ fonts: 1, size: 8 });
    const split = splitByFont(one, 0.5, 0);
    expect(split.val.length).toBe(0);
    expect(split.train.length).toBe(26);
  });

  it('refuses a fraction outside (0, 1)', () => {
    expect(() => splitByFont(set, 1, 0)).toThrow(UserError);
    expect(() => splitByFont(set, 0, 0)).toThrow(/between 0 and 1/);
  });
});

describe('the synthetic test letters', () => {
  const fonts = 20;
  const set = syntheticGlyphSet({ fonts, seed: 0 });
  const pixelsPerGlyph = 32 * 32;
  const glyph = (font: number, letter: number) =>
    set.pixels.subarray((font * 26 + letter) * pixelsPerGlyph, (font * 26 + letter + 1) * pixelsPerGlyph);

  function meanImages(fontList: number[]): Float64Array[] {
    return LETTERS.map((_, letter) => {
      const mean = new Float64Array(pixelsPerGlyph);
      for (const font of fontList) glyph(font, letter).forEach((v, p) => (mean[p] += v / fontList.length));
      return mean;
    });
  }

  it('is a valid 26-letter set of white-on-black glyphs', () => {
    validateGlyphSet(set, 'synthetic');
    expect(set.classNames).toEqual(LETTERS);
    expect(new Set(set.labels).size).toBe(26);
    for (let item = 0; item < set.count; item++) {
      const g = set.pixels.subarray(item * pixelsPerGlyph, (item + 1) * pixelsPerGlyph);
      const ink = g.filter((v) => v > 127).length / pixelsPerGlyph;
      expect(ink).toBeGreaterThan(0.02);
      expect(ink).toBeLessThan(0.5);
      expect(g[0]).toBe(0); // the corner is background
    }
    expect(set.pixels.reduce((a, b) => Math.max(a, b), 0)).toBe(255);
  });

  it('draws 26 clearly different letters', () => {
    const means = meanImages([...Array(fonts).keys()]);
    for (let a = 0; a < 26; a++) {
      for (let b = a + 1; b < 26; b++) {
        const distance = means[a].reduce((sum, v, p) => sum + Math.abs(v - means[b][p]), 0) / pixelsPerGlyph;
        expect(distance, `${LETTERS[a]} vs ${LETTERS[b]}`).toBeGreaterThan(3);
      }
    }
  });

  it('lets letters of unseen fonts be told apart by their nearest mean image', () => {
    const centroids = meanImages([...Array(15).keys()]);
    let right = 0;
    for (let font = 15; font < fonts; font++) {
      for (let letter = 0; letter < 26; letter++) {
        const g = glyph(font, letter);
        const distances = centroids.map((c) => c.reduce((sum, v, p) => sum + (v - g[p]) ** 2, 0));
        if (distances.indexOf(Math.min(...distances)) === letter) right++;
      }
    }
    expect(right / (5 * 26)).toBeGreaterThan(0.5); // chance is 1/26
  });

  it('varies fonts, and is the same for the same seed', () => {
    expect(Buffer.from(glyph(0, 0)).equals(Buffer.from(glyph(1, 0)))).toBe(false);
    const again = syntheticGlyphSet({ fonts: 2, seed: 0 });
    expect(Buffer.from(again.pixels).equals(Buffer.from(set.pixels.subarray(0, again.pixels.length)))).toBe(true);
    const other = syntheticGlyphSet({ fonts: 2, seed: 1 });
    expect(Buffer.from(other.pixels).equals(Buffer.from(again.pixels))).toBe(false);
  });

  it('draws any class list at any size', () => {
    const digits = syntheticGlyphSet({ fonts: 2, size: 16, classes: ['0', '1', '2'] });
    validateGlyphSet(digits, 'digits');
    expect(digits.count).toBe(6);
    expect(digits.pixels.length).toBe(6 * 16 * 16);
    const hash = (i: number) => createHash('sha1').update(digits.pixels.subarray(i * 256, (i + 1) * 256)).digest('hex');
    expect(new Set([hash(0), hash(1), hash(2)]).size).toBe(3);
  });
});
