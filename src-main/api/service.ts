// The API's handlers: one object that the Electron window (IPC), the web host (HTTP) and the
// CLI all call. Inputs are checked against the contract's schemas here, whoever calls.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { defaultEngines, initBackend } from '../engine/runtime/backend.ts';
import { PRESETS, PRESET_NAMES, VAL_FRACTION, describeRecipe } from '../contract/presets.ts';
import { createUNet, parameterCount } from '../engine/unet.ts';
import { openRegistry, type DatasetRecord, type Registry } from '../data/registry.ts';
import { renderPreview } from '../export/preview.ts';
import { glyphStrip, renderSheet } from '../export/sheet.ts';
import { exportGlyphs, exportShape, traceOutlines, type ExportFormat } from '../export/index.ts';
import { specimenPathFor } from '../export/specimen.ts';
import { checkpointPath, createRun, deleteRun, loadRun, runConfig, runDir } from '../jobs/run.ts';
import { loadTrainingData, requireStyleSupport, styleSupport } from '../data/training.ts';
import { downsampleGlyphs } from '../data/large-glyphs.ts';
import { readCheckpointHeader } from '../engine/checkpoint.ts';
import { generationStyle, resolveStyleInput } from './styles.ts';
import { Jobs, forkWorker, publicRun, type WorkerLauncher } from '../jobs/manager.ts';
import { ensureDefaultModel } from '../jobs/default-model.ts';
import { storeFor } from '../store/store.ts';
import { InvalidInput, NotFound, parseInput } from './boundary.ts';
import {
  type Dataset,
  type FontloomApi,
  type FontloomEvent,
  type Generation,
  type Method,
  type Outputs,
  type ParsedInput,
  type Png,
  type Run,
  type PresetInfo,
  type StudioInfo,
  type StyleSpec,
} from '../contract/api.ts';

export interface Service extends FontloomApi {
  readonly home: string;
  /** An export the studio made, on disk: for its download (browser) and for showing it (Electron). */
  findExport(id: string): Promise<ExportOnDisk>;
  /** A font export's specimen PNG on disk: for opening it (a browser tab, or the desktop's image viewer). */
  findSpecimen(id: string): Promise<string>;
  /** Pauses a training run at a checkpoint and stops; gives that run, if one trained. */
  close(): Promise<Run | null>;
}

export interface ExportOnDisk {
  /** The file written (a sheet, a font) or the folder (glyph PNGs, SVGs). */
  path: string;
  /** The one file a browser downloads: the file, or the zip written beside the folder; null: the folder, zipped as it is sent. */
  download: string | null;
}

