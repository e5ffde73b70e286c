// What a user may do with a run in each status, and how the status reads.
import { RESUMABLE, type Run, type RunStatus } from '../../src-main/contract/api.ts';

export function canPause(status: RunStatus): boolean {
  return status === 'running';
}

export function canResume(status: RunStatus): boolean {
  return RESUMABLE.includes(status);
}

export function canStop(status: RunStatus): boolean {
  return status === 'running' || status === 'queued' || status === 'paused';
}

/** A run has weights to sample from once it wrote a checkpoint; a completed run has one (an imported one, from step 0). */
export function canGenerate(run: Run): boolean {
  return run.checkpointStep > 0 || run.status === 'completed';
}

export const STATUS_TEXT: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Training',
  paused: 'Paused',
  stopped: 'Stopped',
  completed: 'Completed',
  failed: 'Failed',
  interrupted: 'Interrupted',
};
