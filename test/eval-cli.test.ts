// `fontloom eval` as a user runs it: a real process, a temporary home, a run trained by `fontloom train`.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { runFontloom, type CliResult } from './helpers/cli.ts';

let home: string;
let run: string;

function fontloom(...args: string[]): Promise<CliResult> {
  return runFontloom(home, args);
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-eval-cli-'));
  const data = join(home, 'letters.glyphs');
  await writeGlyphSet(data, syntheticGlyphSet({ fonts: 40, seed: 6 }));
  const trained = await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '1', '--batch', '4', '--backend', 'wasm', '--threads', '1', '--sample-every', '0', '--json');
  expect(trained.code, trained.stderr).toBe(0);
  run = JSON.parse(trained.stdout.trim().split('\n').pop()!).run;
}, 60_000);

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('fontloom eval', () => {
  it('prints the report as one JSON line, with baselines, and trains its classifier only the first time', async () => {
    const args = ['eval', '--run', run, '--per-class', '1', '--steps', '2', '--backend', 'wasm', '--baselines'];
    const first = await fontloom(...args, '--json');
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]);
    expect(report).toMatchObject({ run, step: 1, weights: 'model', perClass: 1, sampler: { sampler: 'ddim', steps: 2 } });
    expect(report.metrics.count).toBe(26);
    expect(report.metrics.diversity).toBeNull(); // one glyph per letter has nothing to differ from
    expect(report.classifier.fromCache).toBe(false);
    expect(report.baselines.real.legibility).toBeGreaterThan(report.baselines.untrained.legibility);
    expect(await readdir(join(home, 'classifiers'))).toHaveLength(1);

    const second = await fontloom(...args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/real held-out\s+\d+\.\d%/);
    expect(second.stdout).toMatch(/untrained model\s+\d+\.\d%/);
    expect(second.stdout).toMatch(/classifier: reads \d+\.\d% of \d+ held-out glyphs; loaded from cache/);
  }, 90_000);

  it('refuses an unknown run in one line', async () => {
    const r = await fontloom('eval', '--run', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^fontloom: no run "nope"/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
