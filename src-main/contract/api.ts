// The one API of Fontloom: what the studio (over Electron IPC or HTTP), the CLI and tests may
// ask, and the events they hear. Inputs are zod schemas, checked at every boundary; outputs are
// plain JSON types. This file imports nothing from Node: the renderer imports it too.
import { z } from 'zod';
import type { Setting, SettingNames } from '../errors.ts';
import { PRESETS, PRESET_NAMES, PREDICTIONS, SCHEDULE_KINDS, WEIGHTINGS, type Preset, type PresetName, type Recipe, type TrainConfig } from './presets.ts';

export const RUN_STATUSES = ['queued', 'running', 'paused', 'stopped', 'completed', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** Statuses from which `resumeRun` continues a run from its last checkpoint. */
export const RESUMABLE: readonly RunStatus[] = ['paused', 'stopped', 'interrupted', 'failed'];

export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export function isBackendChoice(s: string): s is BackendChoice {
  return (BACKEND_CHOICES as readonly string[]).includes(s);
}

/**
 * A backend's description (as `BackendInfo` and runs give it, e.g. "wasm: XNNPACK (SIMD), 1
 * thread, 2 engines") in a user's words: "CPU, 2 cores", "GPU: NVIDIA H100". `cores` overrides
 * the count read from the description (the machine's, for what `auto` would train on).
 */
export function backendInWords(detail: string, cores?: number): string {
  const colon = detail.indexOf(': ');
  const name = colon < 0 ? detail : detail.slice(0, colon);
  const adapter = colon < 0 ? '' : detail.slice(colon + 2);
  if (name === 'webgpu') return adapter.includes('(software)') ? 'GPU emulated on the CPU (slow)' : `GPU: ${adapter}`;
  if (name === 'tensorflow') return adapter.includes('CUDA') ? 'GPU (CUDA)' : 'CPU (native TensorFlow)';
  // wasm: each engine's XNNPACK threads, times the engines (a trailing ", N threads" or ", N engines").
  const layout = /(?:XNNPACK \(SIMD\), (\d+) threads?(?: \([^)]*\))?)?(?:, (\d+) (?:threads|engines))?$/.exec(adapter);
  const n = cores ?? Number(layout?.[1] ?? 1) * Number(layout?.[2] ?? 1);
  return `CPU, ${n} core${n === 1 ? '' : 's'}`;
}

export const DATASET_FORMATS = ['kaggle', 'npz', 'csv', 'fonts', 'cifar10'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];
export const DATASET_FORMAT_CHOICES = ['auto', ...DATASET_FORMATS] as const;
export const SAMPLER_NAMES = ['ddim', 'ddpm'] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];
export const EXPORT_FORMATS = ['sheet', 'png', 'svg', 'otf'] as const;

/** How glyphs are drawn from a model. */
export interface SampleOptions {
  sampler: SamplerName;
  /** Denoising steps: DDPM's full chain is T−1 (999); DDIM is meant for few (e.g. 50). */
  steps: number;
  /** Guidance scale s in ε_u + s(ε_c − ε_u); 1 is plain conditional sampling. */
  cfg: number;
  seed: number;
  /** DDIM's η (0: deterministic). DDPM ignores it. */
  eta: number;
  /**
   * A style model's guidance on style, s_s in ε_∅∅ + s·(ε_c∅ − ε_∅∅) + s_s·(ε_cs − ε_c∅) (s is
   * `cfg`, on the letter); default: the same as `cfg`, which needs no third branch.
   */
  styleCfg?: number;
}

/**
 * Where a style model's drawing takes its style: a new style invented from a seed (one seed, one
 * font), the style of given glyphs (a font to finish: class name → base64 of its size×size uint8
 * glyph, white on black), a point between two styles, or none (each letter on its own, as a
 * letter-only model draws).
 */
export type StyleSpec =
  | { kind: 'invented'; seed: number }
  | { kind: 'glyphs'; glyphs: Record<string, string> }
  | { kind: 'blend'; from: StyleSpec; to: StyleSpec; t: number }
  | { kind: 'none' };

