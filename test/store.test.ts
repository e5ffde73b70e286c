// fontloom.db: migrations from nothing and from every earlier version, a newer database refused,
// and the queries a run's life needs.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunConfig } from '../src-main/contract/api.ts';
import { SCHEMA_VERSION, migrations } from '../src-main/store/db.ts';
import { Store, type StoredDataset } from '../src-main/store/store.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dataset: StoredDataset = {
  id: 'letters-0a1b2c3d',
  name: 'letters',
  format: 'kaggle',
  count: 52,
  classes: 26,
  classNames: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  fonts: 2,
  fontsKnown: true,
  height: 32,
  width: 32,
  channels: 1,
  hash: '0a1b2c3d',
  source: '/data/letters',
  created: '2026-11-27T10:00:00.000Z',
  notes: ['font 3 lacks Q: skipped'],
};

const config: RunConfig = {
  preset: 'micro',
  steps: 10,
  batch: 4,
  lr: 3e-4,
  weightDecay: 0.001,
  emaBeta: 0.995,
  emaStart: 2000,
  cfgDropout: 0.1,
  seed: 1,
  recipe: { schedule: 'cosine', prediction: 'v', weighting: 'min-snr', snrGamma: 5 },
  valEvery: 5,
  valMax: 256,
  sampleEvery: 5,
  checkpointEvery: 5,
  backend: 'cpu',
  threads: 1,
};

/** A CSV without a font column: each of its rows its own "font". */
const fontless: StoredDataset = { ...dataset, id: 'rows-4e5f6a7b', name: 'rows', format: 'csv', count: 78, fonts: 78, fontsKnown: false, hash: '4e5f6a7b' };

/** A dataset row with the columns every version of the table has (the first's). */
function insertFirstVersionDataset(store: Store, d: StoredDataset): void {
  store.db.prepare(
    `INSERT INTO datasets (id, name, format, count, class_names, fonts, height, width, channels, hash, source, created, notes)
     VALUES (@id, @name, @format, @count, @classNames, @fonts, @height, @width, @channels, @hash, @source, @created, @notes)`,
  ).run({ ...d, classNames: JSON.stringify(d.classNames), notes: JSON.stringify(d.notes) });
}

function addRun(store: Store, id = 'run-1') {
  return store.insertRun({
    id,
    name: 'first try',
    dataset: dataset.id,
    datasetName: dataset.name,
    data: '/data/set.glyphs',
    valFraction: 0.1,
    config,
    sheet: { sampler: 'ddim', steps: 50, cfg: 3, eta: 0, seed: 7 },
    status: 'queued',
    pid: null,
  });
}

describe('migrations', () => {
  it('creates every table from an empty file, in WAL mode, at the latest version', () => {
    const store = new Store(join(dir, 'fontloom.db'));
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['datasets', 'evals', 'exports', 'metrics', 'runs', 'sheets']);
    store.close();
  });

  it('brings a database of every earlier version up to date, keeping its rows', () => {
    expect(migrations().map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    for (let version = 1; version < SCHEMA_VERSION; version++) {
      const file = join(dir, `v${version}.db`);
      const old = new Store(file, version);
      expect(old.db.pragma('user_version', { simple: true })).toBe(version);
      insertFirstVersionDataset(old, dataset);
      insertFirstVersionDataset(old, fontless);
      addRun(old);
      old.appendMetrics('run-1', [{ step: 1, loss: 0.5, lr: 1e-4, val: null }]);
      old.close();

      const current = new Store(file);
      expect(current.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      // Rows from before fonts_known are judged by their counts: one glyph per "font" knows no fonts.
      expect(current.listDatasets()).toEqual([dataset, fontless]);
      expect(current.getRun('run-1')).toMatchObject({ name: 'first try', status: 'queued', config });
      expect(current.metrics('run-1')).toEqual([{ step: 1, loss: 0.5, lr: 1e-4, val: null }]);
      current.saveEval({ run: 'run-1', step: 1, weights: 'ema', legibility: 0.5, fid: 12, diversity: 0.3, report: { n: 26 } });
      expect(current.evals('run-1')).toMatchObject([{ step: 1, legibility: 0.5, report: { n: 26 } }]);
      current.close();
    }
  });

  it('refuses a database written by a newer Fontloom, saying what to do', () => {
    const file = join(dir, 'newer.db');
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new Store(file)).toThrow(new RegExp(`newer Fontloom \\(database version ${SCHEMA_VERSION + 1}; this Fontloom knows up to ${SCHEMA_VERSION}\\)\\. Update Fontloom`));
    expect(existsSync(file)).toBe(true);
  });
});

