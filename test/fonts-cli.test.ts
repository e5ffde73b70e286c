// `fontloom sample --alphabets`, `complete` and `blend` as a user runs them: a real process, a
// temporary home, a micro style model trained for a few steps (its letters are noise, which is
// enough to check the way from given letters to files), and the refusals a user meets.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import opentype from 'opentype.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { describeWarp } from '../src-main/contract/api.ts';
import { readLetters } from '../src-main/data/letters.ts';
import { trainingFontIndex } from '../src-main/jobs/nearest-font.ts';
import { runFontloom, type CliResult, expectRefusal } from './helpers/cli.ts';

let home: string;
let styleRun: string;
let plainRun: string;
let letters: string;

const fontloom = (...args: string[]): Promise<CliResult> => runFontloom(home, args);
const sampling = ['--steps', '2', '--backend', 'wasm'];
const lastJson = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').at(-1)!);

/** A letter drawn as a user might give it: black on white, 120 px, from an SVG. */
async function letterPng(letter: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120"><rect width="120" height="120" fill="white"/><text x="60" y="100" font-size="100" font-family="DejaVu Sans" font-weight="bold" text-anchor="middle" fill="black">${letter}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-fonts-cli-'));
  const data = join(home, 'letters.glyphs');
  await writeGlyphSet(data, syntheticGlyphSet({ fonts: 6, seed: 4 }));
  const trained = await fontloom('train', '--data', data, '--preset', 'micro', '--style', '--steps', '2', '--batch', '8', '--backend', 'wasm', '--sample-every', '0', '--json');
  expect(trained.code, trained.stderr).toBe(0);
  styleRun = lastJson(trained).run;
  const plain = await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '1', '--batch', '8', '--backend', 'wasm', '--sample-every', '0', '--json');
  expect(plain.code, plain.stderr).toBe(0);
  plainRun = lastJson(plain).run;
  letters = join(home, 'given');
  await mkdir(letters);
  for (const l of ['H', 'a', 'M']) await writeFile(join(letters, `${l}.png`), await letterPng(l.toUpperCase()));
  await writeFile(join(letters, 'notes.txt'), 'not a letter');
}, 240_000);

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('fontloom sample --alphabets', () => {
  it('writes one folder of 26 letters per new font and a sheet with one font per row', async () => {
    const out = join(home, 'alphabets');
    const r = await fontloom('sample', '--run', styleRun, '--alphabets', '2', '--seed', '5', '--out', out, ...sampling);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['1', '2', 'sheet.png', 'styles.json']);
    expect((await readdir(join(out, '2'))).sort()).toEqual([...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => `${c}.png`));
    const styles = JSON.parse(await readFile(join(out, 'styles.json'), 'utf8'));
    expect(styles.alphabets.map((a: { seed: number }) => a.seed)).toEqual([5, 6]);
    expect(styles.alphabets[0].code).not.toEqual(styles.alphabets[1].code);
    const sheet = await sharp(join(out, 'sheet.png')).metadata();
    expect(sheet.width!).toBeGreaterThan(sheet.height! * 4); // 26 columns, 2 rows
  }, 120_000);

  it('draws the same first font for the same seed, as export does', async () => {
    const a = join(home, 'again');
    expect((await fontloom('sample', '--run', styleRun, '--alphabets', '1', '--seed', '5', '--out', a, ...sampling)).code).toBe(0);
    expect(await readFile(join(a, '1', 'Q.png'))).toEqual(await readFile(join(home, 'alphabets', '1', 'Q.png')));
    const png = join(home, 'export-png');
    expect((await fontloom('export', '--run', styleRun, '--format', 'png', '--seed', '5', '--out', png, ...sampling)).code).toBe(0);
    const raw = async (p: string) => (await sharp(p).raw().toBuffer()).toString('base64');
    expect(await raw(join(png, '32px', 'Q.png'))).toBe(await raw(join(a, '1', 'Q.png')));
  }, 120_000);

  it('refuses --alphabets for a run trained without --style, saying how to get one', async () => {
    const r = await fontloom('sample', '--run', plainRun, '--alphabets', '2', '--out', join(home, 'no'), ...sampling);
    expectRefusal(r, /draws each letter on its own \(trained without --style\).*--style/);
    expect(existsSync(join(home, 'no'))).toBe(false);
  }, 60_000);
});