/** The one set of sampling defaults: the studio's Generate, `fontloom sample`, sheets and evaluations. */
export const DEFAULT_SAMPLE: Readonly<SampleOptions> = { sampler: 'ddim', steps: 50, cfg: 3, seed: 0, eta: 0 };

/**
 * How far completing a font noises its start (the nearest training font's letters, reshaped to the
 * given ones: jobs/nearest-font.ts) before redrawing them in the given letters' style: to the first
 * timestep whose noise covers COMPLETION_COVER times the start's error on the given letters
 * (engine/diffusion.ts: strengthFor), so a near match is touched up and a distant one redrawn from
 * further back. Chosen on the default model with `scripts/tune-completion.ts --from 12 --fonts 24
 * --strengths a0.5,a1,a2`, on the 24 held-out fonts that `fontloom eval --style` does not score:
 * IoU 0.700, 0.695 and 0.690 for covers 0.5, 1 and 2 (style 0.96 for each), against 0.702 for the
 * reshaped start itself and 0.659 for the retrieval baseline.
 */
export const COMPLETION_COVER = 0.5;

/** Steps of a sampler's chain when none are asked for: DDIM's default, or DDPM's every step. */
export function defaultSamplerSteps(sampler: SamplerName): number {
  return sampler === 'ddpm' ? 999 : DEFAULT_SAMPLE.steps;
}

export type { PresetName, Recipe };

/** A preset as the studio shows it: its network, training defaults and recipe, measured. */
export interface PresetInfo extends Preset {
  /** Parameters of the UNet for 1 channel and 26 classes. */
  params: number;
  /** e.g. "v-prediction, cosine schedule, Min-SNR-5" */
  recipeText: string;
}

export interface StudioInfo {
  version: string;
  home: string;
  /** The backend `auto` picks here, with its adapter, e.g. "wasm: XNNPACK (SIMD), one thread per engine". */
  backend: string;
  /** The processor cores training may use here. */
  cores: number;
  /** Where the studio runs: the Electron window or a browser against the local server. */
  mode: 'electron' | 'browser' | 'cli';
  presets: PresetInfo[];
}

export interface Dataset {
  id: string;
  name: string;
  format: DatasetFormat | 'default';
  /** Number of glyphs (images). */
  count: number;
  classes: number;
  classNames: string[];
  /** Groups of glyphs the dataset holds; fonts only where `fontsKnown`. */
  fonts: number;
  /**
   * Whether the dataset says which glyphs share a font. A CSV without a font column (or an npz
   * whose labels do not run A..Z in blocks) makes each glyph its own group, and CIFAR-10's groups
   * are batches of photos: such a dataset is previewed glyph by glyph and cannot train a style model.
   */
  fontsKnown: boolean;
  height: number;
  width: number;
  channels: number;
  source: string;
  created: string;
  notes: string[];
}

/** The settings a run trains with, as stored (every default filled in): the engine's, and the run's own. */
export interface RunConfig extends TrainConfig {
  sampleEvery: number;
  checkpointEvery: number;
  backend: (typeof BACKEND_CHOICES)[number];
  threads: number;
  /** Legibility, glyph FID and diversity every this many steps, at a checkpoint (0: on demand only). */
  evalEvery?: number;
}

export interface Run {
  id: string;
  name: string;
  status: RunStatus;
  step: number;
  steps: number;
  preset: string;
  /** Dataset id (null once the dataset was deleted). */
  dataset: string | null;
  datasetName: string;
  /** Backend and adapter the run trained on last, e.g. "wasm: XNNPACK (SIMD), 2 threads". */
  backend: string | null;
  created: string;
  updated: string;
  /** Mean training loss over the last steps. */
  trainLoss: number | null;
  bestVal: number | null;
  /** Step of the last checkpoint: where a resume continues. */
  checkpointStep: number;
  error: string | null;
  config: RunConfig;
}

export interface StepEstimate {
  preset: string;
  batch: number;
  /** Measured here: the mean of a few training steps after a warm-up step. */
  secondsPerStep: number;
  /** Backend and adapter measured on, e.g. "wasm: XNNPACK (SIMD), one thread per engine, 2 threads". */
  backend: string;
}

