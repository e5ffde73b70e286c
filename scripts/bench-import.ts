// Throughput of the Kaggle importer: builds a synthetic Kaggle-layout folder (Images/Images/A/0.png
// …) and a zip of it under the system temp folder, imports both, prints glyphs/s and the time
// the real dataset (389,740 glyphs) would take at that rate, then deletes everything.
//   npx tsx scripts/bench-import.ts [fonts]      (default 2000 fonts = 52,000 PNGs)
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import yazl from 'yazl';
import { kaggleImporter } from '../src-main/data/importers/kaggle.ts';
import { npzImporter } from '../src-main/data/importers/npz.ts';
import { LETTERS, syntheticGlyphSet } from '../test/helpers/synthetic.ts';

const REAL_GLYPHS = 389_740;
const fonts = Number(process.argv[2] ?? 2000);
if (!Number.isInteger(fonts) || fonts < 1) throw new Error(`fonts must be a positive integer, got ${process.argv[2]}`);

const top = await mkdtemp(join(tmpdir(), 'fontloom-bench-import-'));
try {
  const letters = join(top, 'Images', 'Images');
  const zipPath = join(top, 'archive.zip');
  await timed(`draw and write ${fonts * 26} PNGs`, () => writeDataset(letters, zipPath));
  for (const [what, path] of [['folder', top], ['zip', zipPath]]) {
    await timed(`sniff the ${what} (kaggle, npz)`, async () => [await kaggleImporter.sniff(path), await npzImporter.sniff(path)]);
    const started = performance.now();
    const { set } = await kaggleImporter.read(path);
    const seconds = (performance.now() - started) / 1000;
    const rate = set.count / seconds;
    console.log(
      `import ${what}: ${set.count} glyphs in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} glyphs/s; ` +
        `${REAL_GLYPHS} glyphs would take ${(REAL_GLYPHS / rate).toFixed(0)} s`,
    );
  }
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
} finally {
  await rm(top, { recursive: true, force: true });
}

async function writeDataset(letters: string, zipPath: string): Promise<void> {
  const set = syntheticGlyphSet({ fonts });
  const zip = new yazl.ZipFile();
  const zipped = pipeline(zip.outputStream, createWriteStream(zipPath));
  for (const letter of LETTERS) await mkdir(join(letters, letter), { recursive: true });
  for (let font = 0; font < fonts; font++) {
    await Promise.all(LETTERS.map(async (letter, label) => {
      const item = font * LETTERS.length + label;
      const raw = Buffer.from(set.pixels.subarray(item * 1024, (item + 1) * 1024));
      const png = await sharp(raw, { raw: { width: 32, height: 32, channels: 1 } }).toColourspace('b-w').png().toBuffer();
      await writeFile(join(letters, letter, `${font}.png`), png);
      zip.addBuffer(png, `Images/Images/${letter}/${font}.png`);
    }));
  }
  zip.end();
  await zipped;
}

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  const extra = result === undefined ? '' : ` → ${JSON.stringify(result)}`;
  console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s${extra}`);
  return result;
}
