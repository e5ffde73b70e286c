-- Datasets, runs, their metrics, sample sheets and exports.
CREATE TABLE datasets (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  format      TEXT NOT NULL,
  count       INTEGER NOT NULL,
  class_names TEXT NOT NULL,            -- JSON array
  fonts       INTEGER NOT NULL,
  height      INTEGER NOT NULL,
  width       INTEGER NOT NULL,
  channels    INTEGER NOT NULL,
  hash        TEXT NOT NULL UNIQUE,
  source      TEXT NOT NULL,
  created     TEXT NOT NULL,
  notes       TEXT NOT NULL DEFAULT '[]' -- JSON array
);

CREATE TABLE runs (
  id              TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  dataset         TEXT REFERENCES datasets(id) ON DELETE SET NULL,
  dataset_name    TEXT NOT NULL,
  data_path       TEXT NOT NULL,
  val_fraction    REAL NOT NULL,
  config          TEXT NOT NULL,         -- JSON RunConfig
  sheet           TEXT NOT NULL,         -- JSON sampler options of the periodic sheets
  status          TEXT NOT NULL CHECK (status IN ('queued','running','paused','stopped','completed','failed','interrupted')),
  control         TEXT CHECK (control IN ('pause','stop')),
  pid             INTEGER,
  backend         TEXT,
  created         TEXT NOT NULL,
  updated         TEXT NOT NULL,
  step            INTEGER NOT NULL DEFAULT 0,
  checkpoint_step INTEGER NOT NULL DEFAULT 0,
  train_loss      REAL,
  best_val        REAL,
  error           TEXT
);
CREATE INDEX runs_status ON runs(status);

CREATE TABLE metrics (
  run  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  loss REAL NOT NULL,
  lr   REAL NOT NULL,
  val  REAL,
  PRIMARY KEY (run, step)
) WITHOUT ROWID;

CREATE TABLE sheets (
  run   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step  INTEGER NOT NULL,
  which TEXT NOT NULL CHECK (which IN ('model','ema')),
  file  TEXT NOT NULL,
  PRIMARY KEY (run, step, which)
) WITHOUT ROWID;

CREATE TABLE exports (
  id       TEXT PRIMARY KEY,
  run      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  format   TEXT NOT NULL,
  path     TEXT NOT NULL,
  settings TEXT NOT NULL,               -- JSON
  created  TEXT NOT NULL
);
