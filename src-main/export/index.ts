// One way out for generated glyphs, used by the CLI and the API: a sample sheet, a PNG glyph
// set, SVG outlines or an OTF font with its specimen beside it, written atomically (see write.ts).
import type { EXPORT_FORMATS, ExportResult } from '../contract/api.ts';
import { UserError } from '../errors.ts';
import { fileNames, glyphPngs, type ExportFile } from './glyphs.ts';
import { placeGlyphs } from './metrics.ts';
import { buildOtf, checkLetterClasses, sanitiseFontNames } from './otf.ts';
import { renderSheet } from './sheet.ts';
import { renderSpecimen, specimenPathFor } from './specimen.ts';
import { glyphSvg, previewSvg, specimenSvg } from './svg.ts';
import { traceGlyphs, type GlyphImages, type TraceOptions } from './trace.ts';
import { checkDestination, writeStaged, type ExportShape } from './write.ts';

export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRequest extends GlyphImages, TraceOptions {
  format: ExportFormat;
  /** A *.png file (sheet), a *.otf file (otf, its specimen beside it as *.specimen.png), or a folder to create (png, svg). */
  out: string;
  /** PNG set: glyph heights in pixels; default [32]. */
  sizes?: number[];
  /** Folder exports: also write `out.zip` of the folder. */
  zip?: boolean;
  /** OTF: names (sanitised, with a warning, where a font cannot hold them). */
  family?: string;
  style?: string;
  /** Sheet and specimen title. */
  title?: string;
}

const SHAPES: Record<ExportFormat, ExportShape> = { sheet: 'file', otf: 'file', png: 'folder', svg: 'folder' };
const FILE_EXTENSIONS: Partial<Record<ExportFormat, string>> = { sheet: '.png', otf: '.otf' };

export async function exportGlyphs(req: ExportRequest): Promise<Omit<ExportResult, 'id'>> {
  const { shape, zip } = await checkExportTarget(req.format, req.out, req.zip ?? false);
  if (req.format === 'otf') checkLetterClasses(req.classNames);
  const warnings = req.zip && !zip ? [`a ${req.format} export is one file: no zip written.`] : [];
  const made = await exportFiles(req);
  const { beside, ...written } = await writeStaged(req.out, shape, made.files, zip, made.beside);
  const specimen = req.format === 'otf' ? { specimen: beside[0] } : {};
  return { ...written, files: [...written.files, ...beside], ...specimen, warnings: [...warnings, ...made.warnings] };
}

/** Whether an export is one file (a sheet, a font) or a folder of them (glyph PNGs, SVGs). */
export function exportShape(format: ExportFormat): ExportShape {
  return SHAPES[format];
}

/** Refuses an out path the format cannot use or would clobber, before any glyph is drawn or traced. */
export async function checkExportTarget(format: ExportFormat, out: string, zipAsked: boolean): Promise<{ shape: ExportShape; zip: boolean }> {
  const shape = SHAPES[format];
  if (!shape) throw new UserError(`unknown export format "${format}": choose sheet, png, svg or otf.`);
  checkOutName(format, out);
  const zip = zipAsked && shape === 'folder';
  await checkDestination(out, shape, zip);
  if (format === 'otf') await checkDestination(specimenPathFor(out), 'file', false);
  return { shape, zip };
}

/** Traced outlines of each glyph as SVG over its bitmap cell, for the studio's preview. */
export async function traceOutlines(input: GlyphImages, opts: TraceOptions = {}): Promise<{ svg: string[]; warnings: string[]; threshold: number }> {
  const traced = await traceGlyphs(input, opts);
  return { svg: traced.glyphs.map((glyph) => previewSvg(glyph, traced.cell)), warnings: traced.warnings, threshold: traced.threshold };
}

/** An export's files, and those written beside it (a font's specimen). */
interface ExportFiles {
  files: ExportFile[];
  beside: ExportFile[];
  warnings: string[];
}

async function exportFiles(req: ExportRequest): Promise<ExportFiles> {
  switch (req.format) {
    case 'sheet':
      return { files: [{ path: '', bytes: await sheetPng(req) }], beside: [], warnings: [] };
    case 'png':
      return { files: await glyphPngs(req, req.sizes), beside: [], warnings: [] };
    case 'svg':
      return { ...(await svgFiles(req)), beside: [] };
    case 'otf':
      return otfFiles(req);
  }
}

function sheetPng(req: ExportRequest): Promise<Buffer> {
  const n = req.classNames.length;
  return renderSheet(req.images, n, req.height, req.width, req.channels as 1 | 3, req.classNames, { title: req.title });
}

async function placedGlyphs(req: GlyphImages & TraceOptions) {
  const traced = await traceGlyphs(req, req);
  return { ...placeGlyphs(traced.glyphs, traced.cell), warnings: traced.warnings };
}

async function svgFiles(req: ExportRequest): Promise<{ files: ExportFile[]; warnings: string[] }> {
  const { glyphs, metrics, warnings } = await placedGlyphs(req);
  const names = fileNames(req.classNames);
  const files = glyphs.map((glyph, i) => ({ path: `${names[i]}.svg`, bytes: Buffer.from(glyphSvg(glyph, metrics)) }));
  files.push({ path: 'specimen.svg', bytes: Buffer.from(specimenSvg(glyphs, metrics, req.title ?? 'Fontloom specimen')) });
  return { files, warnings };
}

/** The font, and its specimen set from the font's own bytes. */
async function otfFiles(req: ExportRequest): Promise<ExportFiles> {
  const { bytes, warnings } = await otfOfGlyphs(req);
  const specimen = await renderSpecimen(bytes);
  return { files: [{ path: '', bytes }], beside: [{ path: specimenPathFor(req.out), bytes: specimen.png }], warnings };
}

/** The font `export --format otf` writes, in memory: traced, placed and built as it is (eval --outlines measures it). */
export async function otfOfGlyphs(req: GlyphImages & TraceOptions & { family?: string; style?: string }): Promise<{ bytes: Uint8Array; warnings: string[] }> {
  checkLetterClasses(req.classNames);
  const { names, warnings: nameWarnings } = sanitiseFontNames(req.family, req.style);
  const { glyphs, metrics, warnings } = await placedGlyphs(req);
  return { bytes: new Uint8Array(buildOtf(glyphs, metrics, names)), warnings: [...nameWarnings, ...warnings] };
}

function checkOutName(format: ExportFormat, out: string): void {
  if (!out) throw new UserError('the export needs an out path.');
  const extension = FILE_EXTENSIONS[format];
  if (extension && !out.toLowerCase().endsWith(extension)) {
    throw new UserError(`out ${out}: a ${format === 'otf' ? 'font' : 'sheet'} is one ${extension} file, name it *${extension}.`);
  }
}
