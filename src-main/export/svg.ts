// SVG outlines: one file per glyph as the font sets it (viewBox in font units: origin to advance
// across, ascender to descender down; y is flipped because SVG's y points down), a specimen of
// every glyph set in lines, and the previews the studio lays over the bitmaps.
import type { Cell, PlacedGlyph, VerticalMetrics } from './metrics.ts';
import { svgPathData } from './outline.ts';
import { escapeXml } from './sheet.ts';
import type { TracedGlyph } from './trace.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';
const SPECIMEN_COLUMNS = 13;
const SPECIMEN_GAP = 200;
const GUIDE_COLOR = '#c8c8c8';

/** A glyph as an editor opens it: the outline alone, nonzero fill (its windings make the counters). */
export function glyphSvg(glyph: PlacedGlyph, metrics: VerticalMetrics): string {
  const height = metrics.ascender - metrics.descender;
  return `<svg xmlns="${SVG_NS}" viewBox="0 ${-metrics.ascender} ${glyph.advance} ${height}" ` +
    `width="${glyph.advance / 10}" height="${height / 10}">` +
    `<title>${escapeXml(glyph.name)}</title>` +
    `<path d="${svgPathData(glyph.contours, true)}" fill="#000" fill-rule="nonzero"/></svg>\n`;
}

/** Every glyph set at its advance, SPECIMEN_COLUMNS a line, over baseline and cap-height guides. */
export function specimenSvg(glyphs: readonly PlacedGlyph[], metrics: VerticalMetrics, title: string): string {
  const lineHeight = metrics.ascender - metrics.descender;
  const lines: PlacedGlyph[][] = [];
  for (let i = 0; i < glyphs.length; i += SPECIMEN_COLUMNS) lines.push(glyphs.slice(i, i + SPECIMEN_COLUMNS));
  const width = Math.max(...lines.map((line) => line.reduce((sum, g) => sum + g.advance, 0))) + 2 * SPECIMEN_GAP;
  const titleHeight = 300;
  const height = titleHeight + lines.length * (lineHeight + SPECIMEN_GAP);
  const body = lines.map((line, row) => {
    const baseline = titleHeight + row * (lineHeight + SPECIMEN_GAP) + metrics.ascender;
    let x = SPECIMEN_GAP;
    const placed = line.map((glyph) => {
      const path = `<path transform="translate(${x} ${baseline})" d="${svgPathData(glyph.contours, true)}"><title>${escapeXml(glyph.name)}</title></path>`;
      x += glyph.advance;
      return path;
    });
    const guides = [0, metrics.capHeight].map((y) =>
      `<line x1="0" x2="${width}" y1="${baseline - y}" y2="${baseline - y}" stroke="${GUIDE_COLOR}" stroke-width="4"/>`);
    return `${guides.join('')}<g fill="#000" fill-rule="nonzero">${placed.join('')}</g>`;
  });
  return `<svg xmlns="${SVG_NS}" viewBox="0 0 ${width} ${height}" width="${Math.round(width / 5)}" height="${Math.round(height / 5)}">` +
    `<rect width="${width}" height="${height}" fill="#fff"/>` +
    `<text x="${SPECIMEN_GAP}" y="200" font-family="sans-serif" font-size="120" fill="#444">${escapeXml(title)}</text>` +
    `${body.join('')}</svg>\n`;
}

/**
 * A traced glyph where its bitmap cell puts it, for drawing over that bitmap: the viewBox is the
 * cell (in font units), so the SVG and the image line up when shown at the same size.
 */
export function previewSvg(glyph: TracedGlyph, cell: Cell): string {
  const height = cell.top - cell.bottom;
  return `<svg xmlns="${SVG_NS}" viewBox="0 ${-cell.top} ${cell.width} ${height}" preserveAspectRatio="none">` +
    `<path d="${svgPathData(glyph.contours, true)}" fill="#e4572e" fill-opacity="0.35" fill-rule="nonzero" ` +
    `stroke="#e4572e" stroke-width="1.5" vector-effect="non-scaling-stroke"/></svg>`;
}
