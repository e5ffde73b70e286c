// Kernels written in TypeScript for the two backends whose tensors live in this process's memory:
// wasm (its heap) and cpu (typed arrays). A kernel reads its inputs and writes its outputs as
// Float32Arrays in one or two passes, where the same computation composed from tfjs ops would
// take many (see gelu.ts, groupnorm.ts). Other backends compose the tfjs ops instead.
import * as tf from '@tensorflow/tfjs-core';
import { simdKernelsFor, type SimdKernels } from './simd.ts';
import { wasmPoolThreads } from '../runtime/backend.ts';

export type Info = tf.TensorInfo;

/** What a backend offers a host kernel: a float32 view of a tensor and a fresh output. */
export interface HostAccess {
  read(t: Info): Float32Array;
  output(shape: readonly number[]): { info: Info; values: Float32Array };
  /** Frees a scratch tensor made with `output` and not returned. */
  release(t: Info): void;
  /** On wasm: Fontloom's SIMD kernels over the backend's memory, and where a tensor lies in it. */
  simd: { kernels: SimdKernels; offset(t: Info): number } | null;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  disposeData(id: tf.DataId): boolean;
  typedArrayFromHeap(t: Info): Float32Array;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } };
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
}

interface CpuBackendLike {
  disposeData(id: tf.DataId): boolean;
  data: { get(id: tf.DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): Info;
}

const ACCESS: Record<string, (backend: unknown) => HostAccess> = {
  wasm: (b) => {
    const backend = b as WasmBackendLike;
    const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
    const kernels = memory ? simdKernelsFor(memory) : null;
    return {
      simd: kernels ? { kernels, offset: (t) => backend.dataIdMap.get(t.dataId).memoryOffset } : null,
      release: (t) => void backend.disposeData(t.dataId),
      // A view made now: an allocation can grow (and so replace) the heap, so views are never kept.
      read: (t) => backend.typedArrayFromHeap(t),
      output: (shape) => {
        const info = backend.makeOutput([...shape], 'float32');
        return { info, values: backend.typedArrayFromHeap(info) };
      },
    };
  },
  cpu: (b) => {
    const backend = b as CpuBackendLike;
    return {
      simd: null,
      release: (t) => void backend.disposeData(t.dataId),
      read: (t) => backend.data.get(t.dataId).values,
      output: (shape) => {
        const values = new Float32Array(shape.reduce((a, c) => a * c, 1));
        return { info: backend.makeTensorInfo([...shape], 'float32', values), values };
      },
    };
  },
};

/**
 * `register` run on the first call of the returned function only: kernels and their gradients are
 * registered on first use, once per process.
 */
export function once(register: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    register();
  };
}

/** Whether the active backend is wasm with Fontloom's SIMD kernels compiled over its memory. */
export function simdOnActiveBackend(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  return ACCESS.wasm(tf.backend()).simd !== null;
}

/**
 * Whether Fontloom's single-threaded SIMD kernels (GEMM, convolutions) should run: wasm with the
 * kernels, on an engine without XNNPACK's thread pool; an engine with a pool keeps XNNPACK's
 * threaded kernels.
 */
export function simdOnSingleThreadEngine(): boolean {
  return wasmPoolThreads() === 1 && simdOnActiveBackend();
}

/** Whether the active backend runs host kernels (and every input is float32). */
export function hostKernelsApply(...tensors: tf.Tensor[]): boolean {
  return tf.getBackend() in ACCESS && tensors.every((t) => t.dtype === 'float32');
}

/**
 * Registers a host kernel on every host backend. `run` must allocate all its outputs before
 * reading any input: views are taken after the last allocation.
 */
export function registerHostKernel(
  kernelName: string,
  run: (host: HostAccess, inputs: Record<string, Info>, attrs: Record<string, unknown>) => Info | Info[],
): void {
  for (const [backendName, access] of Object.entries(ACCESS)) {
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        run(access(backend), inputs as Record<string, Info>, (attrs ?? {}) as Record<string, unknown>),
    });
  }
}
