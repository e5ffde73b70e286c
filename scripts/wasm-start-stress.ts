// Starts the wasm backend with XNNPACK's thread pool many times over, several processes at once,
// and counts the starts that did not end well (an exit code other than 0, no pool, a hang).
// A start-up race shows here as a rare failure, where one test run would almost never see it.
//   npx tsx scripts/wasm-start-stress.ts [rounds=50] [processes at once=4] [threads=2]
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { initBackend } from '../src-main/engine/runtime/backend.ts';

const self = fileURLToPath(import.meta.url);
const TSX_API = import.meta.resolve('tsx/esm/api');

if (process.argv.includes('--child')) {
  const backend = await initBackend('wasm', { engines: 1 });
  process.stdout.write(backend.adapter);
} else {
  const rounds = Number(process.argv[2] ?? 50);
  const together = Number(process.argv[3] ?? 4);
  const threads = process.argv[4] ?? '2';
  const want = `XNNPACK (SIMD), ${threads} thread${threads === '1' ? '' : 's'}`;
  const failures: string[] = [];

  const start = (): Promise<void> =>
    new Promise((done) => {
      // Started as Fontloom's own processes start (bin/fontloom.mjs, the training process): tsx
      // registered from inside, so the pool's workers come up without it, as fast as they do there.
      const entry = `import { register } from ${JSON.stringify(TSX_API)}; register(); await import(${JSON.stringify(pathToFileURL(self).href)});`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', entry, '--', '--child'], {
        env: { ...process.env, FONTLOOM_WASM_THREADS: threads },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code !== 0 || out.trim() !== want) failures.push(`${signal ? `signal ${signal}` : `exit code ${code}`}: ${out.trim().slice(-300) || '(no output)'}`);
        done();
      });
    });

  const t0 = Date.now();
  for (let r = 0; r < rounds; r++) await Promise.all(Array.from({ length: together }, start));
  const starts = rounds * together;
  console.log(`${starts} starts of wasm with ${threads} threads, ${together} at once, in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${failures.length} failed`);
  for (const f of failures) console.log(`  ${f}`);
  process.exitCode = failures.length ? 1 : 0;
}
