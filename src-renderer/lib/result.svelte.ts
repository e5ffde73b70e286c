// The result a Generate use shows: the last generation of its run, kept across reloads (kept.ts),
// re-rolled letter by letter, and drawn again from its request and seeds where the server no
// longer holds it (it restarted, or has drawn many since), so a kept result can still be
// re-rolled, traced and exported.
import type { Generation } from '../../src-main/contract/api.ts';
import { ApiError, client } from './api/index.ts';
import { keepResult, keptResult, type Recipe, type Use } from './kept.ts';
import type { Work } from './work.svelte.ts';

function storage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

export class Result {
  generation = $state.raw<Generation | null>(null);
  /** The letter being drawn again, if one is. */
  rolling = $state<number | null>(null);
  #recipe: Recipe | null = null;
  /** Counts the drawings shown, so a re-roll that ends after a new drawing leaves it be. */
  #drawings = 0;

  constructor(
    readonly run: string,
    readonly use: Use,
  ) {
    const store = storage();
    const kept = store && keptResult(store, run, use);
    if (kept) {
      this.generation = kept.generation;
      this.#recipe = kept.recipe;
    }
  }

  /** The request that drew what is shown, where it was kept. */
  get recipe(): Recipe | null {
    return this.#recipe;
  }

  /** Draws with `recipe` and shows the result, kept for reloads. */
  async draw(recipe: Recipe, work: Work): Promise<Generation> {
    const generation = await client.call('generate', { ...recipe, job: work.follow() });
    this.show(generation, recipe);
    return generation;
  }

  /** Shows a generation drawn elsewhere (one of several fonts side by side), kept with what drew it. */
  show(generation: Generation, recipe: Recipe | null): void {
    this.generation = generation;
    this.#recipe = recipe;
    this.#drawings++;
    this.#keep();
  }

  /** Draws one letter again with a new seed, in the same style. */
  async reroll(index: number, seed: number, work: Work): Promise<void> {
    const name = this.generation?.classNames[index] ?? String(index);
    const drawing = this.#drawings;
    this.rolling = index;
    try {
      await work.run(`Drawing ${name} again`, async () => {
        const next = await this.onServer(work, (id) => client.call('reroll', { generation: id, class: index, seed, job: work.follow(`Drawing ${name} again`) }));
        // A new drawing shown meanwhile stays: the letter belonged to the one before.
        if (this.#drawings !== drawing) return;
        this.generation = next;
        this.#keep();
      });
    } finally {
      this.rolling = null;
    }
  }

  /** Calls `act` with the id the server holds this result by, drawing it again first where the server has forgotten it. */
  async onServer<T>(work: Work, act: (id: string) => Promise<T>): Promise<T> {
    const shown = this.generation;
    if (!shown) throw new ApiError('Nothing drawn yet: draw first.', 'user');
    try {
      return await act(shown.id);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'not-found' && err.message.includes(shown.id))) throw err;
      return act((await this.#drawAgain(shown, work)).id);
    }
  }

  /** The same letters again: the request's drawing, then each re-rolled letter with its own seed. */
  async #drawAgain(shown: Generation, work: Work): Promise<Generation> {
    const recipe = this.#recipe;
    if (!recipe) throw new ApiError('The studio no longer holds this result and it was too large to keep how it was drawn: draw it again.', 'user');
    const again = `Drawing this result again (the studio no longer held it)`;
    let generation = await client.call('generate', { ...recipe, job: work.follow(again) });
    const rerolled = shown.seeds.flatMap((seed, k) => (seed === generation.seeds[k] ? [] : [k]));
    for (const [n, k] of rerolled.entries()) {
      const job = work.follow(`${again}: re-rolled letter ${n + 1} of ${rerolled.length}`);
      generation = await client.call('reroll', { generation: generation.id, class: k, seed: shown.seeds[k], job });
    }
    this.generation = generation;
    this.#keep();
    return generation;
  }

  #keep(): void {
    const store = storage();
    if (store && this.generation) keepResult(store, this.run, this.use, this.generation, this.#recipe);
  }
}
