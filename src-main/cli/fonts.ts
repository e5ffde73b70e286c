// The commands that make fonts with a style model: `fontloom sample --alphabets N` (new fonts,
// one per seed), `fontloom complete` (the rest of a font from a few of its letters) and
// `fontloom blend` (alphabets on the way from one style to another). Each writes a folder of
// letter PNGs and a sheet, atomically, and `complete` can also export the finished font.
import { defaultEngines, initBackend } from '../engine/runtime/backend.ts';
import { describeWarp, type BackendChoice, type SamplerName, type StyleSpec } from '../contract/api.ts';
import { UserError } from '../errors.ts';
import { renderSheet } from '../export/sheet.ts';
import { fileNames } from '../export/glyphs.ts';
import type { ExportFile } from '../export/glyphs.ts';
import { checkDestination, writeStaged } from '../export/write.ts';
import { readLetters, type GivenLetters } from '../data/letters.ts';
import { fontloomHome } from '../home.ts';
import { completionData, drawFromCheckpoint, glyphToBase64, type Drawn } from '../jobs/generate.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../jobs/default-model.ts';
import { checkpointPath, loadRun } from '../jobs/run.ts';
import { upsamplerFor } from '../jobs/upsampler.ts';
import { readCheckpoint } from '../engine/checkpoint.ts';
import sharp from 'sharp';

export interface FontDrawOptions {
  run: string;
  out: string;
  ema?: boolean;
  sampler: SamplerName;
  steps?: number;
  cfg: number;
  styleCfg?: number;
  seed: number;
  backend: BackendChoice;
  /** Steps refining a style read from given letters. */
  refine?: number;
  /** How far a completion noises the nearest training font's letters (1: from pure noise). */
  strength?: number;
}

