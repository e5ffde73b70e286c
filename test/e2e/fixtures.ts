// Datasets the end-to-end tests drop on the studio, built on the spot from the synthetic stick
// letters: a Kaggle-layout folder, the same as a zip, and a CSV of pixels.
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import yazl from 'yazl';
import { syntheticGlyphSet } from '../helpers/synthetic.ts';
import { writeKaggleFolder } from '../helpers/kaggle.ts';

export interface Fixtures {
  kaggleFolder: string;
  kaggleZip: string;
  csv: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

export async function zipFolder(folder: string, zipPath: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const file of await filesUnder(folder)) zip.addFile(file, relative(folder, file));
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(zipPath)).on('close', resolve).on('error', reject);
  });
}

/** A CSV of pixels with a label column and no font column: each row its own "font". */
export function csvOf(fonts: number, seed: number): string {
  const set = syntheticGlyphSet({ fonts, seed });
  const area = set.height * set.width;
  const header = ['label', ...Array.from({ length: area }, (_, i) => `pixel${i}`)].join(',');
  const rows = Array.from({ length: set.count }, (_, item) =>
    [set.classNames[set.labels[item]], ...set.pixels.subarray(item * area, (item + 1) * area)].join(','),
  );
  return `${header}\n${rows.join('\n')}\n`;
}

export async function buildFixtures(dir: string): Promise<Fixtures> {
  await mkdir(dir, { recursive: true });
  const kaggleFolder = await writeKaggleFolder(join(dir, 'Letters'), syntheticGlyphSet({ fonts: 12, seed: 1 }));
  await writeKaggleFolder(join(dir, 'zip-source', 'Stick letters'), syntheticGlyphSet({ fonts: 16, seed: 2 }));
  const kaggleZip = join(dir, 'stick-letters.zip');
  await zipFolder(join(dir, 'zip-source'), kaggleZip);
  const csv = join(dir, 'handwritten-sticks.csv');
  await writeFile(csv, csvOf(6, 3));
  return { kaggleFolder, kaggleZip, csv };
}
