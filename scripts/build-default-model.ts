// Ships a trained run as the pretrained default model: data/default-model.ckpt (its EMA weights
// only), data/default-model.json (how it was trained, its curve and its evaluation) and
// data/default-model-sheet.png (its last EMA sheet).
//   npx tsx scripts/build-default-model.ts --home DIR --run ID --seconds S --command "…" [--evaluation eval.json] [--style-evaluation style.json]
import { copyFile, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src-main/atomic.ts';
import { readCheckpoint, saveWeightsOnly } from '../src-main/engine/checkpoint.ts';
import { DEFAULT_MODEL, DEFAULT_MODEL_CARD, DEFAULT_MODEL_SHEET, type ModelCard } from '../src-main/jobs/default-model.ts';
import { checkpointPath, loadRun } from '../src-main/jobs/run.ts';
import { storeFor } from '../src-main/store/store.ts';

const { values } = parseArgs({
  options: {
    home: { type: 'string' },
    run: { type: 'string' },
    seconds: { type: 'string' },
    command: { type: 'string' },
    evaluation: { type: 'string' },
    'style-evaluation': { type: 'string' },
  },
});
if (!values.home || !values.run || !values.seconds || !values.command) throw new Error('usage: --home DIR --run ID --seconds S --command "…" [--evaluation eval.json]');

const run = loadRun(values.home, values.run);
if (run.status !== 'completed') throw new Error(`run ${run.id} is ${run.status}: ship a completed run`);
const store = storeFor(values.home);
const dataset = run.dataset ? store.getDataset(run.dataset) : null;
if (!dataset) throw new Error(`run ${run.id}'s dataset is gone`);
const ckpt = await readCheckpoint(checkpointPath(values.home, run.id));
await saveWeightsOnly(ckpt, DEFAULT_MODEL, 'ema');
const sheets = store.sheets(run.id).filter((s) => s.which === 'ema');
await copyFile(sheets[sheets.length - 1].file, DEFAULT_MODEL_SHEET);
const metrics = store.metrics(run.id).filter((m) => m.step % 10 === 0 || m.val !== null);
const card: ModelCard = {
  name: 'Default model',
  description: `Fontloom's ${run.config.preset} preset trained on the embedded default dataset (${dataset.fonts} open-licensed font families, A–Z); EMA weights.`,
  dataset: { name: dataset.name, hash: dataset.hash, glyphs: dataset.count, fonts: dataset.fonts },
  config: run.config,
  step: run.step,
  sheet: run.sheet,
  training: {
    backend: run.backend ?? 'unknown',
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`,
    seconds: Number(values.seconds),
    started: run.created,
    finished: run.updated,
    command: values.command,
  },
  trainLoss: run.trainLoss,
  bestVal: run.bestVal,
  metrics,
  evaluation: values.evaluation ? JSON.parse(await readFile(values.evaluation, 'utf8')) : null,
  ...(values['style-evaluation'] && { styleEvaluation: JSON.parse(await readFile(values['style-evaluation'], 'utf8')) }),
};
await writeFileAtomic(DEFAULT_MODEL_CARD, Buffer.from(JSON.stringify(card, null, 2) + '\n'));
process.stdout.write(`wrote ${DEFAULT_MODEL}, ${DEFAULT_MODEL_CARD}, ${DEFAULT_MODEL_SHEET}\n`);
