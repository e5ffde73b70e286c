// A font's specimen, written beside every OTF export as `X.specimen.png`: its family name, a
// waterfall of one line from 12 to 96 pt, the alphabet and a few lines of words. It is set from
// the font file's own bytes (opentype.js), so it shows the letters as installed type shows them,
// not the bitmaps they were traced from, and is drawn as an SVG of outlines rasterised by sharp.
// Sizes are at 96 dpi (1 pt = 4/3 px). Text is capitals, letters and spaces only: the font holds
// nothing else (lowercase shows the capitals, any other character the .notdef box).
import opentype from 'opentype.js';
import sharp from 'sharp';
import { escapeXml } from './sheet.ts';

export interface Specimen {
  png: Buffer;
  width: number;
  height: number;
  /** The rows the waterfall is set in, from the image's top (pixels). */
  waterfall: { top: number; bottom: number };
}

const WIDTH = 1600;
const MARGIN = 80;
/** The waterfall's size labels sit in this column; its lines start after it. */
const LABEL_COLUMN = 72;
const PX_PER_PT = 96 / 72;
const WATERFALL_PT = [12, 18, 24, 36, 48, 72, 96] as const;
const WATERFALL_TEXT = 'SPHINX OF BLACK QUARTZ JUDGE MY VOW';
const ALPHABET = 'ABCDEFGHIJKLM NOPQRSTUVWXYZ';
const WORDS: readonly { pt: number; text: string }[] = [
  { pt: 48, text: 'HAMBURGEFONSTIV' },
  { pt: 24, text: 'THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG' },
  { pt: 24, text: 'PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS' },
  {
    pt: 14,
    text: 'THESE LETTERS WERE DRAWN BY A DIFFUSION MODEL ONE STEP AT A TIME OUT OF NOISE THEN TRACED ' +
      'INTO OUTLINES AND BUILT INTO A FONT THAT SETS TEXT AT ANY SIZE IN ANY APP THAT READS OPENTYPE ' +
      'JUST AS THIS PAGE WAS SET FROM THE FONT FILE ITSELF',
  },
];
/** Room above the cap height and below the baseline, in ems: overshoots, Q's tail, a J below the line. */
const LINE_ABOVE = 0.2;
const LINE_BELOW = 0.3;
const INK = '#111';
const LABEL = '#777';
const RULE = '#ddd';
const LABEL_FONT = 'font-family="sans-serif"';

/** `Loom.otf` → `Loom.specimen.png`, in the same folder. */
export function specimenPathFor(fontPath: string): string {
  return `${fontPath.replace(/\.otf$/i, '')}.specimen.png`;
}

/** The specimen PNG of a font file (an OTF's bytes, as written). */
export async function renderSpecimen(otf: Uint8Array): Promise<Specimen> {
  const font = opentype.parse(otf.buffer.slice(otf.byteOffset, otf.byteOffset + otf.byteLength));
  const page = new Page(font);
  page.header();
  page.section('Waterfall');
  const top = page.y;
  for (const pt of WATERFALL_PT) {
    page.line(pt, page.fitting(WATERFALL_TEXT, pt, WIDTH - 2 * MARGIN - LABEL_COLUMN), `${pt} pt`);
    page.y += 10;
  }
  const waterfall = { top, bottom: page.y };
  page.section('Alphabet');
  for (const line of page.wrapped(ALPHABET, 72, WIDTH - 2 * MARGIN)) page.line(72, line);
  page.section('Words');
  for (const { pt, text } of WORDS) {
    for (const line of page.wrapped(text, pt, WIDTH - 2 * MARGIN)) page.line(pt, line);
    page.y += 12;
  }
  page.footer();
  const svg = page.svg();
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  return { png, width: WIDTH, height: page.height, waterfall };
}

/**
 * SVG path data of a set line. Not opentype.js's toPathData: its rounding writes "NaN" for a
 * coordinate whose fraction prints in exponent form (1e-14), and librsvg stops drawing there.
 */
