// `fontloom`: train, resume, sample, inspect and benchmark from a terminal. A mistake the user
// can fix prints one line and exits 1; nothing is written before the input has been checked.
// Each command's module loads when the command runs, so `fontloom datasets` starts no engine.
import { Command } from 'commander';
import { BACKEND_NAMES, COMPLETION_COVER, DEFAULT_SAMPLE, SAMPLER_NAMES } from '../contract/api.ts';
import { PREDICTIONS, PRESET_NAMES, SCHEDULE_KINDS, WEIGHTINGS } from '../contract/presets.ts';
import { UserError, userMessage } from '../errors.ts';
import {
  CLI_SETTING_NAMES,
  backendChoice,
  etaValue,
  exportFormat,
  formatChoice,
  greyLevel,
  guidanceScale,
  nonNegativeInt,
  oneOf,
  pixelSizes,
  positiveInt,
  positiveNumber,
  presetName,
  startStrength,
  threadCount,
} from './options.ts';

/** A command's action, loaded from its module when the command runs. */
function lazy<M, A extends unknown[]>(load: () => Promise<M>, pick: (m: M) => (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => pick(await load())(...args);
}
const runs = () => import('./runs.ts');

/** How glyphs are drawn, for the commands that draw them: sampler, steps, guidance and seed. */
function samplingOptions(command: Command, stepsFlag = '--steps'): Command {
  return command
    .option('--sampler <name>', 'ddim or ddpm', oneOf('sampler', SAMPLER_NAMES), DEFAULT_SAMPLE.sampler)
    .option(`${stepsFlag} <n>`, `denoising steps (default: ${DEFAULT_SAMPLE.steps} for ddim, 999 for ddpm)`, positiveInt(stepsFlag))
    .option('--cfg <s>', 'classifier-free guidance scale (on the letter)', guidanceScale, DEFAULT_SAMPLE.cfg)
    .option('--style-cfg <s>', "a style model's guidance on style (default: the same as --cfg)", guidanceScale)
    .option('--seed <n>', "noise seed; a style model's new style is drawn from it too (one seed, one font)", nonNegativeInt('--seed'), DEFAULT_SAMPLE.seed);
}
const datasets = () => import('./datasets.ts');
const weightsCommands = () => import('./weights.ts');
const jobCommands = () => import('./job.ts');

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
    .action(lazy(() => import('./info.ts'), (c) => c.runInfo));

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
    .option('--style', 'a style-conditioned model: letter and style (read from other letters of a font), so one seed draws one whole font; needs a dataset that knows its fonts')
    .option('--val-every <n>', 'validation MSE every N steps (default: 20 times a run)', positiveInt('--val-every'))
    .option('--sample-every <n>', 'A–Z sheets (model and EMA) every N steps; 0: only at the end', nonNegativeInt('--sample-every'))
    .option('--checkpoint-every <n>', 'checkpoint every N steps (default 500)', positiveInt('--checkpoint-every'))
    .option('--eval-every <n>', 'legibility, glyph FID and diversity every N steps (about a minute each for tiny; default: never)', positiveInt('--eval-every'))
    .option('--stop-at <step>', 'stop (checkpointed, resumable) at this step', positiveInt('--stop-at'))
    .option('--threads <n>', 'wasm/cpu engines: 2 shares each batch with an engine worker (each wasm engine takes half the cores), 1 trains on one engine with them all (default: 2 for every preset but seed where there are 2 cores, else 1)', threadCount)
    .option('--name <name>', 'a name for the run')
    .option('--detach', 'train in a process of its own and print the run id at once')
    .option('--json', 'final result as one JSON line on stdout')
    .action(lazy(runs, (c) => c.trainCommand));

  program
    .command('resume')
    .description('continue a paused, stopped, interrupted or failed run from its checkpoint')
    .argument('<run>', 'run id')
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')} (default: the run's)`, backendChoice)
    .option('--stop-at <step>', 'stop again (checkpointed) at this step', positiveInt('--stop-at'))
    .option('--threads <n>', 'wasm/cpu engines: 2 shares each batch with an engine worker (each wasm engine takes half the cores), 1 trains on one engine with them all (default: 2 for every preset but seed where there are 2 cores, else 1)', threadCount)
    .option('--detach', 'train in a process of its own and return at once')
    .option('--json', 'final result as one JSON line on stdout')
    .action(lazy(runs, (c) => c.resumeCommand));

  samplingOptions(
    program
      .command('sample')
      .description("draw an A–Z sheet from a run's checkpoint, or with --alphabets N new fonts in a style model's invented styles")
      .requiredOption('--run <id>', 'run id')
      .requiredOption('--out <path>', 'the sheet (*.png), or with --alphabets a new folder')
      .option('--ema', 'use the EMA weights')
      .option('--alphabets <n>', 'a style model: N new fonts, one per seed from --seed on: OUT/1/A.png … OUT/N/Z.png and OUT/sheet.png', positiveInt('--alphabets'))
      .option('--per-letter', 'a style model: draw each letter on its own, without a shared style'),
  )
    .option('--eta <x>', "DDIM's η (0: deterministic)", etaValue, DEFAULT_SAMPLE.eta)
    .option('--no-upsample', "draw at the model's own size only (runs on the default dataset are drawn at 128 px by its upsampler)")
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .action(lazy(() => import('./sample.ts'), (c) => c.runSample));

  samplingOptions(
    program
      .command('export')
      .description("draw A–Z from a run's checkpoint and export it: a sheet, PNG glyphs, SVG outlines or an OTF font")
      .requiredOption('--run <id>', 'run id')
      .requiredOption('--format <f>', 'sheet, png, svg or otf', exportFormat)
      .requiredOption('--out <path>', 'a .png (sheet) or .otf file (its specimen beside it, .specimen.png), or a new folder (png, svg)')
      .option('--ema', 'use the EMA weights'),
  )
    .option('--name <family>', "font family name (otf; default: the run's name)")
    .option('--style <style>', 'font style name (otf)', 'Regular')
    .option('--sizes <px,...>', 'glyph PNG sizes in pixels (png), e.g. 32,128', pixelSizes, [32])
    .option('--zip', 'also write a .zip of the folder (png, svg)')
    .option('--threshold <t>', 'grey level (1–254) where ink begins when tracing (svg, otf; default: one level for the whole font, from its own grey levels)', greyLevel)
    .option('--no-upsample', "draw at the model's own size only (runs on the default dataset are drawn at 128 px by its upsampler)")
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .action(lazy(() => import('./export.ts'), (c) => c.runExport));

  samplingOptions(
    program
      .command('complete')
      .description('finish a font: the rest of the alphabet in the style of the letters you give (a style model)')
      .requiredOption('--run <id>', 'run id (a style model, e.g. default)')
      .requiredOption('--from <path>', 'a folder of letter images (A.png, H.png, … any size, dark-on-light or light-on-dark) or a font file (.ttf, .otf, .woff)')
      .option('--letters <ABC>', 'which letters of --from are given (default: every letter found)')
      .requiredOption('--out <dir>', 'a new folder: OUT/A.png … OUT/Z.png (given letters as given) and OUT/sheet.png')
      .option('--otf <file.otf>', 'also export the finished font (and its specimen, .specimen.png)')
      .option('--name <family>', 'font family name for --otf')
      .option('--model-weights', 'draw with the trained weights instead of their EMA')
      .option('--refine <steps>', 'steps refining the style read from the given letters (0: the encoder\'s reading alone)', nonNegativeInt('--refine'), 0)
      .option('--strength <s>', `how far completion's start (the nearest training font's letters, reshaped to the given ones) is noised before it is redrawn in the given letters' style (1: from pure noise; default: just enough noise to cover ${COMPLETION_COVER}× its error on the given letters)`, startStrength),
  )
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .action(async (opts) => (await import('./fonts.ts')).runComplete({ ...opts, ema: !opts.modelWeights, family: opts.name }));

  samplingOptions(
    program
      .command('blend')
      .description('alphabets on the way from one style to another (a style model)')
      .requiredOption('--run <id>', 'run id (a style model, e.g. default)')
      .requiredOption('--from <A>', 'a folder of letter images, a font file, or seed:N (an invented style)')
      .requiredOption('--to <B>', 'the same kinds as --from')
      .option('--steps <n>', 'alphabets along the way, both ends included', positiveInt('--steps'), 5)
      .option('--letters <ABC>', 'which letters of a font file or folder to read the style from (default: all)')
      .requiredOption('--out <dir>', 'a new folder: OUT/1/A.png … OUT/N/Z.png and OUT/sheet.png')
      .option('--model-weights', 'draw with the trained weights instead of their EMA')
      .option('--refine <steps>', 'steps refining the style read from the given letters (0: the encoder\'s reading alone)', nonNegativeInt('--refine'), 0),
    '--denoise-steps',
  )
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .action(async (opts) => (await import('./fonts.ts')).runBlend({ ...opts, stages: opts.steps, steps: opts.denoiseSteps, ema: !opts.modelWeights }));

  program
    .command('eval')
    .description("a run's legibility, glyph FID and diversity, read by a letter classifier trained once per dataset")
    .requiredOption('--run <id>', 'run id')
    .option('--per-class <n>', 'glyphs generated per class', positiveInt('--per-class'), 2)
    .option('--ema', 'use the EMA weights')
    .option('--steps <n>', 'DDIM steps', positiveInt('--steps'), DEFAULT_SAMPLE.steps)
    .option('--cfg <s>', 'classifier-free guidance scale', positiveNumber('--cfg'), DEFAULT_SAMPLE.cfg)
    .option('--seed <n>', 'noise seed', nonNegativeInt('--seed'), DEFAULT_SAMPLE.seed)
    .option('--baselines', 'also score real held-out glyphs and an untrained model the same way')
    .option('--style', "a style model's fonts: consistency, variety and novelty of invented alphabets beside letter-by-letter ones, and completion of held-out fonts against a retrieval baseline")
    .option('--outlines', 'the exported fonts as outlines: points and inflections (wobble) per glyph, stroke-width variation across A–Z and legibility of the OTF drawn back at 32 px, beside real held-out fonts traced the same way (and --font files)')
    .option('--alphabets <n>', 'with --style: invented alphabets to draw (default 8); with --outlines: alphabets to draw, seeds --seed onwards, each built into an OTF as export does (default 4)', positiveInt('--alphabets'))
    .option('--given <letters>', 'with --style: the letters completion starts from', 'HAMB')
    .option('--completion-fonts <n>', 'with --style: held-out fonts to complete (at most 12 by default)', positiveInt('--completion-fonts'))
    .option('--font <file...>', 'with --style: also complete these font files (not in the dataset) and score them; with --outlines: also measure these font files from their own outlines')
    .option('--style-cfg <s>', "with --style: guidance on style (default: --cfg)", positiveNumber('--style-cfg'))
    .option('--refine <steps>', 'with --style: steps refining a completion\'s style on the given letters (0: the encoder\'s reading alone)', nonNegativeInt('--refine'), 0)
    .option('--no-upsample', "with --outlines: trace the run's glyphs (and the real fonts) at the model's own size, not the upsampler's 128 px")
    .option('--strength <s>', `with --style: how far completion noises its start, the nearest training font's letters reshaped to the given ones (1: from pure noise; default: enough to cover ${COMPLETION_COVER}× its error on the given letters)`, startStrength)
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .option('--json', 'the report as one JSON line')
    .action(async (opts) => {
      await (await import('./eval.ts')).runEval(opts);
    });

  const weights = program.command('weights').description("a run's weights in and out as PyTorch reads and writes them (the reference's state_dict names and layouts)");
  weights
    .command('export')
    .description("write a run's weights as safetensors, with its config as metadata")
    .requiredOption('--run <id>', 'run id')
    .option('--ema', 'the EMA weights')
    .requiredOption('--out <file.safetensors>', 'a new file')
    .action(lazy(weightsCommands, (c) => c.weightsExportCommand));
  weights
    .command('import')
    .description('make a completed run from a .safetensors file or a torch.save checkpoint (ckpt.pt, ema_ckpt.pt); names, shapes and dtypes are checked against the preset first')
    .argument('<file>', 'a .safetensors file or a PyTorch checkpoint (its pickle is read as data, never run)')
    .requiredOption('--preset <name>', `the network the weights are for: ${PRESET_NAMES.join(', ')}`, presetName)
    .option('--name <name>', 'a name for the run')
    .option('--channels <n>', 'image channels (default: read from the weights)', positiveInt('--channels'))
    .option('--classes <n>', 'number of classes (default: read from the weights)', positiveInt('--classes'))
    .option('--size <n>', 'image size in pixels (default: the file\'s metadata, else 32)', positiveInt('--size'))
    .option('--ema', 'the file holds EMA weights (the reference\'s ema_ckpt.pt)')
    .option('--entry <key>', 'the state dict to take from a checkpoint dictionary that holds several (e.g. model, ema)')
    .option('--data <dataset>', 'a dataset to measure it against with fontloom eval (default: the embedded one for an A–Z 32×32 model)')
    .option('--json', 'the new run as one JSON line: {"id": …}')
    .action(lazy(weightsCommands, (c) => c.weightsImportCommand));

  const job = program.command('job').description('train a run with PyTorch elsewhere (torchrun, DistributedDataParallel) and bring it back');
  job
    .command('export')
    .description("write a self-contained folder: the run's split (.npy), config and recipe (job.json), and train.py for torchrun")
    .requiredOption('--run <id>', 'the run to train (a letter-only run; it trains from step 0 with its config)')
    .requiredOption('--out <dir>', 'a new (or empty) folder')
    .action(lazy(jobCommands, (c) => c.jobExportCommand));
  job
    .command('import')
    .description("make a completed run from a trained job folder: its metrics and its final model and EMA, checked against the preset first")
    .argument('<dir>', 'the job folder, with checkpoints/ and metrics.jsonl written by train.py')
    .option('--name <name>', 'a name for the run')
    .option('--json', 'the new run as one JSON line: {"id": …}')
    .action(lazy(jobCommands, (c) => c.jobImportCommand));

  program
    .command('demo')
    .description('from nothing: the default dataset, a sheet from the pretrained model, a fresh run trained for a few minutes, both measured')
    .option('--steps <n>', 'steps of the fresh run', positiveInt('--steps'), 240)
    .option('--preset <name>', 'micro or tiny', oneOf('preset', ['micro', 'tiny'] as const), 'tiny')
    .option('--backend <name>', `auto, ${BACKEND_NAMES.join(', ')}`, backendChoice, 'auto')
    .action(async (opts) => (await import('./demo.ts')).runDemo(opts));

  program.command('runs').description('list runs, oldest first').option('--json', 'a JSON array').action(lazy(runs, (c) => c.runsCommand));
  program.command('run').description('one run').command('show').argument('<run>', 'run id').option('--json', 'JSON output').action(lazy(runs, (c) => c.runShowCommand));
  for (const what of ['pause', 'stop'] as const) {
    program
      .command(what)
      .description(what === 'pause' ? 'pause a run at a checkpoint (fontloom resume continues it)' : 'stop a run at a checkpoint (resumable later)')
      .argument('<run>', 'run id')
      .option('--wait <seconds>', 'how long to wait for the checkpoint', nonNegativeInt('--wait'), 120)
      .action(async (id: string, opts: { wait: number }) => (await runs()).controlCommand(what, id, opts));
  }
  program
    .command('serve')
    .description('the studio in a browser: the API and pages over HTTP')
    .option('--port <n>', 'port (0: any free one)', nonNegativeInt('--port'), 4790)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(lazy(runs, (c) => c.serveCommand));

  program
    .command('import')
    .description('import a dataset: a Kaggle letters folder or zip, an .npz, a CSV of pixels, font files, or CIFAR-10')
    .argument('[path]', 'file or folder')
    .option('--format <f>', 'auto, kaggle, npz, csv, fonts or cifar10', formatChoice, 'auto')
    .option('--name <name>', 'a name for the dataset')
    .option('--default', 'register the embedded default dataset')
    .option('--json', 'the result as one JSON line')
    .action(lazy(datasets, (c) => c.importCommand));

  program.command('datasets').description('list imported datasets').option('--json', 'JSON output').action(lazy(datasets, (c) => c.datasetsCommand));

  const dataset = program.command('dataset').description('one dataset');
  dataset
    .command('show')
    .argument('<id>', 'dataset id or name')
    .option('--sheet <file.png>', 'write a preview grid: fonts × classes')
    .option('--fonts <n>', 'fonts in the preview', positiveInt('--fonts'), 8)
    .option('--json', 'JSON output')
    .action(lazy(datasets, (c) => c.datasetShowCommand));
  dataset.command('delete').argument('<id>', 'dataset id or name').action(lazy(datasets, (c) => c.datasetDeleteCommand));

  program
    .command('bench')
    .description('training and forward speed per backend')
    .option('--backend <name>', `one backend (default: every one that works here): ${BACKEND_NAMES.join(', ')}`, backendChoice)
    .option('--preset <name>', 'preset', presetName, 'tiny')
    .option('--batch <n>', 'batch size', positiveInt('--batch'), 32)
    .option('--steps <n>', 'timed steps per measurement', positiveInt('--steps'), 3)
    .option('--threads <n>', 'wasm/cpu engines: 2, the training layout (an engine worker, half the cores each), or 1 (one engine with every core, as evaluating uses) (default: 2 for every preset but seed where there are 2 cores, else 1)', threadCount)
    .option('--sheets', 'also time an A–Z sheet with DDIM 50 (whole) and DDPM 999 (10 steps, scaled), and one alphabet of a style model')
    .option('--style', 'time training steps of a style model (train --style)')
    .option('--profile <file.json>', 'write per-kernel times of one training step and one forward pass')
    .option('--json', 'JSON output')
    .action(lazy(() => import('./bench.ts'), (c) => c.runBench));

  program.command('start').description('open the studio: its window where Electron runs, else browser mode').option('--port <n>', 'browser mode port', nonNegativeInt('--port'), 4790).action(lazy(runs, (c) => c.startCommand));
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
    const message = err instanceof UserError ? userMessage(err, CLI_SETTING_NAMES) : `${(err as Error).message ?? err}`;
    process.stderr.write(`fontloom: ${message}\n`);
    if (!(err instanceof UserError) && process.env.FONTLOOM_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  }
}

await main();
