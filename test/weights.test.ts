// Weights in and out as PyTorch users share them: a run's weights written as safetensors and read
// back bit for bit for every preset; a model trained in PyTorch (test/fixtures/torch, made once by
// scripts/make-torch-fixture.py) imported and computing what PyTorch computed; and the files a
// user must not be hurt by (truncated, wrong dtypes, a pickle that asks to run a command, weights
// of another preset) refused with a message and no run left behind.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTrainConfig, PRESETS, PRESET_NAMES, type PresetName } from '../src-main/contract/presets.ts';
import { checkpointOfWeights, readCheckpoint } from '../src-main/engine/checkpoint.ts';
import { decodeSafetensors, encodeSafetensors } from '../src-main/engine/safetensors.ts';
import { floatsOf, stateDictOf, torchName, type RawTensor } from '../src-main/engine/state-dict.ts';
import { createUNet, oneHot, type ModelShape, type UNet } from '../src-main/engine/unet.ts';
import { evaluateRun } from '../src-main/jobs/evaluate-run.ts';
import { checkpointPath } from '../src-main/jobs/run.ts';
import { checkWeights, importWeights, readWeightsFile, safetensorsOf, type WeightsSource } from '../src-main/jobs/weights.ts';
import { storeFor } from '../src-main/store/store.ts';
import { listZip, readZipEntries } from '../src-main/data/importers/zip.ts';
import { useBackend } from './helpers/backends.ts';
import { relativeError } from './helpers/compare.ts';
import { expectRefusal, runFontloom } from './helpers/cli.ts';

const FIXTURES = resolve(__dirname, 'fixtures/torch');
const MICRO_PT = join(FIXTURES, 'micro.pt');
const MICRO_SAFETENSORS = join(FIXTURES, 'micro.safetensors');
const GLYPHS: ModelShape = { channels: 1, classes: 26, size: 32 };

let scratch: string;

beforeAll(async () => {
  await useBackend('cpu');
  scratch = await mkdtemp(join(tmpdir(), 'fontloom-weights-'));
});

afterAll(async () => {
  await tf.setBackend('cpu');
  await rm(scratch, { recursive: true, force: true });
});

const bits = (a: Float32Array) => new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
const concat = (chunks: Uint8Array[]): Uint8Array => Buffer.concat(chunks);

async function valuesOf(model: UNet): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.variables) out.set(name, (await v.data()) as Float32Array);
  return out;
}

/** A fresh network's weights as a checkpoint keeps them (what a run exports). */
async function freshCheckpoint(preset: PresetName, shape: ModelShape, seed: number) {
  const model = createUNet(PRESETS[preset], shape, seed);
  try {
    const values = await valuesOf(model);
    const weights = [...model.variables].map(([name, v]) => ({ name, shape: v.shape, values: values.get(name)! }));
    return { values, ckpt: checkpointOfWeights({ config: defaultTrainConfig(preset, { steps: 7, seed: 3, recipe: { snrGamma: 2.5 } }), shape, classNames: classNames(shape.classes), step: 7, group: 'ema', weights }, 'fresh.ckpt') };
  } finally {
    model.dispose();
  }
}

function classNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `class ${i}`);
}

/** A safetensors file of tensors in any dtype (Fontloom itself writes float32 only). */
function rawSafetensors(tensors: ReadonlyMap<string, RawTensor>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return new Uint8Array(Buffer.concat([length, json, ...[...tensors.values()].map((t) => Buffer.from(t.bytes))]));
}

function asSource(bytes: Uint8Array, file: string): WeightsSource {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  return { format: 'safetensors', tensors, metadata, entry: null };
}

