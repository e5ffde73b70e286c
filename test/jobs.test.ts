// A run's life as the studio drives it: training in its own process, pause, resume, stop, a
// queue of one run at a time, a training process killed with SIGKILL, a torn checkpoint.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FontloomEvent, Run, RunStatus } from '../src-main/contract/api.ts';
import { createService, type Service } from '../src-main/api/service.ts';
import { readCheckpoint } from '../src-main/engine/checkpoint.ts';
import { checkpointPath } from '../src-main/jobs/run.ts';
import { storeFor } from '../src-main/store/store.ts';
import { openRegistry } from '../src-main/data/registry.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

let home: string;
let service: Service;
let dataset: string;
const events: FontloomEvent[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-jobs-'));
  service = await createService({ home, mode: 'cli' });
  service.on((e) => events.push(e));
  // A small set of stick-figure fonts, six letters each: runs here exercise the job machinery,
  // so their validations and end-of-run sheets are kept cheap.
  const registry = await openRegistry(home);
  dataset = (await registry.register(syntheticGlyphSet({ fonts: 10, seed: 7, classes: [...'ABCDEF'] }), { name: 'six letters', format: 'csv', source: 'test' })).record.id;
}, 60_000);

afterAll(async () => {
  await service.close();
  await rm(home, { recursive: true, force: true });
});

