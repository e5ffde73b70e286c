// `fontloom sample`: an A–Z sheet from a run's latest checkpoint (a style model's in one style), or with
// --alphabets new fonts (cli/fonts.ts).
import type { FontDrawOptions } from './fonts.ts';
import { defaultEngines, initBackend } from '../engine/runtime/backend.ts';
import { UserError } from '../errors.ts';
import { writeSheet } from '../export/sheet.ts';
import { fontloomHome } from '../home.ts';
import { drawFromCheckpoint } from '../jobs/generate.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../jobs/default-model.ts';
import { checkpointPath, loadRun } from '../jobs/run.ts';
import { upsamplerFor } from '../jobs/upsampler.ts';

/** `fontloom sample`'s flags: how glyphs are drawn (as the font commands take them), and what to draw. */
/** `upsample`: false (--no-upsample) draws at the model's size even where the run has an upsampler. */
export type SampleCommand = FontDrawOptions & { eta: number; alphabets?: number; perLetter?: boolean; upsample?: boolean };

export async function runSample(opts: SampleCommand): Promise<void> {
  if (opts.alphabets !== undefined) {
    if (opts.perLetter) throw new UserError('--alphabets draws each alphabet in one style; leave out --per-letter');
    const { runAlphabets } = await import('./fonts.ts');
    return runAlphabets({ ...opts, alphabets: opts.alphabets, ema: opts.ema ?? false });
  }
  const home = fontloomHome();
  if (opts.run === DEFAULT_RUN) await ensureDefaultModel(home);
  const run = loadRun(home, opts.run);
  if (!opts.out.toLowerCase().endsWith('.png')) throw new UserError(`--out ${opts.out}: the sheet is a PNG, name it *.png`);
  const backend = await initBackend(opts.backend, { engines: defaultEngines(run.config.preset) });
  const started = performance.now();
  const drawn = await drawFromCheckpoint(checkpointPath(home, run.id), run.id, {
    ...opts,
    ema: opts.ema ?? false,
    ...(opts.perLetter && { style: { kind: 'none' as const } }),
    upsampler: opts.upsample === false ? null : upsamplerFor(home, run),
    onStep: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2Ksampling ${done}/${total}`);
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const { channels, classNames } = drawn;
  const { images, size } = drawn.large ?? drawn;
  const style = drawn.style ? ' · one style' : opts.perLetter ? ' · letter by letter' : '';
  const title = `${run.name} · step ${drawn.step} · ${opts.ema ? 'EMA' : 'model'} · ${opts.sampler} ${drawn.steps}, cfg ${opts.cfg}, seed ${opts.seed}${style}`;
  await writeSheet(opts.out, images, classNames.length, size, size, channels as 1 | 3, classNames, { title });
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`fontloom: ${opts.out} (${classNames.length} glyphs in ${seconds.toFixed(1)} s on ${backend.name}: ${backend.adapter})\n`);
}
