// `fontloom eval`: does a run draw the letters it is asked for, like real fonts, and varied?
// N glyphs per class from the run's checkpoint, scored by evaluateCheckpoint (eval/evaluate.ts).
import { initBackend } from '../engine/runtime/backend.ts';
import { type BackendChoice } from '../contract/api.ts';
import type { EvalReport } from '../eval/evaluate.ts';
import type { RunMetrics } from '../eval/metrics.ts';
import { fontloomHome } from '../home.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../jobs/default-model.ts';
import { evaluateRun } from '../jobs/evaluate-run.ts';
import { loadRun } from '../jobs/run.ts';
import { UserError } from '../errors.ts';

export interface EvalCommand {
  run: string;
  perClass: number;
  ema?: boolean;
  steps: number;
  cfg: number;
  seed: number;
  baselines?: boolean;
  backend: BackendChoice;
  json?: boolean;
  style?: boolean;
  outlines?: boolean;
  /** false (--no-upsample): with --outlines, trace at the model's size even where the run has an upsampler. */
  upsample?: boolean;
  alphabets?: number;
  given?: string;
  completionFonts?: number;
  font?: string[];
  styleCfg?: number;
  refine?: number;
  strength?: number;
}

async function runStyleEval(home: string, opts: EvalCommand): Promise<void> {
  const { evaluateRunStyle } = await import('../jobs/evaluate-style.ts');
  const { describeStyleReport } = await import('../eval/style-evaluate.ts');
  // Two engines draw each alphabet's rows; the judge and the classifier read on this one.
  await initBackend(opts.backend, { engines: 2 });
  const report = await evaluateRunStyle(home, opts.run, {
    weights: opts.ema ? 'ema' : 'model',
    alphabets: opts.alphabets ?? 8,
    seed: opts.seed,
    steps: opts.steps,
    cfg: opts.cfg,
    styleCfg: opts.styleCfg,
    given: opts.given ?? 'HAMB',
    completionFonts: opts.completionFonts,
    fontFiles: opts.font,
    refine: opts.refine,
    strength: opts.strength,
    onProgress: progressLine,
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const head = `run ${report.run} step ${report.step} (${report.weights} weights), DDIM ${report.sampler.steps}, CFG ${report.sampler.cfg}${report.sampler.styleCfg !== undefined ? `, style CFG ${report.sampler.styleCfg}` : ''}, seeds from ${report.sampler.seed}\n`;
  process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : head + describeStyleReport(report));
}

async function runOutlinesEval(home: string, opts: EvalCommand): Promise<void> {
  const { evaluateRunOutlines } = await import('../jobs/evaluate-outlines.ts');
  const { describeOutlinesReport } = await import('./eval-outlines.ts');
  // Two engines draw each alphabet's rows; the classifier reads on this one.
  await initBackend(opts.backend, { engines: 2 });
  const report = await evaluateRunOutlines(home, opts.run, {
    weights: opts.ema ? 'ema' : 'model',
    alphabets: opts.alphabets ?? 4,
    seed: opts.seed,
    steps: opts.steps,
    cfg: opts.cfg,
    fontFiles: opts.font,
    upsample: opts.upsample,
    onProgress: progressLine,
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  for (const warning of report.warnings) process.stderr.write(`fontloom: warning: ${warning}\n`);
  process.stdout.write(opts.json ? JSON.stringify(report) + '\n' : describeOutlinesReport(report));
}

export async function runEval(opts: EvalCommand): Promise<EvalReport | void> {
  const home = fontloomHome();
  if (opts.run === DEFAULT_RUN) await ensureDefaultModel(home);
  loadRun(home, opts.run); // an unknown run is said before any engine starts (and prints)
  if (opts.style && opts.outlines) throw new UserError('--style and --outlines are two measurements: ask for one at a time.');
  if (opts.style) return runStyleEval(home, opts);
  if (opts.outlines) return runOutlinesEval(home, opts);
  const { report } = await evaluateRun(home, opts.run, {
    // Drawing and measuring (a classifier may train too) on one engine with every core.
    backend: await initBackend(opts.backend, { engines: 1 }),
    perClass: opts.perClass,
    weights: opts.ema ? 'ema' : 'model',
    steps: opts.steps,
    cfg: opts.cfg,
    seed: opts.seed,
    baselines: opts.baselines ?? false,
    onProgress: progressLine,
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.stdout.write(opts.json ? JSON.stringify({ run: opts.run, ...report }) + '\n' : describeReport(opts.run, report));
  return report;
}

/** On a terminal, one line rewritten in place; in a log, one line per message. */
function progressLine(message: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[2Keval: ${message}` : `eval: ${message}\n`);
}

const percent = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

function row(name: string, m: RunMetrics): string {
  return `  ${name.padEnd(16)}${percent(m.legibility).padStart(10)}${m.fid.toFixed(2).padStart(11)}${(m.diversity === null ? '—' : m.diversity.toFixed(3)).padStart(11)}\n`;
}

function describeReport(run: string, r: EvalReport): string {
  const c = r.classifier;
  const missed = r.metrics.perClass
    .map((l, i) => [r.classNames[i], l] as const)
    .filter((entry): entry is readonly [string, number] => entry[1] !== null && entry[1] < 1)
    .sort((a, b) => a[1] - b[1]);
  const weakest = missed.slice(0, 8).map(([name, l]) => `${name} ${percent(l)}`).join(', ') + (missed.length > 8 ? ` and ${missed.length - 8} more` : '');
  return (
    `run ${run} step ${r.step} (${r.weights} weights), ${r.metrics.count} glyphs (${r.perClass} per class${r.styled ? `, each round of A–Z in its own invented style` : ''}), DDIM ${r.sampler.steps} steps, CFG ${r.sampler.cfg}, on ${r.backend}\n` +
    `  ${''.padEnd(16)}${'legibility'.padStart(10)}${'glyph FID'.padStart(11)}${'diversity'.padStart(11)}\n` +
    row('this run', r.metrics) +
    (r.baselines?.real ? row('real held-out', r.baselines.real) : '') +
    (r.baselines ? row('untrained model', r.baselines.untrained) : `  (--baselines adds real held-out glyphs and an untrained model, for scale)\n`) +
    (missed.length ? `  letters not always read as asked: ${weakest}\n` : '') +
    `  glyph FID: classifier features against ${r.reference.glyphs} real glyphs of ${r.reference.fonts} held-out fonts (this dataset's scale, not Inception FID)\n` +
    `  classifier: reads ${percent(c.heldOutAccuracy)} of ${c.heldOutGlyphs} held-out glyphs; ` +
    `${c.fromCache ? `loaded from cache in ${Math.round(c.seconds * 1000)} ms` : `trained in ${c.seconds.toFixed(0)} s and cached`}${c.retrainedBecause ? ` (retrained: ${c.retrainedBecause})` : ''}\n` +
    `  time: sampling ${r.seconds.sampling.toFixed(1)} s, metrics ${r.seconds.metrics.toFixed(1)} s` +
    `${r.seconds.baselines !== null ? `, baselines ${r.seconds.baselines.toFixed(1)} s` : ''}, total ${r.seconds.total.toFixed(1)} s\n`
  );
}
