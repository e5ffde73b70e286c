-- Quality metrics of a run's generated glyphs (legibility, glyph FID, diversity) per step.
CREATE TABLE evals (
  run        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step       INTEGER NOT NULL,
  weights    TEXT NOT NULL CHECK (weights IN ('model','ema')),
  legibility REAL NOT NULL,
  fid        REAL,
  diversity  REAL,
  report     TEXT NOT NULL,             -- JSON, the whole evaluation
  created    TEXT NOT NULL,
  PRIMARY KEY (run, step, weights)
) WITHOUT ROWID;
