// XNNPACK threads for the wasm backend in Node. tfjs-backend-wasm ships a threaded SIMD build but
// turns it off in Node, for three reasons this module works around while the backend starts:
//  1. its multithread flag answers false in Node: we set it;
//  2. the pthread workers are started from Blob URLs (the worker script, and the module's own
//     source handed to each worker), which Node's worker_threads cannot load: while the backend
//     starts, the two scripts are written to a private temporary folder and the worker script is
//     pointed at the module file, with the few bundler names the module's source refers to defined
//     for it;
//  3. the backend sizes its pool as min(asked, logical cores / 2), assuming two hyperthreads per
//     core: while the module starts, the core count it reads is made twice the threads asked.
// A start whose pool fails (a worker that ends before it loads, or no start within two minutes)
// is abandoned for the plain build, which says why (watchPool).
// Nothing else changes: the same wasm binary and kernels, the same numbers (see test/wasm-threads).
import * as fs from 'node:fs';
import nodeOs from 'node:os';
import * as path from 'node:path';
import workerThreads from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

/** The worker script's branch that imports the module from a Blob or a URL (Emscripten's pthread worker). */
const IMPORT_BRANCH = /if\(typeof e\.data\.urlOrBlob=="string"\)\{importScripts\(e\.data\.urlOrBlob\)\}else\{[^}]*\}/;
const MODULE_PREFIX = 'var WasmBackendModuleThreadedSimd';
/** Text only Emscripten's pthread worker script holds. */
const WORKER_MARK = 'WasmBackendModuleThreadedSimd(Module)';
/** Names the bundled module's source takes from its bundle's scope (tfjs-backend-wasm 4.x). */
const BUNDLE_SCOPE =
  'var require$$0=require("fs"),require$$1=require("path"),require$$3=require("perf_hooks"),require$$4=require("os"),commonjsGlobal=globalThis;\n';

let scratchDir: string | null = null;

function scriptFolder(): string {
  if (scratchDir) return scratchDir;
  const dir = fs.mkdtempSync(path.join(nodeOs.tmpdir(), 'fontloom-wasm-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  scratchDir = dir;
  return dir;
}

/** Writes a file under a temporary name and renames it into place, so no reader sees part of it. */
function writeWhole(file: string, text: string): string {
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, file);
  return file;
}

/** The tfjs-backend-wasm build whose start-up this module knows (package.json pins it). */
const KNOWN_BUILD = '4.22.0';

export interface WasmStart {
  threads: number;
  /** Why the backend runs without the threads asked for, if it does. */
  fallback?: string;
}

async function startPlain(): Promise<void> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not initialise the wasm backend');
}

/**
 * Starts tfjs's wasm backend with `threads` XNNPACK threads (1: the plain single-threaded build).
 * Where the threaded start cannot work or fails, the backend starts without threads and says why.
 */
export async function startWasm(threads: number): Promise<WasmStart> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (tf.findBackend('wasm')) {
    // Started before in this process: its pool is fixed for the process's life.
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not switch to the wasm backend');
    return { threads: wasm.getThreadsCount() };
  }
  if (threads <= 1) {
    await startPlain();
    return { threads: 1 };
  }
  let reason: string | null = null;
  if (wasm.version_wasm !== KNOWN_BUILD) reason = `tfjs-backend-wasm ${wasm.version_wasm} is not the ${KNOWN_BUILD} build Fontloom knows how to start with threads`;
  else if (typeof SharedArrayBuffer !== 'function') reason = 'this runtime has no SharedArrayBuffer';
  if (!reason) {
    try {
      if (await startThreaded(wasm, threads)) return { threads: wasm.getThreadsCount() };
      reason = 'tfjs could not initialise the threaded wasm backend';
    } catch (err) {
      reason = (err as Error).message;
    }
  }
  await startPlain();
  return { threads: 1, fallback: reason };
}

