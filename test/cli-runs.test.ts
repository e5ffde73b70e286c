// Runs from a terminal: a detached training process, listed, paused, resumed and stopped by
// other `fontloom` commands, as a user with two terminals would.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import sharp from 'sharp';
import { readCheckpoint } from '../src-main/engine/checkpoint.ts';
import { DEFAULT_MODEL, DEFAULT_MODEL_CARD } from '../src-main/jobs/default-model.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { runFontloom, type CliResult } from './helpers/cli.ts';

let home: string;
let data: string;

function fontloom(...args: string[]): Promise<CliResult> {
  return runFontloom(home, args);
}

async function show(id: string): Promise<Record<string, unknown>> {
  const r = await fontloom('run', 'show', id, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function until(id: string, check: (run: Record<string, unknown>) => boolean, ms = 120_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const run = await show(id);
    if (check(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} never got there: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-cli-runs-'));
  data = join(home, 'letters.glyphs');
  // Six letters: the runs' validations and end-of-run sheets stay cheap.
  await writeGlyphSet(data, syntheticGlyphSet({ fonts: 4, seed: 3, classes: [...'ABCDEF'] }));
});

afterAll(async () => {
  const runs = await fontloom('runs', '--json');
  for (const r of JSON.parse(runs.stdout || '[]') as { id: string; status: string }[]) if (r.status === 'running') await fontloom('stop', r.id);
  await rm(home, { recursive: true, force: true });
});

describe('a detached run driven from other commands', () => {
  it('trains detached, lists, pauses at a checkpoint, resumes detached, stops, and resumes to the end', async () => {
    const started = await fontloom('train', '--data', data, '--preset', 'micro', '--steps', '200', '--batch', '4', '--backend', 'wasm', '--threads', '1', '--sample-every', '0', '--checkpoint-every', '25', '--name', 'night run', '--detach', '--json');
    expect(started.code, started.stderr).toBe(0);
    const { run: id } = JSON.parse(started.stdout);
    expect(started.stderr).toMatch(new RegExp(`run ${id} training in process \\d+`));

    const listed = await fontloom('runs', '--json');
    // The shipped default model is listed too, as a completed run of its own.
    const runs = (JSON.parse(listed.stdout) as Record<string, unknown>[]).filter((r) => r.id !== 'default');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id, name: 'night run', status: 'running', preset: 'micro', dataset: null });
    for (const field of ['step', 'backend']) expect(runs[0]).toHaveProperty(field);

    await until(id, (r) => (r.step as number) >= 3);
    const paused = await fontloom('pause', id);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(new RegExp(`run ${id} paused at step \\d+ \\(checkpointed`));
    const atPause = await show(id);
    expect(atPause).toMatchObject({ status: 'paused' });
    expect(atPause.checkpointStep).toBe(atPause.step);

    const resumed = await fontloom('resume', id, '--detach');
    expect(resumed.code, resumed.stderr).toBe(0);
    await until(id, (r) => (r.step as number) > (atPause.step as number));
    const stopped = await fontloom('stop', id);
    expect(stopped.stdout).toMatch(/stopped at step \d+/);
    const atStop = await show(id);
    expect(atStop.status).toBe('stopped');

    const finished = await fontloom('resume', id, '--json');
    expect(finished.code, finished.stderr).toBe(0);
    expect(JSON.parse(finished.stdout)).toMatchObject({ run: id, status: 'completed', steps: 200 });
    const last = await show(id);
    expect(last).toMatchObject({ status: 'completed', step: 200, checkpointStep: 200 });
    expect((last.sheets as unknown[]).length).toBe(2);
  }, 400_000);

  it('refuses to pause a run that is not training, and to resume a completed one', async () => {
    const id = (JSON.parse((await fontloom('runs', '--json')).stdout) as { id: string }[]).find((r) => r.id !== 'default')!.id;
    const pause = await fontloom('pause', id);
    expect(pause.code).toBe(1);
    expect(pause.stderr).toMatch(/is completed: there is nothing to pause/);
    const resume = await fontloom('resume', id);
    expect(resume.stderr).toMatch(/already complete \(200\/200 steps\)/);
  }, 60_000);
});

describe('the pretrained default model', () => {
  it('is there on a fresh home as a completed run, with its curve and measured quality, and draws a sheet', async () => {
    const card = JSON.parse(await readFile(DEFAULT_MODEL_CARD, 'utf8'));
    const shown = await show('default');
    expect(shown).toMatchObject({ status: 'completed', preset: card.config.preset, step: card.step, datasetName: 'default' });
    expect((shown.evals as { legibility: number }[])[0].legibility).toBe(card.evaluation.metrics.legibility);
    const header = (await readCheckpoint(DEFAULT_MODEL)).header;
    expect(header.step).toBe(card.step);
    expect(header.tensors.every((t) => t.group === 'ema')).toBe(true);
    const out = join(home, 'default.png');
    const r = await fontloom('sample', '--run', 'default', '--steps', '10', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const { data, info } = await sharp(out).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBeGreaterThan(13 * 32);
    // White letters on black: a real sheet has ink, and far from all of it.
    const ink = data.reduce((n, v) => n + (v > 128 ? 1 : 0), 0) / data.length;
    expect(ink).toBeGreaterThan(0.03);
    expect(ink).toBeLessThan(0.5);
  }, 120_000);
});