/** The run, a started backend, and a drawing function that keeps the options. */
async function openRun(opts: FontDrawOptions) {
  const home = fontloomHome();
  if (opts.run === DEFAULT_RUN) await ensureDefaultModel(home);
  const run = loadRun(home, opts.run);
  const file = checkpointPath(home, run.id);
  const ckpt = await readCheckpoint(file).catch(() => null);
  if (ckpt && !(ckpt.header.shape.style ?? 0)) {
    throw new UserError(`run ${run.id} draws each letter on its own (trained without --style): it cannot draw fonts in one style. Train one with fontloom train --style, or use the default model.`);
  }
  const backend = await initBackend(opts.backend, { engines: defaultEngines(run.config.preset) });
  const completeFrom = completionData(run);
  const draw = (style: StyleSpec, seed: number, what: string) =>
    drawFromCheckpoint(file, run.id, {
      sampler: opts.sampler,
      steps: opts.steps,
      cfg: opts.cfg,
      ...(opts.styleCfg !== undefined && { styleCfg: opts.styleCfg }),
      seed,
      eta: 0,
      ema: opts.ema ?? true,
      style,
      refine: opts.refine,
      completeFrom: completeFrom && { ...completeFrom, strength: opts.strength },
      upsampler: upsamplerFor(home, run),
      onStep: (done, total) => {
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${what}: ${done}/${total}`);
      },
    }).then(atShownSize);
  return { home, run, backend, ckpt, draw };
}

/** Drawn glyphs as files show them: at the upsampler's 128 pixels where the run has one (given letters upsampled as given). */
function atShownSize(drawn: Drawn): Drawn {
  return drawn.large ? { ...drawn, images: drawn.large.images, size: drawn.large.size, large: null } : drawn;
}

async function letterPngs(drawn: Pick<Drawn, 'images' | 'size' | 'channels' | 'classNames'>, folder: string): Promise<ExportFile[]> {
  const per = drawn.size * drawn.size * drawn.channels;
  const names = fileNames(drawn.classNames);
  return Promise.all(
    names.map(async (name, k) => ({
      path: folder ? `${folder}/${name}.png` : `${name}.png`,
      bytes: await sharp(Buffer.from(drawn.images.subarray(k * per, (k + 1) * per)), { raw: { width: drawn.size, height: drawn.size, channels: drawn.channels as 1 | 3 } }).png().toBuffer(),
    })),
  );
}

/** A sheet of alphabets, one per row, each row's glyphs labelled with its letters. */
async function alphabetSheet(rows: Drawn[], rowNames: string[], title: string): Promise<ExportFile> {
  const { size, channels, classNames } = rows[0];
  const per = size * size * channels;
  const images = new Uint8Array(rows.length * classNames.length * per);
  rows.forEach((r, i) => images.set(r.images, i * classNames.length * per));
  const labels = rows.flatMap((_, i) => classNames.map((c, k) => (k === 0 ? `${rowNames[i]} ${c}` : c)));
  const png = await renderSheet(images, rows.length * classNames.length, size, size, channels as 1 | 3, labels, { columns: classNames.length, title });
  return { path: 'sheet.png', bytes: png };
}

function done(message: string, started: number): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.stderr.write(`fontloom: ${message} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

function describeStyle(d: Drawn): string {
  const near = d.style?.nearestTrainingFont;
  return near ? `nearest training font #${near.fontId} at code distance ${near.distance.toFixed(2)}` : 'no style';
}

/** `fontloom sample --alphabets N --out DIR`: N new fonts, DIR/1/A.png … DIR/N/Z.png and DIR/sheet.png. */
export async function runAlphabets(opts: FontDrawOptions & { alphabets: number }): Promise<void> {
  await checkDestination(opts.out, 'folder', false);
  const { run, backend, draw } = await openRun(opts);
  const started = performance.now();
  const rows: Drawn[] = [];
  const files: ExportFile[] = [];
  const styles: { alphabet: number; seed: number; nearest: string }[] = [];
  for (let i = 0; i < opts.alphabets; i++) {
    const seed = opts.seed + i;
    const drawn = await draw({ kind: 'invented', seed }, seed, `alphabet ${i + 1}/${opts.alphabets}`);
    rows.push(drawn);
    files.push(...(await letterPngs(drawn, String(i + 1))));
    styles.push({ alphabet: i + 1, seed, nearest: describeStyle(drawn) });
  }
  const title = `${run.name} · step ${rows[0].step} · ${opts.alphabets} new fonts, seeds ${opts.seed}–${opts.seed + opts.alphabets - 1} · ${opts.sampler} ${rows[0].steps}, cfg ${opts.cfg}`;
  files.push(await alphabetSheet(rows, styles.map((s) => `${s.alphabet}:`), title));
  files.push({ path: 'styles.json', bytes: Buffer.from(JSON.stringify({ run: run.id, step: rows[0].step, alphabets: styles.map((s, i) => ({ ...s, code: rows[i].style?.code })) }, null, 2) + '\n') });
  await writeStaged(opts.out, 'folder', files, false);
  done(`${opts.out}: ${opts.alphabets} alphabets (${opts.out}/1/A.png … ${opts.out}/${opts.alphabets}/Z.png, sheet.png) on ${backend.name}`, started);
}

/** What a --from names: `seed:N` for an invented style, else letters from a folder or font file. */
async function styleFrom(source: string, size: number, letters: string | undefined, classNames: readonly string[]): Promise<{ spec: StyleSpec; given: GivenLetters | null; name: string }> {
  const seed = /^seed:(\d+)$/.exec(source);
  if (seed) return { spec: { kind: 'invented', seed: Number(seed[1]) }, given: null, name: source };
  const given = await readLetters(source, { size, letters });
  for (const skipped of given.skipped) process.stderr.write(`fontloom: skipped ${skipped}\n`);
  const glyphs: Record<string, string> = {};
  for (const [letter, glyph] of given.letters) {
    if (!classNames.includes(letter)) throw new UserError(`${source}: letter ${letter} is not one of the run's classes (${classNames.join('')})`);
    glyphs[letter] = glyphToBase64(glyph);
  }
  return { spec: { kind: 'glyphs', glyphs }, given, name: given.source };
}

/**
 * `fontloom complete --from PATH [--letters HAMB] --out DIR`: DIR/A.png … DIR/Z.png, the given
 * letters as given and the rest drawn in their style; with --otf FILE the finished font too.
 */
export async function runComplete(opts: FontDrawOptions & { from: string; letters?: string; otf?: string; family?: string }): Promise<void> {
  await checkDestination(opts.out, 'folder', false);
  const { exportGlyphs, checkExportTarget } = await import('../export/index.ts');
  if (opts.otf) await checkExportTarget('otf', opts.otf, false);
  const { run, ckpt, backend, draw } = await openRun(opts);
  const size = ckpt?.header.shape.size ?? 32;
  const classNames = ckpt?.header.classNames ?? [];
  const { spec, given, name } = await styleFrom(opts.from, size, opts.letters, classNames);
  if (!given) throw new UserError('--from for complete is a folder of letter images or a font file; seed:N invents a style (fontloom sample --alphabets)');
  const started = performance.now();
  const drawn = await draw(spec, opts.seed, 'completing');
  // The given letters come back exactly as given (drawFromCheckpoint puts them back), at 128 px upsampled as given.
  const givenNames = [...given.letters.keys()].join('');
  const files = [...(await letterPngs(drawn, ''))];
  const title = `${run.name} · ${givenNames} given (${name}), the rest drawn · seed ${opts.seed}`;
  files.push(await alphabetSheet([drawn], [''], title));
  await writeStaged(opts.out, 'folder', files, false);
  let font = '';
  if (opts.otf) {
    const result = await exportGlyphs({ images: drawn.images, height: drawn.size, width: drawn.size, channels: drawn.channels, classNames: drawn.classNames, format: 'otf', out: opts.otf, family: opts.family ?? `Completed ${givenNames}`, style: 'Regular' });
    for (const warning of result.warnings) process.stderr.write(`fontloom: warning: ${warning}\n`);
    font = `, font ${result.path} with its specimen ${result.specimen}`;
  }
  const start = drawn.style?.startedFrom;
  const reshaped = start && describeWarp(start.warp);
  const from = start ? ` (redrawn from ${start.font}, the training font nearest to them${reshaped ? `, ${reshaped} to match` : ''})` : '';
  done(`${opts.out}: ${givenNames} as given, ${drawn.classNames.length - given.letters.size} letters drawn in their style${from}${font}, on ${backend.name}`, started);
}

/** `fontloom blend --from A --to B --steps-between K --out DIR`: alphabets DIR/1/ … DIR/K/ from A's style to B's. */
export async function runBlend(opts: FontDrawOptions & { from: string; to: string; stages: number; letters?: string }): Promise<void> {
  if (!(opts.stages >= 2)) throw new UserError('--stages: a blend needs at least 2 alphabets (the two ends)');
  await checkDestination(opts.out, 'folder', false);
  const { run, ckpt, backend, draw } = await openRun(opts);
  const size = ckpt?.header.shape.size ?? 32;
  const classNames = ckpt?.header.classNames ?? [];
  const from = await styleFrom(opts.from, size, opts.letters, classNames);
  const to = await styleFrom(opts.to, size, opts.letters, classNames);
  const started = performance.now();
  const rows: Drawn[] = [];
  const files: ExportFile[] = [];
  for (let i = 0; i < opts.stages; i++) {
    const t = i / (opts.stages - 1);
    // One noise seed for every stage: only the style moves.
    const drawn = await draw({ kind: 'blend', from: from.spec, to: to.spec, t }, opts.seed, `alphabet ${i + 1}/${opts.stages}`);
    rows.push(drawn);
    files.push(...(await letterPngs(drawn, String(i + 1))));
  }
  const title = `${run.name} · from ${from.name} to ${to.name} in ${opts.stages} alphabets · seed ${opts.seed}`;
  files.push(await alphabetSheet(rows, rows.map((_, i) => `${Math.round((100 * i) / (opts.stages - 1))}%`), title));
  await writeStaged(opts.out, 'folder', files, false);
  done(`${opts.out}: ${opts.stages} alphabets from ${from.name} to ${to.name} on ${backend.name}`, started);
}
