// The reference's state_dict: Fontloom's weights under the names PyTorch gives them and in
// PyTorch's layouts, the check that a state dict fits a preset, and float32 from the dtypes
// weights are shared in.
//
// Names are the variables' own (unet.ts names them after the reference's modules) but for
// nn.MultiheadAttention's input projection, which PyTorch keeps as two bare parameters
// (in_proj_weight, in_proj_bias). Layouts: a convolution's weight is OIHW in PyTorch and HWIO here,
// a linear layer's is out×in there and in×out here; embedding tables (label_emb) are a row per
// class in both. A style model's own layers follow the same rules: style_emb, which maps
// [code, 1] into the time embedding, is a bias-free nn.Linear(style + 1, time_dim).
import { UserError } from '../errors.ts';
import type { Preset } from '../contract/presets.ts';
import type { Checkpoint } from './checkpoint.ts';
import { dtypeBytes } from './safetensors.ts';
import { createUNet, type ModelShape } from './unet.ts';

/** A tensor as a file holds it: its dtype's name (safetensors' spelling), shape and little-endian bytes. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export interface NamedFloats {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** One tensor of a model's state dict: the variable, and its PyTorch key and shape. */
export interface StateDictEntry {
  name: string;
  shape: number[];
  key: string;
  torchShape: number[];
}

const EMBEDDINGS = new Set(['label_emb.weight']);

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const dims = (shape: readonly number[]) => (shape.length ? shape.join('×') : 'a scalar');

export function torchName(name: string): string {
  return name.replace(/\.mha\.in_proj\.(weight|bias)$/, '.mha.in_proj_$1');
}

export function torchShape(name: string, shape: readonly number[]): number[] {
  if (shape.length === 4) return [shape[3], shape[2], shape[0], shape[1]];
  if (shape.length === 2 && !EMBEDDINGS.has(name)) return [shape[1], shape[0]];
  return [...shape];
}

/** A variable's values (Fontloom's layout, `shape`) in PyTorch's layout. */
export function toTorchLayout(name: string, shape: readonly number[], values: Float32Array): Float32Array {
  return relayout(name, shape, values, 'to torch');
}

/** Values in PyTorch's layout as the variable `name` of Fontloom's `shape` holds them. */
export function fromTorchLayout(name: string, shape: readonly number[], values: Float32Array): Float32Array {
  return relayout(name, shape, values, 'from torch');
}

function relayout(name: string, shape: readonly number[], values: Float32Array, way: 'to torch' | 'from torch'): Float32Array {
  const out = new Float32Array(values.length);
  if (shape.length === 4) {
    const [H, W, I, O] = shape;
    // HWIO index ((h·W + w)·I + i)·O + o  ↔  OIHW index ((o·I + i)·H + h)·W + w
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let i = 0; i < I; i++)
          for (let o = 0; o < O; o++) {
            const hwio = ((h * W + w) * I + i) * O + o;
            const oihw = ((o * I + i) * H + h) * W + w;
            if (way === 'to torch') out[oihw] = values[hwio];
            else out[hwio] = values[oihw];
          }
    return out;
  }
  if (shape.length === 2 && !EMBEDDINGS.has(name)) {
    const [IN, OUT] = shape;
    for (let i = 0; i < IN; i++)
      for (let o = 0; o < OUT; o++) {
        if (way === 'to torch') out[o * IN + i] = values[i * OUT + o];
        else out[i * OUT + o] = values[o * IN + i];
      }
    return out;
  }
  out.set(values);
  return out;
}

/** The state dict a preset's network has for `shape`: built once (on the current backend) and freed. */
export function stateDictLayout(preset: Preset, shape: ModelShape): StateDictEntry[] {
  const model = createUNet(preset, shape, 0);
  try {
    return [...model.variables].map(([name, v]) => ({ name, shape: v.shape, key: torchName(name), torchShape: torchShape(name, v.shape) }));
  } finally {
    model.dispose();
  }
}

/**
 * What the tensors say of the data a model was trained on: image channels (the first
 * convolution's input), classes (the label embedding's rows) and a style model's code length.
 */
export function inferModelShape(tensors: ReadonlyMap<string, { shape: number[] }>): { channels?: number; classes?: number; style?: number } {
  const first = tensors.get('inc.double_conv.0.weight')?.shape;
  const labels = tensors.get('label_emb.weight')?.shape;
  const style = tensors.get('style_emb.weight')?.shape;
  return {
    ...(first?.length === 4 && { channels: first[1] }),
    ...(labels?.length === 2 && { classes: labels[0] }),
    ...(style?.length === 2 && style[1] > 1 && { style: style[1] - 1 }),
  };
}

