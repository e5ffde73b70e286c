// `fontloom`: train, resume, sample, inspect and benchmark from a terminal. A mistake the user
// can fix prints one line and exits 1; nothing is written before the input has been checked.
import { Command, InvalidArgumentError } from 'commander';
import { UserError } from '../errors.ts';
import { fontloomHome } from '../home.ts';
import { BACKEND_NAMES, initBackend, isBackendChoice, type BackendChoice } from '../engine/backend.ts';
import { PRESET_NAMES, describeRecipe, getPreset } from '../engine/presets.ts';
import { PREDICTIONS, WEIGHTINGS, type Prediction, type Weighting } from '../engine/objective.ts';
import { SCHEDULE_KINDS, type ScheduleKind } from '../engine/schedule.ts';
import { defaultTrainConfig, type TrainConfig } from '../engine/train.ts';
import { runInfo } from './info.ts';
import { runBench } from './bench.ts';
import { runSample } from './sample.ts';
import { runEval } from './eval.ts';
import { createRun, listRuns, loadRun, loadTrainingData, trainRun, type RunOutcome } from '../jobs/run.ts';
import { progressReporter } from './progress.ts';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DEFAULT_NAME, openRegistry } from '../data/registry.ts';
import { datasetDeleteCommand, datasetShowCommand, datasetsCommand, formatChoice, importCommand } from './datasets.ts';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got "${value}"`);
    return n;
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${value}"`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0, got "${value}"`);
    return n;
  };
}

function threadCount(value: string): number {
  if (value !== '1' && value !== '2') throw new InvalidArgumentError(`--threads must be 1 or 2, got "${value}"`);
  return Number(value);
}

function backendChoice(value: string): BackendChoice {
  if (!isBackendChoice(value)) throw new InvalidArgumentError(`unknown backend "${value}": choose auto, ${BACKEND_NAMES.join(', ')}`);
  return value;
}

function oneOf<T extends string>(what: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown ${what} "${value}": choose ${choices.join(' or ')}`);
    return value as T;
  };
}

function presetName(value: string): string {
  if (!(PRESET_NAMES as string[]).includes(value)) throw new InvalidArgumentError(`unknown preset "${value}": choose one of ${PRESET_NAMES.join(', ')}`);
  return value;
}

/** Ctrl-C once: finish the step, checkpoint, stop (resumable). Twice: leave at once. */
function stopOnInterrupt(): () => boolean {
  let asked = false;
  process.on('SIGINT', () => {
    if (asked) process.exit(130);
    asked = true;
    process.stderr.write('\nstopping after this step (checkpointed; fontloom resume continues it); Ctrl-C again to quit now\n');
  });
  return () => asked;
}

function report(outcome: RunOutcome, json: boolean): void {
  const r = outcome.record;
  if (json) {
    process.stdout.write(
      JSON.stringify({
        run: r.id,
        status: r.status,
        steps: r.step,
        total_steps: r.config.steps,
        train_loss: outcome.trainLoss,
        val_mse: r.valMse,
        backend: r.backend,
        seconds: Math.round(outcome.seconds * 10) / 10,
      }) + '\n',
    );
    return;
  }
  const val = r.valMse !== null ? `, val MSE ${r.valMse.toFixed(4)}` : '';
  const loss = outcome.trainLoss !== null ? `, train loss ${outcome.trainLoss.toFixed(4)}` : '';
  process.stdout.write(`run ${r.id} ${r.status} at step ${r.step}/${r.config.steps}${loss}${val} on ${r.backend}\n`);
}

