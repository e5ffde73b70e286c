// Every importer, and the choice among them: a named format, or the first whose content sniff
// says yes (CSV last: its sniff reads text, which the binary formats never are), or for a file
// that none knows but whose name is one format's (x.ttf), that format's reader, to say why not.
import { extname } from 'node:path';
import { SettingError } from '../../errors.ts';
import { cifar10Importer } from './cifar10.ts';
import { csvImporter } from './csv.ts';
import { statNamed } from './files.ts';
import { fontsImporter } from './fonts.ts';
import { kaggleImporter } from './kaggle.ts';
import { npzImporter } from './npz.ts';
import type { Importer } from './types.ts';
import type { DatasetFormat } from '../../contract/api.ts';

export const IMPORTERS: readonly Importer[] = [kaggleImporter, npzImporter, cifar10Importer, fontsImporter, csvImporter];

export async function chooseImporter(path: string, format: DatasetFormat | 'auto'): Promise<Importer> {
  // Before any sniff opens it: a FIFO or device is refused by name, not waited on.
  const info = await statNamed(path);
  if (format !== 'auto') return IMPORTERS.find((i) => i.format === format)!;
  for (const importer of IMPORTERS) if (await importer.sniff(path)) return importer;
  // A file named as one format's (x.ttf) is meant as one: its reader says why it is not.
  const named = info.isFile() ? IMPORTERS.find((i) => i.extensions.includes(extname(path).toLowerCase())) : undefined;
  if (named) return named;
  throw new SettingError(
    'format',
    (where) =>
      `${path} is not a dataset Fontloom recognises: expected a Kaggle letters folder or zip (A..Z folders of PNGs), ` +
      'an .npz with images and labels, a CSV of pixels, font files (TTF/OTF/WOFF) or CIFAR-10 binary batches. ' +
      `If it is one of these, choose its format ${where}.`,
  );
}