export interface Metric {
  step: number;
  loss: number;
  lr: number;
  val: number | null;
}

/** A run's quality at one step: legibility, glyph FID and diversity (eval/metrics.ts), and the whole report. */
export interface Evaluation {
  run: string;
  step: number;
  weights: 'model' | 'ema';
  /** Share of generated glyphs the dataset's letter classifier reads as the letter asked for. */
  legibility: number;
  /** Fréchet distance of classifier features to real held-out glyphs (dataset-specific; lower is closer). */
  fid: number | null;
  /** Mean pairwise distance among glyphs of one letter (0: collapsed). */
  diversity: number | null;
  created: string;
  report: unknown;
}

export interface Sheet {
  step: number;
  which: 'model' | 'ema';
}

/** A PNG, base64-encoded, ready for `data:image/png;base64,` */
export interface Png {
  png: string;
  width: number;
  height: number;
}

export interface Generation {
  id: string;
  run: string;
  step: number;
  sampler: (typeof SAMPLER_NAMES)[number];
  steps: number;
  cfg: number;
  seed: number;
  ema: boolean;
  classNames: string[];
  /** Per class, the seed its glyph was drawn with (re-rolls change one). */
  seeds: number[];
  /**
   * A style model's style: how it was chosen, the letters given (kept as given, for a completed
   * font), and how far its code lies from the nearest training font's. Null: each letter on its
   * own (a letter-only model, or a style model asked for none).
   */
  style: GenerationStyle | null;
  sheet: Png;
  /** One image per class, for the screen: `size` pixels square, or half that where `size` is 128 (exports keep 128). */
  glyphs: Png[];
  /**
   * Pixels per glyph side as shown and exported: the model's own (32), or 128 where the run has
   * the default dataset's upsampler, which draws the model's glyphs four times finer.
   */
  size: number;
  /** The model's own size, where the glyphs were upsampled from it; null where they were not. */
  upsampledFrom: number | null;
  seconds: number;
}

export interface GenerationStyle {
  kind: StyleInput['kind'];
  /** Words for it: "new style (seed 7)", "from H, A, M (3 letters)", "30% from seed 1 to seed 2". */
  description: string;
  given: string[];
  nearestTrainingFont: { fontId: number; distance: number } | null;
  /**
   * A completed font's starting point: the training font whose letters were redrawn in the given
   * letters' style, and how its letters were first reshaped to the given ones' proportions.
   */
  startedFrom?: { fontId: number; font: string; warp: GlyphWarp };
}

/** How a glyph is reshaped (data/glyph-warp.ts); the identity is IDENTITY_WARP. */
export interface GlyphWarp {
  /** Horizontal shift per pixel of height above the ink's centre (positive leans right). */
  slant: number;
  /** Horizontal scale about the ink's centre. */
  width: number;
  /** Vertical scale about the ink's centre. */
  height: number;
  /** Stroke weight change in pixels of the cell: each edge moves out by half of it (negative thins). */
  weight: number;
}

export const IDENTITY_WARP: Readonly<GlyphWarp> = { slant: 0, width: 1, height: 1, weight: 0 };

/** A warp in a type designer's words, "slanted 8° right, 10% wider, bolder", or "" for none. */
export function describeWarp(w: GlyphWarp): string {
  const parts: string[] = [];
  const degrees = Math.round((Math.atan(w.slant) * 180) / Math.PI);
  if (degrees !== 0) parts.push(`slanted ${Math.abs(degrees)}° ${degrees > 0 ? 'right' : 'left'}`);
  const percent = (scale: number, more: string, less: string) => {
    const p = Math.round((scale - 1) * 100);
    if (p !== 0) parts.push(`${Math.abs(p)}% ${p > 0 ? more : less}`);
  };
  percent(w.width, 'wider', 'narrower');
  percent(w.height, 'taller', 'shorter');
  if (Math.abs(w.weight) >= 0.1) parts.push(w.weight > 0 ? 'bolder' : 'lighter');
  return parts.join(', ');
}

