// `fontloom export`: draws one glyph per class from a run's checkpoint (as `fontloom sample`
// does) and writes it as a sheet, a PNG glyph set, SVG outlines or an OTF font (with its specimen).
import { defaultEngines, initBackend } from '../engine/runtime/backend.ts';
import { type BackendChoice, type SamplerName } from '../contract/api.ts';
import type { ExportFormat } from '../export/index.ts';
import { fontloomHome } from '../home.ts';
import { drawFromCheckpoint } from '../jobs/generate.ts';
import { checkpointPath, loadRun } from '../jobs/run.ts';
import { upsamplerFor } from '../jobs/upsampler.ts';
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
  /** false (--no-upsample): export at the model's size even where the run has an upsampler. */
  upsample?: boolean;
}

export async function runExport(opts: ExportCommandOptions): Promise<void> {
  // Loaded here, not at the top: tracing and font libraries would slow every other command's start.
  const { checkExportTarget, exportGlyphs } = await import('../export/index.ts');
  const home = fontloomHome();
  if (opts.run === DEFAULT_RUN) await ensureDefaultModel(home);
  const run = loadRun(home, opts.run);
  // Refuse a bad --out before minutes of sampling, not after.
  await checkExportTarget(opts.format, opts.out, opts.zip ?? false);
  const backend = await initBackend(opts.backend, { engines: defaultEngines(run.config.preset) });
  const started = performance.now();
  const { style: fontStyle, ...drawing } = opts;
  const drawn = await drawFromCheckpoint(checkpointPath(home, run.id), run.id, {
    ...drawing,
    eta: 0, // deterministic DDIM: the same seed exports the same letters
    ema: opts.ema ?? false,
    upsampler: opts.upsample === false ? null : upsamplerFor(home, run),
    onStep: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2Ksampling ${done}/${total}`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const { images, size } = drawn.large ?? drawn;
  const result = await exportGlyphs({
    images,
    height: size,
    width: size,
    channels: drawn.channels,
    classNames: drawn.classNames,
    format: opts.format,
    out: opts.out,
    sizes: opts.sizes,
    zip: opts.zip,
    family: opts.name ?? run.name,
    style: fontStyle,
    threshold: opts.threshold,
    title: `${run.name} · step ${drawn.step} · ${opts.ema ? 'EMA' : 'model'} · ${opts.sampler} ${drawn.steps}, cfg ${opts.cfg}, seed ${opts.seed}`,
  });
  for (const warning of result.warnings) process.stderr.write(`fontloom: warning: ${warning}\n`);
  if (opts.format === 'otf') process.stderr.write('fontloom: lowercase a–z show the same glyphs as A–Z (the model draws capitals only)\n');
  const seconds = (performance.now() - started) / 1000;
  const zip = result.zip ? ` and ${result.zip}` : '';
  process.stderr.write(`fontloom: ${result.path}${zip} (${opts.format}, ${drawn.classNames.length} glyphs in ${seconds.toFixed(1)} s on ${backend.name})\n`);
  if (result.specimen) process.stderr.write(`fontloom: specimen ${result.specimen} (the font set as type, 12 to 96 pt)\n`);
}