/** Resolves once `check` holds for some event (past or future), or fails after `ms`. */
function waitFor<T>(what: string, check: (e: FontloomEvent) => T | undefined | false, ms = 90_000): Promise<T> {
  for (const e of events) {
    const hit = check(e);
    if (hit) return Promise.resolve(hit);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}; last events: ${JSON.stringify(events.slice(-3))}`));
    }, ms);
    const off = service.on((e) => {
      const hit = check(e);
      if (hit) {
        clearTimeout(timer);
        off();
        resolve(hit);
      }
    });
  });
}

function statusOf(id: string, status: RunStatus) {
  return (e: FontloomEvent) => e.type === 'run' && e.run.id === id && e.run.status === status && e.run;
}

function progressOf(id: string, atLeast: number) {
  return (e: FontloomEvent) => e.type === 'progress' && e.run === id && e.step >= atLeast && e;
}

async function newRun(steps: number, name: string): Promise<Run> {
  return service.call('createRun', { dataset, name, preset: 'micro', steps, batch: 4, backend: 'wasm', threads: 1, checkpointEvery: 10, sampleEvery: 0, valEvery: 10 });
}

describe('a run’s life through every status', () => {
  it('queued → running → paused → running → stopped → running → completed, one run at a time', async () => {
    const first = await newRun(200, 'first');
    expect(['queued', 'running']).toContain(first.status);
    const second = await newRun(20, 'second');
    expect(second.status).toBe('queued');

    await waitFor('first to train', progressOf(first.id, 3));
    expect((await service.call('getRun', { id: second.id })).status).toBe('queued');

    await service.call('pauseRun', { id: first.id });
    const paused = await waitFor('first paused', statusOf(first.id, 'paused'));
    expect(paused.checkpointStep).toBe(paused.step);
    expect(existsSync(checkpointPath(home, first.id))).toBe(true);
    // The device was free while first was paused, so the queue moved on to second.
    const done = await waitFor('second completed', statusOf(second.id, 'completed'));
    expect(done.step).toBe(20);
    expect((await service.call('runSheets', { id: second.id })).map((s) => `${s.step} ${s.which}`)).toEqual(['20 ema', '20 model']);

    events.length = 0;
    await service.call('resumeRun', { id: first.id });
    const resumed = await waitFor('first resumed', (e) => e.type === 'progress' && e.run === first.id && e);
    expect(resumed.step).toBe(paused.step + 1);
    await service.call('stopRun', { id: first.id });
    const stopped = await waitFor('first stopped', statusOf(first.id, 'stopped'));
    expect(stopped.step).toBeGreaterThan(paused.step);

    await expect(service.call('pauseRun', { id: first.id })).rejects.toThrow(/is stopped: there is nothing to pause/);
    await service.call('resumeRun', { id: first.id });
    const completed = await waitFor('first completed', statusOf(first.id, 'completed'), 240_000);
    expect(completed.step).toBe(200);
    await expect(service.call('resumeRun', { id: first.id })).rejects.toThrow(/is completed; only a paused, stopped, interrupted, failed run can be resumed/);

    const metrics = await service.call('runMetrics', { id: first.id });
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(metrics.filter((m) => m.val !== null).map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 10));
    const runs = (await service.call('listRuns', {})).filter((r) => r.id !== 'default');
    expect(runs.map((r) => [r.name, r.status])).toEqual([['first', 'completed'], ['second', 'completed']]);
    expect(runs[0].bestVal).toBe(Math.min(...metrics.filter((m) => m.val !== null).map((m) => m.val!)));
  }, 400_000);

  it('fails a run whose glyph set has gone, saying why', async () => {
    const run = await newRun(20, 'doomed');
    const store = storeFor(home);
    const gone = join(home, 'gone.glyphs');
    store.db.prepare('UPDATE runs SET data_path = ? WHERE id = ?').run(gone, run.id);
    // Another run keeps the device busy no longer: this one starts at once and fails.
    const failed = await waitFor('doomed failed', statusOf(run.id, 'failed'));
    expect(failed.error).toMatch(/gone\.glyphs/);
  }, 120_000);
});

describe('a training process killed with SIGKILL', () => {
  it('leaves the run interrupted at its last checkpoint; resume continues from there with no duplicate steps', async () => {
    const run = await newRun(120, 'killed');
    await waitFor('a checkpoint and a few steps past it', (e) => e.type === 'progress' && e.run === run.id && e.step >= 25 && e.step % 10 > 2 && e);
    const store = storeFor(home);
    const before = store.getRun(run.id)!;
    expect(before.status).toBe('running');
    expect(before.checkpointStep).toBeGreaterThanOrEqual(20);
    process.kill(before.pid!, 'SIGKILL');
    const interrupted = await waitFor('interrupted', statusOf(run.id, 'interrupted'));
    expect(interrupted.step).toBe(interrupted.checkpointStep);
    expect(interrupted.error).toMatch(/killed or crashed/);
    const checkpoint = await readCheckpoint(checkpointPath(home, run.id));
    expect(checkpoint.header.step).toBe(interrupted.checkpointStep);

    events.length = 0;
    await service.call('resumeRun', { id: run.id });
    const first = await waitFor('resumed', (e) => e.type === 'progress' && e.run === run.id && e);
    expect(first.step).toBe(interrupted.checkpointStep + 1);
    await waitFor('completed', statusOf(run.id, 'completed'), 240_000);
    expect((await service.call('runMetrics', { id: run.id })).map((m) => m.step)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  }, 400_000);

  it('marks a run left running by a process that is gone as interrupted when the studio starts', async () => {
    const run = await newRun(20, 'orphan');
    await waitFor('orphan completed', statusOf(run.id, 'completed'));
    // As if the whole studio had died mid-run: running, owned by a process that no longer exists.
    storeFor(home).updateRun(run.id, { status: 'running', pid: 2 ** 22 + 12345, step: 20 });
    const restarted = await createService({ home, mode: 'cli' });
    try {
      expect(await restarted.call('getRun', { id: run.id })).toMatchObject({ status: 'interrupted', step: 20, checkpointStep: 20 });
    } finally {
      await restarted.close();
    }
  }, 120_000);
});

describe('checkpoints', () => {
  it('never loads a torn checkpoint: a half-written temp file is ignored, a truncated file is refused and the run fails saying so', async () => {
    const run = await newRun(20, 'torn');
    await waitFor('torn completed', statusOf(run.id, 'completed'));
    const file = checkpointPath(home, run.id);
    const good = await readFile(file);
    // A kill during a checkpoint write leaves a temp file beside the last whole checkpoint.
    await writeFile(join(home, 'runs', run.id, 'checkpoints', '.latest.ckpt.0123456789ab.tmp'), good.subarray(0, good.length >> 1));
    expect((await readCheckpoint(file)).data.length).toBeGreaterThan(0);

    await truncate(file, good.length - 100);
    await expect(readCheckpoint(file)).rejects.toThrow(/is not usable: expected \d+ bytes, found \d+ \(truncated or damaged\)/);
    storeFor(home).updateRun(run.id, { status: 'stopped', step: 10, checkpointStep: 10 });
    await service.call('resumeRun', { id: run.id });
    const failed = await waitFor('torn failed', statusOf(run.id, 'failed'));
    expect(failed.error).toMatch(/truncated or damaged/);
  }, 180_000);
});

describe('quality measured on demand', () => {
  it('evaluates a run’s checkpoint in its own process, keeps the result per step, and says so', async () => {
    const registry = await openRegistry(home);
    const { record } = await registry.register(syntheticGlyphSet({ fonts: 8, seed: 12, classes: [...'ABCDEF'] }), { name: 'sticks', format: 'csv', source: 'test' });
    const run = await service.call('createRun', { dataset: record.id, name: 'measured', preset: 'micro', steps: 10, batch: 4, backend: 'wasm', threads: 1, sampleEvery: 0 });
    await waitFor('measured completed', statusOf(run.id, 'completed'));
    const evaluation = await service.call('evaluateRun', { id: run.id, perClass: 2 });
    expect(evaluation).toMatchObject({ run: run.id, step: 10, weights: 'ema' });
    expect(evaluation.legibility).toBeGreaterThanOrEqual(0);
    expect(evaluation.legibility).toBeLessThanOrEqual(1);
    expect(evaluation.fid).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'eval' && e.run === run.id && e.step === 10)).toBe(true);
    expect(await service.call('runEvals', { id: run.id })).toEqual([evaluation]);
  }, 240_000);
});
