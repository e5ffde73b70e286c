// Who trains a run: every path that trains claims the run first, in one conditional UPDATE, so
// exactly one process holds it; the holder beats every HEARTBEAT_MS, and a run whose holder is
// gone (a dead pid here, or a silent heartbeat from another host) reads `interrupted`. Runs
// started with --detach wait their turn here behind a run that trains.
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { RESUMABLE } from '../contract/api.ts';
import { UserError } from '../errors.ts';
import { storeFor, type Store, type StoredRun } from '../store/store.ts';

/** Whether a process id belongs to a live process (ours or another Fontloom's). */
export function processAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A killed detached trainer whose parent is gone stays a zombie where init does not reap (containers): dead all the same. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false; // no /proc (not Linux): kill(pid, 0) is all there is
  }
}

/** This machine and pid namespace: where a holder's pid means something. */
export const HOST = `${hostname()} ${pidNamespace()}`.trim();

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return ''; // not Linux: the host name alone
  }
}

/** How often a holder says it is alive, and how long a silent one on another host is trusted. */
export const HEARTBEAT_MS = 2_000;
export const STALE_MS = 10_000;

/**
 * Whether the process holding a run (training it, or waiting its turn) is gone. A pid here is
 * asked directly (a long step may keep a live trainer from beating); one elsewhere speaks only
 * through its heartbeat.
 */
export function holderGone(run: StoredRun, now = Date.now()): boolean {
  if (run.status !== 'running' && run.status !== 'queued') return false;
  if (run.pid === null) return run.status === 'running';
  if (run.host !== null && run.host !== HOST) return run.heartbeat === null || now - run.heartbeat > STALE_MS;
  return !processAlive(run.pid);
}

/** The run as it is now: interrupted if its holder is gone. */
export function settled(store: Store, run: StoredRun): StoredRun {
  return (holderGone(run) && interrupt(store, run)) || run;
}

/** A run whose holder is gone becomes interrupted, unless someone claimed it since it was read. */
function interrupt(store: Store, run: StoredRun): StoredRun | null {
  const error =
    run.status === 'queued'
      ? 'the process waiting to train it ended (killed or crashed); resume queues it again'
      : 'the training process ended without saying why (killed or crashed); resume continues from the last checkpoint';
  return store.updateRunIf(run.id, { status: [run.status], pid: run.pid }, { status: 'interrupted', pid: null, control: null, step: run.checkpointStep, error });
}

/**
 * Runs held by a process that no longer exists (killed, out of memory, power loss) become
 * `interrupted`, resumable from their last checkpoint.
 */
export function markInterrupted(home: string): StoredRun[] {
  const store = storeFor(home);
  const lost = [...store.listRuns('running'), ...store.listRuns('queued')].filter((r) => holderGone(r));
  return lost.map((r) => interrupt(store, r)).filter((r): r is StoredRun => r !== null);
}

export interface Claim {
  /** The process that will train the run (default: this one). */
  pid?: number;
  /** A process that claimed the run on this one's behalf and hands it over (the studio, a `--detach` command). */
  heldBy?: number;
  /** While another run trains: train anyway (default), refuse, or hold the run `queued` until its turn. */
  whenBusy?: 'train' | 'refuse' | 'queue';
  /** Only a run held already: a process waiting its turn must not take back a run paused meanwhile. */
  heldOnly?: boolean;
}

/** The claim on a run, or null where another holds it, it cannot train, or (refuse) the device is busy. */
export function tryClaimRun(home: string, id: string, claim: Claim = {}): StoredRun | null {
  markInterrupted(home); // a dead holder holds nothing, and a dead trainer keeps no device busy
  return storeFor(home).claimRun(id, {
    pid: claim.pid ?? process.pid,
    heldBy: claim.heldBy ?? null,
    host: HOST,
    now: Date.now(),
    whenBusy: claim.whenBusy ?? 'train',
    heldOnly: claim.heldOnly ?? false,
  });
}

/**
 * The one place a run starts training (or waiting its turn): every path that trains claims the
 * run first, and exactly one claimant gets it; the others are refused, told who holds it.
 */
export function claimRun(home: string, id: string, claim: Claim = {}): StoredRun {
  const claimed = tryClaimRun(home, id, claim);
  if (claimed) return claimed;
  const run = storeFor(home).getRun(id);
  if (!run) throw new UserError(`no run "${id}" in ${home} (fontloom runs lists them)`);
  throw whyNotClaimable(home, run);
}

/** Refuses up front a run that another process holds (the claim itself still decides). */
export function refuseIfHeld(home: string, run: StoredRun): void {
  if ((run.status === 'running' || run.status === 'queued') && run.pid !== null) throw whyNotClaimable(home, run);
}

function whyNotClaimable(home: string, run: StoredRun): UserError {
  const where = run.host !== null && run.host !== HOST ? ` on ${run.host.split(' ')[0]}` : '';
  if (run.status === 'running') return new UserError(`run ${run.id} is being trained by process ${run.pid}${where}; pause or stop it first (fontloom pause ${run.id})`);
  if (run.status === 'queued' && run.pid !== null) return new UserError(`run ${run.id} is waiting its turn to train in process ${run.pid}${where}; pause or stop it first (fontloom stop ${run.id})`);
  if (run.status === 'completed') return new UserError(`run ${run.id} is already complete (${run.step}/${run.config.steps} steps)`);
  const training = storeFor(home).listRuns('running').find((r) => r.id !== run.id);
  if (training) return new UserError(`run ${training.id} is training (process ${training.pid}): run ${run.id} waits until it ends`);
  return new UserError(`run ${run.id} is ${run.status}; only a queued or ${RESUMABLE.join(', ')} run can be trained`);
}

/**
 * A run held by one of `holders` (this process, or the one that claimed it for this one) that
 * could not train: failed, saying why, at its last checkpoint, which a resume continues from.
 * A run another process holds is left to it.
 */
export function failHeldRun(home: string, id: string, holders: readonly (number | undefined)[], error: string): void {
  const store = storeFor(home);
  const run = store.getRun(id);
  if (!run || run.pid === null || !holders.includes(run.pid) || (run.status !== 'running' && run.status !== 'queued')) return;
  store.updateRunIf(id, { status: [run.status], pid: run.pid }, { status: 'failed', control: null, pid: null, step: run.checkpointStep, error });
}

/**
 * Says every HEARTBEAT_MS that this process still trains the run (a timer, and between steps in
 * case steps keep the timer from firing); `stillHeld` turns false once the run is not its own.
 */
export function heartbeat(store: Store, id: string): { stillHeld: () => boolean; stop: () => void } {
  let held = true;
  let last = 0;
  const beat = () => {
    last = Date.now();
    held = store.beat(id, process.pid, last);
  };
  beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  return {
    stillHeld: () => {
      if (Date.now() - last >= HEARTBEAT_MS) beat();
      return held;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * A `--detach` run's turn. The simplest queue that needs no server: its process holds the run
 * `queued` and polls the store until no other run trains, then claims it `running` in the same
 * statement that checks (so two waiting runs never both start). Null once the run left the queue
 * meanwhile (paused, stopped, deleted, or taken by another process): then it is not this one's.
 */
export async function waitForTurn(home: string, id: string, heldBy?: number): Promise<StoredRun | null> {
  for (;;) {
    const run = tryClaimRun(home, id, { heldBy, whenBusy: 'queue', heldOnly: true });
    if (!run || run.status === 'running') return run;
    await new Promise((resolve) => setTimeout(resolve, QUEUE_POLL_MS));
  }
}

/** How often a run waiting its turn looks at the store. */
const QUEUE_POLL_MS = 1_000;
