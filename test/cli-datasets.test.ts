// Importing datasets with the `fontloom` command: whole or not at all, killed or not.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { writeKaggleFolder } from './helpers/kaggle.ts';

const BIN = resolve(__dirname, '../bin/fontloom.mjs');
let root: string;
let home: string;

function fontloom(args: string[], opts: { killOn?: RegExp } = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, FONTLOOM_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (opts.killOn?.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

async function datasetFolder(): Promise<string[]> {
  const dir = join(home, 'datasets');
  return existsSync(dir) ? (await readdir(dir)).sort() : [];
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fontloom-cli-data-'));
  home = join(root, 'home');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fontloom import, datasets, dataset show', () => {
  let id: string;

  it('imports a Kaggle-layout folder and reports it as one JSON line', async () => {
    const folder = await writeKaggleFolder(join(root, 'letters'), syntheticGlyphSet({ fonts: 6, seed: 4 }));
    const r = await fontloom(['import', folder, '--name', 'six fonts', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({ id: out.id, name: 'six fonts', format: 'kaggle', count: 156, classes: 26, fonts: 6, fonts_known: true, height: 32, width: 32, channels: 1 });
    id = out.id;
    const list = await fontloom(['datasets', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([out]);
  }, 60_000);

  it('writes a preview grid of fonts × letters', async () => {
    const sheet = join(root, 'preview.png');
    const r = await fontloom(['dataset', 'show', 'six fonts', '--sheet', sheet, '--fonts', '3']);
    expect(r.code, r.stderr).toBe(0);
    const meta = await sharp(sheet).metadata();
    expect(meta.width).toBeGreaterThan(26 * 32);
    expect(meta.height).toBeGreaterThan(3 * 32);
  }, 60_000);

  it('says which dataset holds the glyphs of a second import, and points to --name when a name is taken', async () => {
    const again = await fontloom(['import', join(root, 'letters')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`holds the same 156 glyphs as ${id} ("six fonts")`);
    const other = await writeKaggleFolder(join(root, 'other'), syntheticGlyphSet({ fonts: 2, seed: 8 }));
    const clash = await fontloom(['import', other, '--name', 'six fonts']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/a dataset named "six fonts" exists already: choose another name with --name\n/);
  }, 60_000);

  it('trains on a dataset named by its name', async () => {
    const r = await fontloom(['train', '--data', 'six fonts', '--preset', 'micro', '--steps', '1', '--batch', '4', '--backend', 'wasm', '--sample-every', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ status: 'completed', steps: 1 });
    const runs = JSON.parse((await fontloom(['runs', '--json'])).stdout);
    expect(runs[0].dataset).toBe(id);
  }, 120_000);

  it('refuses a folder holding a truncated PNG, naming it, and leaves the registry as it was', async () => {
    const folder = await writeKaggleFolder(join(root, 'broken'), syntheticGlyphSet({ fonts: 2, seed: 5 }));
    await truncate(join(folder, 'Images', 'Images', 'K', '1.png'), 40);
    const before = await datasetFolder();
    const r = await fontloom(['import', folder]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/K[/\\]1\.png/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await datasetFolder()).toEqual(before);
  }, 60_000);

  it('refuses what no importer recognises', async () => {
    const junk = join(root, 'notes.txt');
    await writeFile(junk, 'hello, this is not a dataset\n');
    const r = await fontloom(['import', junk]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/notes\.txt is not a dataset Fontloom recognises/);
    // The CLI points to its own flag for the format, never to the studio's controls.
    expect(r.stderr).toMatch(/choose its format with --format\./);
    expect(r.stderr).not.toMatch(/Import options/);
  }, 60_000);
});

describe('an import killed midway', () => {
  it('leaves no registered dataset and no stray files after the next start', async () => {
    home = join(root, 'home-killed');
    const folder = await writeKaggleFolder(join(root, 'big'), syntheticGlyphSet({ fonts: 120, seed: 6 }));
    const killed = await fontloom(['import', folder], { killOn: /reading PNGs \d+/ });
    expect(killed.signal).toBe('SIGKILL');
    const list = await fontloom(['datasets', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    expect(await datasetFolder()).toEqual([]);
  }, 120_000);
});
