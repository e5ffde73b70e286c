// The `fontloom` command as a user runs it: real processes, a temporary home folder.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { readCheckpoint } from '../src-main/engine/checkpoint.ts';
import { storeFor } from '../src-main/store/store.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { runFontloom, type CliResult, expectRefusal } from './helpers/cli.ts';



let home: string;

function fontloom(...args: string[]): Promise<CliResult> {
  return runFontloom(home, args);
}


async function runIds(): Promise<string[]> {
  const dir = join(home, 'runs');
  return existsSync(dir) ? readdir(dir) : [];
}

let data: string;

/** A run's config as stored, and a way to rewrite it as another (or an older) Fontloom would have. */
function storedConfig(id: string): Record<string, unknown> {
  const row = storeFor(home).db.prepare('SELECT config FROM runs WHERE id = ?').get(id) as { config: string };
  return JSON.parse(row.config);
}

function setStoredConfig(id: string, config: Record<string, unknown>): void {
  storeFor(home).db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify(config), id);
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-cli-'));
  data = join(home, 'letters.glyphs');
  await writeGlyphSet(data, syntheticGlyphSet({ fonts: 4, seed: 9 }));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('fontloom info', () => {
  it("prints the reference's exact parameter counts", async () => {
    const cases: Array<[string, string, string, number]> = [
      ['seed', '1', '26', 23_338_113],
      ['seed', '3', '10', 23_335_299],
      ['seed-lite', '1', '26', 15_667_329],
    ];
    for (const [preset, channels, classes, params] of cases) {
      const r = await fontloom('info', '--preset', preset, '--channels', channels, '--classes', classes, '--json');
      expect(r.code, r.stderr).toBe(0);
      const info = JSON.parse(r.stdout);
      expect(info).toMatchObject({ preset, params, channels: Number(channels), classes: Number(classes), width: 64 });
      expect(info.deep).toBe(preset === 'seed');
      expect(info.attention).toEqual([32, 16, 8, 4]);
    }
  }, 120_000);

  it('describes the CPU presets with attention only at 8×8 and below', async () => {
    const r = await fontloom('info', '--preset', 'tiny', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({ preset: 'tiny', width: 16, deep: false, heads: 4, time_dim: 256 });
    expect(Math.max(...info.attention)).toBeLessThanOrEqual(8);
    expect(info.params).toBeGreaterThan(100_000);
  }, 60_000);

  it('shows each preset’s recipe: v, cosine and Min-SNR-5 for tiny, the reference’s ε, linear and mse for seed', async () => {
    const tiny = await fontloom('info', '--preset', 'tiny', '--json');
    expect(tiny.code, tiny.stderr).toBe(0);
    expect(JSON.parse(tiny.stdout)).toMatchObject({ preset: 'tiny', schedule: 'cosine', prediction: 'v', weighting: 'min-snr', snr_gamma: 5 });
    const seed = await fontloom('info', '--preset', 'seed', '--json');
    expect(seed.code, seed.stderr).toBe(0);
    expect(JSON.parse(seed.stdout)).toMatchObject({ preset: 'seed', schedule: 'linear', prediction: 'eps', weighting: 'mse' });
  }, 60_000);
});

describe('bad input gets one clear line, a non-zero exit and nothing written', () => {
  it('refuses an unknown preset', async () => {
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'huge'), /unknown preset "huge".*seed.*micro/);
    expectRefusal(await fontloom('info', '--preset', 'huge'), /unknown preset "huge"/);
    expect(await runIds()).toEqual([]);
  }, 60_000);

  it('refuses an unknown backend', async () => {
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'micro', '--backend', 'cuda'), /unknown backend "cuda".*wasm/);
    expect(await runIds()).toEqual([]);
  }, 60_000);

  it('refuses a data file of the wrong shape', async () => {
    const odd = join(home, 'odd.glyphs');
    await writeGlyphSet(odd, syntheticGlyphSet({ fonts: 2, size: 28, seed: 1 }));
    expectRefusal(await fontloom('train', '--data', odd, '--preset', 'micro', '--backend', 'cpu'), /odd\.glyphs.*28×28.*multiple of 8/);
    const notASet = join(home, 'pixels.csv');
    await writeFile(notASet, 'label,p0,p1\nA,0,255\n');
    expectRefusal(await fontloom('train', '--data', notASet, '--preset', 'micro', '--backend', 'cpu'), /pixels\.csv.*not a Fontloom glyph set/);
    expectRefusal(await fontloom('train', '--data', join(home, 'missing.glyphs'), '--preset', 'micro'), /missing\.glyphs.*does not exist/);
    expect(await runIds()).toEqual([]);
  }, 60_000);

  it('refuses --steps and --epochs together, and a step count that is not a number', async () => {
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '5', '--epochs', '1'), /--steps or --epochs/);
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'micro', '--steps', 'lots'), /--steps must be a whole number/);
    expect(await runIds()).toEqual([]);
  }, 60_000);

  it('refuses an unknown schedule, prediction or weighting, a γ that is not a number > 0, and a γ without Min-SNR', async () => {
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'micro', '--prediction', 'x'), /unknown prediction "x": choose eps or v/);
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'micro', '--schedule', 'sigmoid'), /unknown schedule "sigmoid": choose linear or cosine/);
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'micro', '--weighting', 'p2'), /unknown weighting "p2": choose mse or min-snr/);
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'micro', '--snr-gamma', '0'), /--snr-gamma must be a number > 0, got "0"/);
    expectRefusal(await fontloom('train', '--data', data, '--preset', 'seed', '--snr-gamma', '3'), /--snr-gamma.*plain mse.*--weighting min-snr/);
    expect(await runIds()).toEqual([]);
  }, 60_000);

  it('refuses a missing run', async () => {
    expectRefusal(await fontloom('resume', 'no-such-run'), /no run "no-such-run"/);
    expectRefusal(await fontloom('sample', '--run', 'no-such-run', '--out', join(home, 'x.png')), /no run "no-such-run"/);
    expect(existsSync(join(home, 'x.png'))).toBe(false);
  }, 60_000);
});

