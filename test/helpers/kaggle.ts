// Writes a glyph set in the Kaggle dataset's real layout: <top>/Images/Images/{A..Z}/{font}.png.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { GlyphSet } from '../../src-main/data/glyphset.ts';

export async function writeKaggleFolder(top: string, set: GlyphSet): Promise<string> {
  const area = set.height * set.width;
  for (const name of set.classNames) await mkdir(join(top, 'Images', 'Images', name), { recursive: true });
  for (let item = 0; item < set.count; item++) {
    const raw = Buffer.from(set.pixels.subarray(item * area, (item + 1) * area));
    const png = await sharp(raw, { raw: { width: set.width, height: set.height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    await writeFile(join(top, 'Images', 'Images', set.classNames[set.labels[item]], `${set.fontIds[item]}.png`), png);
  }
  return top;
}