/** A style as the studio asks for it: letter images (PNG, JPEG or WebP, base64) where a font is finished. */
export type StyleInput =
  | { kind: 'invented'; seed: number }
  | { kind: 'letters'; letters: { name: string; data: string }[] }
  /** A font file (TTF, OTF, WOFF; base64); `letters` picks which of its capitals are given. */
  | { kind: 'font'; name: string; data: string; letters?: string }
  | { kind: 'blend'; from: StyleInput; to: StyleInput; t: number }
  | { kind: 'none' };

/**
 * A dataset at a glance: a grid of its glyphs, one column per class and one row per font (or,
 * where fonts are unknown, the first, second, … glyph of each class), as a PNG of the glyphs
 * alone; the studio writes the labels beside it, at a size people read.
 */
export interface DatasetPreview extends Png {
  by: 'font' | 'glyph';
  /** Rows drawn, and how many there are: fonts, or the most glyphs any class has. */
  shown: number;
  of: number;
  /** Each column's class name. */
  columns: string[];
  /** Each row's font, by name; null when rows are not fonts. */
  rows: string[] | null;
  /** Where the cells lie in the PNG: `gap` pixels around and between cells of cellWidth × cellHeight. */
  gap: number;
  cellWidth: number;
  cellHeight: number;
}

/** Whether a dataset can train a style model, and if not, why. */
export type DatasetStyle = { ok: true; fonts: number } | { ok: false; reason: string };

export interface ExportResult {
  /** This export, for its download (`downloadPath`). */
  id: string;
  /** The folder written (or the one file, for a sheet or a font). */
  path: string;
  /** Every file written, a font's specimen included. */
  files: string[];
  /** A zip of the same files, when asked for. */
  zip: string | null;
  /** A font's specimen, beside it: `X.otf` → `X.specimen.png` (`exportSpecimen` shows it). */
  specimen?: string;
  warnings: string[];
}

/** The pauses between a run's training steps that last long enough for a user to wonder. */
export type RunActivity = 'validating' | 'drawing samples' | 'saving a checkpoint' | 'measuring quality';

/** Events every client hears (IPC channel or server-sent events). */
export type FontloomEvent =
  | { type: 'run'; run: Run }
  | {
      type: 'progress';
      run: string;
      step: number;
      steps: number;
      loss: number;
      lr: number;
      val: number | null;
      /** The run's best validation so far (this step's included). */
      bestVal: number | null;
      imagesPerSecond: number;
      etaSeconds: number;
    }
  /** What a training run does after a step, while its counter stands still; that step's progress event ends it. */
  | { type: 'activity'; run: string; step: number; doing: RunActivity }
  | { type: 'sheet'; run: string; step: number; which: 'model' | 'ema' }
  | { type: 'eval'; run: string; step: number }
  | { type: 'import'; job: string; phase: string; done: number; total: number | null }
  /** Denoising steps of a drawing (generate, reroll) that asked to be followed by its `job`. */
  | { type: 'draw'; job: string; done: number; total: number }
  | { type: 'datasets' };

const id = z.string().min(1).max(200);
const drawJob = z.string().min(1).max(100).optional();
/** A whole number from `min` to `max`: bounds that no run can need to exceed keep 1e308 out. */
const wholeIn = (min: number, max: number) => z.number().int().min(min).max(max);

/** The largest values a run may ask for. */
export const RUN_LIMITS = { steps: 10_000_000, epochs: 10_000, batch: 4096, every: 10_000_000, seed: 2 ** 31 - 1 } as const;