export interface ServiceOptions {
  home: string;
  mode: StudioInfo['mode'];
  /** How training processes start (Electron passes one using utilityProcess). */
  launch?: WorkerLauncher;
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Generations kept for re-rolls and exports, newest last. */
const KEPT_GENERATIONS = 20;

interface DrawSettings {
  ema: boolean;
  sampler: 'ddim' | 'ddpm';
  steps: number;
  cfg: number;
  seed: number;
  style?: StyleSpec;
  styleCfg?: number;
}

interface HeldGeneration {
  generation: Generation;
  /** The style its glyphs share and the guidance on it (a re-roll keeps both), and the letters given as images. */
  style?: StyleSpec;
  styleCfg?: number;
  given: Map<string, Uint8Array>;
  /** At the model's size: what re-rolls and completions work on. */
  images: Uint8Array;
  size: number;
  channels: number;
  /** The same glyphs at the upsampler's size (128) where the run has one: what the studio shows and exports. */
  large: { images: Uint8Array; size: number } | null;
}

/** The glyphs a generation shows and exports: the upsampler's where the run has one. */
function shown(held: Omit<HeldGeneration, 'generation'>): { images: Uint8Array; size: number } {
  return held.large ?? { images: held.images, size: held.size };
}

/**
 * The studio shows glyphs at most this size (its sheet pixel for pixel, its tiles about as large):
 * 128-pixel glyphs halve there, which also keeps a kept result within the browser's storage (an
 * early model's grainy glyphs compress badly); exports keep every pixel.
 */
const SHEET_CELL = 64;

/** The shown glyphs at the studio's size: shrunk by block means to at most SHEET_CELL. */
function onScreen(held: Omit<HeldGeneration, 'generation'>): { images: Uint8Array; size: number } {
  const { images, size } = shown(held);
  if (size <= SHEET_CELL || held.channels !== 1) return { images, size };
  const factor = Math.ceil(size / SHEET_CELL);
  return { images: downsampleGlyphs(images, images.length / (size * size), size, factor), size: size / factor };
}

/** The upload batch folder `path` lies in (home/uploads/<batch>/…), if it lies in one. */
function uploadBatch(home: string, path: string): string | null {
  const uploads = join(home, 'uploads');
  const inside = relative(uploads, path);
  if (!inside || inside.startsWith('..') || inside.includes(':')) return null;
  return join(uploads, inside.split(sep)[0]);
}

function publicDataset(d: DatasetRecord): Dataset {
  const { hash: _hash, ...rest } = d;
  return rest;
}

async function pngOf(buffer: Buffer): Promise<Png> {
  const meta = await sharp(buffer).metadata();
  return { png: buffer.toString('base64'), width: meta.width ?? 0, height: meta.height ?? 0 };
}

async function glyphPng(images: Uint8Array, index: number, size: number, channels: number): Promise<Png> {
  const per = size * size * channels;
  const raw = Buffer.from(images.subarray(index * per, (index + 1) * per));
  return pngOf(await sharp(raw, { raw: { width: size, height: size, channels: channels as 1 | 3 } }).png().toBuffer());
}

export async function createService(opts: ServiceOptions): Promise<Service> {
  const { home } = opts;
  const store = storeFor(home);
  const listeners = new Set<(e: FontloomEvent) => void>();
  const emit = (e: FontloomEvent) => {
    for (const l of listeners) l(e);
  };
  const registry: Registry = await openRegistry(home, store);
  await registry.ensureDefault();
  await ensureDefaultModel(home);
  const jobs = new Jobs(home, emit, opts.launch ?? forkWorker);
  const generations = new Map<string, HeldGeneration>();

  let info: Promise<StudioInfo> | null = null;
  const studioInfo = async (): Promise<StudioInfo> => {
    const backend = await initBackend('auto');
    const presets: PresetInfo[] = PRESET_NAMES.map((name) => {
      const p = PRESETS[name];
      const model = createUNet(p, { channels: 1, classes: 26, size: 32 }, 0);
      const params = parameterCount(model);
      model.dispose();
      return { ...p, params, recipeText: describeRecipe(p.recipe) };
    });
    return { version: VERSION, home, backend: `${backend.name}: ${backend.adapter}`, cores: availableParallelism(), mode: opts.mode, presets };
  };

  const findDataset = async (id: string) => {
    try {
      return await registry.find(id);
    } catch (err) {
      throw new NotFound((err as Error).message);
    }
  };
  const findRun = (id: string) => {
    try {
      return loadRun(home, id);
    } catch (err) {
      throw new NotFound((err as Error).message);
    }
  };
  const findGeneration = (id: string) => {
    const held = generations.get(id);
    if (!held) throw new NotFound(`no generation "${id}": generate a sheet again (generations are kept while the studio runs)`);
    return held;
  };
  const findSpecimen = async (id: string) => {
    const row = store.getExport(id);
    if (!row) throw new NotFound(`no export "${id}": export it again`);
    if (row.format !== 'otf') throw new NotFound(`export ${id} is not a font: only a font export has a specimen`);
    const path = specimenPathFor(row.path);
    if (!(await stat(path).catch(() => null))?.isFile()) throw new NotFound(`the font's specimen is no longer at ${path} (moved or removed): export the font again`);
    return path;
  };

  /** Draws in a process of its own; a drawing the client follows by its `job` reports its steps as events. */
  const draw = async (run: string, input: DrawSettings, job: string | undefined, classes?: number[]) => {
    const { ema, sampler, steps, cfg, seed, style, styleCfg } = input;
    const onStep = job ? (done: number, total: number) => emit({ type: 'draw', job, done, total }) : undefined;
    return jobs.draw({ run, ema, sampler, steps, cfg, seed, style, styleCfg, classes }, onStep);
  };

  const sheetOf = async (held: Omit<HeldGeneration, 'generation'>, g: Omit<Generation, 'sheet' | 'glyphs'>) => {
    const title = `${g.run} · step ${g.step} · ${g.ema ? 'EMA' : 'model'} · ${g.sampler} ${g.steps}, cfg ${g.cfg}`;
    const { images, size } = onScreen(held);
    const scale = Math.max(1, Math.floor(SHEET_CELL / size));
    return pngOf(await renderSheet(images, g.classNames.length, size, size, held.channels as 1 | 3, g.classNames, { title, scale }));
  };

  const handlers: { [M in Method]: (input: ParsedInput<M>) => Promise<Outputs[M]> } = {
    info: async () => (info ??= studioInfo()),
    listDatasets: async () => (await registry.list()).map(publicDataset),
    importDataset: async (input) => {
      const job = input.job ?? randomBytes(4).toString('hex');
      try {
        const { record, existing, readAs } = await registry.import(input.path, {
          format: input.format ?? 'auto',
          name: input.name,
          onProgress: (p) => emit({ type: 'import', job, phase: p.phase, done: p.done, total: p.total }),
        });
        emit({ type: 'datasets' });
        return { dataset: publicDataset(record), existing, readAs };
      } finally {
        // Files uploaded for this import have served: the dataset holds its own copy.
        const batch = uploadBatch(home, input.path);
        if (batch) await rm(batch, { recursive: true, force: true });
      }
    },
    previewDataset: async (input) => {
      const record = await findDataset(input.id);
      const { png, preview } = await renderPreview(await registry.load(record), record.fontsKnown, input.rows ?? 8);
      return { ...(await pngOf(png)), ...preview };
    },
    datasetStyle: async (input) => styleSupport(await registry.load(await findDataset(input.id))),
    deleteDataset: async (input) => {
      const record = await findDataset(input.id);
      await registry.remove(record.id);
      emit({ type: 'datasets' });
      return { deleted: record.id };
    },
    listRuns: async () => store.listRuns().map(publicRun),
    getRun: async (input) => publicRun(findRun(input.id)),
    estimateStep: async (input) => {
      const batch = input.batch ?? PRESETS[input.preset].batch;
      const measured = await jobs.estimate({ preset: input.preset, batch, backend: input.backend, threads: input.threads ?? defaultEngines(input.preset) });
      return { preset: input.preset, batch, ...measured };
    },
    createRun: async ({ dataset, name, ...request }) => {
      const record = await findDataset(dataset);
      let loaded: ReturnType<typeof loadTrainingData> | undefined;
      const data = () => (loaded ??= loadTrainingData(registry.glyphsPath(record), VAL_FRACTION));
      if (request.style) requireStyleSupport((await data()).set, record.name);
      const config = await runConfig(request, async () => (await data()).train.length);
      const run = await createRun(home, { name, data: registry.glyphsPath(record), dataset: record.id, datasetName: record.name, config });
      return jobs.enqueue(run.id);
    },
    pauseRun: async (input) => jobs.pause(findRun(input.id).id),
    resumeRun: async (input) => jobs.resume(findRun(input.id).id),
    stopRun: async (input) => jobs.stop(findRun(input.id).id),
    deleteRun: async (input) => {
      const run = findRun(input.id);
      await deleteRun(home, run.id);
      return { deleted: run.id };
    },
    runMetrics: async (input) => store.metrics(findRun(input.id).id, input.since ?? 0),
    runSheets: async (input) => store.sheets(findRun(input.id).id).map(({ step, which }) => ({ step, which })),
    sheetImage: async (input) => {
      const run = findRun(input.id);
      const sheet = store.sheets(run.id).find((s) => s.step === input.step && s.which === input.which);
      if (!sheet) throw new NotFound(`run ${run.id} has no ${input.which} sheet at step ${input.step}`);
      return pngOf(await readFile(sheet.file));
    },
    sheetGlyphs: async (input) => {
      const run = findRun(input.id);
      const sheet = store.sheets(run.id).find((s) => s.step === input.step && s.which === input.which);
      if (!sheet) throw new NotFound(`run ${run.id} has no ${input.which} sheet at step ${input.step}`);
      const { classNames, shape } = await readCheckpointHeader(checkpointPath(home, run.id));
      // A run's sheets carry a title line (any text gives its height).
      const strip = await glyphStrip(await readFile(sheet.file), classNames.length, shape.size, shape.size, { title: 'run' });
      return strip && { strip: { png: strip.png.toString('base64'), width: strip.width, height: strip.height }, labels: classNames };
    },
    evaluateRun: async (input) => {
      const run = findRun(input.id);
      const step = await jobs.evaluate({ run: run.id, perClass: input.perClass, ema: input.ema, baselines: input.baselines });
      const weights = input.ema ? 'ema' : 'model';
      // A model shipped with EMA weights only is measured with those.
      return store.evals(run.id).find((e) => e.step === step && e.weights === weights) ?? store.evals(run.id).find((e) => e.step === step)!;
    },
    runEvals: async (input) => store.evals(findRun(input.id).id),
    generate: async (input) => {
      const run = findRun(input.id);
      const started = performance.now();
      const { style: asked, job, ...sampling } = input;
      if (asked && asked.kind !== 'none' && !run.config.style) {
        throw new InvalidInput(`run ${run.name} draws each letter on its own (trained without a style): new fonts, finishing a font and blends need a style-conditioned run`);
      }
      // A style model's default: a new style from the seed.
      const styleInput = run.config.style ? (asked ?? { kind: 'invented' as const, seed: input.seed }) : undefined;
      const header = styleInput ? await readCheckpointHeader(checkpointPath(home, run.id)).catch(() => null) : null;
      if (styleInput && !header) throw new InvalidInput(`run ${run.name} has no checkpoint yet: let it train to its first checkpoint`);
      const resolved = styleInput && header ? await resolveStyleInput(styleInput, header.shape.size, header.classNames) : undefined;
      // Letters given as images come back exactly as given (jobs/generate.ts puts them back).
      const { images, large, meta } = await draw(run.id, { ...sampling, style: resolved?.spec }, job);
      const base = {
        id: randomBytes(6).toString('hex'),
        run: run.id,
        step: meta.step,
        sampler: input.sampler,
        steps: meta.steps,
        cfg: input.cfg,
        seed: input.seed,
        ema: input.ema,
        classNames: meta.classNames,
        seeds: meta.classNames.map(() => input.seed),
        style: styleInput && resolved && meta.style ? generationStyle(styleInput, resolved, meta.style) : null,
        size: large && meta.largeSize ? meta.largeSize : meta.size,
        upsampledFrom: large && meta.largeSize ? meta.size : null,
        seconds: 0,
      };
      const held = {
        images, size: meta.size, channels: meta.channels, large: large && meta.largeSize ? { images: large, size: meta.largeSize } : null,
        style: resolved?.spec, styleCfg: input.styleCfg, given: resolved?.given ?? new Map<string, Uint8Array>(),
      };
      const view = onScreen(held);
      const glyphs = await Promise.all(meta.classNames.map((_, k) => glyphPng(view.images, k, view.size, meta.channels)));
      const generation: Generation = { ...base, sheet: await sheetOf(held, base), glyphs, seconds: (performance.now() - started) / 1000 };
      generations.set(generation.id, { ...held, generation });
      while (generations.size > KEPT_GENERATIONS) generations.delete(generations.keys().next().value!);
      return generation;
    },
    reroll: async (input) => {
      const held = findGeneration(input.generation);
      const g = held.generation;
      if (input.class >= g.classNames.length) throw new InvalidInput(`reroll: class ${input.class} is not one of the ${g.classNames.length} classes`);
      const started = performance.now();
      const { images, large } = await draw(g.run, { ...g, seed: input.seed, style: held.style, styleCfg: held.styleCfg }, input.job, [input.class]);
      const per = held.size * held.size * held.channels;
      held.images.set(images.subarray(0, per), input.class * per);
      let redrawAll = false;
      if (held.large) {
        const perLarge = held.large.size * held.large.size;
        if (large && large.length === perLarge) held.large.images.set(large, input.class * perLarge);
        else [held.large, redrawAll] = [null, true]; // the run lost its upsampler meanwhile: every glyph at the model's size
      }
      const seeds = g.seeds.map((s, k) => (k === input.class ? input.seed : s));
      const glyphs = g.glyphs.slice();
      const view = onScreen(held);
      if (redrawAll) glyphs.splice(0, glyphs.length, ...(await Promise.all(g.classNames.map((_, k) => glyphPng(view.images, k, view.size, held.channels)))));
      else glyphs[input.class] = await glyphPng(view.images, input.class, view.size, held.channels);
      const next: Generation = { ...g, ...(redrawAll && { size: held.size, upsampledFrom: null }), seeds, glyphs, sheet: await sheetOf(held, g), seconds: (performance.now() - started) / 1000 };
      held.generation = next;
      return next;
    },
    outlines: async (input) => {
      const held = findGeneration(input.generation);
      const { images, size } = shown(held);
      return traceOutlines({ images, height: size, width: size, channels: held.channels as 1 | 3, classNames: held.generation.classNames }, { threshold: input.threshold });
    },
    exportGeneration: async (input) => {
      const held = findGeneration(input.generation);
      const g = held.generation;
      const id = randomBytes(4).toString('hex');
      const extension = input.format === 'sheet' ? '.png' : input.format === 'otf' ? '.otf' : '';
      const name = `${input.format}-step${g.step}-${id}${extension}`;
      const exportsDir = join(runDir(home, g.run), 'exports');
      await mkdir(exportsDir, { recursive: true });
      // A folder the user chose gets the export inside it; an existing file is never overwritten.
      const chosen = input.out ? await stat(input.out).catch(() => null) : null;
      if (chosen && !chosen.isDirectory()) throw new InvalidInput(`${input.out} already exists: an export never replaces a file; choose a folder or a new name`);
      const out = input.out ? (chosen ? join(input.out, name) : input.out) : join(exportsDir, name);
      // A font's specimen lands beside it, and is never written over a file either.
      const specimen = input.format === 'otf' ? specimenPathFor(out) : null;
      if (specimen && (await stat(specimen).catch(() => null))) throw new InvalidInput(`${specimen} already exists: an export never replaces a file; choose a folder or a new name`);
      const view = shown(held);
      const result = await exportGlyphs({
        images: view.images,
        height: view.size,
        width: view.size,
        channels: held.channels,
        classNames: g.classNames,
        format: input.format,
        out,
        sizes: input.sizes,
        zip: input.zip,
        family: input.family,
        threshold: input.threshold,
        title: `${g.run} · step ${g.step} · ${g.sampler} ${g.steps}, cfg ${g.cfg}`,
      });
      store.addExport({ id, run: g.run, format: input.format, path: result.path, settings: { ...input, generation: undefined, seeds: g.seeds, sampler: g.sampler, steps: g.steps, cfg: g.cfg, ema: g.ema } });
      return { ...result, id };
    },
    exportSpecimen: async (input) => pngOf(await readFile(await findSpecimen(input.id))),
  };

  return {
    home,
    async call(method, input) {
      const parsed = parseInput(method, input);
      const handler = handlers[method] as (i: unknown) => Promise<Outputs[typeof method]>;
      return handler(parsed);
    },
    async findExport(id) {
      const row = store.getExport(id);
      if (!row) throw new NotFound(`no export "${id}": export it again`);
      const folder = exportShape(row.format as ExportFormat) === 'folder';
      const there = await stat(row.path).catch(() => null);
      if (!there || there.isDirectory() !== folder) throw new NotFound(`the export is no longer at ${row.path} (moved or removed): export it again`);
      if (!folder) return { path: row.path, download: row.path };
      const zip = (row.settings as { zip?: boolean }).zip ? `${row.path}.zip` : null;
      const zipThere = zip && (await stat(zip).catch(() => null))?.isFile();
      return { path: row.path, download: zipThere ? zip : null };
    },
    findSpecimen,
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      const paused = await jobs.close();
      listeners.clear();
      return paused && publicRun(paused);
    },
  };
}
