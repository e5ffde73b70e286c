// Seconds per training step on this machine, measured by the server (a few real steps) once per
// preset, batch and backend while the studio is open, one measurement at a time.
import type { Input, StepEstimate } from '../../src-main/contract/api.ts';
import { client, errorMessage } from './api/index.ts';

export type EstimateState = { state: 'queued' | 'measuring' } | { state: 'done'; estimate: StepEstimate } | { state: 'failed'; error: string };

type Asked = Pick<Input<'estimateStep'>, 'preset' | 'batch' | 'backend'>;

export const estimates: Record<string, EstimateState> = $state({});

export function estimateKey(asked: Asked): string {
  return `${asked.preset}|${asked.batch}|${asked.backend}`;
}

let line: Promise<void> = Promise.resolve();

/** Forgets the measurements that have not started: they would take the cores from a run just started, or from another page. */
export function forgetQueued(): void {
  for (const [key, e] of Object.entries(estimates)) if (e.state === 'queued') delete estimates[key];
}

/** Measures unless measured (or measuring) already; `again` measures anyway, and a failure (a run was training) is tried again. */
export function measure(asked: Asked, again = false): void {
  const key = estimateKey(asked);
  const known = estimates[key];
  if (known && !again && known.state !== 'failed') return;
  estimates[key] = { state: 'queued' };
  line = line.then(async () => {
    // Forgotten while it waited (the user left the page, or started a run): not measured.
    if (estimates[key]?.state !== 'queued') return;
    estimates[key] = { state: 'measuring' };
    try {
      estimates[key] = { state: 'done', estimate: await client.call('estimateStep', asked) };
    } catch (err) {
      estimates[key] = { state: 'failed', error: errorMessage(err) };
    }
  });
}
