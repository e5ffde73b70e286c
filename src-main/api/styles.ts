// A style as the studio asks for it (letter images, a seed, a blend) turned into what a drawing
// takes: letter images normalised to the model's glyphs, carried as a StyleSpec, with words for it.
import type { GenerationStyle, StyleInput, StyleSpec } from '../contract/api.ts';
import { lettersFromFontFile, lettersFromImages } from '../data/letters.ts';
import { glyphToBase64 } from '../jobs/generate.ts';
import { InvalidInput } from './boundary.ts';

export interface ResolvedStyle {
  spec: StyleSpec;
  /** Letters given as images (a font to finish), normalised: kept as given in the result. */
  given: Map<string, Uint8Array>;
  description: string;
}

export async function resolveStyleInput(input: StyleInput, size: number, classNames: readonly string[]): Promise<ResolvedStyle> {
  switch (input.kind) {
    case 'none':
      return { spec: input, given: new Map(), description: 'each letter on its own' };
    case 'invented':
      return { spec: input, given: new Map(), description: `new style (seed ${input.seed})` };
    case 'letters':
    case 'font': {
      let read;
      try {
        read =
          input.kind === 'font'
            ? await lettersFromFontFile(new Uint8Array(Buffer.from(input.data, 'base64')), input.name, { size, letters: input.letters })
            : await lettersFromImages(
                input.letters.map((l) => ({ name: l.name, bytes: new Uint8Array(Buffer.from(l.data, 'base64')) })),
                { size, source: 'the letters given' },
              );
      } catch (err) {
        throw new InvalidInput((err as Error).message);
      }
      const glyphs: Record<string, string> = {};
      for (const [letter, glyph] of read.letters) {
        if (!classNames.includes(letter)) throw new InvalidInput(`letter ${letter} is not one of the run's classes (${classNames.join('')})`);
        glyphs[letter] = glyphToBase64(glyph);
      }
      const names = [...read.letters.keys()];
      return { spec: { kind: 'glyphs', glyphs }, given: read.letters, description: `the given ${names.join(', ')}` };
    }
    case 'blend': {
      const [from, to] = [await resolveStyleInput(input.from, size, classNames), await resolveStyleInput(input.to, size, classNames)];
      if (input.from.kind === 'none' || input.to.kind === 'none') throw new InvalidInput('a blend goes from one style to another: give two styles');
      return {
        spec: { kind: 'blend', from: from.spec, to: to.spec, t: input.t },
        given: new Map(),
        description: `${Math.round(input.t * 100)}% of the way from ${from.description} to ${to.description}`,
      };
    }
  }
}

export function generationStyle(input: StyleInput, resolved: ResolvedStyle, drawn: Pick<GenerationStyle, 'nearestTrainingFont' | 'startedFrom'>): GenerationStyle {
  return {
    kind: input.kind,
    description: resolved.description,
    given: [...resolved.given.keys()],
    nearestTrainingFont: drawn.nearestTrainingFont,
    ...(drawn.startedFrom && { startedFrom: drawn.startedFrom }),
  };
}
