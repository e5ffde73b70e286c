// What every importer is: a cheap content sniff and a reader that turns one source (a file or a
// folder) into a GlyphSet in memory. Importers never write to disk; the registry writes the
// result atomically, so an import is complete or absent.
import type { DatasetFormat } from '../../contract/api.ts';
import type { GlyphSet } from '../glyphset.ts';

export interface ImportProgress {
  /** What is happening, in a few words ("reading PNGs", "rendering fonts"). */
  phase: string;
  done: number;
  /** Null while the total is not known yet. */
  total: number | null;
}

export interface ImportOptions {
  onProgress?: (p: ImportProgress) => void;
}

export interface Imported {
  set: GlyphSet;
  /** Things the user should know that did not stop the import ("font X lacks Q: skipped"). */
  notes: string[];
  /** A name for the dataset when the user gives none (e.g. the folder's name). */
  suggestedName: string;
}

export interface Importer {
  readonly format: DatasetFormat;
  /**
   * Name endings that only this format uses (".ttf", ".csv"): a file so named that fails every
   * sniff is still read as this format, so the user hears why it is not one.
   */
  readonly extensions: readonly string[];
  /**
   * True when `path` looks like this format, judged from content (magic bytes, folder layout,
   * header rows), reading as little as possible. Never throws for a path of another format.
   */
  sniff(path: string): Promise<boolean>;
  /** Reads the whole source; bad input throws a UserError naming the file, row or entry. */
  read(path: string, opts?: ImportOptions): Promise<Imported>;
}

/** The most pixel bytes an import holds in memory (the real Kaggle letters need 400 MB). */
export const MAX_PIXEL_BYTES = 2 * 2 ** 30;

/** The 26 capital letters, the class names of every letter dataset. */
export const LETTERS: readonly string[] = Array.from({ length: 26 }, (_, i) => String.fromCharCode(65 + i));
