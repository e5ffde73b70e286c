// The studio's side of training: a queue that trains one run at a time in its own process,
// pause/resume/stop carried by the store's control column (so they work for a run started by
// any Fontloom process), progress relayed as events, and runs whose process died (here or in a
// `fontloom` command) turned `interrupted` within seconds, resumable from their last checkpoint.
import { fork as forkChild } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESUMABLE, type FontloomEvent, type Run } from '../contract/api.ts';
import { UserError } from '../errors.ts';
import { storeFor, type StoredRun } from '../store/store.ts';
import { loadRun, requestControl } from './run.ts';
import { refuseIfHeld } from './claims.ts';
import { tryClaimRun } from './claims.ts';
import { markInterrupted } from './claims.ts';
import { holderGone } from './claims.ts';
import type { WorkerMessage, WorkerTask } from './worker.ts';

export const WORKER_ENTRY = fileURLToPath(new URL('./worker-entry.mjs', import.meta.url));

/** What a started training process looks like to the manager (a ChildProcess or utilityProcess). */
export interface WorkerProcess {
  readonly pid?: number;
  onMessage(listener: (m: WorkerMessage) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  kill(): void;
}

export type WorkerLauncher = (task: WorkerTask) => WorkerProcess;

/** child_process.fork: the CLI's and web host's launcher. */
export const forkWorker: WorkerLauncher = (task) => {
  const child = forkChild(WORKER_ENTRY, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    pid: child.pid,
    onMessage: (listener) => child.on('message', (m) => listener(m as WorkerMessage)),
    onExit: (listener) => child.on('exit', (code, signal) => listener(code, signal)),
    kill: () => child.kill('SIGKILL'),
  };
};

/** A run as the API shows it: without the training process's bookkeeping. */
export function publicRun(r: StoredRun): Run {
  const { data: _data, valFraction: _v, sheet: _s, control: _c, pid: _p, host: _h, heartbeat: _b, ...run } = r;
  return run;
}

export interface DrawResult {
  images: Uint8Array;
  /** The glyphs at the upsampler's size (meta.largeSize), where the run has one. */
  large: Uint8Array | null;
  meta: Extract<WorkerMessage, { type: 'drawn' }>;
}

/** How often the manager looks for runs whose process died (any Fontloom's) and a device gone free. */
export const WATCH_MS = 2_000;

export class Jobs {
  private active: { run: string; proc: WorkerProcess } | null = null;
  private closing = false;
  private readonly watch: NodeJS.Timeout;

  constructor(
    readonly home: string,
    private readonly emit: (e: FontloomEvent) => void,
    private readonly launch: WorkerLauncher = forkWorker,
  ) {
    this.pump();
    // A run trained by a `fontloom` command dies unseen by this process: look for it, and let the queue move on.
    this.watch = setInterval(() => this.pump(), WATCH_MS);
    this.watch.unref();
  }

  private get store() {
    return storeFor(this.home);
  }

  private announce(id: string): Run {
    const run = publicRun(loadRun(this.home, id));
    this.emit({ type: 'run', run });
    return run;
  }

  /** A run waits in the queue; the device takes it when free. */
  enqueue(id: string): Run {
    const run = loadRun(this.home, id);
    refuseIfHeld(this.home, run);
    if (run.status !== 'queued') {
      if (run.status === 'completed') throw new UserError(`run ${id} is ${run.status}`);
      // Only from a settled status: a process that claimed it since it was read keeps it.
      const queued = this.store.updateRunIf(id, { status: RESUMABLE }, { status: 'queued', pid: null, control: null, error: null });
      if (!queued) refuseIfHeld(this.home, loadRun(this.home, id));
    }
    this.announce(id);
    this.pump();
    return publicRun(loadRun(this.home, id));
  }

  resume(id: string): Run {
    const run = loadRun(this.home, id);
    refuseIfHeld(this.home, run);
    if (!RESUMABLE.includes(run.status)) {
      throw new UserError(`run ${id} is ${run.status}; only a ${RESUMABLE.join(', ')} run can be resumed`);
    }
    return this.enqueue(id);
  }

  pause(id: string): Run {
    requestControl(this.home, id, 'pause');
    return this.announce(id);
  }

  stop(id: string): Run {
    requestControl(this.home, id, 'stop');
    return this.announce(id);
  }

  /** Whether a run is being trained, here or by another Fontloom process. */
  private deviceBusy(): boolean {
    if (this.active) return true;
    return this.store.listRuns('running').some((r) => !holderGone(r));
  }

  /** Runs whose process died become interrupted, and say so. */
  private reap(): void {
    for (const run of markInterrupted(this.home)) this.emit({ type: 'run', run: publicRun(run) });
  }

  /** Starts the next run of the studio's queue (queued, no process of its own) when the device is free. */
  private pump(): void {
    if (this.closing) return;
    this.reap();
    if (this.deviceBusy()) return;
    const next = this.store.listRuns('queued').find((r) => r.pid === null);
    if (!next) return;
    // Claimed here for the worker, which takes it over; lost to another process, or the device
    // taken meanwhile, it waits for the next look.
    if (!tryClaimRun(this.home, next.id, { whenBusy: 'refuse' })) return;
    const proc = this.launch({ task: 'train', home: this.home, run: next.id, heldBy: process.pid });
    this.active = { run: next.id, proc };
    proc.onMessage((m) => this.relay(next.id, m));
    proc.onExit((code, signal) => {
      this.active = null;
      this.settleExited(next.id, proc, signal ? `signal ${signal}` : `exit code ${code}`);
      this.pump();
    });
  }