describe('queries', () => {
  it('keeps a run’s metrics once per step: a rewritten step replaces, a trim drops what ran ahead', () => {
    const store = new Store(join(dir, 'fontloom.db'));
    store.insertDataset(dataset);
    addRun(store);
    store.appendMetrics('run-1', [1, 2, 3, 4].map((step) => ({ step, loss: 1 / step, lr: 1e-4, val: step === 2 ? 0.7 : null })));
    store.trimMetrics('run-1', 2);
    store.appendMetrics('run-1', [{ step: 3, loss: 0.25, lr: 2e-4, val: null }]);
    expect(store.metrics('run-1').map((m) => [m.step, m.loss])).toEqual([[1, 1], [2, 0.5], [3, 0.25]]);
    expect(store.metrics('run-1', 2).map((m) => m.step)).toEqual([3]);
    store.close();
  });

  it('deleting a run removes its metrics, sheets, exports and evaluations; deleting a dataset keeps its runs', () => {
    const store = new Store(join(dir, 'fontloom.db'));
    store.insertDataset(dataset);
    addRun(store);
    store.appendMetrics('run-1', [{ step: 1, loss: 1, lr: 1e-4, val: null }]);
    store.addSheet('run-1', { step: 1, which: 'ema' }, '/x.png');
    store.addExport({ id: 'e1', run: 'run-1', format: 'otf', path: '/x.otf', settings: {} });
    store.deleteDataset(dataset.id);
    expect(store.getRun('run-1')).toMatchObject({ dataset: null, datasetName: 'letters' });
    store.deleteRun('run-1');
    for (const table of ['metrics', 'sheets', 'exports', 'evals']) {
      expect(store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get()).toEqual({ n: 0 });
    }
    store.close();
  });

  it('lets one process at a time claim a run: a second is refused, the holder may claim again and hand it on, keeping a pause asked meanwhile', () => {
    const store = new Store(join(dir, 'fontloom.db'));
    store.insertDataset(dataset);
    addRun(store);
    const claim = { heldBy: null, host: 'here', now: 1000, whenBusy: 'train', heldOnly: false } as const;
    expect(store.claimRun('run-1', { ...claim, pid: 101 })).toMatchObject({ status: 'running', pid: 101, host: 'here', heartbeat: 1000 });
    expect(store.claimRun('run-1', { ...claim, pid: 202 })).toBeNull();
    store.updateRun('run-1', { control: 'pause' });
    expect(store.claimRun('run-1', { ...claim, pid: 303, heldBy: 101 })).toMatchObject({ status: 'running', pid: 303, control: 'pause' });
    expect(store.claimRun('run-1', { ...claim, pid: 101 })).toBeNull();
    expect(store.beat('run-1', 303, 2000)).toBe(true);
    expect(store.beat('run-1', 101, 2000)).toBe(false);
    store.updateRun('run-1', { status: 'paused', control: null, pid: null });
    store.updateRun('run-1', { control: 'stop' });
    expect(store.claimRun('run-1', { ...claim, pid: 202 })).toMatchObject({ status: 'running', pid: 202, control: null });
    store.close();
  });

  it('queues a claim behind a run that trains, refuses one that will not wait, and lets a waiting holder start once the device is free', () => {
    const store = new Store(join(dir, 'fontloom.db'));
    store.insertDataset(dataset);
    addRun(store, 'first');
    addRun(store, 'second');
    const claim = { heldBy: null, host: 'here', now: 1000, heldOnly: false } as const;
    store.claimRun('first', { ...claim, pid: 101, whenBusy: 'train' });
    expect(store.claimRun('second', { ...claim, pid: 202, whenBusy: 'refuse' })).toBeNull();
    expect(store.getRun('second')).toMatchObject({ status: 'queued', pid: null });
    expect(store.claimRun('second', { ...claim, pid: 202, whenBusy: 'queue' })).toMatchObject({ status: 'queued', pid: 202 });
    expect(store.claimRun('second', { ...claim, pid: 202, whenBusy: 'queue', heldOnly: true })).toMatchObject({ status: 'queued' });
    store.updateRun('first', { status: 'completed', pid: null });
    expect(store.claimRun('second', { ...claim, pid: 202, whenBusy: 'queue', heldOnly: true })).toMatchObject({ status: 'running', pid: 202 });
    store.updateRun('second', { status: 'paused', pid: null });
    // A waiting process whose run was paused meanwhile does not take it back.
    expect(store.claimRun('second', { ...claim, pid: 202, whenBusy: 'queue', heldOnly: true })).toBeNull();
    store.close();
  });

  it('refuses a status that is not one of a run’s statuses', () => {
    const store = new Store(join(dir, 'fontloom.db'));
    store.insertDataset(dataset);
    addRun(store);
    expect(() => store.updateRun('run-1', { status: 'sleeping' as never })).toThrow(/CHECK constraint/);
    store.close();
  });
});
