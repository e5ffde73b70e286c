// One run, one trainer: the studio and `fontloom` commands claim a run before they train it, so
// two resumes never train it twice; a training process killed with SIGKILL reads `interrupted`
// in a live studio within seconds; detached runs wait their turn instead of training together.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FontloomEvent, RunStatus } from '../src-main/contract/api.ts';
import { createService, type Service } from '../src-main/api/service.ts';
import { writeGlyphSet } from '../src-main/data/glyphset.ts';
import { openRegistry } from '../src-main/data/registry.ts';
import { createRun, loadRun, runConfig } from '../src-main/jobs/run.ts';
import { claimRun } from '../src-main/jobs/claims.ts';
import { STALE_MS } from '../src-main/jobs/claims.ts';
import { processAlive } from '../src-main/jobs/claims.ts';
import { storeFor, type StoredRun } from '../src-main/store/store.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';
import { runFontloom, type CliResult } from './helpers/cli.ts';

let home: string;
let data: string;
let dataset: string;
let service: Service;
const events: FontloomEvent[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-claims-'));
  data = join(home, 'letters.glyphs');
  // Six letters: the runs' validations and end-of-run sheets stay cheap.
  const set = syntheticGlyphSet({ fonts: 4, seed: 3, classes: [...'ABCDEF'] });
  await writeGlyphSet(data, set);
  dataset = (await (await openRegistry(home)).register(set, { name: 'sticks', format: 'csv', source: 'test' })).record.id;
  service = await createService({ home, mode: 'cli' });
  service.on((e) => events.push(e));
}, 60_000);

afterAll(async () => {
  await service.close();
  for (const run of storeFor(home).listRuns()) if (run.pid !== null && run.pid !== process.pid && processAlive(run.pid)) process.kill(run.pid, 'SIGKILL');
  await rm(home, { recursive: true, force: true });
});

function fontloom(...args: string[]): Promise<CliResult> {
  return runFontloom(home, args);
}

const TRAIN = ['--preset', 'micro', '--batch', '4', '--backend', 'wasm', '--threads', '1', '--sample-every', '0', '--val-every', '1000'];

function row(id: string): StoredRun {
  return storeFor(home).getRun(id)!;
}

/** Polls (every 100 ms) until `check` holds, or fails after `ms`. */
async function until<T>(what: string, check: () => T | undefined | false, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = check();
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function reaches(id: string, status: RunStatus, ms?: number): Promise<StoredRun> {
  return until(`run ${id} ${status}`, () => row(id).status === status && row(id), ms);
}

/** The process a refusal names as the run's holder. */
function holderNamed(r: CliResult | Error): number {
  const text = r instanceof Error ? r.message : r.stderr;
  const named = /is being trained by process (\d+); pause or stop it first/.exec(text);
  expect(named, text).not.toBeNull();
  return Number(named![1]);
}

describe('a claim on a run, in one process', () => {
  it('refuses a second claim, naming the holder, until the holder lets go', async () => {
    const config = await runConfig({ preset: 'micro', steps: 10, backend: 'wasm', threads: 1 }, async () => 0);
    const run = await createRun(home, { data, config, name: 'claimed' });
    expect(claimRun(home, run.id).pid).toBe(process.pid);
    // Another live process (our parent) asking for it is told who trains it.
    expect(() => claimRun(home, run.id, { pid: process.ppid })).toThrow(new RegExp(`run ${run.id} is being trained by process ${process.pid}; pause or stop it first`));
    storeFor(home).updateRun(run.id, { status: 'paused', pid: null });
    expect(claimRun(home, run.id, { pid: process.ppid }).pid).toBe(process.ppid);
    storeFor(home).updateRun(run.id, { status: 'stopped', pid: null });
  });

  it('trusts a holder on another machine while its heartbeat is fresh, and reads the run interrupted once it is older than the bound', async () => {
    const config = await runConfig({ preset: 'micro', steps: 10, backend: 'wasm', threads: 1 }, async () => 0);
    const run = await createRun(home, { data, config, name: 'elsewhere' });
    const store = storeFor(home);
    // A pid that does not exist here: only the heartbeat can speak for it.
    store.db.prepare("UPDATE runs SET status = 'running', pid = ?, host = 'another-machine', heartbeat = ? WHERE id = ?").run(2 ** 22 + 4321, Date.now(), run.id);
    expect(loadRun(home, run.id).status).toBe('running');
    store.db.prepare('UPDATE runs SET heartbeat = ? WHERE id = ?').run(Date.now() - STALE_MS - 1000, run.id);
    expect(loadRun(home, run.id)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/killed or crashed/) });
  });
});

