// `fontloom eval`: does a run draw the letters it is asked for? N glyphs per class from the run's
// checkpoint, read by a letter classifier trained on the run's own training fonts.
import { existsSync } from 'node:fs';
import { initBackend, type BackendChoice } from '../engine/backend.ts';
import { modelFromCheckpoint, readCheckpoint } from '../engine/checkpoint.ts';
import { sampleImages } from '../engine/sample.ts';
import { makeSchedule } from '../engine/schedule.ts';
import { legibility, trainClassifier } from '../eval/classifier.ts';
import { UserError } from '../errors.ts';
import { fontloomHome } from '../home.ts';
import { checkpointPath, loadRun, loadTrainingData } from '../jobs/run.ts';

export async function runEval(opts: { run: string; perClass: number; ema?: boolean; steps: number; cfg: number; seed: number; backend: BackendChoice; json?: boolean }): Promise<void> {
  const home = fontloomHome();
  const record = await loadRun(home, opts.run);
  const file = checkpointPath(home, record.id);
  if (!existsSync(file)) throw new UserError(`run ${record.id} has no checkpoint yet: train it first (fontloom resume ${record.id})`);
  const ckpt = await readCheckpoint(file);
  const backend = await initBackend(opts.backend);
  const data = await loadTrainingData(record.data, record.valFraction);
  const started = performance.now();
  process.stderr.write(`eval: training the letter classifier on ${data.train.length} glyphs of the run's training fonts…\n`);
  const classifier = await trainClassifier({ ...data, classes: data.classNames.length });
  const classifierSeconds = (performance.now() - started) / 1000;
  const which = opts.ema ? 'ema' : 'model';
  const model = modelFromCheckpoint(ckpt, which);
  const schedule = makeSchedule(ckpt.header.config.recipe.schedule);
  const classes = data.classNames.length;
  const asked: number[] = [];
  const chunks: Uint8Array[] = [];
  const sampleStart = performance.now();
  for (let round = 0; round < opts.perClass; round++) {
    const labels = Array.from({ length: classes }, (_, i) => i);
    chunks.push(await sampleImages(model, schedule, labels, { sampler: 'ddim', steps: opts.steps, cfg: opts.cfg, seed: opts.seed + round, eta: 0 }));
    asked.push(...labels);
    process.stderr.write(`eval: sampled ${asked.length}/${classes * opts.perClass}\n`);
  }
  model.dispose();
  const images = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((offset, c) => (images.set(c, offset), offset + c.length), 0);
  const result = await legibility(classifier, images, asked);
  classifier.dispose();
  const report = {
    run: record.id,
    step: ckpt.header.step,
    weights: which,
    recipe: ckpt.header.config.recipe,
    backend: `${backend.name}: ${backend.adapter}`,
    sampler: `ddim ${opts.steps}, cfg ${opts.cfg}`,
    glyphs: asked.length,
    legibility: Math.round(result.overall * 1000) / 1000,
    per_class: Object.fromEntries(data.classNames.map((c, i) => [c, Math.round(result.perClass[i] * 1000) / 1000])),
    classifier_held_out_accuracy: classifier.heldOutAccuracy,
    classifier_seconds: Math.round(classifierSeconds),
    sampling_seconds: Math.round((performance.now() - sampleStart) / 1000),
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  process.stdout.write(
    `run ${record.id} step ${report.step} (${which}): legibility ${(result.overall * 100).toFixed(1)}% of ${asked.length} glyphs; ` +
      `classifier reads ${classifier.heldOutAccuracy === null ? '?' : (classifier.heldOutAccuracy * 100).toFixed(1)}% of held-out real glyphs\n`,
  );
}
