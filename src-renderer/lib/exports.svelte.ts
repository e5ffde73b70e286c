// The exports made since the studio opened, newest first: what each is, of what, and where its
// files are. Kept in the tab's session storage, so a reload keeps the list and a new window
// starts a new one.
import type { ExportResult, Generation } from '../../src-main/contract/api.ts';

export interface MadeExport extends ExportResult {
  /** "Font “Stick Test”", "Glyph PNGs, 32 and 64 px", "SVG outlines", "Sheet PNG". */
  what: string;
  /** The export's file type (sheet, png, svg, otf). */
  format: string;
  run: { id: string; name: string };
  /** Which letters, in what style or from what seed: "A–Z · new style (seed 3) · 1 letter re-rolled". */
  of: string;
  /** When it was made (ISO). */
  at: string;
}

const KEY = 'fontloom.exports';
/** The list stays short enough to read; older exports are still in their folders. */
const MAX = 50;

function session(): Storage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

function load(): MadeExport[] {
  try {
    const list = JSON.parse(session()?.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(list) ? (list as MadeExport[]) : [];
  } catch {
    return [];
  }
}

/** "A–Z" for an alphabet in order, else the letters themselves. */
function lettersOf(names: string[]): string {
  const alphabet = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
  if (names.length === 26 && names.every((n, i) => n === alphabet[i])) return 'A–Z';
  return names.length <= 10 ? names.join(' ') : `${names.length} letters`;
}

/** What a generation's export holds, in words a user reads in the list. */
export function describeGeneration(g: Generation): string {
  const rerolled = g.seeds.filter((s) => s !== g.seed).length;
  return [
    lettersOf(g.classNames),
    `step ${g.step}`,
    g.style ? g.style.description : `seed ${g.seed}`,
    `${g.sampler.toUpperCase()} ${g.steps} steps, CFG ${g.cfg}`,
    ...(rerolled > 0 ? [`${rerolled} ${rerolled === 1 ? 'letter' : 'letters'} re-rolled`] : []),
  ].join(' · ');
}

class Exports {
  list = $state<MadeExport[]>(load());

  add(made: MadeExport): void {
    this.list = [made, ...this.list].slice(0, MAX);
    try {
      session()?.setItem(KEY, JSON.stringify(this.list));
    } catch {
      // Full: the list still shows until the page goes.
    }
  }
}

export const exportsMade = new Exports();