/** What a user may set for a run (everything else is its preset's); createRun adds where and what to call it. */
const runSettings = z.object({
  preset: z.enum(PRESET_NAMES),
  steps: wholeIn(1, RUN_LIMITS.steps).optional(),
  epochs: z.number().positive().max(RUN_LIMITS.epochs).optional(),
  batch: wholeIn(1, RUN_LIMITS.batch).optional(),
  lr: z.number().positive().max(1).optional(),
  emaBeta: z.number().min(0).max(1).optional(),
  cfgDropout: z.number().min(0).max(1).optional(),
  sampleEvery: wholeIn(0, RUN_LIMITS.every).optional(),
  valEvery: wholeIn(0, RUN_LIMITS.every).optional(),
  checkpointEvery: wholeIn(0, RUN_LIMITS.every).optional(),
  evalEvery: wholeIn(0, RUN_LIMITS.every).optional(),
  seed: wholeIn(0, RUN_LIMITS.seed).optional(),
  backend: z.enum(BACKEND_CHOICES).optional(),
  threads: z.number().int().min(1).max(2).optional(),
  schedule: z.enum(SCHEDULE_KINDS).optional(),
  prediction: z.enum(PREDICTIONS).optional(),
  weighting: z.enum(WEIGHTINGS).optional(),
  /** Min-SNR's γ; only with Min-SNR weighting (the preset's or asked for). */
  snrGamma: z.number().positive().max(1000).optional(),
  /** A style-conditioned model: letter and style (read from other letters of a font). */
  style: z.boolean().optional(),
});

/** Checks across a run's fields; they name the fields as {field}, which the CLI writes as its flags. */
function checkRunSettings(run: z.infer<typeof runSettings>, ctx: z.RefinementCtx): void {
  if (run.steps !== undefined && run.epochs !== undefined) ctx.addIssue({ code: 'custom', message: 'give {steps} or {epochs}, not both' });
  const weighting = run.weighting ?? PRESETS[run.preset].recipe.weighting;
  if (run.snrGamma !== undefined && weighting !== 'min-snr') {
    ctx.addIssue({ code: 'custom', message: `{snrGamma} is Min-SNR's γ, but this run weighs its loss with plain ${weighting}: add {weighting} min-snr` });
  }
}

/** A run's settings, checked: what `fontloom train` parses its flags with (createRun's check less the dataset). */
export const RUN_SETTINGS = runSettings.superRefine(checkRunSettings);
export type RunSettings = z.output<typeof RUN_SETTINGS>;

/** A letter image as sent: the letter in its name ("A.png" or "A"), the image base64 (≤ 10 MB). */
const letterImage = z.object({ name: z.string().min(1).max(200), data: z.string().min(1).max(14_000_000) });
const styleInput: z.ZodType<StyleInput> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('invented'), seed: wholeIn(0, RUN_LIMITS.seed) }),
    z.object({ kind: z.literal('letters'), letters: z.array(letterImage).min(1).max(26) }),
    z.object({ kind: z.literal('font'), name: z.string().min(1).max(200), data: z.string().min(1).max(14_000_000), letters: z.string().max(26).optional() }),
    z.object({ kind: z.literal('blend'), from: styleInput, to: styleInput, t: z.number().min(0).max(1) }),
    z.object({ kind: z.literal('none') }),
  ]),
);

