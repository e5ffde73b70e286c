import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRESETS } from '../src-main/contract/presets.ts';
import { createUNet, oneHot, parameterCount, timeEncoding, type UNet } from '../src-main/engine/unet.ts';
import { Rng } from '../src-main/engine/rng.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const GLYPHS = { channels: 1, classes: 26, size: 32 };
const CIFAR = { channels: 3, classes: 10, size: 32 };

/** Builds a model, hands it to `use`, and disposes it whatever happens. */
async function withModel<T>(model: UNet, use: (m: UNet) => Promise<T> | T): Promise<T> {
  try {
    return await use(model);
  } finally {
    model.dispose();
  }
}

async function forward(m: UNet, x: tf.Tensor4D, t: number[], labels: number[]): Promise<Float32Array> {
  const classes = oneHot(labels, m.shape.classes);
  const y = m.apply(x, t, classes);
  const out = (await y.data()) as Float32Array;
  tf.dispose([classes, y]);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('the UNet has exactly the reference’s parameters', () => {
  // The counts printed by shared/reference/torch_unet.py params (the PyTorch twin of UNet_conditional).
  it('seed, 1 channel, 26 letters: 23,338,113', () =>
    withModel(createUNet(PRESETS.seed, GLYPHS, 1), (m) => expect(parameterCount(m)).toBe(23_338_113)));

  it('seed, 3 channels, 10 CIFAR classes: 23,335,299', () =>
    withModel(createUNet(PRESETS.seed, CIFAR, 1), (m) => expect(parameterCount(m)).toBe(23_335_299)));

  it('seed-lite, 1 channel, 26 letters: 15,667,329', () =>
    withModel(createUNet(PRESETS['seed-lite'], GLYPHS, 1), (m) => expect(parameterCount(m)).toBe(15_667_329)));

  it('seed-lite, 3 channels, 10 CIFAR classes: 15,664,515', () =>
    withModel(createUNet(PRESETS['seed-lite'], CIFAR, 1), (m) => expect(parameterCount(m)).toBe(15_664_515)));

  it('names its weights as the reference’s state_dict does', () =>
    withModel(createUNet(PRESETS.micro, GLYPHS, 1), (m) => {
      const names = [...m.variables.keys()];
      for (const name of [
        'inc.double_conv.0.weight',
        'down1.maxpool_conv.1.double_conv.4.bias',
        'down1.emb_layer.1.weight',
        'sa3.mha.in_proj.weight',
        'up3.conv.1.double_conv.3.weight',
        'outc.weight',
        'outc.bias',
        'label_emb.weight',
      ]) {
        expect(names).toContain(name);
      }
      expect(m.variables.get('label_emb.weight')!.shape).toEqual([26, 64]);
    }));
});

describe('the sinusoidal time encoding', () => {
  it('is [0…0, 1…1] at t = 0: sin 0 then cos 0', () => {
    const e = timeEncoding([0], 256);
    expect(Array.from(e.subarray(0, 128))).toEqual(new Array(128).fill(0));
    expect(Array.from(e.subarray(128))).toEqual(new Array(128).fill(1));
  });

  it('is sin and cos of t/10000^(2i/d) at t = 1 and t = 500', () => {
    const d = 256;
    const e = timeEncoding([1, 500], d);
    expect(e.length).toBe(2 * d);
    for (const [row, t] of [
      [0, 1],
      [1, 500],
    ]) {
      for (let i = 0; i < d / 2; i++) {
        const angle = t / 10000 ** ((2 * i) / d);
        expect(e[row * d + i]).toBeCloseTo(Math.sin(angle), 6);
        expect(e[row * d + d / 2 + i]).toBeCloseTo(Math.cos(angle), 6);
      }
    }
    // The first frequency is 1 radian per step, the last almost 1e-4.
    expect(e[0]).toBeCloseTo(Math.sin(1), 6);
    expect(e[127]).toBeCloseTo(Math.sin(10000 ** (-254 / 256)), 9);
  });
});

describe('one-hot class rows', () => {
  it('puts a 1 at each label and leaves an all-zero row for “no label” (−1)', async () => {
    const rows = oneHot([2, -1, 0], 4);
    expect(rows.shape).toEqual([3, 4]);
    expect(Array.from(await rows.data())).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    rows.dispose();
  });
});

describe('the micro UNet’s forward pass', () => {
  const image = (n: number, seed: number) => tf.tensor4d(new Rng(seed).normal(n * 32 * 32), [n, 32, 32, 1]);

  it('maps a batch of glyphs [2,32,32,1] to an ε of the same shape, finite everywhere', async () => {
    await withModel(createUNet(PRESETS.micro, GLYPHS, 1), async (m) => {
      const x = image(2, 1);
      const classes = oneHot([0, 25], 26);
      const y = m.apply(x, [10, 900], classes);
      expect(y.shape).toEqual([2, 32, 32, 1]);
      const values = await y.data();
      expect(values.every(Number.isFinite)).toBe(true);
      tf.dispose([x, classes, y]);
    });
  });

  it('listens to the letter: no label and a label give different ε for the same x and t', async () => {
    await withModel(createUNet(PRESETS.micro, GLYPHS, 1), async (m) => {
      const one = image(1, 2);
      const x = tf.concat([one, one, one]) as tf.Tensor4D;
      // Rows 0 and 2 are the same input and label: any difference from row 1 is the label's doing.
      const out = await forward(m, x, [500, 500, 500], [-1, 7, -1]);
      const px = 32 * 32;
      const [unlabelled, labelled, again] = [out.subarray(0, px), out.subarray(px, 2 * px), out.subarray(2 * px)];
      expect(maxAbsDiff(unlabelled, again)).toBeLessThan(1e-5);
      expect(maxAbsDiff(unlabelled, labelled)).toBeGreaterThan(1e-3);
      tf.dispose([one, x]);
    });
  });

  it('listens to the timestep: t = 10 and t = 900 give different ε for the same x', async () => {
    await withModel(createUNet(PRESETS.micro, GLYPHS, 1), async (m) => {
      const one = image(1, 3);
      const x = tf.concat([one, one]) as tf.Tensor4D;
      const out = await forward(m, x, [10, 900], [4, 4]);
      expect(maxAbsDiff(out.subarray(0, 1024), out.subarray(1024))).toBeGreaterThan(1e-3);
      tf.dispose([one, x]);
    });
  });

  it('starts from the same weights for the same seed and from different ones for another', async () => {
    const x = image(2, 4);
    const a = createUNet(PRESETS.micro, GLYPHS, 7);
    const b = createUNet(PRESETS.micro, GLYPHS, 7);
    const c = createUNet(PRESETS.micro, GLYPHS, 8);
    try {
      expect([...a.variables.keys()]).toEqual([...b.variables.keys()]);
      for (const [name, v] of a.variables) {
        expect(Array.from(await b.variables.get(name)!.data()), name).toEqual(Array.from(await v.data()));
      }
      const ya = await forward(a, x, [300, 300], [1, -1]);
      const yb = await forward(b, x, [300, 300], [1, -1]);
      const yc = await forward(c, x, [300, 300], [1, -1]);
      expect(Array.from(yb)).toEqual(Array.from(ya));
      expect(maxAbsDiff(yc, ya)).toBeGreaterThan(1e-3);
      const wa = await a.variables.get('inc.double_conv.0.weight')!.data();
      const wc = await c.variables.get('inc.double_conv.0.weight')!.data();
      expect(maxAbsDiff(wa, wc)).toBeGreaterThan(0);
    } finally {
      for (const m of [a, b, c]) m.dispose();
      x.dispose();
    }
  });

  // Expected values: the PyTorch twin (shared/reference/torch_unet.py, PyTorch 1.13, float64)
  // run on this input with the weights createUNet(micro, 1 ch, 26 classes, seed 1) draws; see
  // TWIN_SCRIPT at the end of this file. Our float32 output agreed with it to 4.5e-6 everywhere.
  it('computes what the PyTorch twin of the reference computes with the same weights', async () => {
    await withModel(createUNet(PRESETS.micro, GLYPHS, 1), async (m) => {
      const x = tf.tensor4d(new Rng(5).normal(2 * 32 * 32), [2, 32, 32, 1]);
      const y = await forward(m, x, [10, 700], [3, -1]);
      x.dispose();
      const torchAt: Array<[index: number, value: number]> = [
        [0, 0.1112211458936955],
        [1, -0.3201165686541673],
        [33, 0.3936562317473504],
        [517, 0.8080843252398555],
        [1023, 0.014977079226632016],
        [1024, -0.0986220550640281],
        [1500, -0.2280623027821655],
        [2047, -0.48153018153461746],
      ];
      for (const [i, want] of torchAt) expect(Math.abs(y[i] - want), `pixel ${i}: got ${y[i]}, torch ${want}`).toBeLessThan(1e-4);
      const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
      expect(mean(y.subarray(0, 1024))).toBeCloseTo(0.04993812516623285, 4);
      expect(mean(y.subarray(1024))).toBeCloseTo(0.09473114817863218, 4);
    });
  });

  it('keeps its two models apart: a second model’s variables do not clash with the first’s', () => {
    const before = tf.memory().numTensors;
    const a = createUNet(PRESETS.micro, GLYPHS, 1);
    const b = createUNet(PRESETS.micro, GLYPHS, 1);
    expect(a.variables.get('outc.weight')!.name).not.toBe(b.variables.get('outc.weight')!.name);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

/*
 * TWIN_SCRIPT: how the PyTorch values above were produced.
 *
 * 1. Dump our weights and output (a throwaway zz_dump.ts in the repository root, `npx tsx zz_dump.ts`):
 *      await tf.setBackend('cpu');
 *      const m = createUNet(PRESETS.micro, { channels: 1, classes: 26, size: 32 }, 1);
 *      const weights = {}; for (const [n, v] of m.variables) weights[n] = { shape: v.shape, data: Array.from(await v.data()) };
 *      const xData = new Rng(5).normal(2 * 32 * 32);
 *      const y = m.apply(tf.tensor4d(xData, [2, 32, 32, 1]), [10, 700], oneHot([3, -1], 26));
 *      writeFileSync('/tmp/ref/micro.json', JSON.stringify({ weights, x: Array.from(xData), t: [10, 700], labels: [3, -1], y: Array.from(await y.data()) }));
 *
 * 2. /usr/bin/python3 twin_micro.py, where twin_micro.py is:
 *      import sys, json, re, torch
 *      sys.path.insert(0, '/work/shared/reference')
 *      from torch_unet import UNetConditional, Down, Up
 *      Down.__init__.__defaults__ = (64,); Up.__init__.__defaults__ = (64,)  # the twin does not pass tdim on
 *      d = json.load(open('/tmp/ref/micro.json'))
 *      m = UNetConditional(1, 26, width=8, deep=False, attn='low', tdim=64).double().eval()
 *      def torch_name(n):
 *          n = re.sub(r'^inc\.double_conv\.', 'inc.f.', n)
 *          n = re.sub(r'^(down\d)\.maxpool_conv\.(\d)\.double_conv\.', r'\1.f.\2.f.', n)
 *          n = re.sub(r'^(up\d)\.conv\.(\d)\.double_conv\.', r'\1.f.\2.f.', n)
 *          n = re.sub(r'^bot(\d)\.double_conv\.', lambda g: f'bot.{int(g[1]) - 1}.f.', n)
 *          n = re.sub(r'\.emb_layer\.', '.emb.', n).replace('.ff_self.', '.ff.')
 *          return n.replace('mha.in_proj.weight', 'mha.in_proj_weight').replace('mha.in_proj.bias', 'mha.in_proj_bias')
 *      sd = m.state_dict()
 *      for name, w in d['weights'].items():
 *          t = torch.tensor(w['data'], dtype=torch.float64).reshape(w['shape'])
 *          if t.dim() == 4: t = t.permute(3, 2, 0, 1)                        # [kh,kw,ci,co] -> [co,ci,kh,kw]
 *          elif t.dim() == 2 and not name.startswith('label_emb'): t = t.t()  # [in,out] -> [out,in]
 *          assert sd[torch_name(name)].shape == t.shape, name
 *          sd[torch_name(name)] = t
 *      m.load_state_dict(sd)  # only the twin's inactive sa1, sa5, sa6 keep their own weights
 *      x = torch.tensor(d['x'], dtype=torch.float64).reshape(2, 32, 32, 1).permute(0, 3, 1, 2)
 *      onehot = torch.zeros(2, 26, dtype=torch.float64)
 *      for i, l in enumerate(d['labels']):
 *          if l >= 0: onehot[i, l] = 1
 *      with torch.no_grad():
 *          te = m.time_encoding(torch.tensor(d['t'])).double() + onehot @ m.label_emb.weight
 *          x1 = m.inc(x); x2 = m.sa1(m.down1(x1, te)); x3 = m.sa2(m.down2(x2, te)); x4 = m.bot(m.sa3(m.down3(x3, te)))
 *          h = m.sa4(m.up1(x4, x3, te)); h = m.sa5(m.up2(h, x2, te)); h = m.sa6(m.up3(h, x1, te))
 *          y = m.outc(h).permute(0, 2, 3, 1).reshape(-1)
 *      print((torch.tensor(d['y'], dtype=torch.float64) - y).abs().max().item())
 *      print([repr(y[i].item()) for i in [0, 1, 33, 517, 1023, 1024, 1500, 2047]])
 *      print(repr(y[:1024].mean().item()), repr(y[1024:].mean().item()))
 */
