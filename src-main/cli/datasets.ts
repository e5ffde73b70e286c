// `fontloom import`, `datasets` and `dataset show|delete`: the dataset registry from a terminal.
import { openRegistry, type DatasetRecord } from '../data/registry.ts';
import type { DatasetFormat } from '../contract/api.ts';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../atomic.ts';
import { renderPreviewSheet } from '../export/preview.ts';
import { fontloomHome } from '../home.ts';

function summary(r: DatasetRecord) {
  return {
    id: r.id,
    name: r.name,
    format: r.format,
    count: r.count,
    classes: r.classes,
    fonts: r.fonts,
    fonts_known: r.fontsKnown,
    height: r.height,
    width: r.width,
    channels: r.channels,
  };
}

/** "6 fonts", or why there is no such count. */
function fontCount(r: DatasetRecord): string {
  if (r.fontsKnown) return `${r.fonts.toLocaleString('en-US')} fonts`;
  return r.format === 'cifar10' ? 'images, not fonts' : 'fonts unknown (each glyph its own)';
}

/** What an import that found nothing new says: what was read, and which dataset holds the same glyphs. */
function sameGlyphs(path: string, readAs: DatasetFormat, r: DatasetRecord): string {
  const read = readAs === r.format ? '' : ` (read as ${readAs})`;
  return `${path}${read} holds the same ${r.count.toLocaleString('en-US')} glyphs as ${r.id} ("${r.name}"), ` +
    `imported ${r.created.slice(0, 10)}: nothing new was imported`;
}

export async function importCommand(path: string | undefined, opts: { format: DatasetFormat | 'auto'; name?: string; default?: boolean; json?: boolean }): Promise<void> {
  const registry = await openRegistry(fontloomHome());
  if (!path && !opts.default) throw new UserError('give a PATH to import, or --default for the embedded default dataset');
  let lastShown = 0;
  const { record, existing, readAs } = opts.default
    ? { ...(await registry.ensureDefault()), readAs: null }
    : await registry.import(path!, {
        format: opts.format,
        name: opts.name,
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastShown < 500 && p.done !== p.total) return;
          lastShown = now;
          const of = p.total ? `/${p.total} (${Math.round((p.done / p.total) * 100)}%)` : '';
          process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${p.phase} ${p.done}${of}` : `${p.phase} ${p.done}${of}\n`);
        },
      });
  if (process.stderr.isTTY) process.stderr.write('\n');
  for (const note of record.notes) process.stderr.write(`note: ${note}\n`);
  if (existing) process.stderr.write(`fontloom: ${readAs ? sameGlyphs(path!, readAs, record) : `the default dataset is imported already, as ${record.id}`}\n`);
  if (opts.json) {
    process.stdout.write(JSON.stringify(summary(record)) + '\n');
    return;
  }
  process.stdout.write(
    `${record.id}: "${record.name}", ${record.format}, ${record.count.toLocaleString('en-US')} glyphs of ${record.height}×${record.width}×${record.channels}, ` +
      `${record.classes} classes, ${fontCount(record)}\n`,
  );
}

export async function datasetsCommand(opts: { json?: boolean }): Promise<void> {
  const list = await (await openRegistry(fontloomHome())).list();
  if (opts.json) {
    process.stdout.write(JSON.stringify(list.map(summary)) + '\n');
    return;
  }
  if (list.length === 0) process.stdout.write('no datasets yet: fontloom import PATH, or fontloom import --default\n');
  for (const r of list) {
    process.stdout.write(`${r.id.padEnd(32)} ${r.format.padEnd(8)} ${String(r.count).padStart(8)} glyphs ${(r.fontsKnown ? String(r.fonts) : '?').padStart(6)} fonts  ${r.height}×${r.width}×${r.channels}  "${r.name}"\n`);
  }
}

export async function datasetShowCommand(id: string, opts: { sheet?: string; fonts: number; json?: boolean }): Promise<void> {
  const registry = await openRegistry(fontloomHome());
  const record = await registry.find(id);
  if (opts.json) process.stdout.write(JSON.stringify({ ...summary(record), class_names: record.classNames, source: record.source, notes: record.notes }) + '\n');
  else process.stdout.write(`${record.id}: "${record.name}" from ${record.source}\n  ${record.count} glyphs, ${fontCount(record)}, classes ${record.classNames.join(' ')}\n${record.notes.map((n) => `  note: ${n}\n`).join('')}`);
  if (!opts.sheet) return;
  if (!opts.sheet.toLowerCase().endsWith('.png')) throw new UserError(`--sheet ${opts.sheet}: the preview is a PNG, name it *.png`);
  await writeFileAtomic(opts.sheet, await renderPreviewSheet(await registry.load(record), record, opts.fonts));
  process.stderr.write(`fontloom: preview ${opts.sheet}\n`);
}

export async function datasetDeleteCommand(id: string): Promise<void> {
  const record = await (await openRegistry(fontloomHome())).remove(id);
  process.stdout.write(`deleted ${record.id} ("${record.name}")\n`);
}
