// fontloom.db: one SQLite file under the home folder, WAL mode, schema versions as numbered SQL
// files applied in order at open. PRAGMA user_version records the version a database is at.
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';

export type Db = Database.Database;

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The numbered migrations, `NNN_name.sql`, in order. */
export function migrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort()
    .map((f, i) => {
      const version = Number.parseInt(f.slice(0, 3), 10);
      if (version !== i + 1) throw new Error(`migration ${f} is out of sequence (expected ${String(i + 1).padStart(3, '0')})`);
      return { version, name: f.replace(/\.sql$/, ''), sql: readFileSync(join(MIGRATIONS_DIR, f), 'utf8') };
    });
}

export const SCHEMA_VERSION = migrations().length;

/**
 * Opens (creating) the database and brings it to `upTo` (default: the latest schema). A database
 * written by a newer Fontloom is refused rather than misread.
 */
export function openDb(file: string, upTo = SCHEMA_VERSION): Db {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new UserError(
        `${file} was written by a newer Fontloom (database version ${current}; this Fontloom knows up to ${SCHEMA_VERSION}). ` +
          'Update Fontloom, or point FONTLOOM_HOME at another folder.',
      );
    }
    for (const m of migrations()) {
      if (m.version <= current || m.version > upTo) continue;
      db.transaction(() => {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
