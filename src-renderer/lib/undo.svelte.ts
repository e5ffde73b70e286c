// Actions that show as done at once and are done for real only after a while, so that a note can
// offer to take them back: the studio's answer to "are you sure?". Whatever still waits when the
// page is left or closed is done then (best effort: a closing window may not finish a request).

/** How long an action can be taken back. */
export const UNDO_MS = 10_000;

export interface Undoable {
  /** What the action is on (a dataset's id): one action per key at a time. */
  key: string;
  /** What the note says while it can be taken back: "Deleted “kaggle”". */
  done: string;
  /** What it says while the action is done for real, should that take a while: "Deleting “kaggle”…". */
  doing: string;
  /** Does it for real. */
  commit: () => Promise<void>;
}

export interface Pending extends Undoable {
  phase: 'waiting' | 'committing';
}

export class UndoList {
  /** Actions not yet done for real, oldest first: the notes to show. */
  pending = $state<Pending[]>([]);
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    /** Told when an action fails for real (it then shows as not done: the list no longer hides it). */
    private readonly onerror: (err: unknown, action: Undoable) => void,
    readonly waitMs = UNDO_MS,
  ) {}

  /** Whether an action on `key` waits or is being done: what it removes stays hidden meanwhile. */
  has(key: string): boolean {
    return this.pending.some((p) => p.key === key);
  }

  add(action: Undoable): void {
    if (this.has(action.key)) return;
    this.pending.push({ ...action, phase: 'waiting' });
    this.timers.set(action.key, setTimeout(() => void this.commit(action.key), this.waitMs));
  }

  undo(key: string): void {
    const i = this.pending.findIndex((p) => p.key === key && p.phase === 'waiting');
    if (i < 0) return;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.pending.splice(i, 1);
  }

  /** Takes back the latest action that still waits (Ctrl+Z); false when none does. */
  undoLatest(): boolean {
    const latest = this.pending.filter((p) => p.phase === 'waiting').at(-1);
    if (latest) this.undo(latest.key);
    return latest !== undefined;
  }

  /** Does every waiting action now. */
  flush(): void {
    for (const p of this.pending) if (p.phase === 'waiting') void this.commit(p.key);
  }

  /**
   * Does what waits when the page is hidden (closed, reloaded, navigated away) or when the caller
   * goes (its component's teardown); for an $effect: `$effect(() => undo.commitOnLeave())`.
   */
  commitOnLeave(): () => void {
    const flush = () => this.flush();
    window.addEventListener('pagehide', flush);
    return () => {
      window.removeEventListener('pagehide', flush);
      flush();
    };
  }

  private async commit(key: string): Promise<void> {
    const entry = this.pending.find((p) => p.key === key && p.phase === 'waiting');
    if (!entry) return;
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    entry.phase = 'committing';
    try {
      await entry.commit();
    } catch (err) {
      this.onerror(err, entry);
    } finally {
      this.pending = this.pending.filter((p) => p.key !== key);
    }
  }
}
