// What Generate keeps in the browser's storage so a reload shows the same letters: the last result
// of each use of each run, within a cap, the oldest going first when storage runs short.
import { describe, expect, it } from 'vitest';
import type { Generation } from '../src-main/contract/api.ts';
import { keepResult, keptResult, MAX_ENTRY, MAX_TOTAL, type Recipe } from '../src-renderer/lib/kept.ts';

/** The browser's Storage, in memory, refusing writes past `quota` characters as a full one does. */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  constructor(private readonly quota = Infinity) {}
  get length() {
    return this.items.size;
  }
  key(i: number) {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    const used = [...this.items].reduce((sum, [k, v]) => sum + (k === key ? 0 : v.length), 0);
    if (used + value.length > this.quota) throw new DOMException('full', 'QuotaExceededError');
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  clear() {
    this.items.clear();
  }
}

/** A result of `run` whose images weigh about `size` characters. */
function generation(run: string, seed: number, size = 1000): Generation {
  const png = { png: 'A'.repeat(Math.ceil(size / 27)), width: 32, height: 32 };
  return {
    id: `g-${run}-${seed}`,
    run,
    step: 100,
    sampler: 'ddim',
    size: 32,
    upsampledFrom: null,
    steps: 10,
    cfg: 3,
    seed,
    ema: true,
    classNames: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
    seeds: Array.from({ length: 26 }, (_, k) => (k === 2 ? 77 : seed)),
    style: null,
    sheet: png,
    glyphs: Array.from({ length: 26 }, () => png),
    seconds: 1,
  };
}

const recipe = (run: string, seed: number): Recipe => ({ id: run, seed, steps: 10 });

describe('the results Generate keeps across reloads', () => {
  it('gives back each run’s last result of each use, its re-rolled seeds and the request that drew it', () => {
    const storage = new MemoryStorage();
    keepResult(storage, 'run-a', 'new', generation('run-a', 1), recipe('run-a', 1));
    keepResult(storage, 'run-a', 'new', generation('run-a', 2), recipe('run-a', 2));
    keepResult(storage, 'run-a', 'blend', generation('run-a', 3), recipe('run-a', 3));
    const kept = keptResult(storage, 'run-a', 'new')!;
    expect(kept.generation).toEqual(generation('run-a', 2));
    expect(kept.generation.seeds[2]).toBe(77);
    expect(kept.recipe).toEqual(recipe('run-a', 2));
    expect(keptResult(storage, 'run-a', 'blend')!.generation.seed).toBe(3);
    expect(keptResult(storage, 'run-b', 'new')).toBeNull();
    expect(keptResult(storage, 'run-a', 'finish')).toBeNull();
  });

  it('keeps the result without its request when the request is too large (a font file given)', () => {
    const storage = new MemoryStorage();
    const big: Recipe = { id: 'run-a', seed: 1, style: { kind: 'font', name: 'Big.ttf', data: 'x'.repeat(MAX_ENTRY) } };
    expect(keepResult(storage, 'run-a', 'finish', generation('run-a', 1), big)).toBe(true);
    const kept = keptResult(storage, 'run-a', 'finish')!;
    expect(kept.recipe).toBeNull();
    expect(kept.generation.id).toBe('g-run-a-1');
  });

  it('lets the oldest results go when all of them would pass the cap', () => {
    const storage = new MemoryStorage();
    const size = MAX_TOTAL / 3;
    keepResult(storage, 'first', 'new', generation('first', 1, size), null, 1);
    keepResult(storage, 'second', 'new', generation('second', 1, size), null, 2);
    keepResult(storage, 'third', 'new', generation('third', 1, size), null, 3);
    expect(keptResult(storage, 'first', 'new')).toBeNull();
    expect(keptResult(storage, 'second', 'new')).not.toBeNull();
    expect(keptResult(storage, 'third', 'new')).not.toBeNull();
  });

  it('makes room in a storage full of other things from its own oldest, and gives up without throwing', () => {
    const storage = new MemoryStorage(5000);
    storage.setItem('fontloom.other', 'y'.repeat(1500));
    keepResult(storage, 'old', 'new', generation('old', 1, 1500), null, 1);
    expect(keepResult(storage, 'new', 'new', generation('new', 1, 1500), null, 2)).toBe(true);
    expect(keptResult(storage, 'old', 'new')).toBeNull();
    expect(storage.getItem('fontloom.other')).toHaveLength(1500);
    expect(keepResult(storage, 'huge', 'new', generation('huge', 1, 6000), null, 3)).toBe(false);
    expect(keptResult(storage, 'huge', 'new')).toBeNull();
  });

  it('ignores what it cannot read', () => {
    const storage = new MemoryStorage();
    storage.setItem('fontloom.result.new.run-a', '{not json');
    expect(keptResult(storage, 'run-a', 'new')).toBeNull();
    keepResult(storage, 'run-a', 'new', generation('run-a', 1), null);
    storage.setItem('fontloom.result.new.run-b', storage.getItem('fontloom.result.new.run-a')!);
    expect(keptResult(storage, 'run-b', 'new')).toBeNull(); // another run's result under its key
  });
});