/**
 * Refuses a state dict that does not fit `layout`, naming the first offending key (in the
 * network's order), what the network expects there and what the file holds. `what` opens the
 * message ("ckpt.pt does not fit preset micro (1 channel, 26 classes)").
 */
export function checkStateDict(tensors: ReadonlyMap<string, { shape: number[] }>, layout: readonly StateDictEntry[], what: string): void {
  const count = (shapes: Iterable<{ shape: readonly number[] }>) => [...shapes].reduce((n, t) => n + elements(t.shape), 0);
  const sizes = () =>
    ` (the file holds ${count(tensors.values()).toLocaleString('en-US')} parameters in ${tensors.size} tensors, ` +
    `the preset ${count(layout.map((e) => ({ shape: e.torchShape }))).toLocaleString('en-US')} in ${layout.length})`;
  for (const e of layout) {
    const found = tensors.get(e.key);
    if (!found) throw new UserError(`${what}: ${e.key} should be ${dims(e.torchShape)}, the file has no such tensor${sizes()}`);
    if (found.shape.join('×') !== e.torchShape.join('×')) throw new UserError(`${what}: ${e.key} should be ${dims(e.torchShape)}, found ${dims(found.shape)}${sizes()}`);
  }
  const known = new Set(layout.map((e) => e.key));
  const extra = [...tensors.keys()].filter((k) => !known.has(k));
  if (extra.length) {
    const more = extra.length > 1 ? ` and ${extra.length - 1} more` : '';
    throw new UserError(`${what}: the file holds ${extra[0]} (${dims(tensors.get(extra[0])!.shape)})${more}, which the preset has no place for${sizes()}`);
  }
}

/**
 * A tensor's values as float32. F16 and BF16 convert exactly; F64 only where every value is a
 * float32 (weights saved in double after float32 training); anything else is refused.
 */
export function floatsOf(t: RawTensor, key: string, file: string): Float32Array {
  const n = elements(t.shape);
  if (t.bytes.length !== n * dtypeBytes(t.dtype)) throw new UserError(`${file}: ${key} holds ${t.bytes.length} bytes, not the ${n} ${t.dtype} values of its shape ${dims(t.shape)}`);
  const data = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  switch (t.dtype) {
    case 'F32':
      // A copy: the bytes may sit at any offset of a larger buffer (a Buffer's slice shares it).
      return new Float32Array(new Uint8Array(t.bytes).buffer);
    case 'F16':
      return Float32Array.from({ length: n }, (_, i) => halfToFloat(data.getUint16(2 * i, true)));
    case 'BF16': {
      const bits = Uint32Array.from({ length: n }, (_, i) => data.getUint16(2 * i, true) << 16);
      return new Float32Array(bits.buffer);
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = data.getFloat64(8 * i, true);
        out[i] = v;
        if (out[i] !== v && !Number.isNaN(v)) {
          throw new UserError(
            `${file}: ${key} is F64 and its value ${v} (element ${i}) has no exact float32; Fontloom's weights are float32: ` +
              'save them as float32 (in PyTorch: {k: v.float() for k, v in state_dict.items()})',
          );
        }
      }
      return out;
    }
    default:
      throw new UserError(`${file}: ${key} is ${t.dtype}; Fontloom reads float weights: F32, or F16, BF16 and F64 that convert to float32 exactly`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A state dict that passed checkStateDict, as the network's variables: names, shapes and values. */
export function weightsFromStateDict(tensors: ReadonlyMap<string, RawTensor>, layout: readonly StateDictEntry[], file: string): NamedFloats[] {
  return layout.map((e) => ({ name: e.name, shape: e.shape, values: fromTorchLayout(e.name, e.shape, floatsOf(tensors.get(e.key)!, e.key, file)) }));
}

/** One group of a checkpoint's weights as the reference's state dict, in the network's order. */
export function stateDictOf(ckpt: Checkpoint, group: 'model' | 'ema'): NamedFloats[] {
  return ckpt.header.tensors
    .filter((t) => t.group === group)
    .map((t) => ({
      name: torchName(t.name),
      shape: torchShape(t.name, t.shape),
      values: toTorchLayout(t.name, t.shape, ckpt.data.subarray(t.offset, t.offset + elements(t.shape))),
    }));
}
