// `fontloom demo`: from nothing to two sheets and their numbers. Registers the default dataset,
// draws a sheet from the pretrained default model, trains a fresh run for a few minutes,
// measures both with the same pipeline and says where everything is.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openRegistry } from '../data/registry.ts';
import { initBackend } from '../engine/runtime/backend.ts';
import { DEFAULT_SAMPLE, type BackendChoice } from '../contract/api.ts';
import { describeRecipe } from '../contract/presets.ts';
import { UserError } from '../errors.ts';
import type { RunMetrics } from '../eval/metrics.ts';
import { writeSheet } from '../export/sheet.ts';
import { fontloomHome } from '../home.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../jobs/default-model.ts';
import { evaluateRun } from '../jobs/evaluate-run.ts';
import { drawFromCheckpoint } from '../jobs/generate.ts';
import { checkpointPath, createRun, loadRun, runConfig, trainRun } from '../jobs/run.ts';
import { upsamplerFor } from '../jobs/upsampler.ts';
import { progressReporter } from './progress.ts';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function metricsLine(name: string, m: RunMetrics): string {
  return `  ${name.padEnd(34)}${`${(m.legibility * 100).toFixed(1)}%`.padStart(11)}${m.fid.toFixed(1).padStart(12)}${(m.diversity?.toFixed(3) ?? '—').padStart(11)}`;
}

export async function runDemo(opts: { steps: number; preset: 'micro' | 'tiny'; backend: BackendChoice }): Promise<void> {
  const home = fontloomHome();
  const registry = await openRegistry(home);
  const { record: dataset } = await registry.ensureDefault();
  say(`1. The default dataset: ${dataset.count.toLocaleString('en-US')} glyphs of A–Z from ${dataset.fonts} open-licensed font families (${dataset.id}).`);
  const pretrained = await ensureDefaultModel(home);
  if (!pretrained) throw new UserError('this build of Fontloom ships no pretrained default model (data/default-model.ckpt)');
  const backend = await initBackend(opts.backend);
  const out = join(home, 'demo');
  await mkdir(out, { recursive: true });

  const sheetOf = async (run: string, file: string, title: string) => {
    const drawn = await drawFromCheckpoint(checkpointPath(home, run), run, { ...DEFAULT_SAMPLE, ema: true, upsampler: upsamplerFor(home, loadRun(home, run)) });
    const { images, size } = drawn.large ?? drawn;
    await writeSheet(file, images, drawn.classNames.length, size, size, drawn.channels as 1 | 3, drawn.classNames, { title, scale: drawn.large ? 1 : 2 });
    return drawn;
  };
  const pretrainedSheet = join(out, 'default-model.png');
  let started = performance.now();
  await sheetOf(DEFAULT_RUN, pretrainedSheet, `Default model · ${pretrained.config.preset} · step ${pretrained.step} · DDIM 50, cfg 3`);
  say(`2. A sheet from the pretrained default model (${pretrained.config.preset}, ${pretrained.step} steps) in ${((performance.now() - started) / 1000).toFixed(1)} s: ${pretrainedSheet}`);

  const config = await runConfig({ preset: opts.preset, steps: opts.steps, valEvery: Math.max(1, Math.floor(opts.steps / 10)), sampleEvery: 0, checkpointEvery: opts.steps, backend: opts.backend }, async () => 0);
  const run = await createRun(home, { name: `demo: ${opts.preset}, ${opts.steps} steps`, data: registry.glyphsPath(dataset), dataset: dataset.id, datasetName: dataset.name, config, status: 'running', pid: process.pid });
  say(`3. Training a fresh ${opts.preset} run (${describeRecipe(config.recipe)}) for ${opts.steps} steps on ${backend.name}: ${backend.adapter} — run ${run.id}`);
  started = performance.now();
  const progress = progressReporter();
  await trainRun(home, run, { backend, threads: config.threads, onProgress: progress.update });
  progress.done();
  const trainedSheet = join(out, `fresh-${opts.preset}-${opts.steps}-steps.png`);
  await sheetOf(run.id, trainedSheet, `${run.name} · DDIM 50, cfg 3`);
  say(`   trained in ${((performance.now() - started) / 60000).toFixed(1)} min; its sheet: ${trainedSheet}`);

  say('4. Measuring both the same way (4 glyphs per letter, DDIM 50, CFG 3, EMA weights; the letter classifier is trained once per dataset)…');
  const onProgress = (m: string) => process.stderr.isTTY && process.stderr.write(`\r\x1b[2K   ${m}`);
  const mine = await evaluateRun(home, run.id, { backend, perClass: 4, weights: 'ema', baselines: true, onProgress });
  const theirs = await evaluateRun(home, DEFAULT_RUN, { backend, perClass: 4, weights: 'ema', baselines: false, onProgress });
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  say(`  ${''.padEnd(34)}${'legibility'.padStart(11)}${'glyph FID'.padStart(12)}${'diversity'.padStart(11)}`);
  say(metricsLine(`pretrained default (${pretrained.step} steps)`, theirs.report.metrics));
  say(metricsLine(`fresh ${opts.preset} (${opts.steps} steps)`, mine.report.metrics));
  if (mine.report.baselines?.real) say(metricsLine('real held-out glyphs', mine.report.baselines.real));
  if (mine.report.baselines) say(metricsLine('untrained model', mine.report.baselines.untrained));
  say(`   letter classifier: ${((mine.report.classifier.heldOutAccuracy ?? 0) * 100).toFixed(1)}% of held-out real glyphs read correctly`);
  say(`5. Both sheets are in ${out}. Open the studio with npm start, or: fontloom sample --run ${run.id} --ema --out sheet.png`);
}
