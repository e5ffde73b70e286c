// Chooses how far completion noises the nearest training font's letters (jobs/nearest-font.ts:
// COMPLETION_COVER). Completes held-out fonts of the default dataset that `fontloom eval
// --style` never scores (those after its first 12 in the same fixed shuffle) from HAMB at several
// strengths, and prints IoU, L1 and the style score beside the retrieval baseline.
//   npx tsx scripts/tune-completion.ts [--fonts 12] [--strengths a1,a2,a3,0.4,1] [--run default]
//     a strength aC is adaptive (strengthFor: cover C × the nearest font's error), 1 is pure noise;
//     --cfg 1.5,3: guidance scales; --k 1,3: start from the mean of the k nearest fonts;
//     --select a0.5,a1,a2: per font, the candidate that best redraws the given letters themselves;
//     --per-font: each font's IoU.
import { parseArgs } from 'node:util';
import { DEFAULT_SAMPLE } from '../src-main/contract/api.ts';
import { strengthFor } from '../src-main/engine/diffusion.ts';
import { diffusionFromCheckpoint, readCheckpoint, weightsToDraw } from '../src-main/engine/checkpoint.ts';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { sampleOnEngines } from '../src-main/engine/runtime/parallel.ts';
import { repeatCode, styleOf } from '../src-main/engine/style.ts';
import { completionFonts, givenClasses, loadStyleData, nearestAlphabets, retrievalFonts, scoreCompletion, styleJudgeFor, type CompletionScore } from '../src-main/eval/style-evaluate.ts';
import { centreGlyph, completeAlphabets, mean, pixelIoU } from '../src-main/eval/style-metrics.ts';
import { glyphsAsStart, rmsError } from '../src-main/jobs/nearest-font.ts';
import { gatherGlyphs } from '../src-main/eval/metrics.ts';
import { fontloomHome } from '../src-main/home.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../src-main/jobs/default-model.ts';
import { checkpointPath, loadRun, measuringData } from '../src-main/jobs/run.ts';