async function train(opts: {
  data: string;
  preset: string;
  steps?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  backend: BackendChoice;
  seed: number;
  schedule?: ScheduleKind;
  prediction?: Prediction;
  weighting?: Weighting;
  snrGamma?: number;
  valEvery?: number;
  sampleEvery?: number;
  checkpointEvery?: number;
  stopAt?: number;
  threads?: number;
  json?: boolean;
}): Promise<void> {
  if (opts.steps !== undefined && opts.epochs !== undefined) throw new UserError('give --steps or --epochs, not both');
  const preset = getPreset(opts.preset);
  const weighting = opts.weighting ?? preset.recipe.weighting;
  if (opts.snrGamma !== undefined && weighting !== 'min-snr') {
    throw new UserError(`--snr-gamma is Min-SNR's γ, but this run weighs its loss with plain ${weighting}: add --weighting min-snr`);
  }
  const batch = opts.batch ?? preset.batch;
  const source = await resolveData(opts.data);
  const data = await loadTrainingData(source.path, 0.1);
  const perEpoch = Math.floor(data.train.length / Math.min(batch, data.train.length));
  const steps = opts.steps ?? (opts.epochs !== undefined ? opts.epochs * perEpoch : 1000);
  const config: TrainConfig = defaultTrainConfig(preset.name, {
    steps,
    batch,
    seed: opts.seed,
    ...(opts.lr !== undefined && { lr: opts.lr }),
    valEvery: opts.valEvery ?? Math.max(1, Math.floor(steps / 20)),
    recipe: {
      ...(opts.schedule && { schedule: opts.schedule }),
      ...(opts.prediction && { prediction: opts.prediction }),
      ...(opts.weighting && { weighting: opts.weighting }),
      ...(opts.snrGamma !== undefined && { snrGamma: opts.snrGamma }),
    },
  });
  const backend = await initBackend(opts.backend);
  process.stderr.write(`fontloom: ${preset.name} (${describeRecipe(config.recipe)}) on ${backend.name}: ${backend.adapter}; ${data.train.length} training and ${data.val.length} held-out glyphs; ${steps} steps of batch ${Math.min(batch, data.train.length)}\n`);
  const record = await createRun(fontloomHome(), {
    data: source.path,
    dataset: source.dataset,
    config,
    sampleEvery: opts.sampleEvery,
    checkpointEvery: opts.checkpointEvery,
  });
  process.stderr.write(`fontloom: run ${record.id}\n`);
  const progress = progressReporter();
  const outcome = await trainRun(fontloomHome(), record, {
    backend,
    threads: opts.threads ?? defaultThreads(),
    onProgress: progress.update,
    stopAt: opts.stopAt,
    shouldStop: stopOnInterrupt(),
  }, data);
  progress.done();
  report(outcome, opts.json ?? false);
}

/** --data is a registered dataset's id or name ("default" registers the embedded one), or a .glyphs file. */
async function resolveData(data: string): Promise<{ path: string; dataset?: string }> {
  const registry = await openRegistry(fontloomHome());
  if (data === DEFAULT_NAME && !(await registry.list()).some((d) => d.name === DEFAULT_NAME)) await registry.ensureDefault();
  const known = (await registry.list()).find((d) => d.id === data || d.name === data);
  if (known) return { path: registry.glyphsPath(known), dataset: known.id };
  if (existsSync(data)) return { path: data };
  if (/[\\/]|\.glyphs(\.gz)?$/.test(data)) throw new UserError(`${data} does not exist`);
  await registry.find(data); // throws, naming the datasets there are
  throw new UserError(`no dataset or file "${data}"`);
}

/** wasm and cpu engines run one thread each: a second one (a gradient worker) uses a second core. */
function defaultThreads(): number {
  return Math.min(2, availableParallelism());
}

async function resume(id: string, opts: { backend: BackendChoice; stopAt?: number; threads?: number; json?: boolean }): Promise<void> {
  const home = fontloomHome();
  const record = await loadRun(home, id);
  if (record.status === 'completed') throw new UserError(`run ${id} is already complete (${record.step}/${record.config.steps} steps)`);
  const backend = await initBackend(opts.backend);
  const progress = progressReporter();
  const outcome = await trainRun(home, record, {
    backend,
    threads: opts.threads ?? defaultThreads(),
    onProgress: progress.update,
    stopAt: opts.stopAt,
    shouldStop: stopOnInterrupt(),
    onStart: (step) => process.stderr.write(`fontloom: resuming ${id} at step ${step}/${record.config.steps} on ${backend.name}: ${backend.adapter}\n`),
  });
  progress.done();
  report(outcome, opts.json ?? false);
}

async function runs(opts: { json?: boolean }): Promise<void> {
  const records = await listRuns(fontloomHome());
  if (opts.json) {
    process.stdout.write(JSON.stringify(records) + '\n');
    return;
  }
  if (records.length === 0) process.stdout.write(`no runs yet in ${fontloomHome()}\n`);
  for (const r of records) {
    const val = r.valMse !== null ? ` val ${r.valMse.toFixed(4)}` : '';
    process.stdout.write(`${r.id}  ${r.status.padEnd(9)} ${r.config.preset.padEnd(9)} step ${r.step}/${r.config.steps}${val}  ${r.data}\n`);
  }
}