describe('two resumes of one run', () => {
  it('trains it once: the studio’s resume claims it, a `fontloom resume --detach` after it (or a claim at the same moment) is refused, naming the holder', async () => {
    const created = await service.call('createRun', { dataset, name: 'contested', preset: 'micro', steps: 2000, batch: 4, backend: 'wasm', threads: 1, checkpointEvery: 10, sampleEvery: 0, valEvery: 0 });
    const id = created.id;
    await until('a few steps', () => row(id).step >= 3);
    await service.call('pauseRun', { id });
    const paused = await reaches(id, 'paused');

    // The tester's order: the studio's resume, then a second one from a terminal.
    await service.call('resumeRun', { id });
    const second = await fontloom('resume', id, '--detach', '--json');
    expect(second.code, second.stderr).toBe(1);
    const holder = holderNamed(second);
    expect([process.pid, row(id).pid]).toContain(holder);
    await until('the studio’s worker training past the pause', () => row(id).step > paused.step);
    const worker = row(id).pid!;
    expect(worker).not.toBe(process.pid);
    expect(() => claimRun(home, id, { pid: process.ppid })).toThrow(new RegExp(`is being trained by process ${worker}`));

    // The other order: a terminal's detached resume first, then the studio's.
    await service.call('pauseRun', { id });
    await reaches(id, 'paused');
    const first = await fontloom('resume', id, '--detach', '--json');
    expect(first.code, first.stderr).toBe(0);
    const detached = JSON.parse(first.stdout) as { pid: number; status: string };
    expect(detached.status).toBe('running');
    await expect(service.call('resumeRun', { id })).rejects.toThrow(new RegExp(`is being trained by process ${detached.pid}; pause or stop it first`));

    // Both at the same moment: exactly one wins.
    const pausedAgain = await fontloom('pause', id);
    expect(pausedAgain.code, pausedAgain.stderr).toBe(0);
    const both = await Promise.all([fontloom('resume', id, '--detach', '--json'), fontloom('resume', id, '--detach', '--json')]);
    const won = both.filter((r) => r.code === 0);
    expect(won, both.map((r) => r.stderr).join('\n')).toHaveLength(1);
    const winner = (JSON.parse(won[0].stdout) as { pid: number }).pid;
    expect(holderNamed(both.find((r) => r.code !== 0)!)).toBe(winner);
    expect(row(id)).toMatchObject({ status: 'running', pid: winner });

    const stopped = await fontloom('stop', id);
    expect(stopped.code, stopped.stderr).toBe(0);
    const end = row(id);
    expect(end.status).toBe('stopped');
    expect(storeFor(home).metrics(id).map((m) => m.step)).toEqual(Array.from({ length: end.step }, (_, i) => i + 1));
  }, 400_000);
});

describe('a terminal’s run killed with SIGKILL', () => {
  it('reads interrupted in the live studio within 10 s, and the studio resumes it from its checkpoint', async () => {
    const started = await fontloom('train', '--data', data, ...TRAIN, '--steps', '2000', '--checkpoint-every', '10', '--name', 'doomed', '--detach', '--json');
    expect(started.code, started.stderr).toBe(0);
    const { run: id, pid } = JSON.parse(started.stdout) as { run: string; pid: number };
    await until('a checkpoint and steps past it', () => row(id).checkpointStep >= 10 && row(id).step > row(id).checkpointStep);
    process.kill(pid, 'SIGKILL');

    // The studio lists runs straight from the store: only its own watch can have noticed.
    const seen = await untilListed(id, 'interrupted', 10_000);
    expect(seen.step).toBe(seen.checkpointStep);
    expect(events.some((e) => e.type === 'run' && e.run.id === id && e.run.status === 'interrupted')).toBe(true);

    await service.call('resumeRun', { id });
    await until('the resumed run to train past its checkpoint', () => row(id).status === 'running' && row(id).step > seen.checkpointStep);
    expect(row(id).pid).not.toBe(pid);
    await service.call('stopRun', { id });
    const stopped = await reaches(id, 'stopped');
    expect(storeFor(home).metrics(id).map((m) => m.step)).toEqual(Array.from({ length: stopped.step }, (_, i) => i + 1));
  }, 300_000);
});

/** Polls the studio's run list until the run shows `status`, or fails after `ms`. */
async function untilListed(id: string, status: RunStatus, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const run = (await service.call('listRuns', {})).find((r) => r.id === id);
    if (run?.status === status) return run;
    if (Date.now() > deadline) throw new Error(`the studio still shows run ${id} ${run?.status} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('detached runs', () => {
  it('take turns: a second `train --detach` waits queued while the first trains, a paused one leaves the line, and no two ever train at once', async () => {
    const detach = async (name: string, steps: number) => {
      const r = await fontloom('train', '--data', data, ...TRAIN, '--steps', String(steps), '--checkpoint-every', '10', '--name', name, '--detach', '--json');
      expect(r.code, r.stderr).toBe(0);
      return { ...(JSON.parse(r.stdout) as { run: string; status: string; pid: number }), stderr: r.stderr };
    };
    const first = await detach('first', 80);
    expect(first.status).toBe('running');
    const second = await detach('second', 10);
    const third = await detach('third', 10);
    expect(second.status).toBe('queued');
    expect(second.stderr).toMatch(new RegExp(`run ${second.run} queued in process ${second.pid} behind run ${first.run}`));
    expect(third.status).toBe('queued');
    expect(row(first.run).status).toBe('running');

    const paused = await fontloom('pause', third.run);
    expect(paused.code, paused.stderr).toBe(0);
    expect(row(third.run).status).toBe('paused');

    // Every snapshot of the store: never two runs training.
    const snapshots: Record<string, RunStatus>[] = [];
    await until(
      'both runs completed',
      () => {
        snapshots.push(Object.fromEntries(storeFor(home).listRuns().map((r) => [r.id, r.status])));
        return row(first.run).status === 'completed' && row(second.run).status === 'completed';
      },
      300_000,
    );
    const firstDone = snapshots.findIndex((s) => s[first.run] === 'completed');
    const secondRan = snapshots.findIndex((s) => s[second.run] === 'running' || s[second.run] === 'completed');
    expect(secondRan).toBeGreaterThanOrEqual(firstDone);
    expect(snapshots.every((s) => Object.values(s).filter((v) => v === 'running').length <= 1)).toBe(true);
    // The paused run stayed paused, and its waiting process left.
    expect(row(third.run).status).toBe('paused');
    await until('the paused run’s waiting process to leave', () => !processAlive(third.pid), 30_000);
  }, 400_000);
});
