// `fontloom export`: draws one glyph per class from a run's checkpoint (as `fontloom sample`
// does) and writes it as a sheet, a PNG glyph set, SVG outlines or an OTF font.
import { InvalidArgumentError } from 'commander';
import { EXPORT_FORMATS } from '../api/contract.ts';
import { drawingEngines, initBackend, planEngines, type BackendChoice } from '../engine/backend.ts';
import type { SamplerName } from '../engine/samplers.ts';
import type { ExportFormat } from '../export/index.ts';
import { fontloomHome } from '../home.ts';
import { drawFromCheckpoint } from '../jobs/generate.ts';
import { checkpointPath, loadRun } from '../jobs/run.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../jobs/default-model.ts';

export interface ExportCommandOptions {
  run: string;
  format: ExportFormat;
  out: string;
  ema?: boolean;
  sampler: SamplerName;
  steps?: number;
  cfg: number;
  seed: number;
  backend: BackendChoice;
  name?: string;
  style?: string;
  sizes?: number[];
  zip?: boolean;
  threshold?: number;
}

export async function runExport(opts: ExportCommandOptions): Promise<void> {
  // Loaded here, not at the top: tracing and font libraries would slow every other command's start.
  const { checkExportTarget, exportGlyphs } = await import('../export/index.ts');
  const home = fontloomHome();
  if (opts.run === DEFAULT_RUN) await ensureDefaultModel(home);
  const run = loadRun(home, opts.run);
  // Refuse a bad --out before minutes of sampling, not after.
  await checkExportTarget(opts.format, opts.out, opts.zip ?? false);
  planEngines(drawingEngines(run.config.preset));
  const backend = await initBackend(opts.backend);
  const started = performance.now();
  const drawn = await drawFromCheckpoint(checkpointPath(home, run.id), run.id, {
    ...opts,
    eta: 0, // deterministic DDIM: the same seed exports the same letters
    ema: opts.ema ?? false,
    onStep: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2Ksampling ${done}/${total}`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const result = await exportGlyphs({
    images: drawn.images,
    height: drawn.size,
    width: drawn.size,
    channels: drawn.channels,
    classNames: drawn.classNames,
    format: opts.format,
    out: opts.out,
    sizes: opts.sizes,
    zip: opts.zip,
    family: opts.name ?? run.name,
    style: opts.style,
    threshold: opts.threshold,
    title: `${run.name} · step ${drawn.step} · ${opts.ema ? 'EMA' : 'model'} · ${opts.sampler} ${drawn.steps}, cfg ${opts.cfg}, seed ${opts.seed}`,
  });
  for (const warning of result.warnings) process.stderr.write(`fontloom: warning: ${warning}\n`);
  if (opts.format === 'otf') process.stderr.write('fontloom: lowercase a–z show the same glyphs as A–Z (the model draws capitals only)\n');
  const seconds = (performance.now() - started) / 1000;
  const zip = result.zip ? ` and ${result.zip}` : '';
  process.stderr.write(`fontloom: ${result.path}${zip} (${opts.format}, ${drawn.classNames.length} glyphs in ${seconds.toFixed(1)} s on ${backend.name})\n`);
}

export function exportFormat(value: string): ExportFormat {
  if (!(EXPORT_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown format "${value}": choose ${EXPORT_FORMATS.join(', ')}`);
  }
  return value as ExportFormat;
}

/** "32,128" → [32, 128]. */
export function pixelSizes(value: string): number[] {
  const sizes = value.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 8 || n > 1024)) {
    throw new InvalidArgumentError(`--sizes must be whole pixel sizes from 8 to 1024 separated by commas, e.g. 32,128; got "${value}"`);
  }
  return sizes;
}

export function guidanceScale(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--cfg must be a number ≥ 0, got "${value}"`);
  return n;
}

export function greyLevel(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 254) throw new InvalidArgumentError(`--threshold must be a grey level from 1 to 254, got "${value}"`);
  return n;
}
