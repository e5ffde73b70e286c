// Queries over fontloom.db: synchronous prepared statements, a transaction wherever several rows
// change together. Rows become the API's types here, so nothing above sees SQL or JSON columns.
import { join } from 'node:path';
import { RESUMABLE, type Dataset, type Evaluation, type Metric, type Run, type RunConfig, type RunStatus, type SampleOptions, type Sheet } from '../contract/api.ts';
import type Database from 'better-sqlite3';
import { openDb, type Db } from './db.ts';

export const DB_FILE = 'fontloom.db';

export type Control = 'pause' | 'stop';

/** A run as the store keeps it: the API's view plus what the training process needs. */
export interface StoredRun extends Run {
  /** The glyph set file the run trains on. */
  data: string;
  valFraction: number;
  /** Sampler settings of the periodic sheets (fixed seed, so sheets compare over time). */
  sheet: SampleOptions;
  /** A pause or stop asked for and not yet carried out by the training process. */
  control: Control | null;
  /** The process that holds it: training it while `running`, waiting its turn while `queued` (null: the studio's queue). */
  pid: number | null;
  /** Where that process runs (machine and pid namespace): only there can it be asked whether it lives. */
  host: string | null;
  /** When that process last said it was alive (ms since 1970). */
  heartbeat: number | null;
}

export interface StoredDataset extends Dataset {
  hash: string;
}

export type NewRunRow = Pick<StoredRun, 'id' | 'name' | 'dataset' | 'datasetName' | 'data' | 'valFraction' | 'config' | 'sheet' | 'status' | 'pid'>;

export type RunPatch = Partial<Pick<StoredRun, 'status' | 'control' | 'pid' | 'backend' | 'step' | 'checkpointStep' | 'trainLoss' | 'bestVal' | 'error'>>;

/** A process's claim on a run (see Store.claimRun). */
export interface ClaimRow {
  pid: number;
  /** A process that claimed the run on this one's behalf and hands it over. */
  heldBy: number | null;
  host: string;
  now: number;
  /** While another run trains: hold the run `queued` (queue), or leave it as it is (refuse), or neither (train anyway). */
  whenBusy: 'train' | 'refuse' | 'queue';
  /** Only a run this process (or heldBy) holds already, not a free one. */
  heldOnly: boolean;
}

/** What a conditional write expects of a run: one of these statuses, and (when given) this holder. */
export interface RunExpectation {
  status: readonly RunStatus[];
  pid?: number | null;
}

/** An evaluation as stored: the API's Evaluation, its report parsed. */
export type EvalRow = Evaluation;

interface RunRow {
  id: string;
  name: string;
  dataset: string | null;
  dataset_name: string;
  data_path: string;
  val_fraction: number;
  config: string;
  sheet: string;
  status: RunStatus;
  control: Control | null;
  pid: number | null;
  host: string | null;
  heartbeat: number | null;
  backend: string | null;
  created: string;
  updated: string;
  step: number;
  checkpoint_step: number;
  train_loss: number | null;
  best_val: number | null;
  error: string | null;
}

interface DatasetRow {
  id: string;
  name: string;
  format: Dataset['format'];
  count: number;
  class_names: string;
  fonts: number;
  fonts_known: 0 | 1;
  height: number;
  width: number;
  channels: number;
  hash: string;
  source: string;
  created: string;
  notes: string;
}

const PATCH_COLUMNS: Record<keyof RunPatch, string> = {
  status: 'status',
  control: 'control',
  pid: 'pid',
  backend: 'backend',
  step: 'step',
  checkpointStep: 'checkpoint_step',
  trainLoss: 'train_loss',
  bestVal: 'best_val',
  error: 'error',
};

function toRun(row: RunRow): StoredRun {
  const config = JSON.parse(row.config) as RunConfig;
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    step: row.step,
    steps: config.steps,
    preset: config.preset,
    dataset: row.dataset,
    datasetName: row.dataset_name,
    backend: row.backend,
    created: row.created,
    updated: row.updated,
    trainLoss: row.train_loss,
    bestVal: row.best_val,
    checkpointStep: row.checkpoint_step,
    error: row.error,
    config,
    data: row.data_path,
    valFraction: row.val_fraction,
    sheet: JSON.parse(row.sheet) as SampleOptions,
    control: row.control,
    pid: row.pid,
    host: row.host,
    heartbeat: row.heartbeat,
  };
}

function toDataset(row: DatasetRow): StoredDataset {
  const classNames = JSON.parse(row.class_names) as string[];
  return {
    id: row.id,
    name: row.name,
    format: row.format,
    count: row.count,
    classes: classNames.length,
    classNames,
    fonts: row.fonts,
    fontsKnown: row.fonts_known === 1,
    height: row.height,
    width: row.width,
    channels: row.channels,
    hash: row.hash,
    source: row.source,
    created: row.created,
    notes: JSON.parse(row.notes) as string[],
  };
}

