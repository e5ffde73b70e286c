// What a type designer gives a style model to finish a font: letter images (dropped or drawn on
// the canvas) or one font file with the capitals chosen, and the StyleInput each becomes.
import type { StyleInput } from '../../src-main/contract/api.ts';

export const ALPHABET = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

/** A letter image as sent: the letter its name gives, the image base64, and a URL that shows it. */
export interface GivenImage {
  letter: string;
  name: string;
  data: string;
  url: string;
}

/** A font file as sent, with the capitals given (all 26 chosen: every capital it has). */
export interface GivenFont {
  name: string;
  data: string;
  /** The family the page shows its letters in; null where the browser cannot load it. */
  family: string | null;
  letters: string[];
}

export type Given = { kind: 'letters'; images: GivenImage[] } | { kind: 'font'; font: GivenFont };

/** What a drop or a picker held, sorted: letter images by letter, at most one font, and what was refused with why. */
export interface Sorted {
  images: { letter: string; file: File }[];
  font: File | null;
  refused: string[];
}

const IMAGE = /\.(png|jpe?g|webp)$/i;
const FONT = /\.(ttf|otf|woff)$/i;

/** The letter a file's name gives: a stem of exactly one letter, either case ("a.png" is A), as the API reads it. */
export function letterOfName(name: string): string | null {
  const stem = name.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  return /^[a-z]$/i.test(stem) ? stem.toUpperCase() : null;
}

export function sortFiles(files: File[]): Sorted {
  const sorted: Sorted = { images: [], font: null, refused: [] };
  for (const file of files) {
    const name = file.name;
    if (FONT.test(name)) {
      if (sorted.font) sorted.refused.push(`${name}: one font at a time (kept ${sorted.font.name})`);
      else sorted.font = file;
    } else if (/\.woff2$/i.test(name)) {
      sorted.refused.push(`${name}: WOFF2 cannot be read; convert it to WOFF, TTF or OTF first`);
    } else if (!IMAGE.test(name)) {
      sorted.refused.push(`${name}: neither a letter image (PNG, JPEG, WebP) nor a font file (TTF, OTF, WOFF)`);
    } else {
      const letter = letterOfName(name);
      const twin = sorted.images.find((i) => i.letter === letter);
      if (letter === null) sorted.refused.push(`${name}: name each image after its letter (A.png … Z.png)`);
      else if (twin) sorted.refused.push(`${name}: ${twin.file.name} gives ${letter} already`);
      else sorted.images.push({ letter, file });
    }
  }
  return sorted;
}

/** `given` with `images` added, each replacing an image of its letter; a font given before gives way to them. */
export function withImages(given: Given | null, images: GivenImage[]): Given {
  const kept = given?.kind === 'letters' ? given.images.filter((g) => !images.some((i) => i.letter === g.letter)) : [];
  const all = [...kept, ...images].sort((a, b) => a.letter.localeCompare(b.letter));
  return { kind: 'letters', images: all };
}

/** `given` less the image of `letter`; null once nothing is left. */
export function withoutLetter(given: Given, letter: string): Given | null {
  if (given.kind !== 'letters') return given;
  const images = given.images.filter((i) => i.letter !== letter);
  return images.length > 0 ? { kind: 'letters', images } : null;
}

/** The letters given, A→Z. */
export function givenLetters(given: Given | null): string[] {
  if (!given) return [];
  return given.kind === 'letters' ? given.images.map((i) => i.letter) : given.font.letters;
}

/** A few words for it: "H, A, M (3 letter images)" or "Serif.ttf (all its capitals)". */
export function describeGiven(given: Given): string {
  if (given.kind === 'letters') {
    const n = given.images.length;
    return `${given.images.map((i) => i.letter).join(', ')} (${n} letter image${n === 1 ? '' : 's'})`;
  }
  const { name, letters } = given.font;
  return `${name} (${letters.length === ALPHABET.length ? 'all its capitals' : letters.join('')})`;
}

/** The style the API draws it in: every capital of a font is sent as no choice, so a font lacking some still works. */
export function styleOfGiven(given: Given): StyleInput {
  if (given.kind === 'letters') return { kind: 'letters', letters: given.images.map(({ name, data }) => ({ name, data })) };
  const { name, data, letters } = given.font;
  return { kind: 'font', name, data, ...(letters.length < ALPHABET.length && { letters: letters.join('') }) };
}

/** One end of a blend: a new font's seed, or the font given to finish. */
export type BlendEnd = { kind: 'seed'; seed: number } | { kind: 'given' };

export const BLEND_STOPS = [0, 25, 50, 75, 100] as const;

export function styleOfEnd(end: BlendEnd, given: Given | null): StyleInput | null {
  if (end.kind === 'seed') return { kind: 'invented', seed: end.seed };
  return given ? styleOfGiven(given) : null;
}
