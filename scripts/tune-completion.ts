// Chooses how completion starts (jobs/nearest-font.ts: FIT_CANDIDATES, COMPLETION_COVER).
// Completes held-out fonts of the default dataset that `fontloom eval --style` never scores (those
// after its first 12 in the same fixed shuffle) from HAMB, and prints IoU, L1 and the style score
// of the retrieval baseline, of the reshaped nearest font (completion's start, no model), and of
// the model drawing from that start at several strengths.
//   npx tsx scripts/tune-completion.ts [--from 12] [--fonts 24] [--strengths a0.5,a1,0.4,1] [--run default]
//     a strength aC is adaptive (strengthFor: cover C × the start's error on the given letters),
//     1 is pure noise; --cfg 1.5,3: guidance scales; --per-font: each font's IoU;
//     --candidates 1,4,16: also score the reshaped start chosen among that many nearest fonts.
import { parseArgs } from 'node:util';
import { COMPLETION_COVER, DEFAULT_SAMPLE } from '../src-main/contract/api.ts';
import { strengthFor } from '../src-main/engine/diffusion.ts';
import { diffusionFromCheckpoint, readCheckpoint, weightsToDraw } from '../src-main/engine/checkpoint.ts';
import { initBackend } from '../src-main/engine/runtime/backend.ts';
import { sampleOnEngines } from '../src-main/engine/runtime/parallel.ts';
import { refineStyle, REFINE_STEPS, repeatCode, styleOf } from '../src-main/engine/style.ts';
import { completionFonts, givenClasses, loadStyleData, retrieveCompletion, retrievalFonts, scoreCompletion, styleJudgeFor, type CompletionScore } from '../src-main/eval/style-evaluate.ts';
import { completeAlphabets, mean } from '../src-main/eval/style-metrics.ts';
import { FIT_CANDIDATES, glyphsAsStart, trainingFontIndex } from '../src-main/jobs/nearest-font.ts';
import { gatherGlyphs } from '../src-main/eval/metrics.ts';
import { fontloomHome } from '../src-main/home.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../src-main/jobs/default-model.ts';
import { checkpointPath, loadRun, measuringData } from '../src-main/jobs/run.ts';

const { values } = parseArgs({ options: { cfg: { type: 'string', default: String(DEFAULT_SAMPLE.cfg) }, 'per-font': { type: 'boolean', default: false }, from: { type: 'string', default: '12' }, fonts: { type: 'string', default: '24' }, strengths: { type: 'string', default: `a${COMPLETION_COVER}` }, candidates: { type: 'string', default: '' }, run: { type: 'string', default: DEFAULT_RUN }, given: { type: 'string', default: 'HAMB' } } });
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
const fontIndex = await trainingFontIndex(measuringData(run), run.valFraction);
const { judge } = await styleJudgeFor(home, data, run.valFraction, (m) => process.stderr.write(`\r${m}`));
const chosen = completionFonts(held, Number(values.fonts), Number(values.from));
const strengths = values.strengths!.split(',');
const cfgs = values.cfg!.split(',').map(Number);
const scores = new Map<string, CompletionScore[]>();
const add = (k: string, s: CompletionScore) => scores.set(k, [...(scores.get(k) ?? []), s]);
const labels = Array.from({ length: classes }, (_, c) => c);
let fitSeconds = 0;
for (const [k, a] of chosen.entries()) {
  const real = gatherGlyphs(data, held.items.subarray(a * classes, (a + 1) * classes), per).images;
  const givenGlyphs = new Map(given.map((c) => [c, real.slice(c * per, (c + 1) * per)]));
  const pixels = new Uint8Array(given.length * per);
  given.forEach((c, i) => pixels.set(givenGlyphs.get(c)!, i * per));
  const retrieved = retrieveCompletion(index, givenGlyphs);
  add('retrieval', await scoreCompletion(judge, retrieved.alphabet, real, given));
  const t0 = performance.now();
  const start = fontIndex.nearest(givenGlyphs);
  fitSeconds += (performance.now() - t0) / 1000;
  add(`reshaped start, best of ${FIT_CANDIDATES}`, await scoreCompletion(judge, start.alphabet, real, given));
  for (const k of values.candidates ? values.candidates.split(',').map(Number) : []) {
    if (k !== FIT_CANDIDATES) add(`reshaped start, best of ${k}`, await scoreCompletion(judge, fontIndex.nearest(givenGlyphs, k).alphabet, real, given));
  }
  const read = await styleOf(diffusion.model, pixels, given.length);
  const code = await refineStyle(diffusion, pixels, given, read, { steps: REFINE_STEPS, seed: 100 + k });
  for (const name of strengths) for (const cfg of cfgs) {
    const s = name.startsWith('a') ? strengthFor(diffusion.schedule, start.rms, Number(name.slice(1))) : Number(name);
    const from = s < 1 ? { x0: glyphsAsStart(start.alphabet), strength: s } : undefined;
    const drawn = await sampleOnEngines(diffusion, labels, { ...DEFAULT_SAMPLE, cfg, sampler: 'ddim', eta: 0, seed: 100 + k }, undefined, repeatCode(code, classes), from);
    for (const [c, g] of givenGlyphs) drawn.set(g, c * per);
    add(`model, strength ${name}${cfgs.length > 1 ? `, cfg ${cfg}` : ''}`, await scoreCompletion(judge, drawn, real, given));
  }
  process.stderr.write(`\rfont ${k + 1}/${chosen.length} (${data.set.fonts[held.fonts[a]]?.name})        `);
  if (values['per-font']) console.log(`${data.set.fonts[held.fonts[a]]?.name} (nearest ${data.set.fonts[retrieved.fontId]?.name}; start ${start.font}, ${JSON.stringify(start.warp)}): ${[...scores].map(([name, list]) => `${name} ${list.at(-1)!.iou.toFixed(3)}`).join(', ')}`);
}
process.stderr.write('\n');
console.log(`completion from ${values.given} on held-out fonts ${values.from}–${Number(values.from) + chosen.length - 1} of the fixed shuffle (0–11 are those fontloom eval --style scores; tune on the others) (run ${run.id}, ${which}); finding and reshaping the start took ${(fitSeconds / chosen.length).toFixed(2)} s a font`);
console.log(`${''.padEnd(28)}${'IoU'.padStart(8)}${'L1'.padStart(8)}${'style'.padStart(8)}`);
for (const [k, list] of scores) console.log(`${k.padEnd(28)}${mean(list.map((s) => s.iou)).toFixed(3).padStart(8)}${mean(list.map((s) => s.l1)).toFixed(3).padStart(8)}${mean(list.map((s) => s.style)).toFixed(2).padStart(8)}`);
judge.dispose();
diffusion.model.dispose();