describe('a run’s weights as safetensors, and back', () => {
  for (const preset of PRESET_NAMES) {
    it(`gives back every variable of a fresh ${preset} model bit for bit`, async () => {
      const { values, ckpt } = await freshCheckpoint(preset, GLYPHS, 11);
      const file = concat(safetensorsOf(ckpt, 'ema', { id: 'r1', name: 'a run' }));
      const back = checkWeights(asSource(file, `${preset}.safetensors`), `${preset}.safetensors`, { preset });
      expect(back.spec.weights.map((w) => w.name)).toEqual([...values.keys()]);
      for (const w of back.spec.weights) {
        const want = values.get(w.name)!;
        expect(w.values.length, w.name).toBe(want.length);
        // Bit patterns, so −0 and NaN payloads count too.
        expect(Buffer.compare(Buffer.from(bits(w.values).buffer), Buffer.from(bits(want).buffer)), w.name).toBe(0);
      }
      expect(back.spec).toMatchObject({ shape: GLYPHS, classNames: classNames(26), step: 7, group: 'ema' });
      // The run's own recipe and seed, from the file's metadata (not the preset's: γ 5, seed 0).
      expect(back.config.recipe).toEqual({ ...PRESETS[preset].recipe, snrGamma: 2.5 });
      expect(back.config.seed).toBe(3);
    });
  }

  it('writes the reference’s state_dict: its names, OIHW convolutions and out×in linear layers', async () => {
    const { values, ckpt } = await freshCheckpoint('micro', GLYPHS, 5);
    const { tensors, metadata } = decodeSafetensors(concat(safetensorsOf(ckpt, 'ema', { id: 'r1', name: 'a run' })), 'micro.safetensors');
    expect([...tensors.keys()]).toContain('sa3.mha.in_proj_weight');
    expect([...tensors.keys()]).not.toContain('sa3.mha.in_proj.weight');
    expect(tensors.get('inc.double_conv.0.weight')!.shape).toEqual([8, 1, 3, 3]);
    expect(tensors.get('down1.emb_layer.1.weight')!.shape).toEqual([16, 64]);
    expect(tensors.get('sa2.mha.in_proj_weight')!.shape).toEqual([96, 32]);
    expect(tensors.get('outc.weight')!.shape).toEqual([1, 8, 1, 1]);
    expect(tensors.get('label_emb.weight')!.shape).toEqual([26, 64]);
    // One element by hand: tfjs's HWIO w[kh][kw][i][o] is PyTorch's OIHW w[o][i][kh][kw].
    const hwio = values.get('down1.maxpool_conv.2.double_conv.0.weight')!; // [3,3,8,16]
    const oihw = floatsOf(tensors.get('down1.maxpool_conv.2.double_conv.0.weight')!, 'w', 'micro');
    const [kh, kw, i, o] = [2, 1, 5, 13];
    expect(oihw[((o * 8 + i) * 3 + kh) * 3 + kw]).toBe(hwio[((kh * 3 + kw) * 8 + i) * 16 + o]);
    // Linear: tfjs's [in, out] w[i][o] is PyTorch's [out, in] w[o][i].
    const inOut = values.get('sa2.mha.in_proj.weight')!; // [32, 96]
    const outIn = floatsOf(tensors.get(torchName('sa2.mha.in_proj.weight'))!, 'w', 'micro');
    expect(outIn[70 * 32 + 3]).toBe(inOut[3 * 96 + 70]);
    expect(metadata).toMatchObject({ format: 'pt', preset: 'micro', channels: '1', size: '32', style: 'none', weights: 'ema', step: '7' });
    expect(JSON.parse(metadata.recipe)).toEqual({ ...PRESETS.micro.recipe, snrGamma: 2.5 });
    expect(JSON.parse(metadata.classes)).toEqual(classNames(26));
    expect(metadata.fontloom_version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('keeps a style model’s style code length and the prior its new styles are drawn from', async () => {
    const shape = { ...GLYPHS, style: 32 };
    const { values, ckpt } = await freshCheckpoint('micro', shape, 2);
    const prior = { dim: 32, mean: Array.from({ length: 32 }, (_, i) => i / 10), chol: Array.from({ length: 1024 }, (_, i) => (i % 33 === 0 ? 1 : 0)), codes: [Array(32).fill(0.5)], fontIds: [4] };
    ckpt.header.config = { ...ckpt.header.config, style: { dim: 32, maxRefs: 8, dropout: 0.1 } };
    ckpt.header.stylePriors = { ema: prior };
    const file = concat(safetensorsOf(ckpt, 'ema', { id: 'r1', name: 'styles' }));
    expect(decodeSafetensors(file, 's').tensors.get('style_emb.weight')!.shape).toEqual([64, 33]);
    const back = checkWeights(asSource(file, 'style.safetensors'), 'style.safetensors', { preset: 'micro' });
    expect(back.spec.shape).toEqual(shape);
    expect(back.spec.stylePrior).toEqual(prior);
    expect(back.config.style).toEqual({ dim: 32, maxRefs: 8, dropout: 0.1 });
    for (const w of back.spec.weights) expect([...bits(w.values)], w.name).toEqual([...bits(values.get(w.name)!)]);
  });

  it('drops the module. prefix of a state dict saved from DistributedDataParallel', async () => {
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(MICRO_SAFETENSORS)), MICRO_SAFETENSORS);
    const file = join(scratch, 'ddp.safetensors');
    await writeFile(file, rawSafetensors(new Map([...tensors].map(([k, t]) => [`module.${k}`, t])), metadata));
    const source = await readWeightsFile(file);
    expect([...source.tensors.keys()]).toEqual([...tensors.keys()]);
    expect(checkWeights(source, file, { preset: 'micro' }).params).toBe(249_745);
  });

  it('reads a CIFAR-10 model’s 3 channels and 10 classes from its tensors and names the classes', async () => {
    const { ckpt } = await freshCheckpoint('micro', { channels: 3, classes: 10, size: 32 }, 4);
    // As a PyTorch user's file would be: the tensors, and no Fontloom metadata.
    const file = concat(encodeSafetensors(stateDictOf(ckpt, 'ema'), { format: 'pt' }));
    const back = checkWeights(asSource(file, 'cifar.safetensors'), 'cifar.safetensors', { preset: 'micro' });
    expect(back.spec.shape).toEqual({ channels: 3, classes: 10, size: 32 });
    expect(back.spec.classNames).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(back.spec.group).toBe('model');
  });
});

/** The fixture's input batch and PyTorch's float64 output, NHWC as Fontloom takes them. */
function fixtureBatch() {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(join(FIXTURES, 'batch.safetensors'))), 'batch.safetensors');
  const nchwToNhwc = (v: ArrayLike<number>, [n, c, h, w]: number[]) => {
    const out = new Float64Array(v.length);
    for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[(b * h * w + p) * c + k] = v[(b * c + k) * h * w + p];
    return out;
  };
  const x = tensors.get('x')!;
  const y = tensors.get('y')!;
  expect(y.dtype).toBe('F64');
  return {
    shape: [x.shape[0], x.shape[2], x.shape[3], x.shape[1]] as [number, number, number, number],
    x: Float32Array.from(nchwToNhwc(floatsOf(x, 'x', 'batch'), x.shape)),
    t: Array.from(floatsOf(tensors.get('t')!, 't', 'batch')),
    labels: Array.from(floatsOf(tensors.get('labels')!, 'labels', 'batch')),
    y: nchwToNhwc(new Float64Array(new Uint8Array(y.bytes).buffer), y.shape),
  };
}

