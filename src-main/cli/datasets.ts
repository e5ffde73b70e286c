// `fontloom import`, `datasets` and `dataset show|delete`: the dataset registry from a terminal.
import { openRegistry, type DatasetRecord } from '../data/registry.ts';
import type { DatasetFormat } from '../contract/api.ts';
import { UserError } from '../errors.ts';
import { writeFileAtomic } from '../atomic.ts';
import { renderPreview } from '../export/preview.ts';
import { fontloomHome } from '../home.ts';

function summary(r: DatasetRecord) {
  return {
    id: r.id,
    name: r.name,
    format: r.format,
    count: r.count,
    classes: r.classes,
    fonts: r.fonts,
    height: r.height,
    width: r.width,
    channels: r.channels,
  };
}


export async function importCommand(path: string | undefined, opts: { format: DatasetFormat | 'auto'; name?: string; default?: boolean; json?: boolean }): Promise<void> {
  const registry = await openRegistry(fontloomHome());
  if (!path && !opts.default) throw new UserError('give a PATH to import, or --default for the embedded default dataset');
  let lastShown = 0;
  const { record, existing } = opts.default
    ? await registry.ensureDefault()
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
  if (existing) process.stderr.write(`fontloom: the same glyphs are already imported as ${record.id} ("${record.name}")\n`);
  if (opts.json) {
    process.stdout.write(JSON.stringify(summary(record)) + '\n');
    return;
  }
  process.stdout.write(
    `${record.id}: "${record.name}", ${record.format}, ${record.count.toLocaleString('en-US')} glyphs of ${record.height}×${record.width}×${record.channels}, ` +
      `${record.classes} classes, ${record.fonts.toLocaleString('en-US')} fonts\n`,
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
    process.stdout.write(`${r.id.padEnd(32)} ${r.format.padEnd(8)} ${String(r.count).padStart(8)} glyphs ${String(r.fonts).padStart(6)} fonts  ${r.height}×${r.width}×${r.channels}  "${r.name}"\n`);
  }
}

export async function datasetShowCommand(id: string, opts: { sheet?: string; fonts: number; json?: boolean }): Promise<void> {
  const registry = await openRegistry(fontloomHome());
  const record = await registry.find(id);
  if (opts.json) process.stdout.write(JSON.stringify({ ...summary(record), class_names: record.classNames, source: record.source, notes: record.notes }) + '\n');
  else process.stdout.write(`${record.id}: "${record.name}" from ${record.source}\n  ${record.count} glyphs, ${record.fonts} fonts, classes ${record.classNames.join(' ')}\n${record.notes.map((n) => `  note: ${n}\n`).join('')}`);
  if (!opts.sheet) return;
  if (!opts.sheet.toLowerCase().endsWith('.png')) throw new UserError(`--sheet ${opts.sheet}: the preview is a PNG, name it *.png`);
  const { png } = await renderPreview(await registry.load(record), record, opts.fonts);
  await writeFileAtomic(opts.sheet, png);
  process.stderr.write(`fontloom: preview ${opts.sheet}\n`);
}

export async function datasetDeleteCommand(id: string): Promise<void> {
  const record = await (await openRegistry(fontloomHome())).remove(id);
  process.stdout.write(`deleted ${record.id} ("${record.name}")\n`);
}
