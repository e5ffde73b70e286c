// Every importer, and the choice among them: a named format, or the first whose content sniff
// says yes. CSV goes last: its sniff reads text, which the binary formats never are.
import { UserError } from '../../errors.ts';
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
  await statNamed(path);
  if (format !== 'auto') return IMPORTERS.find((i) => i.format === format)!;
  for (const importer of IMPORTERS) if (await importer.sniff(path)) return importer;
  throw new UserError(
    `${path} is not a dataset Fontloom recognises: expected a Kaggle letters folder or zip (A..Z folders of PNGs), ` +
      'an .npz with images and labels, a CSV of pixels, font files (TTF/OTF/WOFF) or CIFAR-10 binary batches; ' +
      'choose its format by hand (--format, or Format in the studio) if it is one of these',
  );
}
