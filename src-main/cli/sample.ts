// `fontloom sample`: an A–Z sheet from a run's latest checkpoint.
import { initBackend, type BackendChoice } from '../engine/backend.ts';
import { modelFromCheckpoint, readCheckpoint } from '../engine/checkpoint.ts';
import { sampleImages } from '../engine/sample.ts';
import { makeSchedule } from '../engine/schedule.ts';
import type { SamplerName } from '../engine/samplers.ts';
import { UserError } from '../errors.ts';
import { writeSheet } from '../export/sheet.ts';
import { fontloomHome } from '../home.ts';
import { checkpointPath, loadRun } from '../jobs/run.ts';
import { existsSync } from 'node:fs';

export async function runSample(opts: {
  run: string;
  out: string;
  ema?: boolean;
  sampler: SamplerName;
  steps?: number;
  cfg: number;
  eta: number;
  seed: number;
  backend: BackendChoice;
}): Promise<void> {
  const home = fontloomHome();
  const record = await loadRun(home, opts.run);
  const file = checkpointPath(home, record.id);
  if (!existsSync(file)) throw new UserError(`run ${record.id} has no checkpoint yet: train it first (fontloom resume ${record.id})`);
  if (!opts.out.toLowerCase().endsWith('.png')) throw new UserError(`--out ${opts.out}: the sheet is a PNG, name it *.png`);
  const ckpt = await readCheckpoint(file);
  const backend = await initBackend(opts.backend);
  const which = opts.ema ? 'ema' : 'model';
  const model = modelFromCheckpoint(ckpt, which);
  // The run's own recipe: the model knows its prediction (ε or v), the schedule comes from here.
  const schedule = makeSchedule(ckpt.header.config.recipe.schedule);
  const steps = opts.steps ?? (opts.sampler === 'ddpm' ? schedule.steps - 1 : 50);
  const classNames = ckpt.header.classNames;
  const started = performance.now();
  const images = await sampleImages(model, schedule, classNames.map((_, i) => i), { sampler: opts.sampler, steps, cfg: opts.cfg, eta: opts.eta, seed: opts.seed }, (done, total) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2Ksampling ${done}/${total}`);
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  model.dispose();
  const { channels, size } = ckpt.header.shape;
  const title = `${record.id} · step ${ckpt.header.step} · ${which === 'ema' ? 'EMA' : 'model'} · ${opts.sampler} ${steps}, cfg ${opts.cfg}, seed ${opts.seed}`;
  await writeSheet(opts.out, images, classNames.length, size, size, channels as 1 | 3, classNames, { title });
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`fontloom: ${opts.out} (${classNames.length} glyphs in ${seconds.toFixed(1)} s on ${backend.name}: ${backend.adapter})\n`);
}