export const inputs = {
  info: z.object({}),
  listDatasets: z.object({}),
  importDataset: z.object({
    path: z.string().min(1),
    name: z.string().min(1).max(100).optional(),
    format: z.enum(DATASET_FORMAT_CHOICES).optional(),
    /** Chosen by the client so it can follow `import` events of this import. */
    job: z.string().max(100).optional(),
  }),
  /** `rows`: fonts shown, or where fonts are unknown, glyphs of each class. */
  previewDataset: z.object({ id, rows: z.coerce.number().int().min(1).max(64).optional() }),
  deleteDataset: z.object({ id }),
  /** Whether the dataset can train a style model (it must know which glyphs share a font). */
  datasetStyle: z.object({ id }),
  listRuns: z.object({}),
  createRun: runSettings.extend({ name: z.string().max(100).optional(), dataset: id }).superRefine(checkRunSettings),
  /** Measures a training step of a preset on this machine, in a process of its own (seconds). */
  estimateStep: z.object({
    preset: z.enum(PRESET_NAMES),
    batch: wholeIn(1, RUN_LIMITS.batch).optional(),
    backend: z.enum(BACKEND_CHOICES).default('auto'),
    /** Engines (wasm/cpu); by default what a run of this preset would train on. */
    threads: z.number().int().min(1).max(2).optional(),
  }),
  getRun: z.object({ id }),
  pauseRun: z.object({ id }),
  resumeRun: z.object({ id }),
  stopRun: z.object({ id }),
  deleteRun: z.object({ id }),
  runMetrics: z.object({ id, since: z.coerce.number().int().min(0).optional() }),
  runSheets: z.object({ id }),
  sheetImage: z.object({ id, step: z.coerce.number().int().min(0), which: z.enum(['model', 'ema']) }),
  sheetGlyphs: z.object({ id, step: z.coerce.number().int().min(0), which: z.enum(['model', 'ema']) }),
  /** Measures the run's last checkpoint (about a minute for `tiny` on a CPU at 2 per class). */
  evaluateRun: z.object({
    id,
    perClass: z.number().int().min(1).max(20).default(2),
    ema: z.boolean().default(true),
    baselines: z.boolean().default(false),
  }),
  runEvals: z.object({ id }),
  generate: z.object({
    id,
    sampler: z.enum(SAMPLER_NAMES).default(DEFAULT_SAMPLE.sampler),
    steps: z.number().int().min(1).max(999).default(DEFAULT_SAMPLE.steps),
    cfg: z.number().min(0).max(20).default(DEFAULT_SAMPLE.cfg),
    seed: z.number().int().min(0).default(DEFAULT_SAMPLE.seed),
    ema: z.boolean().default(true),
    /** A style model's style; default: a new style from `seed` (one seed, one font). */
    style: styleInput.optional(),
    /** A style model's guidance on style; default: `cfg`. */
    styleCfg: z.number().min(0).max(20).optional(),
    /** Chosen by the client so it can follow `draw` events of this drawing. */
    job: drawJob,
  }),
  reroll: z.object({ generation: id, class: z.number().int().min(0), seed: z.number().int().min(0), job: drawJob }),
  /** Traced outlines of a generation, one SVG per class, for a preview over the bitmaps. */
  outlines: z.object({ generation: id, threshold: z.number().min(1).max(254).optional() }),
  exportGeneration: z.object({
    generation: id,
    format: z.enum(EXPORT_FORMATS),
    /** Glyph PNG sizes in pixels (32 is the model's own). */
    sizes: z.array(z.number().int().min(8).max(1024)).max(8).optional(),
    zip: z.boolean().optional(),
    threshold: z.number().min(1).max(254).optional(),
    /** Font family name (OTF). */
    family: z.string().max(200).optional(),
    /** Where to write; default: the run's exports folder. */
    out: z.string().optional(),
  }),
  /** A font export's specimen (`ExportResult.specimen`), as the studio shows it. */
  exportSpecimen: z.object({ id }),
} as const;

export type Method = keyof typeof inputs;
export type Input<M extends Method> = z.input<(typeof inputs)[M]>;
export type ParsedInput<M extends Method> = z.output<(typeof inputs)[M]>;

export interface Outputs {
  info: StudioInfo;
  listDatasets: Dataset[];
  /** The dataset, and what the given files were read as; `existing`: their glyphs were imported before, as `dataset`. */
  importDataset: { dataset: Dataset; existing: boolean; readAs: DatasetFormat };
  previewDataset: DatasetPreview;
  deleteDataset: { deleted: string };
  datasetStyle: DatasetStyle;
  listRuns: Run[];
  createRun: Run;
  getRun: Run;
  estimateStep: StepEstimate;
  pauseRun: Run;
  resumeRun: Run;
  stopRun: Run;
  deleteRun: { deleted: string };
  runMetrics: Metric[];
  runSheets: Sheet[];
  sheetImage: Png;
  /** A sheet's glyphs side by side with no text (`strip`), and each one's letter; null for a sheet not laid out as a run's. */
  sheetGlyphs: { strip: Png; labels: string[] } | null;
  evaluateRun: Evaluation;
  runEvals: Evaluation[];
  generate: Generation;
  reroll: Generation;
  /** `threshold`: the ink level traced at (the one asked for, or the font's own). */
  outlines: { svg: string[]; warnings: string[]; threshold: number };
  exportGeneration: ExportResult;
  exportSpecimen: Png;
}