const { values } = parseArgs({ options: { select: { type: 'string', default: '' }, cfg: { type: 'string', default: String(DEFAULT_SAMPLE.cfg) }, 'per-font': { type: 'boolean', default: false }, k: { type: 'string', default: '1' }, fonts: { type: 'string', default: '12' }, strengths: { type: 'string', default: '0.4,0.6,0.8,1' }, run: { type: 'string', default: DEFAULT_RUN }, given: { type: 'string', default: 'HAMB' } } });
const home = fontloomHome();
await initBackend('wasm', { engines: 2 });
if (values.run === DEFAULT_RUN) await ensureDefaultModel(home);
const run = loadRun(home, values.run!);
const ckpt = await readCheckpoint(checkpointPath(home, run.id));
const which = weightsToDraw(ckpt, 'ema');
const diffusion = diffusionFromCheckpoint(ckpt, which);
const data = await loadStyleData(measuringData(run), run.valFraction);
const classes = data.classNames.length;
const per = data.height * data.width * data.channels;
const given = givenClasses(values.given!, data.classNames);
const held = completeAlphabets(data, data.val, classes);
const index = retrievalFonts(data, completeAlphabets(data, data.train, classes));
const { judge } = await styleJudgeFor(home, data, run.valFraction, (m) => process.stderr.write(`\r${m}`));
const chosen = completionFonts(held, Number(values.fonts), 12);
// A strength "aC" is adaptive: strengthFor(schedule, the nearest font's RMS error on the given letters, C).
const strengths = values.strengths!.split(',');
const ks = values.k!.split(',').map(Number);
const cfgs = values.cfg!.split(',').map(Number);
const scores = new Map<string, CompletionScore[]>();
const chosenCounts = new Map<string, number>();
const add = (k: string, s: CompletionScore) => scores.set(k, [...(scores.get(k) ?? []), s]);
const labels = Array.from({ length: classes }, (_, c) => c);
for (const [k, a] of chosen.entries()) {
  const real = gatherGlyphs(data, held.items.subarray(a * classes, (a + 1) * classes), per).images;
  const givenGlyphs = new Map(given.map((c) => [c, real.slice(c * per, (c + 1) * per)]));
  const pixels = new Uint8Array(given.length * per);
  given.forEach((c, i) => pixels.set(givenGlyphs.get(c)!, i * per));
  const code = await styleOf(diffusion.model, pixels, given.length);
  const near = nearestAlphabets(index, givenGlyphs, Math.max(...ks));
  add('retrieval', await scoreCompletion(judge, near[0].alphabet, real, given));
  const rms = rmsError(near[0].distance, given.length * per);
  for (const k of ks) {
    // The mean of the k nearest fonts' letters, as a start.
    const x0 = new Float32Array(near[0].alphabet.length);
    for (const n of near.slice(0, k)) for (let i = 0; i < x0.length; i++) x0[i] += (n.alphabet[i] / 127.5 - 1) / k;
    if (k > 1) add(`mean of ${k}`, await scoreCompletion(judge, Uint8Array.from(x0, (v) => Math.round((v + 1) * 127.5)), real, given));
  for (const name of strengths) for (const cfg of cfgs) {
    const s = name.startsWith('a') ? strengthFor(diffusion.schedule, rms, Number(name.slice(1))) : Number(name);
    const start = s < 1 ? { x0, strength: s } : undefined;
    if (!start && k !== ks[0]) continue;
    const drawn = await sampleOnEngines(diffusion, labels, { ...DEFAULT_SAMPLE, cfg, sampler: 'ddim', eta: 0, seed: 100 + k }, undefined, repeatCode(code, classes), start);
    for (const [c, g] of givenGlyphs) drawn.set(g, c * per);
    add(`k ${k}, strength ${name}${cfgs.length > 1 ? `, cfg ${cfg}` : ''}`, await scoreCompletion(judge, drawn, real, given));
  }
  }
  if (values.select) {
    // Chooses among candidate strengths by how well each redraws the given letters themselves
    // from the nearest font's (IoU after centring); "0" keeps the nearest font's letters as they are.
    const shape = { size: data.height, channels: data.channels };
    const x0 = glyphsAsStart(near[0].alphabet);
    let best = { name: '', iou: -1 };
    for (const name of values.select.split(',')) {
      const s = name.startsWith('a') ? strengthFor(diffusion.schedule, rms, Number(name.slice(1))) : Number(name);
      let redrawn: Uint8Array;
      if (s === 0) redrawn = Buffer.concat(given.map((c) => near[0].alphabet.subarray(c * per, (c + 1) * per)));
      else {
        const part = new Float32Array(given.length * per);
        given.forEach((c, i) => part.set(x0.subarray(c * per, (c + 1) * per), i * per));
        redrawn = await sampleOnEngines(diffusion, given, { ...DEFAULT_SAMPLE, sampler: 'ddim', eta: 0, seed: 100 + k }, undefined, repeatCode(code, given.length), { x0: part, strength: s });
      }
      const iou = mean(given.map((c, i) => pixelIoU(centreGlyph(redrawn.subarray(i * per, (i + 1) * per), shape), centreGlyph(givenGlyphs.get(c)!, shape))));
      if (iou > best.iou) best = { name, iou };
    }
    const s = best.name.startsWith('a') ? strengthFor(diffusion.schedule, rms, Number(best.name.slice(1))) : Number(best.name);
    const drawn = s === 0 ? near[0].alphabet.slice() : await sampleOnEngines(diffusion, labels, { ...DEFAULT_SAMPLE, sampler: 'ddim', eta: 0, seed: 100 + k }, undefined, repeatCode(code, classes), { x0, strength: s });
    for (const [c, g] of givenGlyphs) drawn.set(g, c * per);
    add(`select ${values.select}`, await scoreCompletion(judge, drawn, real, given));
    chosenCounts.set(best.name, (chosenCounts.get(best.name) ?? 0) + 1);
  }
  process.stderr.write(`\rfont ${k + 1}/${chosen.length} (${data.set.fonts[held.fonts[a]]?.name})        `);
  if (values['per-font']) console.log(`${data.set.fonts[held.fonts[a]]?.name} (nearest ${data.set.fonts[near[0].fontId]?.name}, distance ${(near[0].distance / given.length / per / 255 / 255).toFixed(4)}): ${[...scores].map(([name, list]) => `${name} ${list.at(-1)!.iou.toFixed(3)}`).join(', ')}`);
}
process.stderr.write('\n');
console.log(`completion from ${values.given} on ${chosen.length} held-out fonts not scored by fontloom eval --style (run ${run.id}, ${which})`);
console.log(`${''.padEnd(24)}${'IoU'.padStart(8)}${'L1'.padStart(8)}${'style'.padStart(8)}`);
for (const [k, list] of scores) console.log(`${k.padEnd(24)}${mean(list.map((s) => s.iou)).toFixed(3).padStart(8)}${mean(list.map((s) => s.l1)).toFixed(3).padStart(8)}${mean(list.map((s) => s.style)).toFixed(2).padStart(8)}`);
if (values.select) console.log(`chosen: ${[...chosenCounts].map(([n, c]) => `${n} ×${c}`).join(', ')}`);
judge.dispose();
diffusion.model.dispose();
