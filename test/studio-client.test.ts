// The studio's HTTP client against the real web host over a stand-in service: calls travel by
// the contract's routes, events arrive through the streamed fetch, dropped files are uploaded
// and come back as the path to import. Plus the pure pieces the pages rely on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FontloomEvent, Method } from '../src-main/contract/api.ts';
import { NotFound } from '../src-main/api/boundary.ts';
import type { Service } from '../src-main/api/service.ts';
import { startServer, type WebHost } from '../src-main/web/server.ts';
import { createHttpClient, importRoot, requestFor } from '../src-renderer/lib/api/http.ts';
import { stagedPath } from '../src-renderer/lib/api/ipc.ts';
import { SseParser } from '../src-renderer/lib/api/sse.ts';
import { ApiError } from '../src-renderer/lib/api/types.ts';
import { sortFiles, styleOfGiven, withImages, type GivenImage } from '../src-renderer/lib/given.ts';
import { LatestOnly } from '../src-renderer/lib/latest.ts';
import { MetricSeries } from '../src-renderer/lib/series.ts';
import { hrefFor, parseHash } from '../src-renderer/lib/routes.ts';

function fakeService(home: string) {
  const calls: { method: Method; input: unknown }[] = [];
  const listeners = new Set<(e: FontloomEvent) => void>();
  const service = {
    home,
    async call(method: Method, input: unknown) {
      calls.push({ method, input });
      if (method === 'getRun') throw new NotFound('no run "zz"');
      return { echoed: method } as never;
    },
    on(listener: (e: FontloomEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {},
  } as unknown as Service;
  const emit = (e: FontloomEvent) => listeners.forEach((l) => l(e));
  return { service, calls, emit, listeners };
}

describe('the HTTP client against the web host', () => {
  let host: WebHost;
  let home: string;
  let fake: ReturnType<typeof fakeService>;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'fontloom-client-'));
    fake = fakeService(home);
    host = await startServer({ service: fake.service, port: 0, staticDir: join(home, 'no-renderer') });
  });
  afterAll(async () => host?.close());

  it('sends each call by its route, path parameters and query or body merged into the input', async () => {
    const client = createHttpClient(host.url.replace(/\/$/, ''), host.token);
    await client.call('previewDataset', { id: 'set 1', rows: 8 });
    await client.call('sheetImage', { id: 'r1', step: 40, which: 'ema' });
    await client.call('createRun', { dataset: 'd1', preset: 'micro', steps: 10 });
    expect(fake.calls.map((c) => c.method)).toEqual(['previewDataset', 'sheetImage', 'createRun']);
    expect(fake.calls[0].input).toMatchObject({ id: 'set 1', rows: '8' });
    expect(fake.calls[1].input).toMatchObject({ id: 'r1', step: '40', which: 'ema' });
    expect(fake.calls[2].input).toEqual({ dataset: 'd1', preset: 'micro', steps: 10 });
  });

  it('turns an API error into an ApiError with the server message and code', async () => {
    const client = createHttpClient(host.url.replace(/\/$/, ''), host.token);
    const err = await client.call('getRun', { id: 'zz' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ message: 'no run "zz"', code: 'not-found' });
  });

  it('says the server is unreachable in words, not as a fetch TypeError', async () => {
    const client = createHttpClient('http://127.0.0.1:1');
    await expect(client.call('info', {})).rejects.toThrow(/could not reach its server/);
  });

  it('hears events through the streamed fetch and stops when the last listener leaves', async () => {
    const client = createHttpClient(host.url.replace(/\/$/, ''), host.token);
    const heard: FontloomEvent[] = [];
    const off = client.on((e) => heard.push(e));
    await expect.poll(() => fake.listeners.size).toBe(1);
    fake.emit({ type: 'datasets' });
    fake.emit({ type: 'sheet', run: 'r1', step: 40, which: 'model' });
    await expect.poll(() => heard.length).toBe(2);
    expect(heard[1]).toEqual({ type: 'sheet', run: 'r1', step: 40, which: 'model' });
    off();
    await expect.poll(() => fake.listeners.size).toBe(0);
  });

  it('uploads a dropped folder under one batch and returns the folder to import', async () => {
    const client = createHttpClient(host.url.replace(/\/$/, ''), host.token);
    const files = ['Letters/Images/Images/A/0.png', 'Letters/Images/Images/B/0.png', 'Letters/Images/Images/A/1.png'].map((relativePath) => ({
      file: new File([relativePath], relativePath.split('/').pop()!),
      relativePath,
    }));
    const progress: number[] = [];
    const path = await client.stage(files, (done) => progress.push(done));
    expect(path.startsWith(join(home, 'uploads'))).toBe(true);
    expect(path.endsWith('Letters')).toBe(true);
    expect(await readFile(join(path, 'Images/Images/B/0.png'), 'utf8')).toBe('Letters/Images/Images/B/0.png');
    expect(progress.sort()).toEqual([1, 2, 3]);
  });

  it('returns a file dropped on its own as that file', async () => {
    const client = createHttpClient(host.url.replace(/\/$/, ''), host.token);
    const path = await client.stage([{ file: new File(['label,pixel0\n'], 'letters.csv'), relativePath: 'letters.csv' }]);
    expect(path.endsWith('letters.csv')).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('label,pixel0\n');
  });
});