async function forward(model: UNet, batch: ReturnType<typeof fixtureBatch>): Promise<Float32Array> {
  const x = tf.tensor4d(batch.x, batch.shape);
  const classes = oneHot(batch.labels, model.shape.classes);
  const y = model.apply(x, batch.t, classes);
  const out = (await y.data()) as Float32Array;
  tf.dispose([x, classes, y]);
  return out;
}

describe('a micro model trained in PyTorch (test/fixtures/torch)', () => {
  it('reads the same weights from its torch.save zip and its safetensors file, 249,745 parameters as fontloom info counts', async () => {
    const fromZip = checkWeights(await readWeightsFile(MICRO_PT), MICRO_PT, { preset: 'micro' });
    const fromSafetensors = checkWeights(await readWeightsFile(MICRO_SAFETENSORS), MICRO_SAFETENSORS, { preset: 'micro' });
    expect(fromZip.params).toBe(249_745);
    expect(fromZip.spec.shape).toEqual(GLYPHS);
    expect(fromZip.spec.classNames.join('')).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    for (const [i, w] of fromZip.spec.weights.entries()) expect([...bits(w.values)], w.name).toEqual([...bits(fromSafetensors.spec.weights[i].values)]);
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`computes PyTorch's output for the fixture's batch to a relative error under 1e-4, on ${backend}`, async () => {
      await useBackend(backend);
      try {
        const batch = fixtureBatch();
        const checked = checkWeights(await readWeightsFile(MICRO_PT), MICRO_PT, { preset: 'micro' });
        const model = createUNet(PRESETS.micro, checked.spec.shape, 0);
        const untrained = await forward(model, batch);
        tf.tidy(() => {
          for (const w of checked.spec.weights) model.variables.get(w.name)!.assign(tf.tensor(w.values, w.shape));
        });
        const ours = await forward(model, batch);
        model.dispose();
        const error = relativeError(ours, batch.y);
        console.log(`micro parity with PyTorch on ${backend}: relative error ${error.toExponential(2)}`);
        expect(error).toBeLessThan(1e-4);
        // The measure tells models apart: a model that was not given the weights is far off.
        expect(relativeError(untrained, batch.y)).toBeGreaterThan(0.1);
      } finally {
        await useBackend('cpu');
      }
    });
  }
});