async function startThreaded(wasm: typeof import('@tensorflow/tfjs-backend-wasm'), threads: number): Promise<boolean> {
  const dir = scriptFolder();
  const texts = new WeakMap<Blob, string>();
  let modulePath: string | null = null;
  let workerPath: string | null = null;

  const NativeBlob = globalThis.Blob;
  const RecordingBlob = function (parts: BlobPart[], options?: BlobPropertyBag) {
    const blob = new NativeBlob(parts, options);
    if (parts.every((p) => typeof p === 'string')) {
      const text = (parts as string[]).join('');
      texts.set(blob, text);
      if (text.startsWith(MODULE_PREFIX)) modulePath = writeWhole(path.join(dir, 'module.cjs'), BUNDLE_SCOPE + text);
    }
    return blob;
  } as unknown as typeof Blob;
  RecordingBlob.prototype = NativeBlob.prototype;

  const nativeCreate = URL.createObjectURL;
  const createObjectURL = (obj: Blob): string => {
    const text = texts.get(obj);
    if (text === undefined || !text.includes(WORKER_MARK)) return nativeCreate(obj);
    // A worker given a Blob URL fails inside an event handler, out of reach: refuse here instead.
    if (!IMPORT_BRANCH.test(text)) throw new Error('the wasm pthread worker script is not the one Fontloom knows');
    if (!modulePath) throw new Error('the threaded wasm module was not seen before its worker script');
    // tfjs asks for the worker script once per pool worker (8 at start), while the workers already
    // made are reading it: the file is written once, whole, and never rewritten under a reader
    // (one that read it half-written ran nothing and ended, and with it the process, exit 13).
    workerPath ??= writeWhole(path.join(dir, 'worker.cjs'), text.replace(IMPORT_BRANCH, `importScripts(${JSON.stringify(modulePath)});`));
    return workerPath;
  };

  const realCpus = nodeOs.cpus;
  const cpus = realCpus();
  globalThis.Blob = RecordingBlob;
  URL.createObjectURL = createObjectURL;
  nodeOs.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  const watch = watchPool();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  let started: boolean;
  try {
    started = await Promise.race([tf.setBackend('wasm'), watch.failed]);
  } catch (err) {
    watch.abandon();
    throw err;
  } finally {
    watch.stop();
    globalThis.Blob = NativeBlob;
    URL.createObjectURL = nativeCreate;
    nodeOs.cpus = realCpus;
  }
  if (!started) return false;
  if (!workerPath) throw new Error('the wasm backend started without its thread pool (unexpected tfjs-backend-wasm build)');
  letProcessExit();
  return true;
}

/** How long the pool may take to start before the backend starts without it. */
const POOL_START_MS = 120_000;

/**
 * Watches the pool's workers while the backend starts. Each worker stops holding the process
 * open once it has loaded, and the start waits for all of them: a worker that ended before it
 * loaded would let the process end in the middle of starting, silently (exit code 13). While the
 * start lasts, a timer holds the process open; a worker that ends early, or a start that takes
 * longer than POOL_START_MS, fails the start, and `abandon` ends the pool's workers so the
 * backend can start without them.
 */
function watchPool(): { failed: Promise<never>; stop(): void; abandon(): void } {
  const workers: InstanceType<typeof workerThreads.Worker>[] = [];
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {}); // read by the race in startThreaded, or by no one once the pool started
  const Native = workerThreads.Worker;
  workerThreads.Worker = class extends Native {
    constructor(...args: ConstructorParameters<typeof Native>) {
      super(...args);
      workers.push(this);
      let loaded = false;
      this.on('message', (m: { cmd?: string } | undefined) => {
        if (m?.cmd === 'loaded') loaded = true;
      });
      this.once('exit', (code) => {
        if (!loaded) fail(new Error(`a thread of the pool ended before it loaded (exit code ${code})`));
      });
    }
  };
  const holdOpen = setInterval(() => {}, 1000);
  const timeout = setTimeout(() => fail(new Error(`the thread pool did not start within ${POOL_START_MS / 1000} s`)), POOL_START_MS);
  return {
    failed,
    stop: () => {
      workerThreads.Worker = Native;
      clearInterval(holdOpen);
      clearTimeout(timeout);
    },
    abandon: () => {
      for (const w of workers) void w.terminate();
    },
  };
}

interface PoolWorker {
  ref(): void;
  unref(): void;
}

/**
 * The pool's threads run for the process's life, and Emscripten holds a reference on each running
 * worker, so a command would never end by itself: the workers stop holding the process open.
 */
function letProcessExit(): void {
  const backend = tf.backend() as unknown as { wasm?: { PThread?: { unusedWorkers: PoolWorker[]; runningWorkers: PoolWorker[] } } };
  const pool = backend.wasm?.PThread;
  if (!pool) return;
  for (const worker of [...pool.unusedWorkers, ...pool.runningWorkers]) {
    worker.ref = () => {};
    worker.unref();
  }
}