describe('train, sample and resume through the command', () => {
  let runId: string;

  it('trains micro on wasm, stops where asked, and reports one JSON line', async () => {
    const r = await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '4', '--batch', '8', '--backend', 'wasm', '--stop-at', '2', '--sample-every', '0', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(out).toMatchObject({ status: 'stopped', steps: 2, total_steps: 4 });
    expect(out.backend).toMatch(/^wasm: /);
    expect(Number.isFinite(out.train_loss)).toBe(true);
    expect(r.stderr).toMatch(/step 2\/4 loss/);
    runId = out.run;
  }, 120_000);

  it('writes an A–Z sheet PNG from the checkpoint', async () => {
    const out = join(home, 'sheet.png');
    const r = await fontloom('sample', '--run', runId, '--ema', '--sampler', 'ddim', '--steps', '3', '--seed', '4', '--backend', 'wasm', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const meta = await sharp(out).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(13 * 32);
    expect(meta.height).toBeGreaterThan(2 * 32);
  }, 120_000);

  it('refuses a checkpoint from another preset, leaving the run as it was', async () => {
    const original = storedConfig(runId);
    setStoredConfig(runId, { ...original, preset: 'tiny' });
    try {
      const r = await fontloom('resume', runId, '--backend', 'cpu');
      expectRefusal(r, /checkpoint .*latest\.ckpt is from preset micro.*this run is preset tiny/);
      expect(storeFor(home).getRun(runId)!.status).toBe('stopped');
    } finally {
      setStoredConfig(runId, original);
    }
  }, 120_000);

  it('resumes the stopped run to its end', async () => {
    const r = await fontloom('resume', runId, '--backend', 'wasm', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ run: runId, status: 'completed', steps: 4, total_steps: 4 });
    const samples = await readdir(join(home, 'runs', runId, 'samples'));
    expect(samples.sort()).toEqual(['step-0000004-ema.png', 'step-0000004-model.png']);
    expect(storeFor(home).metrics(runId).map((m) => m.step)).toEqual([1, 2, 3, 4]);
    expectRefusal(await fontloom('resume', runId), /already complete/);
  }, 180_000);
});

describe('the training recipe, per run', () => {
  let runId: string;

  it('records the preset’s recipe with each part overridden on the command line, in the store and the checkpoint', async () => {
    const r = await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '3', '--batch', '4', '--backend', 'cpu', '--stop-at', '1', '--sample-every', '0', '--prediction', 'eps', '--schedule', 'linear', '--weighting', 'mse', '--json');
    expect(r.code, r.stderr).toBe(0);
    runId = JSON.parse(r.stdout).run;
    expect(r.stderr).toMatch(/micro \(ε-prediction, linear schedule, plain MSE\)/);
    const reference = { schedule: 'linear', prediction: 'eps', weighting: 'mse', snrGamma: 5 };
    expect(storedConfig(runId).recipe).toEqual(reference);
    expect((await readCheckpoint(join(home, 'runs', runId, 'checkpoints', 'latest.ckpt'))).header.config.recipe).toEqual(reference);

    const gamma = await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '2', '--batch', '4', '--backend', 'cpu', '--stop-at', '1', '--sample-every', '0', '--snr-gamma', '2.5', '--json');
    expect(gamma.code, gamma.stderr).toBe(0);
    expect(storedConfig(JSON.parse(gamma.stdout).run).recipe).toEqual({ schedule: 'cosine', prediction: 'v', weighting: 'min-snr', snrGamma: 2.5 });
  }, 120_000);

  it('resumes a run written before recipes existed as the reference recipe', async () => {
    // Rewrite the run's config and the checkpoint header as an older Fontloom wrote them: a flat
    // `schedule: "linear"` and no recipe.
    const legacy = (config: Record<string, unknown>) => {
      const { recipe: _recipe, ...rest } = config;
      return { ...rest, schedule: 'linear' };
    };
    setStoredConfig(runId, legacy(storedConfig(runId)));
    const ckptFile = join(home, 'runs', runId, 'checkpoints', 'latest.ckpt');
    const bytes = await readFile(ckptFile);
    const headerLength = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.toString('utf8', 12, 12 + headerLength));
    const data = bytes.subarray(12 + headerLength + ((4 - ((12 + headerLength) % 4)) % 4));
    const json = Buffer.from(JSON.stringify({ ...header, config: legacy(header.config) }));
    const prefix = Buffer.alloc(12);
    prefix.write('FLCKPT01', 0, 'latin1');
    prefix.writeUInt32LE(json.length, 8);
    await writeFile(ckptFile, Buffer.concat([prefix, json, Buffer.alloc((4 - ((12 + json.length) % 4)) % 4), data]));
    expect('recipe' in storedConfig(runId)).toBe(false);

    const r = await fontloom('resume', runId, '--backend', 'cpu', '--stop-at', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ run: runId, status: 'stopped', steps: 2 });
    expect(storeFor(home).getRun(runId)!.step).toBe(2);
    expect((await readCheckpoint(ckptFile)).header.config.recipe).toEqual({ schedule: 'linear', prediction: 'eps', weighting: 'mse', snrGamma: 5 });
  }, 120_000);
});
