// Drawing as a slider moves: one request at a time, and of the values asked for meanwhile only
// the newest is drawn next.

export class LatestOnly<T> {
  private running = false;
  private next: { value: T } | null = null;

  constructor(private readonly task: (value: T) => Promise<void>) {}

  /** Runs `value` now, or after the running task when one runs (replacing any value waiting). */
  ask(value: T): void {
    if (this.running) this.next = { value };
    else void this.run(value);
  }

  /** Forgets the value waiting, if any. */
  drop(): void {
    this.next = null;
  }

  private async run(value: T): Promise<void> {
    this.running = true;
    try {
      await this.task(value);
    } finally {
      this.running = false;
    }
    const next = this.next;
    this.next = null;
    if (next) await this.run(next.value);
  }
}