describe('the pieces the pages rely on', () => {
  it('fills path parameters and leaves the rest to the query', () => {
    expect(requestFor('runMetrics', { id: 'a/b', since: 10 }).url).toBe('/api/runs/a%2Fb/metrics?since=10');
    expect(requestFor('deleteDataset', { id: 'x' }).init).toMatchObject({ method: 'DELETE', keepalive: true });
    expect(() => requestFor('getRun', {})).toThrow(ApiError);
  });

  it('parses server-sent events split anywhere, comments and CRLF included', () => {
    const parser = new SseParser();
    expect(parser.push(': hello\r\n\r\ndata: {"type":')).toEqual([]);
    expect(parser.push('"datasets"}\n\ndata: 1\n')).toEqual(['{"type":"datasets"}']);
    expect(parser.push('\n')).toEqual(['1']);
  });

  it('finds what to import in an upload batch', () => {
    const f = (relativePath: string) => ({ file: new File([], 'x'), relativePath });
    expect(importRoot('/h/uploads/b1', '/h/uploads/b1/a.zip', [f('a.zip')])).toBe('/h/uploads/b1/a.zip');
    expect(importRoot('/h/uploads/b1', undefined, [f('K/A/0.png'), f('K/B/0.png')])).toBe('/h/uploads/b1/K');
    expect(importRoot('/h/uploads/b1', undefined, [f('a.ttf'), f('b.ttf')])).toBe('/h/uploads/b1');
  });

  it('knows a dropped file or folder by its path in the Electron window', () => {
    const file = (path: string) => ({ path }) as unknown as File;
    const of = (f: File) => (f as unknown as { path: string }).path;
    expect(stagedPath([{ file: file('/u/Letters'), relativePath: 'Letters' }], of)).toBe('/u/Letters');
    expect(stagedPath([{ file: file('/u/Letters/A/0.png'), relativePath: 'Letters/A/0.png' }], of)).toBe('/u/Letters');
    expect(stagedPath([{ file: file('/u/f/a.ttf'), relativePath: 'a.ttf' }, { file: file('/u/f/b.ttf'), relativePath: 'b.ttf' }], of)).toBe('/u/f');
    expect(stagedPath([{ file: file('C:\\u\\x.zip'), relativePath: 'x.zip' }], of)).toBe('C:\\u\\x.zip');
  });

  it('keeps one metric per step when a resumed run repeats steps', () => {
    const s = new MetricSeries();
    for (const step of [1, 2, 3]) s.add({ step, loss: step, lr: 0.1, val: null });
    s.add({ step: 2, loss: 20, lr: 0.1, val: 0.5 });
    s.add({ step: 4, loss: 4, lr: 0.1, val: null });
    expect(s.steps).toEqual([1, 2, 3, 4]);
    expect(s.loss).toEqual([1, 20, 3, 4]);
    expect(s.validation()).toEqual([[2], [0.5]]);
    expect(s.firstGap()).toBeNull();
    s.add({ step: 9, loss: 9, lr: 0.1, val: null });
    expect(s.firstGap()).toBe(4);
  });

  it('routes pages by the hash and back', () => {
    for (const route of [{ page: 'runs' }, { page: 'run', id: 'r 1' }, { page: 'train', dataset: 'd1' }, { page: 'generate', id: null }] as const) {
      expect(parseHash(hrefFor(route))).toEqual(route);
    }
    expect(parseHash('#/nowhere')).toEqual({ page: 'datasets' });
  });

  it('sorts what a designer drops to finish a font: letter images, one font, and the rest refused with why', () => {
    const sorted = sortFiles(['H.png', 'a.JPG', 'h.webp', 'Serif.ttf', 'Other.otf', 'logo.png', 'Sans.woff2', 'notes.txt'].map((n) => new File([], n)));
    expect(sorted.images.map((i) => [i.letter, i.file.name])).toEqual([['H', 'H.png'], ['A', 'a.JPG']]);
    expect(sorted.font?.name).toBe('Serif.ttf');
    expect(sorted.refused).toEqual([
      'h.webp: H.png gives H already',
      'Other.otf: one font at a time (kept Serif.ttf)',
      'logo.png: name each image after its letter (A.png … Z.png)',
      'Sans.woff2: WOFF2 cannot be read; convert it to WOFF, TTF or OTF first',
      'notes.txt: neither a letter image (PNG, JPEG, WebP) nor a font file (TTF, OTF, WOFF)',
    ]);
  });

  it('sends the letters given as the style to finish, a font with the capitals chosen', () => {
    const image = (letter: string, data: string): GivenImage => ({ letter, name: `${letter}.png`, data, url: '' });
    const given = withImages(withImages(null, [image('H', 'h1'), image('A', 'a1')]), [image('H', 'h2')]);
    expect(styleOfGiven(given)).toEqual({ kind: 'letters', letters: [{ name: 'A.png', data: 'a1' }, { name: 'H.png', data: 'h2' }] });
    const font = { name: 'Serif.ttf', data: 'ttf', family: null, letters: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'] };
    expect(styleOfGiven({ kind: 'font', font })).toEqual({ kind: 'font', name: 'Serif.ttf', data: 'ttf' });
    expect(styleOfGiven({ kind: 'font', font: { ...font, letters: ['A', 'B', 'H', 'M'] } })).toEqual({ kind: 'font', name: 'Serif.ttf', data: 'ttf', letters: 'ABHM' });
    expect(withImages({ kind: 'font', font }, [image('L', 'l')])).toEqual({ kind: 'letters', images: [image('L', 'l')] });
  });

  it('draws one blend point at a time, and of those asked meanwhile only the newest', async () => {
    const drawn: number[] = [];
    const waits: (() => void)[] = [];
    const runner = new LatestOnly<number>(async (t) => {
      drawn.push(t);
      await new Promise<void>((resolve) => waits.push(resolve));
    });
    for (const t of [10, 20, 30, 40]) runner.ask(t);
    expect(drawn).toEqual([10]);
    waits.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(drawn).toEqual([10, 40]);
    waits.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(drawn).toEqual([10, 40]);
  });
});
