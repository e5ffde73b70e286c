import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relativeError } from './helpers/compare.ts';

const PROBE = resolve(__dirname, 'helpers/wasm-probe.ts');

interface Probe {
  adapter: string;
  out: number[];
  grads: number[];
}

function probe(threads: string, env: Record<string, string> = {}): Promise<{ code: number | null; result: Probe | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', PROBE], {
      env: { ...process.env, FONTLOOM_WASM_THREADS: threads, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // A pool that kept the process alive would hang here: kill it and fail instead.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr, result: code === 0 ? (JSON.parse(stdout) as Probe) : null });
    });
  });
}

describe('XNNPACK threads for the wasm backend in Node', () => {
  it('start with the threads asked, compute what one thread computes (output and gradients), and let the process end', async () => {
    const [one, two] = await Promise.all([probe('1'), probe('2')]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(one.result!.adapter).toBe('XNNPACK (SIMD), 1 thread');
    expect(two.result!.adapter).toBe('XNNPACK (SIMD), 2 threads');
    expect(relativeError(two.result!.out, one.result!.out)).toBeLessThan(1e-5);
    expect(relativeError(two.result!.grads, one.result!.grads)).toBeLessThan(1e-4);
  }, 120_000);

  it('start without the pool, saying why, when a thread of the pool ends before it loads, and still compute and end', async () => {
    const [one, broken] = await Promise.all([probe('1'), probe('2', { FONTLOOM_PROBE_POOL_WORKER_ENDS: '1' })]);
    expect(one.code, one.stderr).toBe(0);
    expect(broken.code, broken.stderr).toBe(0);
    expect(broken.result!.adapter).toMatch(/^XNNPACK \(SIMD\), 1 thread \(no thread pool: a thread of the pool ended before it loaded \(exit code \d+\)\)$/);
    expect(relativeError(broken.result!.out, one.result!.out)).toBeLessThan(1e-6);
    expect(relativeError(broken.result!.grads, one.result!.grads)).toBeLessThan(1e-6);
  }, 120_000);

  it('refuse a thread count that is not 1 to 8, naming the variable', async () => {
    const bad = await probe('0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/FONTLOOM_WASM_THREADS is "0": expected a whole number of threads from 1 to 8/);
  }, 120_000);
});
