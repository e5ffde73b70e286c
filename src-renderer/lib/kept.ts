// The last result of each Generate use of each run, kept in the browser's storage so a reload
// shows the same letters: the generation itself (its images; re-rolled letters have seeds of
// their own) and the request that drew it, to draw it again where the server has forgotten it.
// Storage is small (about 5 MB an origin), so results are capped and the oldest go first.
import type { Generation, Input } from '../../src-main/contract/api.ts';

/** What each Generate use draws: a letter-only run's sheet, or a style run's new font, finished font or blend. */
export type Use = 'letters' | 'new' | 'finish' | 'blend';

/** A generate request as kept: everything but the job that followed it. */
export type Recipe = Omit<Input<'generate'>, 'job'>;

export interface Kept {
  generation: Generation;
  /** Null where the request was too large to keep (a font file given to finish). */
  recipe: Recipe | null;
  /** When it was kept (ms since the epoch): the oldest go first. */
  saved: number;
}

const PREFIX = 'fontloom.result.';
/** One result, in characters: a 26-letter result with its sheet is about 60 k. */
export const MAX_ENTRY = 1_000_000;
/** All results together, leaving room for the rest of the studio. */
export const MAX_TOTAL = 2_500_000;

function keyOf(run: string, use: Use): string {
  return `${PREFIX}${use}.${run}`;
}

export function keptResult(storage: Storage, run: string, use: Use): Kept | null {
  const text = storage.getItem(keyOf(run, use));
  if (!text) return null;
  try {
    const kept = JSON.parse(text) as Kept;
    return kept.generation?.run === run && Array.isArray(kept.generation.glyphs) ? kept : null;
  } catch {
    return null;
  }
}

/** Every kept result's key, size and age. */
function keptEntries(storage: Storage): { key: string; size: number; saved: number }[] {
  const entries = [];
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (!key?.startsWith(PREFIX)) continue;
    const text = storage.getItem(key) ?? '';
    const saved = Number(/"saved":(\d+)/.exec(text)?.[1] ?? 0);
    entries.push({ key, size: text.length, saved });
  }
  return entries;
}

/**
 * Keeps a run's result for a use, in place of the one before. A request too large drops first
 * (the result still shows after a reload), then the oldest results of other runs and uses until
 * the whole fits. Returns whether it was kept.
 */
export function keepResult(storage: Storage, run: string, use: Use, generation: Generation, recipe: Recipe | null, now = Date.now()): boolean {
  const key = keyOf(run, use);
  let text = JSON.stringify({ generation, recipe, saved: now } satisfies Kept);
  if (text.length > MAX_ENTRY) text = JSON.stringify({ generation, recipe: null, saved: now } satisfies Kept);
  if (text.length > MAX_ENTRY) {
    storage.removeItem(key);
    return false;
  }
  const others = keptEntries(storage)
    .filter((e) => e.key !== key)
    .sort((a, b) => a.saved - b.saved);
  let total = others.reduce((sum, e) => sum + e.size, 0) + text.length;
  while (total > MAX_TOTAL && others.length > 0) {
    const oldest = others.shift()!;
    storage.removeItem(oldest.key);
    total -= oldest.size;
  }
  for (;;) {
    try {
      storage.setItem(key, text);
      return true;
    } catch {
      // The origin's storage is full of other things: make room from our oldest, or give up.
      const oldest = others.shift();
      if (!oldest) {
        storage.removeItem(key);
        return false;
      }
      storage.removeItem(oldest.key);
    }
  }
}