/** What every binding offers: one call per method, and events. */
export interface FontloomApi {
  call<M extends Method>(method: M, input: Input<M>): Promise<Outputs[M]>;
  /** Returns a function that stops listening. */
  on(listener: (event: FontloomEvent) => void): () => void;
}

/** How each method travels over HTTP; `:id`-style parts are filled from the input. */
export const ROUTES: Record<Method, { verb: 'GET' | 'POST' | 'DELETE'; path: string }> = {
  info: { verb: 'GET', path: '/api/info' },
  listDatasets: { verb: 'GET', path: '/api/datasets' },
  importDataset: { verb: 'POST', path: '/api/datasets' },
  previewDataset: { verb: 'GET', path: '/api/datasets/:id/preview' },
  deleteDataset: { verb: 'DELETE', path: '/api/datasets/:id' },
  datasetStyle: { verb: 'GET', path: '/api/datasets/:id/style' },
  listRuns: { verb: 'GET', path: '/api/runs' },
  createRun: { verb: 'POST', path: '/api/runs' },
  getRun: { verb: 'GET', path: '/api/runs/:id' },
  estimateStep: { verb: 'POST', path: '/api/estimate' },
  pauseRun: { verb: 'POST', path: '/api/runs/:id/pause' },
  resumeRun: { verb: 'POST', path: '/api/runs/:id/resume' },
  stopRun: { verb: 'POST', path: '/api/runs/:id/stop' },
  deleteRun: { verb: 'DELETE', path: '/api/runs/:id' },
  runMetrics: { verb: 'GET', path: '/api/runs/:id/metrics' },
  runSheets: { verb: 'GET', path: '/api/runs/:id/sheets' },
  sheetImage: { verb: 'GET', path: '/api/runs/:id/sheets/:step/:which' },
  sheetGlyphs: { verb: 'GET', path: '/api/runs/:id/sheets/:step/:which/glyphs' },
  evaluateRun: { verb: 'POST', path: '/api/runs/:id/evaluate' },
  runEvals: { verb: 'GET', path: '/api/runs/:id/evals' },
  generate: { verb: 'POST', path: '/api/runs/:id/generate' },
  reroll: { verb: 'POST', path: '/api/generations/:generation/reroll' },
  outlines: { verb: 'POST', path: '/api/generations/:generation/outlines' },
  exportGeneration: { verb: 'POST', path: '/api/generations/:generation/export' },
  exportSpecimen: { verb: 'GET', path: '/api/exports/:id/specimen' },
};

/**
 * The header that carries this launch's key with every HTTP request (a page opened from the
 * address `fontloom serve` prints carries it as a cookie instead).
 */
export const TOKEN_HEADER = 'x-fontloom-token';

/**
 * Where a browser fetches an export's file (the font, the sheet, or a folder's zip): in browser
 * mode the files are written on the server's side, and this brings them to the user's.
 */
export function downloadPath(exportId: string): string {
  return `/api/exports/${encodeURIComponent(exportId)}/download`;
}

/** Where a browser opens a font export's specimen, the PNG itself, to view it at full size in a tab of its own. */
export function specimenImagePath(exportId: string): string {
  return `/api/exports/${encodeURIComponent(exportId)}/specimen.png`;
}

/** Browser mode only: files dropped or picked are uploaded here before `importDataset`. */
export const UPLOAD_ROUTE = '/api/uploads';
export const EVENTS_ROUTE = '/api/events';

/** The error every binding reports: a message written for the user, and its kind. */
export interface ApiErrorBody {
  error: string;
  code: 'invalid-input' | 'not-found' | 'user' | 'unauthorized' | 'internal';
  /** The setting the fix lies in, when it lies in one: the studio opens its control. */
  setting?: Setting;
}

export type { Setting };

/** Where the studio's controls for the import settings are, as its messages point to them ("choose its format under Import options"). */
export const STUDIO_SETTING_NAMES: SettingNames = { format: 'under Import options', name: 'under Import options' };