function pathData(path: opentype.Path): string {
  const n = (v: number) => (Math.round(v * 100) / 100).toString();
  return path.commands.map((c) => {
    switch (c.type) {
      case 'M':
      case 'L':
        return `${c.type}${n(c.x)} ${n(c.y)}`;
      case 'Q':
        return `Q${n(c.x1)} ${n(c.y1)} ${n(c.x)} ${n(c.y)}`;
      case 'C':
        return `C${n(c.x1)} ${n(c.y1)} ${n(c.x2)} ${n(c.y2)} ${n(c.x)} ${n(c.y)}`;
      case 'Z':
        return 'Z';
    }
  }).join('');
}

/** The page as it is set, top to bottom: `y` is where the next line's top goes. */
class Page {
  y = MARGIN;
  height = 0;
  private readonly parts: string[] = [];
  /** Cap height in ems: the letters are capitals, so lines are spaced by it, not by the ascender. */
  private readonly capHeight: number;

  constructor(private readonly font: opentype.Font) {
    const os2 = font.tables.os2 as { sCapHeight?: number } | undefined;
    this.capHeight = (os2?.sCapHeight || 0.8 * font.ascender) / font.unitsPerEm;
  }

  header(): void {
    const family = this.font.getEnglishName('fontFamily') || 'Untitled';
    const style = this.font.getEnglishName('fontSubfamily') || 'Regular';
    const letters = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter((c) => this.font.charToGlyphIndex(c) > 0).length;
    this.text(MARGIN, this.y + 44, 48, INK, family, 'font-weight="bold"');
    const alphabet = letters === 26 ? 'A–Z' : `${letters} of the capitals A–Z`;
    this.text(MARGIN, this.y + 84, 20, LABEL, `${style} · ${alphabet}, lowercase set as capitals · ${this.font.unitsPerEm} units per em`);
    this.y += 104;
  }

  section(title: string): void {
    this.y += 28;
    this.parts.push(`<rect x="${MARGIN}" y="${this.y}" width="${WIDTH - 2 * MARGIN}" height="1" fill="${RULE}"/>`);
    this.text(MARGIN, this.y + 26, 14, LABEL, title.toUpperCase(), 'letter-spacing="1.5"');
    this.y += 44;
  }

  /** One line of text in the font at `pt`, with a size label before it when given. */
  line(pt: number, text: string, label?: string): void {
    const px = pt * PX_PER_PT;
    const baseline = this.y + Math.round((this.capHeight + LINE_ABOVE) * px);
    const x = label ? MARGIN + LABEL_COLUMN : MARGIN;
    if (label) this.text(MARGIN, baseline, 14, LABEL, label);
    const d = pathData(this.font.getPath(text, x, baseline, px, { kerning: false }));
    if (d) this.parts.push(`<path d="${d}" fill="${INK}"/>`);
    this.y = baseline + Math.round(LINE_BELOW * px);
  }

  /** The leading words of `text` that fit `width` at `pt` (at least the first). */
  fitting(text: string, pt: number, width: number): string {
    return this.wrapped(text, pt, width)[0];
  }

  /** `text` broken between words into lines no wider than `width` at `pt` (a longer word stands alone). */
  wrapped(text: string, pt: number, width: number): string[] {
    const px = pt * PX_PER_PT;
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(' ')) {
      const tried = line ? `${line} ${word}` : word;
      if (line && this.font.getAdvanceWidth(tried, px, { kerning: false }) > width) {
        lines.push(line);
        line = word;
      } else {
        line = tried;
      }
    }
    return [...lines, line];
  }

  footer(): void {
    this.y += 28;
    this.parts.push(`<rect x="${MARGIN}" y="${this.y}" width="${WIDTH - 2 * MARGIN}" height="1" fill="${RULE}"/>`);
    this.text(MARGIN, this.y + 28, 14, LABEL, 'Set from the font file by Fontloom at 96 dpi (1 pt = 4/3 px), without kerning.');
    this.height = this.y + 28 + MARGIN / 2;
  }

  svg(): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${this.height}" viewBox="0 0 ${WIDTH} ${this.height}">` +
      `<rect width="${WIDTH}" height="${this.height}" fill="#fff"/>${this.parts.join('')}</svg>\n`;
  }

  private text(x: number, y: number, size: number, fill: string, text: string, extra = ''): void {
    this.parts.push(`<text x="${x}" y="${y}" ${LABEL_FONT} font-size="${size}" fill="${fill}" ${extra}>${escapeXml(text)}</text>`);
  }
}