  /**
   * A process that died without settling its run (killed, out of memory) leaves it interrupted,
   * saying how it ended (its own output went to the studio's log); a run another process holds is left to it.
   */
  private settleExited(id: string, proc: WorkerProcess, how: string): void {
    const after = this.store.getRun(id);
    if (!after) return;
    const started = after.pid === proc.pid;
    if (after.status === 'running' && (started || after.pid === process.pid)) {
      this.store.updateRunIf(id, { status: ['running'], pid: after.pid }, {
        status: 'interrupted',
        pid: null,
        control: null,
        step: after.checkpointStep,
        error: started
          ? `the training process ended without saying why (killed or crashed, ${how}); resume continues from the last checkpoint`
          : `the training process could not start (${how})`,
      });
    }
    this.announce(id);
  }

  private relay(run: string, m: WorkerMessage): void {
    if (m.type === 'started') this.announce(run);
    else if (m.type === 'progress') {
      const p = m.progress;
      this.emit({ type: 'progress', run, step: p.step, steps: p.total, loss: p.loss, lr: p.lr, val: p.val, bestVal: p.bestVal, imagesPerSecond: p.imagesPerSecond, etaSeconds: p.etaSeconds });
      if (p.sheet) for (const which of ['model', 'ema'] as const) this.emit({ type: 'sheet', run, step: p.step, which });
    } else if (m.type === 'activity') {
      this.emit({ type: 'activity', run, step: m.step, doing: m.doing });
    } else if (m.type === 'evaluated') {
      this.emit({ type: 'eval', run, step: m.step });
    }
  }

  /** Runs one task in a process of its own and resolves with what `pick` finds in its messages. */
  private once<T>(task: WorkerTask, pick: (m: WorkerMessage) => T | undefined, what: string): Promise<T> {
    const proc = this.launch(task);
    return new Promise((resolve, reject) => {
      let result: T | undefined;
      let failure: Error | null = null;
      proc.onMessage((m) => {
        result ??= pick(m);
        if (m.type === 'error') failure = m.user ? new UserError(m.message) : new Error(m.message);
      });
      proc.onExit((code, signal) => (result !== undefined ? resolve(result) : reject(failure ?? new Error(`${what} failed (exit ${code ?? signal})`))));
    });
  }

  /** Measures a run's checkpoint in a process of its own; the result lands in the store. */
  async evaluate(task: Omit<Extract<WorkerTask, { task: 'eval' }>, 'task' | 'home'>): Promise<number> {
    const step = await this.once({ ...task, task: 'eval', home: this.home }, (m) => (m.type === 'evaluated' ? m.step : undefined), 'the evaluation');
    this.emit({ type: 'eval', run: task.run, step });
    return step;
  }

  /** Times a training step in a process of its own (while no run trains, or the figure would lie). */
  async estimate(task: Omit<Extract<WorkerTask, { task: 'estimate' }>, 'task' | 'home'>): Promise<{ secondsPerStep: number; backend: string }> {
    if (this.deviceBusy()) throw new UserError('a run is training on this machine: the estimate waits until it pauses or ends, or the figure would be wrong');
    return this.once({ ...task, task: 'estimate', home: this.home }, (m) => (m.type === 'estimated' ? m : undefined), 'the measurement');
  }

  /** Draws glyphs from a run's checkpoint in a process of its own, telling `onStep` how far it is. */
  async draw(task: Omit<Extract<WorkerTask, { task: 'draw' }>, 'task' | 'home' | 'out'>, onStep?: (done: number, total: number) => void): Promise<DrawResult> {
    const dir = await mkdtemp(join(tmpdir(), 'fontloom-draw-'));
    const out = join(dir, 'images.bin');
    const pick = (m: WorkerMessage) => {
      if (m.type === 'drawing') onStep?.(m.done, m.total);
      return m.type === 'drawn' ? m : undefined;
    };
    try {
      const meta = await this.once({ ...task, task: 'draw', home: this.home, out }, pick, 'drawing glyphs');
      const large = meta.largeSize ? new Uint8Array(await readFile(`${out}.large`)) : null;
      return { images: new Uint8Array(await readFile(out)), large, meta };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Pauses this manager's training run (checkpointed) and waits for its process, up to `ms`; gives that run as it settled. */
  async close(ms = 60_000): Promise<StoredRun | null> {
    this.closing = true;
    clearInterval(this.watch);
    const active = this.active;
    if (!active) return null;
    const training = this.store.getRun(active.run)?.status === 'running';
    if (training) this.store.updateRun(active.run, { control: 'pause' });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        active.proc.kill();
        resolve();
      }, ms);
      active.proc.onExit(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return training ? (this.store.getRun(active.run) ?? null) : null;
  }
}
