// The exported OTF installed in a browser: Chromium loads it with FontFace (through its font
// sanitiser, as any web page or app would) and sets "THE QUICK BROWN FOX" in it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import opentype from 'opentype.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFont, renderFont } from '../src-main/data/importers/fonts.ts';
import { exportGlyphs } from '../src-main/export/index.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const TEXT = 'THE QUICK BROWN FOX';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface Rendered {
  loaded: string;
  /** Grey pixels (0 paper … 255 ink) of the text in each font, and the width the browser measured. */
  ours: number[];
  oursLower: number[];
  fallback: number[];
  width: number;
  height: number;
  measured: number;
}

let dir: string;
let otf: Buffer;
let browser: Browser;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-otf-browser-'));
  // Letters drawn by the dataset's rule from DejaVu Serif, standing in for a run's generated glyphs.
  const rendered = await renderFont(parseFont(await readFile('/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf')));
  if (!('pixels' in rendered)) throw new Error('DejaVu Serif lacks letters');
  const out = join(dir, 'Loom.otf');
  await exportGlyphs({ images: rendered.pixels, height: 32, width: 32, channels: 1, classNames: LETTERS, format: 'otf', out, family: 'Loom Serif' });
  otf = await readFile(out);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Sets the text in a page, once in our font (upper- and lowercase) and once in a fallback. */
async function renderInChromium(fontBase64: string): Promise<Rendered> {
  const page = await browser.newPage();
  try {
    await page.setContent('<!doctype html><html><body></body></html>');
    return await page.evaluate(async ({ fontBase64, text }) => {
      const bytes = Uint8Array.from(atob(fontBase64), (c) => c.charCodeAt(0));
      const face = new FontFace('Loom', bytes.buffer);
      const loaded = await face.load().then(() => face.status, (err: Error) => `error: ${err.message}`);
      // TypeScript's DOM types lack FontFaceSet's set methods.
      (document.fonts as unknown as Set<FontFace>).add(face);
      const width = 900;
      const height = 80;
      const draw = (font: string, line: string) => {
        const canvas = document.createElement('canvas');
        canvas.width = width;
        canvas.height = height;
        const ctx = canvas.getContext('2d')!;
        ctx.fillStyle = '#fff';
        ctx.fillRect(0, 0, width, height);
        ctx.fillStyle = '#000';
        ctx.font = font;
        ctx.fillText(line, 10, 60);
        const rgba = ctx.getImageData(0, 0, width, height).data;
        return Array.from({ length: width * height }, (_, i) => 255 - rgba[i * 4]);
      };
      const probe = document.createElement('canvas').getContext('2d')!;
      probe.font = '48px Loom';
      return {
        loaded,
        ours: draw('48px Loom, monospace', text),
        oursLower: draw('48px Loom, monospace', text.toLowerCase()),
        fallback: draw('48px monospace', text),
        width,
        height,
        measured: probe.measureText(text).width,
      };
    }, { fontBase64, text: TEXT });
  } finally {
    await page.close();
  }
}

const inked = (pixels: number[]) => pixels.filter((v) => v > 128).length;
const differing = (a: number[], b: number[]) => a.filter((v, i) => Math.abs(v - b[i]) > 128).length;

describe('the exported font in Chromium', () => {
  it('loads through FontFace and sets THE QUICK BROWN FOX in our letters, not the fallback', async () => {
    const r = await renderInChromium(otf.toString('base64'));
    expect(r.loaded).toBe('loaded');
    // Ink: the letters are there (16 letters of roughly 30×34 px with strokes a few px wide).
    expect(inked(r.ours)).toBeGreaterThan(2000);
    // Not the fallback: at least half the inked pixels of either rendering differ.
    expect(differing(r.ours, r.fallback)).toBeGreaterThan(0.5 * Math.min(inked(r.ours), inked(r.fallback)));
    // The browser sets the line with our advance widths, exactly as opentype.js adds them up.
    const font = opentype.parse(otf.buffer.slice(otf.byteOffset, otf.byteOffset + otf.byteLength));
    expect(r.measured).toBeCloseTo(font.getAdvanceWidth(TEXT, 48, { kerning: false }), 0);
  });

  it('shows the capitals for lowercase text (the a–z fallback alias)', async () => {
    const r = await renderInChromium(otf.toString('base64'));
    expect(differing(r.oursLower, r.ours)).toBe(0);
  });
});