const FREE = RESUMABLE.map((s) => `'${s}'`).join(', ');
const OTHER_RUN_TRAINS = "EXISTS (SELECT 1 FROM runs AS other WHERE other.status = 'running' AND other.id <> @id)";

// One statement, so two processes claiming one run (or the one device) cannot both succeed. A run
// is free when it may resume or waits in the studio's queue (queued, no holder); the holder (or the
// process it hands over from, heldBy) may claim again, keeping a pause asked meanwhile.
const CLAIM = `UPDATE runs SET
    status = CASE WHEN @queue = 1 AND ${OTHER_RUN_TRAINS} THEN 'queued' ELSE 'running' END,
    control = CASE WHEN status IN ('queued', 'running') AND pid IN (@pid, @heldBy) THEN control END,
    error = NULL, pid = @pid, host = @host, heartbeat = @now, updated = @updated
  WHERE id = @id
    AND ((status IN ('queued', 'running') AND pid IN (@pid, @heldBy))
      OR (@heldOnly = 0 AND (status IN (${FREE}) OR (status = 'queued' AND pid IS NULL))))
    AND (@refuse = 0 OR NOT ${OTHER_RUN_TRAINS})`;

/** A patch's columns as `col = @key`, and the update time: the set list of every run update. */
function setClause(patch: RunPatch): string {
  const keys = Object.keys(patch) as (keyof RunPatch)[];
  return [...keys.map((k) => `${PATCH_COLUMNS[k]} = @${k}`), 'updated = @updated'].join(', ');
}

// Parameters are positional or named by statement; each call site passes its statement's own.
type Statement = Database.Statement<unknown[]>;

export class Store {
  readonly db: Db;

  /** Each SQL text prepared once for this connection, on its first use. */
  private readonly statements = new Map<string, Statement>();

  constructor(readonly file: string, upTo?: number) {
    this.db = openDb(file, upTo);
  }