async function start(): Promise<void> {
  const registry = await openRegistry(fontloomHome());
  const { record, existing } = await registry.ensureDefault();
  if (!existing) process.stdout.write(`Registered the default dataset: ${record.count.toLocaleString('en-US')} glyphs from ${record.fonts} font families (${record.id}).\n`);
  const backend = await initBackend('auto');
  process.stdout.write(
    `Fontloom ${process.env.npm_package_version ?? ''} — engine ready on ${backend.name}: ${backend.adapter}.\n` +
      'The studio window (Electron) and its browser mode are not built yet; meanwhile the engine works from this command:\n' +
      '  npx fontloom train --data default --preset tiny\n  npx fontloom sample --run RUN --out sheet.png\n  npx fontloom --help\n',
  );
}

export function buildProgram(): Command {
  const program = new Command('fontloom')
    .description('Train letter-conditioned diffusion models and draw glyph sheets with them.')
    .showHelpAfterError(false)
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'fontloom: ')) });

  program
    .command('info')
    .description("a preset's network and parameter count")
    .option('--preset <name>', 'preset', presetName)
    .option('--channels <n>', 'image channels (1 for glyphs, 3 for CIFAR-10)', positiveInt('--channels'), 1)
    .option('--classes <n>', 'number of classes', positiveInt('--classes'), 26)
    .option('--size <n>', 'image size in pixels', positiveInt('--size'), 32)
    .option('--json', 'JSON output')
    .action(runInfo);

  program
    .command('train')
    .description('train a new run on a glyph set')
    .requiredOption('--data <dataset>', 'a dataset id or name (fontloom datasets; "default" for the embedded one) or a .glyphs file')
    .option('--preset <name>', `preset: ${PRESET_NAMES.join(', ')}`, presetName, 'tiny')
    .option('--steps <n>', 'optimizer steps (default 1000)', positiveInt('--steps'))
    .option('--epochs <n>', 'passes over the training fonts, instead of --steps', positiveInt('--epochs'))
    .option('--batch <n>', "batch size (default: the preset's)", positiveInt('--batch'))
    .option('--lr <x>', 'peak learning rate (OneCycle)', positiveNumber('--lr'))
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .option('--seed <n>', 'seed for weights, batches and noise', nonNegativeInt('--seed'), 0)
    .option('--schedule <kind>', `noise schedule: ${SCHEDULE_KINDS.join(' or ')} (default: the preset's)`, oneOf('schedule', SCHEDULE_KINDS))
    .option('--prediction <target>', `what the network predicts: ${PREDICTIONS.join(' or ')} (default: the preset's)`, oneOf('prediction', PREDICTIONS))
    .option('--weighting <w>', `loss weighting: ${WEIGHTINGS.join(' or ')} (default: the preset's)`, oneOf('weighting', WEIGHTINGS))
    .option('--snr-gamma <g>', "Min-SNR's γ (default 5)", positiveNumber('--snr-gamma'))
    .option('--val-every <n>', 'validation MSE every N steps (default: 20 times a run)', positiveInt('--val-every'))
    .option('--sample-every <n>', 'A–Z sheets (model and EMA) every N steps; 0: only at the end', nonNegativeInt('--sample-every'))
    .option('--checkpoint-every <n>', 'checkpoint every N steps (default 500)', positiveInt('--checkpoint-every'))
    .option('--stop-at <step>', 'stop (checkpointed, resumable) at this step', positiveInt('--stop-at'))
    .option('--threads <n>', 'wasm/cpu: 1, or 2 to share each batch with a gradient worker (default: 2 where there are 2 cores)', threadCount)
    .option('--json', 'final result as one JSON line on stdout')
    .action(train);

  program
    .command('resume')
    .description('continue a stopped or interrupted run from its checkpoint')
    .argument('<run>', 'run id')
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .option('--stop-at <step>', 'stop again (checkpointed) at this step', positiveInt('--stop-at'))
    .option('--threads <n>', 'wasm/cpu: 1, or 2 to share each batch with a gradient worker (default: 2 where there are 2 cores)', threadCount)
    .option('--json', 'final result as one JSON line on stdout')
    .action(resume);

  program
    .command('sample')
    .description("draw an A–Z sheet from a run's checkpoint")
    .requiredOption('--run <id>', 'run id')
    .requiredOption('--out <file.png>', 'where to write the sheet')
    .option('--ema', 'use the EMA weights')
    .option('--sampler <name>', 'ddim or ddpm', (v) => {
      if (v !== 'ddim' && v !== 'ddpm') throw new InvalidArgumentError(`unknown sampler "${v}": choose ddim or ddpm`);
      return v;
    }, 'ddim')
    .option('--steps <n>', 'denoising steps (default: 50 for ddim, 999 for ddpm)', positiveInt('--steps'))
    .option('--cfg <s>', 'classifier-free guidance scale', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--cfg must be a number ≥ 0, got "${v}"`);
      return n;
    }, 3)
    .option('--eta <x>', "DDIM's η (0: deterministic)", (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`--eta must be between 0 and 1, got "${v}"`);
      return n;
    }, 0)
    .option('--seed <n>', 'noise seed', nonNegativeInt('--seed'), 0)
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .action(runSample);

  program
    .command('eval')
    .description("legibility of a run's letters: the share a letter classifier reads as the letter asked for")
    .requiredOption('--run <id>', 'run id')
    .option('--per-class <n>', 'glyphs generated per class', positiveInt('--per-class'), 4)
    .option('--ema', 'use the EMA weights')
    .option('--steps <n>', 'DDIM steps', positiveInt('--steps'), 50)
    .option('--cfg <s>', 'classifier-free guidance scale', positiveNumber('--cfg'), 3)
    .option('--seed <n>', 'noise seed', nonNegativeInt('--seed'), 0)
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .option('--json', 'JSON output')
    .action(runEval);

  program.command('runs').description('list runs').option('--json', 'JSON output').action(runs);

  program
    .command('import')
    .description('import a dataset: a Kaggle letters folder or zip, an .npz, a CSV of pixels, font files, or CIFAR-10')
    .argument('[path]', 'file or folder')
    .option('--format <f>', 'auto, kaggle, npz, csv, fonts or cifar10', formatChoice, 'auto')
    .option('--name <name>', 'a name for the dataset')
    .option('--default', 'register the embedded default dataset')
    .option('--json', 'the result as one JSON line')
    .action(importCommand);

  program.command('datasets').description('list imported datasets').option('--json', 'JSON output').action(datasetsCommand);

  const dataset = program.command('dataset').description('one dataset');
  dataset
    .command('show')
    .argument('<id>', 'dataset id or name')
    .option('--sheet <file.png>', 'write a preview grid: fonts × classes')
    .option('--fonts <n>', 'fonts in the preview', positiveInt('--fonts'), 8)
    .option('--json', 'JSON output')
    .action(datasetShowCommand);
  dataset.command('delete').argument('<id>', 'dataset id or name').action(datasetDeleteCommand);

  program
    .command('bench')
    .description('training and forward speed per backend')
    .option('--backend <name>', `one backend (default: every one that works here): ${BACKEND_NAMES.join(', ')}`, backendChoice)
    .option('--preset <name>', 'preset', presetName, 'tiny')
    .option('--batch <n>', 'batch size', positiveInt('--batch'), 32)
    .option('--steps <n>', 'timed steps per measurement', positiveInt('--steps'), 3)
    .option('--threads <n>', 'training threads for wasm/cpu: 1 or 2 (default: 2 where there are 2 cores)', threadCount)
    .option('--sheets', 'also time an A–Z sheet with DDIM 50 (whole) and DDPM 999 (10 steps, scaled)')
    .option('--profile <file.json>', 'write per-kernel times of one training step and one forward pass')
    .option('--json', 'JSON output')
    .action(runBench);

  program.command('start').description('open the studio').action(start);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
    process.exit(0);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exit(0);
    if (code?.startsWith('commander.')) process.exit(1);
    const message = err instanceof UserError ? err.message : `${(err as Error).message ?? err}`;
    process.stderr.write(`fontloom: ${message}\n`);
    if (!(err instanceof UserError) && process.env.FONTLOOM_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  }
}

await main();