describe('fontloom complete', () => {
  it('keeps the given letters as given, draws the rest, and exports the finished font with all 26', async () => {
    const out = join(home, 'completed');
    const otf = join(home, 'Completed.otf');
    const r = await fontloom('complete', '--run', styleRun, '--from', letters, '--out', out, '--otf', otf, '--name', 'Finished', ...sampling);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipped notes\.txt/);
    expect(r.stderr).toMatch(/AHM as given, 23 letters drawn/);
    const files = await readdir(out);
    expect(files).toHaveLength(27); // A–Z and the sheet
    // The given H is the normalised image of H.png, pixel for pixel.
    const { lettersFromImages } = await import('../src-main/data/letters.ts');
    const given = await lettersFromImages([{ name: 'H.png', bytes: await readFile(join(letters, 'H.png')) }], { size: 32 });
    const written = await sharp(join(out, 'H.png')).extractChannel(0).raw().toBuffer();
    expect(Buffer.from(given.letters.get('H')!)).toEqual(written);
    const bytes = await readFile(otf);
    const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(font.getEnglishName('fontFamily')).toBe('Finished');
    for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') expect(font.charToGlyph(c).name).toBe(c);
  }, 120_000);

  it('starts from the letters of the training font nearest to the given ones, reshaped to them, and --strength says how far it redraws them', async () => {
    // Given three letters of a training font (set on the dataset's baseline and cap height as any
    // given letters are, so their proportions differ from the font's own), the completion names
    // the training font it starts from and how it reshaped it; at a small strength the drawn
    // letters stay nearer that start's than any training font's, whatever the 2-step model draws.
    const set = syntheticGlyphSet({ fonts: 6, seed: 4 });
    const per = 32 * 32;
    const glyphOf = (font: number, letter: string) => set.pixels.subarray((font * 26 + letter.charCodeAt(0) - 65) * per, (font * 26 + letter.charCodeAt(0) - 65 + 1) * per);
    const { loadTrainingData } = await import('../src-main/data/training.ts');
    const { VAL_FRACTION } = await import('../src-main/contract/presets.ts');
    const split = await loadTrainingData(join(home, 'letters.glyphs'), VAL_FRACTION);
    const trainFonts = [...new Set([...split.train].map((i) => set.fontIds[i]))];
    expect(trainFonts.length).toBeGreaterThan(1);
    const font = trainFonts[0];
    const folder = join(home, 'from-training-font');
    await mkdir(folder);
    for (const l of 'HAM') await sharp(Buffer.from(glyphOf(font, l)), { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(join(folder, `${l}.png`));
    const out = join(home, 'near');
    const r = await fontloom('complete', '--run', styleRun, '--from', folder, '--out', out, '--strength', '0.02', ...sampling);
    expect(r.code, r.stderr).toBe(0);
    const [, named, reshaped] = /redrawn from (\S+), the training font nearest to them(?:, (.+) to match)?\)/.exec(r.stderr) ?? [];
    const from = set.fonts.findIndex((f) => f.name === named);
    expect(trainFonts, r.stderr).toContain(from);
    // The start, as completion finds it from the letters as read.
    const read = await readLetters(folder, { size: 32 });
    const index = await trainingFontIndex(join(home, 'letters.glyphs'), VAL_FRACTION);
    const start = index.nearest(new Map([...read.letters].map(([l, g]) => [l.charCodeAt(0) - 65, g])));
    expect(start.fontId).toBe(from);
    expect(reshaped ?? '').toBe(describeWarp(start.warp));
    const distance = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0);
    for (const l of 'BRZ') {
      const drawn = new Uint8Array(await sharp(join(out, `${l}.png`)).extractChannel(0).raw().toBuffer());
      const c = l.charCodeAt(0) - 65;
      const toStart = distance(drawn, start.alphabet.subarray(c * per, (c + 1) * per));
      for (const f of trainFonts) expect(toStart, `drawn ${l} against font ${f}`).toBeLessThan(distance(drawn, glyphOf(f, l)));
    }
    const bad = await fontloom('complete', '--run', styleRun, '--from', folder, '--out', join(home, 'never'), '--strength', '0', ...sampling);
    expectRefusal(bad, /--strength must be above 0 and at most 1/);
  }, 120_000);

  it('takes only the --letters asked for, and refuses a letter the folder lacks, naming it', async () => {
    const out = join(home, 'only-h');
    const r = await fontloom('complete', '--run', styleRun, '--from', letters, '--letters', 'H', '--out', out, ...sampling);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/H as given, 25 letters drawn/);
    const missing = await fontloom('complete', '--run', styleRun, '--from', letters, '--letters', 'HQ', '--out', join(home, 'q'), ...sampling);
    expectRefusal(missing, /Q/);
    expect(existsSync(join(home, 'q'))).toBe(false);
  }, 120_000);

  it('refuses a folder with no usable letter, naming it, and writes nothing', async () => {
    const empty = join(home, 'empty');
    await mkdir(empty);
    await writeFile(join(empty, 'readme.txt'), 'no letters here');
    const r = await fontloom('complete', '--run', styleRun, '--from', empty, '--out', join(home, 'nothing'), ...sampling);
    expectRefusal(r, new RegExp(`${empty.replace(/[/\\.]/g, '\\$&')}.*no letter images`));
    expect(existsSync(join(home, 'nothing'))).toBe(false);
  }, 60_000);
});

describe('fontloom blend', () => {
  it('writes the alphabets along the way from an invented style to given letters, ends included', async () => {
    const out = join(home, 'blend');
    const r = await fontloom('blend', '--run', styleRun, '--from', 'seed:3', '--to', letters, '--steps', '3', '--out', out, '--denoise-steps', '2', '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['1', '2', '3', 'sheet.png']);
    const raw = async (k: number) => sharp(join(out, String(k), 'B.png')).raw().toBuffer();
    expect(await raw(1)).not.toEqual(await raw(3));
  }, 120_000);
});

describe('fontloom train --style', () => {
  it('refuses a dataset whose glyphs do not say which font they belong to, by name', async () => {
    // The "A–Z handwritten" layout: a numeric label, then 28×28 pixels, no header, no font column.
    const csv = join(home, 'rows.csv');
    const set = syntheticGlyphSet({ fonts: 2, size: 28, seed: 1 });
    const per = 28 * 28;
    const rows = Array.from({ length: set.labels.length }, (_, i) => [set.labels[i], ...set.pixels.subarray(i * per, (i + 1) * per)].join(','));
    await writeFile(csv, rows.join('\n') + '\n');
    const imported = await fontloom('import', csv, '--name', 'rows', '--json');
    expect(imported.code, imported.stderr).toBe(0);
    const r = await fontloom('train', '--data', 'rows', '--preset', 'micro', '--style', '--steps', '1', '--backend', 'wasm');
    expectRefusal(r, /dataset rows cannot train a style model \(--style\): it does not say which glyphs share a font.*a CSV needs a font column/);
  }, 60_000);
});