  private prepared(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  static open(home: string): Store {
    return new Store(join(home, DB_FILE));
  }

  close(): void {
    this.db.close();
  }

  // Datasets

  listDatasets(): StoredDataset[] {
    return (this.prepared('SELECT * FROM datasets ORDER BY created, id').all() as DatasetRow[]).map(toDataset);
  }

  getDataset(id: string): StoredDataset | null {
    const row = this.prepared('SELECT * FROM datasets WHERE id = ?').get(id) as DatasetRow | undefined;
    return row ? toDataset(row) : null;
  }

  insertDataset(d: StoredDataset): void {
    this.prepared(
      `INSERT INTO datasets (id, name, format, count, class_names, fonts, fonts_known, height, width, channels, hash, source, created, notes)
       VALUES (@id, @name, @format, @count, @classNames, @fonts, @fontsKnown, @height, @width, @channels, @hash, @source, @created, @notes)`,
    ).run({ ...d, classNames: JSON.stringify(d.classNames), fontsKnown: d.fontsKnown ? 1 : 0, notes: JSON.stringify(d.notes) });
  }

  deleteDataset(id: string): void {
    this.prepared('DELETE FROM datasets WHERE id = ?').run(id);
  }

  // Runs

  insertRun(r: NewRunRow): StoredRun {
    const now = new Date().toISOString();
    this.prepared(
      `INSERT INTO runs (id, name, dataset, dataset_name, data_path, val_fraction, config, sheet, status, pid, created, updated)
       VALUES (@id, @name, @dataset, @datasetName, @data, @valFraction, @config, @sheet, @status, @pid, @now, @now)`,
    ).run({ ...r, config: JSON.stringify(r.config), sheet: JSON.stringify(r.sheet), now });
    return this.getRun(r.id)!;
  }

  getRun(id: string): StoredRun | null {
    const row = this.prepared('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  /** Oldest first. */
  listRuns(status?: RunStatus): StoredRun[] {
    const rows = status
      ? this.prepared('SELECT * FROM runs WHERE status = ? ORDER BY created, id').all(status)
      : this.prepared('SELECT * FROM runs ORDER BY created, id').all();
    return (rows as RunRow[]).map(toRun);
  }

  updateRun(id: string, patch: RunPatch): StoredRun {
    this.prepared(`UPDATE runs SET ${setClause(patch)} WHERE id = @id`).run({ ...patch, id, updated: new Date().toISOString() });
    return this.getRun(id)!;
  }

  /** Patches a run only while it is as expected (a status, a holder): null when it was not. */
  updateRunIf(id: string, expected: RunExpectation, patch: RunPatch): StoredRun | null {
    const holder = expected.pid === undefined ? '' : ' AND pid IS @expectedPid';
    const sql = `UPDATE runs SET ${setClause(patch)} WHERE id = @id AND status IN (SELECT value FROM json_each(@expectedStatus))${holder}`;
    const params = { ...patch, id, updated: new Date().toISOString(), expectedStatus: JSON.stringify(expected.status), ...(holder ? { expectedPid: expected.pid } : {}) };
    return this.prepared(sql).run(params).changes === 1 ? this.getRun(id) : null;
  }

  /**
   * Takes a run for a process that will train it (or wait its turn to): one conditional UPDATE in a
   * transaction. Null when the run is not free, is another process's, or (refuse) another run trains.
   */
  claimRun(id: string, c: ClaimRow): StoredRun | null {
    const params = {
      id,
      pid: c.pid,
      heldBy: c.heldBy,
      host: c.host,
      now: c.now,
      updated: new Date(c.now).toISOString(),
      queue: c.whenBusy === 'queue' ? 1 : 0,
      refuse: c.whenBusy === 'refuse' ? 1 : 0,
      heldOnly: c.heldOnly ? 1 : 0,
    };
    const changed = this.db.transaction(() => this.prepared(CLAIM).run(params).changes).immediate();
    return changed === 1 ? this.getRun(id) : null;
  }

  /** The holder says it is alive; false once the run is no longer its own. */
  beat(id: string, pid: number, now: number): boolean {
    return this.prepared("UPDATE runs SET heartbeat = ? WHERE id = ? AND pid = ? AND status IN ('queued', 'running')").run(now, id, pid).changes === 1;
  }

  /** The pause or stop asked of a run, read by its training process between steps. */
  control(id: string): Control | null {
    const row = this.prepared('SELECT control FROM runs WHERE id = ?').get(id) as { control: Control | null } | undefined;
    return row?.control ?? null;
  }

  deleteRun(id: string): void {
    this.prepared('DELETE FROM runs WHERE id = ?').run(id);
  }

  // Metrics: written in batches, one transaction each.

  appendMetrics(run: string, rows: readonly Metric[]): void {
    if (rows.length === 0) return;
    const insert = this.prepared('INSERT OR REPLACE INTO metrics (run, step, loss, lr, val) VALUES (?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const m of rows) insert.run(run, m.step, m.loss, m.lr, m.val);
    })();
  }

  /** Drops metrics past `step` (those a crash left ahead of the last checkpoint). */
  trimMetrics(run: string, step: number): void {
    this.prepared('DELETE FROM metrics WHERE run = ? AND step > ?').run(run, step);
  }

  metrics(run: string, since = 0): Metric[] {
    return this.prepared('SELECT step, loss, lr, val FROM metrics WHERE run = ? AND step > ? ORDER BY step').all(run, since) as Metric[];
  }

  // Sample sheets

  addSheet(run: string, sheet: Sheet, file: string): void {
    this.prepared('INSERT OR REPLACE INTO sheets (run, step, which, file) VALUES (?, ?, ?, ?)').run(run, sheet.step, sheet.which, file);
  }

  sheets(run: string): (Sheet & { file: string })[] {
    return this.prepared('SELECT step, which, file FROM sheets WHERE run = ? ORDER BY step, which').all(run) as (Sheet & { file: string })[];
  }

  // Exports and evaluations

  addExport(e: { id: string; run: string; format: string; path: string; settings: unknown }): void {
    this.prepared('INSERT INTO exports (id, run, format, path, settings, created) VALUES (?, ?, ?, ?, ?, ?)').run(e.id, e.run, e.format, e.path, JSON.stringify(e.settings), new Date().toISOString());
  }

  getExport(id: string): { id: string; run: string; format: string; path: string; settings: unknown } | null {
    const row = this.prepared('SELECT id, run, format, path, settings FROM exports WHERE id = ?').get(id) as { id: string; run: string; format: string; path: string; settings: string } | undefined;
    return row ? { ...row, settings: JSON.parse(row.settings) as unknown } : null;
  }

  saveEval(e: Omit<EvalRow, 'created'>): void {
    this.prepared('INSERT OR REPLACE INTO evals (run, step, weights, legibility, fid, diversity, report, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(e.run, e.step, e.weights, e.legibility, e.fid, e.diversity, JSON.stringify(e.report), new Date().toISOString());
  }

  evals(run: string): EvalRow[] {
    const rows = this.prepared('SELECT * FROM evals WHERE run = ? ORDER BY step, weights').all(run) as (Omit<EvalRow, 'report'> & { report: string })[];
    return rows.map((r) => ({ ...r, report: JSON.parse(r.report) as unknown }));
  }
}

const shared = new Map<string, Store>();

/** The one connection of this process to a home's database. */
export function storeFor(home: string): Store {
  let store = shared.get(home);
  if (!store || !store.db.open) {
    store = Store.open(home);
    shared.set(home, store);
  }
  return store;
}
