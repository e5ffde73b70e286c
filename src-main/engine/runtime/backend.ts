// Chooses and starts a TensorFlow.js backend. `auto` takes the first that loads and computes
// correctly, in the order tensorflow (native) > webgpu on a hardware adapter > wasm > cpu;
// webgpu on a software adapter (lavapipe) is correct but slow, so only asking for it by name
// selects it.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, isBackendChoice, type BackendChoice, type BackendName } from '../../contract/api.ts';
import { UserError } from '../../errors.ts';
import { startWasm } from './wasm-threads.ts';

// Production mode: no debug checks, and no console banner urging tfjs-node on every start.
tf.env().set('PROD', true);

export interface BackendInfo {
  name: BackendName;
  /** What actually computes, e.g. "llvmpipe (software)" or "XNNPACK, 1 thread". */
  adapter: string;
  software: boolean;
}

type Loaded = { adapter: string; software: boolean };

async function loadTensorflow(): Promise<Loaded> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      return { adapter: pkg.endsWith('-gpu') ? 'libtensorflow (CUDA)' : 'libtensorflow (CPU)', software: false };
    } catch {
      // not installed on this machine: try the next
    }
  }
  throw new Error('neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed');
}

let webgpuGlobalsReady = false;

/** navigator.gpu, with Dawn's WebGPU globals installed first in Node. */
async function gpuEntry(): Promise<GPU> {
  if (!webgpuGlobalsReady && !(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    // In Node, tfjs-backend-webgpu needs the WebGPU globals and navigator.gpu before it loads.
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]) }, configurable: true, writable: true });
    webgpuGlobalsReady = true;
  }
  return (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu;
}

let fusedDevice: Promise<GPUDevice> | null = null;

/**
 * A WebGPU device of its own for the fused engine (one per process), with the adapter's largest
 * buffers and bindings: a plan holds each activation in a buffer of its own.
 */
export function webgpuDevice(): Promise<GPUDevice> {
  fusedDevice ??= (async () => {
    const adapter = await (await gpuEntry()).requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('no WebGPU adapter (no Vulkan, Metal or D3D12 driver found)');
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      // The step's GPU time, where the adapter can say it (fontloom bench reports it).
      requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
      requiredLimits: {
        maxBufferSize: l.maxBufferSize,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxStorageBuffersPerShaderStage: Math.min(l.maxStorageBuffersPerShaderStage, 10),
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      },
    });
    device.lost.then(() => { fusedDevice = null; }, () => { fusedDevice = null; });
    return device;
  })();
  fusedDevice.catch(() => { fusedDevice = null; });
  return fusedDevice;
}

async function loadWebgpu(): Promise<Loaded> {
  const gpu = await gpuEntry();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter (no Vulkan, Metal or D3D12 driver found)');
  await import('@tensorflow/tfjs-backend-webgpu');
  const info = adapter.info;
  const software = softwareAdapter(info);
  const name = (info.description || info.device || info.vendor || 'unknown adapter').replace(/\s+/g, ' ').trim();
  return { adapter: software ? `${name.split(':')[0]} (software)` : name, software };
}

