// `fontloom export` as a user runs it: a real process, a temporary home, a micro run trained for
// two steps (its letters are noise, which is enough to check the way from checkpoint to files).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import opentype from 'opentype.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { checkpointPath } from '../src-main/jobs/run.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { runFontloom, type CliResult, expectRefusal } from './helpers/cli.ts';



let home: string;
let runId: string;

function fontloom(...args: string[]): Promise<CliResult> {
  return runFontloom(home, args);
}


const sampling = ['--steps', '2', '--backend', 'wasm'];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-export-cli-'));
  const data = join(home, 'letters.glyphs');
  await writeGlyphSet(data, syntheticGlyphSet({ fonts: 4, seed: 9 }));
  const r = await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '2', '--batch', '8', '--backend', 'wasm', '--sample-every', '0', '--json');
  expect(r.code, r.stderr).toBe(0);
  runId = JSON.parse(r.stdout.trim().split('\n').at(-1)!).run;
}, 180_000);

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('fontloom export', () => {
  it('exports a run as an OTF font named as asked, with lowercase shown as the capitals, and its specimen beside it', async () => {
    const out = join(home, 'Micro.otf');
    const r = await fontloom('export', '--run', runId, '--format', 'otf', '--name', 'Micro Loom', '--out', out, ...sampling);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/lowercase a–z show the same glyphs as A–Z/);
    expect(r.stderr).toContain(out);
    const specimen = join(home, 'Micro.specimen.png');
    expect(r.stderr).toContain(`fontloom: specimen ${specimen}`);
    expect((await readdir(home)).filter((f) => f.startsWith('Micro'))).toEqual(['Micro.otf', 'Micro.specimen.png']);
    const meta = await sharp(specimen).metadata();
    expect([meta.format, meta.width]).toEqual(['png', 1600]);
    const bytes = await readFile(out);
    const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(font.getEnglishName('fontFamily')).toBe('Micro Loom');
    expect(font.charToGlyph('Q').name).toBe('Q');
    expect(font.charToGlyph('q').index).toBe(font.charToGlyph('Q').index);
  }, 120_000);

  it('exports PNG glyphs at the sizes asked for, with a zip', async () => {
    const out = join(home, 'glyphs');
    const r = await fontloom('export', '--run', runId, '--format', 'png', '--sizes', '32,64', '--zip', '--out', out, ...sampling);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['32px', '64px']);
    expect(await readdir(join(out, '64px'))).toHaveLength(26);
    expect((await sharp(join(out, '64px', 'A.png')).metadata()).width).toBe(64);
    expect(existsSync(`${out}.zip`)).toBe(true);
  }, 120_000);

  it('refuses a font file name that is not .otf and an unknown format before sampling', async () => {
    expectRefusal(await fontloom('export', '--run', runId, '--format', 'otf', '--out', join(home, 'x.ttf')), /x\.ttf.*name it \*\.otf/);
    expectRefusal(await fontloom('export', '--run', runId, '--format', 'ttf', '--out', join(home, 'x.ttf')), /unknown format "ttf": choose sheet, png, svg, otf/);
    // The font's specimen would land on a folder: refused before sampling, as a folder at the font's own path is.
    await mkdir(join(home, 'Taken.specimen.png'));
    expectRefusal(await fontloom('export', '--run', runId, '--format', 'otf', '--out', join(home, 'Taken.otf')), /Taken\.specimen\.png is a folder: choose a new path or remove it first/);
    expect(existsSync(join(home, 'Taken.otf'))).toBe(false);
    expectRefusal(await fontloom('export', '--run', runId, '--format', 'png', '--sizes', '32,huge', '--out', join(home, 'p')), /--sizes must be whole pixel sizes/);
    expect(existsSync(join(home, 'x.ttf'))).toBe(false);
  }, 60_000);

  it('refuses a missing run, and a run with no checkpoint, saying what to do and writing nothing', async () => {
    expectRefusal(await fontloom('export', '--run', 'no-such-run', '--format', 'otf', '--out', join(home, 'x.otf')), /no run "no-such-run"/);
    // As after a training process that died before its first checkpoint.
    await rm(checkpointPath(home, runId));
    const out = join(home, 'Late.otf');
    const r = await fontloom('export', '--run', runId, '--format', 'otf', '--out', out, ...sampling);
    expectRefusal(r, new RegExp(`run ${runId} has no checkpoint yet: train it first \\(fontloom resume ${runId}\\)`));
    expect(existsSync(out)).toBe(false);
    expect((await readdir(home)).filter((f) => f.startsWith('.partial'))).toEqual([]);
  }, 60_000);
});
