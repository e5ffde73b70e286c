// What the studio is busy with, for the user to see: the action in words, the seconds since it
// began, and how far a drawing is where the server says so (its `draw` events, by job).
import type { FontloomEvent } from '../../src-main/contract/api.ts';
import { client } from './api/index.ts';

/** Each piece of work following a drawing, by the drawing's job. */
const following = new Map<string, Work>();
/** One listener for the page's life, added with the first task (the studio keeps its event stream open anyway). */
let listening = false;

function heard(event: FontloomEvent): void {
  if (event.type !== 'draw') return;
  following.get(event.job)?.reached(event.job, event.done / Math.max(1, event.total));
}

function newJob(): string {
  return `draw-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export class Work {
  /** The action in words ("Drawing the font of seed 3"); null while idle. */
  what = $state<string | null>(null);
  /** When it began (ms since the epoch). */
  since = $state(0);
  /** The share of the current drawing done, 0–1; null until the server says. */
  done = $state<number | null>(null);
  #job: string | null = null;
  /** Counts the tasks begun: a task that ends after a newer one began leaves the newer one shown. */
  #tasks = 0;

  get busy(): boolean {
    return this.what !== null;
  }

  /** Runs `task`, shown as `what` until it ends (or until a newer task takes its place). */
  async run<T>(what: string, task: () => Promise<T>): Promise<T> {
    if (!listening) {
      client.on(heard);
      listening = true;
    }
    const mine = ++this.#tasks;
    this.what = what;
    this.since = Date.now();
    this.done = null;
    try {
      return await task();
    } finally {
      if (mine === this.#tasks) {
        this.#unfollow();
        this.what = null;
        this.done = null;
      }
    }
  }

  /** A job for a drawing the running task asks for, whose steps fill the bar; `what` renames the task from here on. */
  follow(what?: string): string {
    this.#unfollow();
    const job = newJob();
    this.#job = job;
    following.set(job, this);
    this.done = null;
    if (what) this.what = what;
    return job;
  }

  reached(job: string, share: number): void {
    if (job === this.#job) this.done = share;
  }

  #unfollow(): void {
    if (this.#job) following.delete(this.#job);
    this.#job = null;
  }
}