function softwareAdapter(info: GPUAdapterInfo): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.device} ${info.description} ${info.architecture}`) ||
    (info.vendor === 'mesa' && /llvmpipe/i.test(info.architecture));
}

/** What `auto` needs to know of the GPU: is there one, and is it hardware. */
type AdapterProbe = { found: false } | { found: true; software: boolean };

const PROBE_SCRIPT = `
const { create, globals } = await import(process.argv[1]);
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter?.info;
process.stdout.write(JSON.stringify(info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } : null));
process.exit(0);
`;

/**
 * Asks for a WebGPU adapter in a child process, once per process tree (forked workers inherit the
 * answer through FONTLOOM_GPU_PROBE). Dawn prints notes about software adapters' limits on
 * stderr as it starts; a child keeps them out of the studio's output when no GPU would be used anyway.
 */
async function probeAdapter(): Promise<AdapterProbe> {
  const known = process.env.FONTLOOM_GPU_PROBE;
  if (known) return JSON.parse(known) as AdapterProbe;
  // ELECTRON_RUN_AS_NODE: inside the Electron app, its binary runs the probe as plain Node.
  const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ELECTRON_RUN_AS_NODE: '1' };
  const probe = await new Promise<AdapterProbe>((resolve) => {
    const entry = createRequire(import.meta.url).resolve('webgpu');
    execFile(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT, entry], { env, timeout: 30_000 }, (err, stdout) => {
      try {
        const info = err ? null : (JSON.parse(stdout || 'null') as GPUAdapterInfo | null);
        resolve(info ? { found: true, software: softwareAdapter(info) } : { found: false });
      } catch {
        resolve({ found: false });
      }
    });
  }).catch((): AdapterProbe => ({ found: false }));
  process.env.FONTLOOM_GPU_PROBE = JSON.stringify(probe);
  return probe;
}

export interface BackendOptions {
  /**
   * wasm engines this process runs: 2 where it trains or draws with an engine worker (each engine
   * then takes half the cores), 1 where it works alone (its one engine takes them all). XNNPACK's
   * pool is sized when the backend starts. Default 2.
   */
  engines?: 1 | 2;
}

let enginesPlanned: 1 | 2 = 2;

/** The engines this process said it runs when its backend started. */
export function plannedEngines(): 1 | 2 {
  return enginesPlanned;
}

/**
 * Engines a model of this preset trains and draws on by default: two where there are two cores,
 * but one for seed, whose batch of 4 gives each engine too little work for the 23.3 M gradients
 * that cross between engines every step (figures: docs/ARCHITECTURE.md, "Engines").
 */
export function defaultEngines(preset: string): 1 | 2 {
  return availableParallelism() >= 2 && preset !== 'seed' ? 2 : 1;
}

/**
 * XNNPACK threads per wasm engine: the cores shared among the planned engines (up to 8), or
 * FONTLOOM_WASM_THREADS (1 to 8).
 */
export function wasmThreads(): number {
  const asked = process.env.FONTLOOM_WASM_THREADS;
  if (asked !== undefined && asked !== '') {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1 || n > 8) {
      throw new UserError(`FONTLOOM_WASM_THREADS is "${asked}": expected a whole number of threads from 1 to 8`);
    }
    return n;
  }
  return Math.max(1, Math.min(8, Math.floor(availableParallelism() / enginesPlanned)));
}

let wasmPool = 1;

/** XNNPACK threads of this process's wasm engine, once started (1 before). */
export function wasmPoolThreads(): number {
  return wasmPool;
}

async function loadWasm(): Promise<Loaded> {
  const { threads, fallback } = await startWasm(wasmThreads());
  wasmPool = threads;
  const note = fallback ? ` (no thread pool: ${fallback})` : '';
  return { adapter: `XNNPACK (SIMD), ${threads} thread${threads === 1 ? '' : 's'}${note}`, software: true };
}

async function loadCpu(): Promise<Loaded> {
  await import('@tensorflow/tfjs-backend-cpu');
  return { adapter: 'JavaScript', software: true };
}

const LOADERS: Record<BackendName, () => Promise<Loaded>> = {
  tensorflow: loadTensorflow,
  webgpu: loadWebgpu,
  wasm: loadWasm,
  cpu: loadCpu,
};

/** A small computation whose answer is known: a backend that gets it wrong is not used. */
async function selfTest(): Promise<void> {
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
  const k = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
  const y = tf.conv2d(x, k, 1, 'valid');
  const v = await y.data();
  tf.dispose([x, k, y]);
  if (Math.abs(v[0] - 45) > 1e-4) throw new Error(`self-test gave ${v[0]}, expected 45`);
}

async function start(name: BackendName): Promise<BackendInfo> {
  const loaded = await LOADERS[name]();
  const registered = name === 'tensorflow' ? 'tensorflow' : name;
  if (!(await tf.setBackend(registered))) throw new Error(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
  await selfTest();
  return { name, ...loaded };
}

/** Starts the backend asked for, or for `auto` the best one that works here. */
export async function initBackend(choice: BackendChoice = 'auto', opts: BackendOptions = {}): Promise<BackendInfo> {
  enginesPlanned = opts.engines ?? 2;
  if (!isBackendChoice(choice)) {
    throw new UserError(`unknown backend "${choice}": choose auto, ${BACKEND_NAMES.join(', ')}`);
  }
  if (choice !== 'auto') {
    try {
      return await start(choice);
    } catch (err) {
      throw new UserError(`the ${choice} backend does not work here: ${(err as Error).message}`);
    }
  }
  for (const name of BACKEND_NAMES) {
    try {
      if (name === 'webgpu') {
        const probe = await probeAdapter();
        if (!probe.found || probe.software) continue;
      }
      return await start(name);
    } catch {
      // fall through to the next backend
    }
  }
  throw new UserError('no TensorFlow.js backend works here');
}

export function describeBackend(b: BackendInfo): string {
  return `${b.name}: ${b.adapter}`;
}
