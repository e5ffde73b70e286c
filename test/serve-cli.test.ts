// `fontloom serve` as a user starts and stops it from a terminal: its output is the address, and
// on Ctrl-C one line saying what happened to training, nothing from the GPU driver.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendInWords } from '../src-main/contract/api.ts';
import { BIN } from './helpers/cli.ts';

let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-serve-'));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Starts the server, asks it for its info once it listens (so its backend has started), then sends SIGINT. */
function serveThenInterrupt(): Promise<{ code: number | null; stdout: string; stderr: string; info: { backend: string; cores: number } }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '4893'], {
      env: { ...process.env, FONTLOOM_HOME: home, FONTLOOM_TOKEN: 'serve-test-key', FONTLOOM_GPU_PROBE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let info: { backend: string; cores: number } | null = null;
    child.stdout.on('data', async (d) => {
      stdout += d;
      if (info || !stdout.includes('Fontloom studio: http')) return;
      const answer = await fetch('http://127.0.0.1:4893/api/info', { headers: { 'x-fontloom-token': 'serve-test-key' } });
      info = (await answer.json()) as { backend: string; cores: number };
      child.kill('SIGINT');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => (info ? done({ code, stdout, stderr, info }) : fail(new Error(`the server ended before it answered: ${stderr}`))));
  });
}

describe('fontloom serve', () => {
  it('closes on Ctrl-C saying only that it closed when nothing trained, with no driver notes on the way', async () => {
    const r = await serveThenInterrupt();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Fontloom studio: http:\/\/127\.0\.0\.1:4893\/\?token=serve-test-key\n$/);
    expect(r.stderr).toBe('fontloom: closed\n');
    expect(r.info.cores).toBeGreaterThanOrEqual(1);
  }, 120_000);
});

describe('where training runs, in a user’s words', () => {
  it('counts the cores of a CPU run: XNNPACK threads per engine times the engines', () => {
    expect(backendInWords('wasm: XNNPACK (SIMD), 1 thread, 2 engines')).toBe('CPU, 2 cores');
    expect(backendInWords('wasm: XNNPACK (SIMD), 1 thread, 2 threads')).toBe('CPU, 2 cores'); // as runs recorded it before
    expect(backendInWords('wasm: XNNPACK (SIMD), 4 threads')).toBe('CPU, 4 cores');
    expect(backendInWords('wasm: XNNPACK (SIMD), 1 thread (no thread pool: no SharedArrayBuffer)')).toBe('CPU, 1 core');
    expect(backendInWords('cpu: JavaScript, 2 engines')).toBe('CPU, 2 cores');
  });

  it('takes the machine’s cores when given, and names GPUs by their adapter', () => {
    expect(backendInWords('wasm: XNNPACK (SIMD), 1 thread', 16)).toBe('CPU, 16 cores');
    expect(backendInWords('webgpu: NVIDIA H100 80GB HBM3')).toBe('GPU: NVIDIA H100 80GB HBM3');
    expect(backendInWords('webgpu: llvmpipe (software)')).toBe('GPU emulated on the CPU (slow)');
    expect(backendInWords('tensorflow: libtensorflow (CUDA)')).toBe('GPU (CUDA)');
  });
});