// ── Files built by hand: torch.save zips with a pickle of our own ────────────────────────────

/** Pickle instructions, as bytes. */
const P = {
  proto: (n: number) => [0x80, n],
  global: (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`)],
  str: (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return [0x58, ...n, ...b];
  },
  int: (n: number) => [0x4b, n],
  mark: [0x28],
  tuple: [0x74],
  tuple2: [0x86],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  reduce: [0x52],
  setitems: [0x75],
  binpersid: [0x51],
  false: [0x89],
  put: (i: number) => [0x71, i],
  get: (i: number) => [0x68, i],
  stop: [0x2e],
};

async function torchZip(path: string, pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): Promise<string> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(pickle), 'archive/data.pkl', { compress: false });
  for (const [key, bytes] of Object.entries(storages)) zip.addBuffer(Buffer.from(bytes), `archive/data/${key}`, { compress: false });
  zip.addBuffer(Buffer.from('3\n'), 'archive/version', { compress: false });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  await writeFile(path, Buffer.concat(chunks));
  return path;
}

/** A state dict pickled as torch.save does: OrderedDict of _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()). */
function stateDictPickle(tensors: Array<{ name: string; key: string; numel: number; shape: [number, number]; stride: [number, number] }>): Uint8Array {
  const body: number[] = [...P.proto(2), ...P.global('collections', 'OrderedDict'), ...P.put(0), ...P.emptyTuple, ...P.reduce, ...P.mark];
  for (const t of tensors) {
    body.push(...P.str(t.name), ...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark);
    body.push(...P.mark, ...P.str('storage'), ...P.global('torch', 'FloatStorage'), ...P.str(t.key), ...P.str('cpu'), ...P.int(t.numel), ...P.tuple, ...P.binpersid);
    body.push(...P.int(0), ...P.int(t.shape[0]), ...P.int(t.shape[1]), ...P.tuple2, ...P.int(t.stride[0]), ...P.int(t.stride[1]), ...P.tuple2);
    body.push(...P.false, ...P.get(0), ...P.emptyTuple, ...P.reduce, ...P.tuple, ...P.reduce);
  }
  body.push(...P.setitems, ...P.stop);
  return Uint8Array.from(body);
}

describe('a torch.save checkpoint read as data', () => {
  it('reads a tensor stored as a strided view (a transpose) in its logical order', async () => {
    const storage = new Float32Array([0, 1, 2, 3, 4, 5]);
    const file = await torchZip(join(scratch, 'strided.pt'), stateDictPickle([{ name: 'w', key: '0', numel: 6, shape: [3, 2], stride: [1, 3] }]), { '0': new Uint8Array(storage.buffer) });
    const { tensors } = await readWeightsFile(file);
    expect(tensors.get('w')!.shape).toEqual([3, 2]);
    expect([...floatsOf(tensors.get('w')!, 'w', file)]).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('takes the state dict a checkpoint dictionary wraps, and asks which one where it wraps two', async () => {
    // {"model": <the fixture's state dict>, "ema": <the same>, "epoch": 3}: the fixture's own
    // pickle inside a dictionary of ours (value 1 of its memo is the state dict itself).
    const entries = await zipEntries(MICRO_PT);
    const inner = entries.get('micro/data.pkl')!;
    expect([inner[0], inner[1], inner[inner.length - 1]]).toEqual([0x80, 0x02, 0x2e]);
    const body = [...inner.subarray(2, inner.length - 1)];
    const storages = Object.fromEntries([...entries].filter(([name]) => name.startsWith('micro/data/')).map(([name, bytes]) => [name.slice('micro/data/'.length), bytes]));
    const wrap = (items: number[]) => Uint8Array.from([...P.proto(2), ...P.emptyDict, ...P.mark, ...items, ...P.setitems, ...P.stop]);
    const two = await torchZip(join(scratch, 'two.pt'), wrap([...P.str('model'), ...body, ...P.str('ema'), ...P.get(1), ...P.str('epoch'), ...P.int(3)]), storages);
    await expect(readWeightsFile(two)).rejects.toThrow(/holds several state dicts \("model", "ema"\): choose one with --entry/);
    const ema = await readWeightsFile(two, 'ema');
    expect(ema.entry).toBe('ema');
    expect(checkWeights(ema, two, { preset: 'micro' }).spec.group).toBe('ema');
    const one = await torchZip(join(scratch, 'one.pt'), wrap([...P.str('model'), ...body, ...P.str('epoch'), ...P.int(3)]), storages);
    const model = checkWeights(await readWeightsFile(one), one, { preset: 'micro' });
    expect(model.spec.group).toBe('model');
    expect(model.params).toBe(249_745);
  });
});

/** Every entry of a zip, by name. */
async function zipEntries(path: string): Promise<Map<string, Uint8Array>> {
  const names = new Set((await listZip(path)).map((e) => e.name));
  const out = new Map<string, Uint8Array>();
  for await (const e of readZipEntries(path, names, { maxEntryBytes: 2 ** 30, maxTotalBytes: 2 ** 30, maxRatio: 100, ratioFloorBytes: 2 ** 20 })) out.set(e.name, e.data);
  return out;
}

describe('files that are refused, leaving no run behind', () => {
  let home: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'fontloom-weights-home-'));
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  async function expectRefusedWithoutRun(file: string, request: Parameters<typeof importWeights>[2], message: RegExp): Promise<void> {
    await expect(importWeights(home, file, request)).rejects.toThrow(message);
    expect(storeFor(home).listRuns()).toEqual([]);
    const runs = join(home, 'runs');
    expect(existsSync(runs) ? await readdir(runs) : []).toEqual([]);
  }

  it('refuses a truncated safetensors file', async () => {
    const bytes = readFileSync(MICRO_SAFETENSORS);
    const file = join(scratch, 'truncated.safetensors');
    await writeFile(file, bytes.subarray(0, bytes.length - 1000));
    await expectRefusedWithoutRun(file, { preset: 'micro' }, /truncated\.safetensors is not a usable safetensors file: tensor \S+'s data_offsets \[\d+, \d+\] run past the end of its \d+ bytes of data \(the file is truncated\)/);
    await writeFile(file, bytes.subarray(0, 100));
    await expectRefusedWithoutRun(file, { preset: 'micro' }, /its header claims \d+ bytes but only 92 follow \(the file is truncated\)/);
  });

  /** The fixture's safetensors with one tensor's header entry changed by `edit`. */
  async function editedSafetensors(name: string, edit: (entry: { dtype: string; shape: number[]; data_offsets: number[] }) => void): Promise<string> {
    const bytes = readFileSync(MICRO_SAFETENSORS);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.toString('utf8', 8, 8 + n));
    edit(header['sa2.ln.bias']);
    let json = JSON.stringify(header);
    json += ' '.repeat(n - Buffer.byteLength(json));
    expect(Buffer.byteLength(json)).toBe(n);
    const file = join(scratch, name);
    await writeFile(file, Buffer.concat([bytes.subarray(0, 8), Buffer.from(json), bytes.subarray(8 + n)]));
    return file;
  }

  it('refuses a tensor of integers (I32) where float weights belong', async () => {
    const file = await editedSafetensors('int.safetensors', (e) => (e.dtype = 'I32'));
    await expectRefusedWithoutRun(file, { preset: 'micro' }, /int\.safetensors: sa2\.ln\.bias is I32; Fontloom reads float weights/);
  });

  it('refuses F64 weights that float32 cannot hold exactly, and reads exact F64 and F16 ones', async () => {
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(MICRO_SAFETENSORS)), MICRO_SAFETENSORS);
    const bias = floatsOf(tensors.get('sa2.ln.bias')!, 'b', 'micro');
    const asDoubles = (nudge: number): RawTensor => ({ dtype: 'F64', shape: [bias.length], bytes: new Uint8Array(Float64Array.from(bias, (v) => v + nudge).buffer) });
    const withBias = (t: RawTensor) => new Map([...tensors].map(([k, v]) => [k, k === 'sa2.ln.bias' ? t : v]));
    const inexact = join(scratch, 'double.safetensors');
    await writeFile(inexact, rawSafetensors(withBias(asDoubles(1e-12)), metadata));
    await expectRefusedWithoutRun(inexact, { preset: 'micro' }, /double\.safetensors: sa2\.ln\.bias is F64 and its value .* \(element 0\) has no exact float32/);
    const exact = checkWeights(asSource(rawSafetensors(withBias(asDoubles(0)), metadata), 'exact'), 'exact', { preset: 'micro' });
    expect([...exact.spec.weights.find((w) => w.name === 'sa2.ln.bias')!.values]).toEqual([...bias]);
    const halves = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00]).buffer); // 1, −2, 2⁻²⁴, 65504, −∞
    expect([...floatsOf({ dtype: 'F16', shape: [5], bytes: halves }, 'k', 'f')]).toEqual([1, -2, 2 ** -24, 65504, -Infinity]);
  });

  it('refuses data offsets outside the file', async () => {
    const file = await editedSafetensors('offsets.safetensors', (e) => (e.data_offsets = [e.data_offsets[0] + 10 ** 8, e.data_offsets[1] + 10 ** 8]));
    await expectRefusedWithoutRun(file, { preset: 'micro' }, /offsets\.safetensors is not a usable safetensors file: tensor sa2\.ln\.bias's data_offsets \[\d+, \d+\] run past the end/);
  });

  it('refuses a pickle that asks to run a command, and runs nothing', async () => {
    const marker = join(scratch, 'ran');
    const pickle = Uint8Array.from([...P.proto(2), ...P.global('os', 'system'), ...P.str(`touch ${marker}`), 0x85, ...P.reduce, ...P.stop]);
    const file = await torchZip(join(scratch, 'evil.pt'), pickle);
    await expectRefusedWithoutRun(file, { preset: 'micro' }, /evil\.pt \(archive\/data\.pkl\) is refused: its pickle asks for os\.system, which Fontloom never loads or calls/);
    expect(existsSync(marker)).toBe(false);
    // Protocol 4 names its globals from the stack.
    const stackGlobal = Uint8Array.from([...P.proto(4), 0x8c, 8, ...Buffer.from('builtins'), 0x8c, 4, ...Buffer.from('eval'), 0x93, ...P.str('1'), 0x85, ...P.reduce, ...P.stop]);
    await expectRefusedWithoutRun(await torchZip(join(scratch, 'eval.pt'), stackGlobal), { preset: 'micro' }, /asks for builtins\.eval/);
    // A storage type is a tag in a persistent id, never something to call.
    const callTag = Uint8Array.from([...P.proto(2), ...P.global('torch', 'FloatStorage'), ...P.emptyTuple, ...P.reduce, ...P.stop]);
    await expectRefusedWithoutRun(await torchZip(join(scratch, 'tag.pt'), callTag), { preset: 'micro' }, /asks to call torch\.FloatStorage/);
  });

  it('refuses a legacy PyTorch file and a file of neither format, saying which', async () => {
    const legacy = join(scratch, 'legacy.pt');
    await writeFile(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    await expectRefusedWithoutRun(legacy, { preset: 'micro' }, /legacy\.pt is a PyTorch checkpoint in the legacy format .*: save it again with torch\.save/);
    const text = join(scratch, 'notes.safetensors');
    await writeFile(text, 'these are not weights\n');
    await expectRefusedWithoutRun(text, { preset: 'micro' }, /notes\.safetensors is neither a safetensors file nor a PyTorch checkpoint/);
  });

  it('refuses a small model’s weights imported as micro, naming the first key that differs', async () => {
    const { ckpt } = await freshCheckpoint('small', GLYPHS, 1);
    const file = join(scratch, 'small.safetensors');
    await writeFile(file, concat(safetensorsOf(ckpt, 'ema', { id: 'r', name: 'small' })));
    await expectRefusedWithoutRun(
      file,
      { preset: 'micro' },
      /small\.safetensors \(exported from a small model, its metadata says\) does not fit preset micro \(1 channel, 26 classes, 32×32\): inc\.double_conv\.0\.weight should be 8×1×3×3, found 32×1×3×3 \(the file holds 3,946,561 parameters in 141 tensors, the preset 249,745 in 141\)/,
    );
    await expectRefusedWithoutRun(MICRO_PT, { preset: 'micro', classes: 10 }, /label_emb\.weight should be 10×64, found 26×64/);
  });
});

describe('an imported run', () => {
  let home: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'fontloom-weights-import-'));
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('is a completed run whose checkpoint holds the file’s weights, measured against the default dataset', async () => {
    const done = await importWeights(home, MICRO_PT, { preset: 'micro', name: 'from PyTorch' });
    expect(done.run).toMatchObject({ name: 'from PyTorch', status: 'completed', preset: 'micro', dataset: null, datasetName: 'imported from micro.pt' });
    expect(done).toMatchObject({ format: 'torch', weights: 'model', params: 249_745, measuredWith: 'default' });
    const ckpt = await readCheckpoint(checkpointPath(home, done.run.id));
    const expected = checkWeights(await readWeightsFile(MICRO_SAFETENSORS), MICRO_SAFETENSORS, { preset: 'micro' });
    expect(ckpt.header.tensors.every((t) => t.group === 'model')).toBe(true);
    for (const w of expected.spec.weights) {
      const entry = ckpt.header.tensors.find((t) => t.name === w.name)!;
      expect([...bits(ckpt.data.subarray(entry.offset, entry.offset + w.values.length))], w.name).toEqual([...bits(w.values)]);
    }
  });

  it('of a CIFAR-10 model has no dataset to be measured against until one is named', async () => {
    const { ckpt } = await freshCheckpoint('micro', { channels: 3, classes: 10, size: 32 }, 4);
    const file = join(scratch, 'cifar.safetensors');
    await writeFile(file, concat(safetensorsOf(ckpt, 'ema', { id: 'r', name: 'cifar' })));
    const done = await importWeights(home, file, { preset: 'micro' });
    expect(done.measuredWith).toBeNull();
    await expect(evaluateRun(home, done.run.id, { backend: { name: 'cpu', adapter: 'cpu' } as never, perClass: 1, weights: 'ema', baselines: false })).rejects.toThrow(
      /was imported without a dataset to measure it against: import its weights again naming one \(fontloom weights import FILE --data DATASET\)/,
    );
  });
});

describe('fontloom weights, from a terminal', () => {
  let home: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'fontloom-weights-cli-'));
  });

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('imports a reference user’s ckpt.pt, draws a sheet from it, and exports the very tensors PyTorch wrote', async () => {
    const imported = await runFontloom(home, ['weights', 'import', MICRO_PT, '--preset', 'micro', '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const { id } = JSON.parse(imported.stdout);
    const sheet = join(scratch, 'sheet.png');
    const drawn = await runFontloom(home, ['sample', '--run', id, '--out', sheet, '--steps', '5', '--backend', 'wasm']);
    expect(drawn.code, drawn.stderr).toBe(0);
    expect(existsSync(sheet)).toBe(true);
    const out = join(scratch, 'back.safetensors');
    const exported = await runFontloom(home, ['weights', 'export', '--run', id, '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/model weights at step 0: 249,745 parameters in 141 tensors/);
    const ours = decodeSafetensors(new Uint8Array(readFileSync(out)), out).tensors;
    const torch = decodeSafetensors(new Uint8Array(readFileSync(MICRO_SAFETENSORS)), MICRO_SAFETENSORS).tensors;
    expect([...ours.keys()].sort()).toEqual([...torch.keys()].sort());
    for (const [key, t] of torch) {
      expect(ours.get(key)!.shape, key).toEqual(t.shape);
      expect(Buffer.compare(Buffer.from(ours.get(key)!.bytes), Buffer.from(t.bytes)), key).toBe(0);
    }
    expectRefusal(await runFontloom(home, ['weights', 'export', '--run', id, '--out', out]), /back\.safetensors exists already/);
  });

  it('refuses a checkpoint whose pickle would run a command, in one line, and creates no run', async () => {
    const pickle = Uint8Array.from([...P.proto(2), ...P.global('os', 'system'), ...P.str('echo hello'), 0x85, ...P.reduce, ...P.stop]);
    const file = await torchZip(join(scratch, 'ckpt.pt'), pickle);
    const before = JSON.parse((await runFontloom(home, ['runs', '--json'])).stdout).length;
    expectRefusal(await runFontloom(home, ['weights', 'import', file, '--preset', 'micro']), /ckpt\.pt \(archive\/data\.pkl\) is refused: its pickle asks for os\.system/);
    expect(JSON.parse((await runFontloom(home, ['runs', '--json'])).stdout)).toHaveLength(before);
  });
});
