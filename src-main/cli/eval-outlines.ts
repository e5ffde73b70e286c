// The table `fontloom eval --outlines` prints: one row per kind of font (the run's, real ones
// traced the same way, font files from their own outlines), then what each figure means.
import type { FontSetFigures } from '../eval/outline-fonts.ts';
import type { OutlinesReport } from '../jobs/evaluate-outlines.ts';

const COLUMNS = [
  ['fonts', 6],
  ['points/glyph', 14],
  ['on-curve/glyph', 16],
  ['inflections/glyph', 19],
  ['stroke-width CV', 17],
  ['stroke/cap', 12],
  ['legible at 32 px', 18],
] as const;
const NAME_WIDTH = 30;

const fixed = (x: number | null, digits: number) => (x === null ? '—' : x.toFixed(digits));
const percent = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

function row(name: string, s: FontSetFigures): string {
  const cells = [
    String(s.fonts),
    fixed(s.pointsPerGlyph, 1),
    fixed(s.onCurvePerGlyph, 1),
    fixed(s.inflectionsPerGlyph, 1),
    fixed(s.strokeWidthVariation, 3),
    fixed(s.strokeWidthOfCap, 3),
    percent(s.legibility),
  ];
  return `  ${name.padEnd(NAME_WIDTH)}${cells.map((c, i) => c.padStart(COLUMNS[i][1])).join('')}\n`;
}

export function describeOutlinesReport(r: OutlinesReport): string {
  const head = `run ${r.run} step ${r.step} (${r.weights} weights), ${r.generated.fonts.length} alphabet${r.generated.fonts.length === 1 ? '' : 's'}, ` +
    `DDIM ${r.sampler.steps}, CFG ${r.sampler.cfg}, seeds from ${r.sampler.seed}; each built into an OTF as export --format otf builds it, ` +
    `traced from ${r.tracedAt}-px glyphs\n`;
  const header = `  ${''.padEnd(NAME_WIDTH)}${COLUMNS.map(([name, width]) => name.padStart(width)).join('')}\n`;
  const fileRows = r.fontFiles ? r.fontFiles.fonts.map((f) => row(`  ${shortName(f.name)}`, { ...f, fonts: 1 })) : [];
  return (
    head +
    header +
    row('generated, traced OTF', r.generated.summary) +
    (r.realTraced
      ? row('real held-out, traced OTF', r.realTraced.summary) + ratioRow(r.generated.summary, r.realTraced.summary)
      : '  (the dataset has no held-out font with all its letters to trace for scale)\n') +
    (r.fontFiles ? row('font files, own outlines', r.fontFiles.summary) + fileRows.join('') : '  (--font FILE… adds real font files measured from their own outlines)\n') +
    '  points and inflections: medians over the glyphs of a font, then over the fonts; stroke-width CV: the spread\n' +
    '  (std ÷ mean) of the 26 glyphs\' stroke widths, 0 when every letter has one weight; stroke/cap: the median\n' +
    '  stroke width as a share of the cap height; legible: share of letters the classifier reads as themselves\n' +
    '  when the OTF is drawn back at 32 px as the dataset draws fonts.\n' +
    (r.fontFiles ? '  Font files are a designer\'s own outlines, not drawn at 32 px and traced: their points and inflections show\n  what hand-made outlines spend, not what tracing the same letters gives.\n' : '') +
    `  classifier: reads ${percent(r.classifier.heldOutAccuracy)} of the held-out glyphs; ${r.classifier.fromCache ? 'loaded from cache' : 'trained and cached'}\n`
  );
}

/** Generated ÷ real traced, figure by figure (the fonts and legibility columns left blank). */
function ratioRow(generated: FontSetFigures, real: FontSetFigures): string {
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
  const cells = [
    '',
    ratio(generated.pointsPerGlyph, real.pointsPerGlyph),
    ratio(generated.onCurvePerGlyph, real.onCurvePerGlyph),
    ratio(generated.inflectionsPerGlyph, real.inflectionsPerGlyph),
    ratio(generated.strokeWidthVariation, real.strokeWidthVariation),
    ratio(generated.strokeWidthOfCap, real.strokeWidthOfCap),
    '',
  ];
  return `  ${'  generated ÷ real'.padEnd(NAME_WIDTH)}${cells.map((c, i) => c.padStart(COLUMNS[i][1])).join('')}\n`;
}

/** A font file's name without its folder, cut to fit the table. */
function shortName(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? path;
  return name.length > NAME_WIDTH - 4 ? `${name.slice(0, NAME_WIDTH - 5)}…` : name;
}
