// The datasets a user has imported: $FONTLOOM_HOME/datasets/<id>/{set.glyphs, dataset.json},
// listed in the store's datasets table. An import is written under a .partial- folder and renamed
// into place before the table names it, so a killed import leaves nothing that counts;
// `openRegistry` sweeps what such a kill left behind.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SettingError, UserError } from '../errors.ts';
import { contentHash, readGlyphSet, writeGlyphSet, type GlyphSet } from './glyphset.ts';
import { chooseImporter } from './importers/index.ts';
import type { ImportProgress } from './importers/types.ts';
import { styleSupport } from './training.ts';
import type { DatasetFormat } from '../contract/api.ts';
import { storeFor, type Store, type StoredDataset } from '../store/store.ts';

/** A registered dataset: the API's view plus its content hash. */
export type DatasetRecord = StoredDataset;

export interface Registry {
  readonly home: string;
  list(): Promise<DatasetRecord[]>;
  /** By id or by name; a UserError saying what exists when neither matches. */
  find(idOrName: string): Promise<DatasetRecord>;
  load(record: DatasetRecord): Promise<GlyphSet>;
  glyphsPath(record: DatasetRecord): string;
  /** `readAs`: the format the files were read as (`record`'s own, unless their glyphs were imported before from another). */
  import(path: string, opts?: ImportRequest): Promise<{ record: DatasetRecord; existing: boolean; readAs: DatasetFormat }>;
  /** Registers an already-built glyph set (the embedded default). */
  register(set: GlyphSet, meta: { name: string; format: DatasetRecord['format']; source: string; notes?: string[] }): Promise<{ record: DatasetRecord; existing: boolean }>;
  remove(idOrName: string): Promise<DatasetRecord>;
  /** Registers the embedded default dataset (data/default.glyphs.gz) if it is not there yet. */
  ensureDefault(): Promise<{ record: DatasetRecord; existing: boolean }>;
}

/** The embedded default: A–Z from open-licensed font families, built by `npm run data:build`. */
export const DEFAULT_DATASET = fileURLToPath(new URL('../../data/default.glyphs.gz', import.meta.url));
export const DEFAULT_NAME = 'default';

export interface ImportRequest {
  format?: DatasetFormat | 'auto';
  name?: string;
  onProgress?: (p: ImportProgress) => void;
}

const PARTIAL = '.partial-';

function datasetsDir(home: string): string {
  return join(home, 'datasets');
}

function slug(name: string): string {
  const s = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return (s || 'dataset').slice(0, 40);
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/**
 * Makes the table and the folders agree: removes leftovers of killed imports, forgets rows whose
 * folder is gone, and adopts complete folders the table lacks (a home from before the store).
 */
async function sweep(home: string, store: Store): Promise<void> {
  const dir = datasetsDir(home);
  await mkdir(dir, { recursive: true });
  const folders = new Set<string>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    if (entry.name.startsWith(PARTIAL)) await rm(join(dir, entry.name), { recursive: true, force: true });
    else if (existsSync(join(dir, entry.name, 'set.glyphs'))) folders.add(entry.name);
  }
  const known = new Set(store.listDatasets().map((d) => d.id));
  for (const id of known) if (!folders.has(id)) store.deleteDataset(id);
  for (const id of folders) {
    if (known.has(id)) continue;
    // A record written before Fontloom kept fontsKnown lacks it: judged from its glyphs.
    const record = await readJson<Omit<DatasetRecord, 'fontsKnown'> & { fontsKnown?: boolean }>(join(dir, id, 'dataset.json'));
    if (record && record.id === id && !store.listDatasets().some((d) => d.name === record.name || d.hash === record.hash)) {
      const fontsKnown = record.fontsKnown ?? styleSupport(await readGlyphSet(join(dir, id, 'set.glyphs'))).ok;
      store.insertDataset({ ...record, fontsKnown });
    }
  }
  await rm(join(dir, 'index.json'), { force: true });
}

export async function openRegistry(home: string, store: Store = storeFor(home)): Promise<Registry> {
  await sweep(home, store);
  const dir = datasetsDir(home);

  const find = async (idOrName: string): Promise<DatasetRecord> => {
    const all = store.listDatasets();
    const hit = all.find((d) => d.id === idOrName) ?? all.find((d) => d.name === idOrName);
    if (hit) return hit;
    const known = all.map((d) => `${d.id} ("${d.name}")`).join(', ');
    throw new UserError(`no dataset "${idOrName}"${known ? `: there are ${known}` : ': none imported yet (fontloom import PATH)'}`);
  };

  const register: Registry['register'] = async (set, meta) => {
    const hash = contentHash(set);
    const all = store.listDatasets();
    const same = all.find((d) => d.hash === hash);
    if (same) return { record: same, existing: true };
    if (all.some((d) => d.name === meta.name)) {
      throw new SettingError('name', (where) => `a dataset named "${meta.name}" exists already: choose another name ${where}`);
    }
    const id = `${slug(meta.name)}-${hash.slice(0, 8)}`;
    const record: DatasetRecord = {
      id,
      name: meta.name,
      format: meta.format,
      count: set.count,
      classes: set.classNames.length,
      classNames: [...set.classNames],
      fonts: new Set(set.fontIds).size,
      fontsKnown: styleSupport(set).ok,
      height: set.height,
      width: set.width,
      channels: set.channels,
      hash,
      source: meta.source,
      created: new Date().toISOString(),
      notes: meta.notes ?? [],
    };
    const partial = join(dir, `${PARTIAL}${id}-${randomBytes(3).toString('hex')}`);
    try {
      await mkdir(partial);
      await writeGlyphSet(join(partial, 'set.glyphs'), set);
      await writeFile(join(partial, 'dataset.json'), JSON.stringify(record, null, 2) + '\n');
      await rename(partial, join(dir, id));
    } catch (err) {
      await rm(partial, { recursive: true, force: true });
      throw err;
    }
    store.insertDataset(record);
    return { record, existing: false };
  };

  return {
    home,
    list: async () => store.listDatasets(),
    async ensureDefault() {
      const set = await readGlyphSet(DEFAULT_DATASET);
      return register(set, { name: DEFAULT_NAME, format: 'default', source: DEFAULT_DATASET, notes: [] });
    },
    find,
    glyphsPath: (record) => join(dir, record.id, 'set.glyphs'),
    load: (record) => readGlyphSet(join(dir, record.id, 'set.glyphs')),
    register,
    async import(path, req = {}) {
      const importer = await chooseImporter(path, req.format ?? 'auto');
      const imported = await importer.read(path, { onProgress: req.onProgress });
      const registered = await register(imported.set, {
        name: req.name ?? imported.suggestedName ?? basename(path),
        format: importer.format,
        source: resolve(path),
        notes: imported.notes,
      });
      return { ...registered, readAs: importer.format };
    },
    async remove(idOrName) {
      const record = await find(idOrName);
      // Renamed out of the way first: a kill from here on leaves only a folder the sweep removes.
      const doomed = join(dir, `${PARTIAL}deleted-${record.id}`);
      await rename(join(dir, record.id), doomed);
      store.deleteDataset(record.id);
      await rm(doomed, { recursive: true, force: true });
      return record;
    },
  };
}
