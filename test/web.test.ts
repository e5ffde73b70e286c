// The API over HTTP, as the studio in a browser uses it: the same answers and the same events as
// an in-process caller, uploads of dropped files, errors written for the user, and a server that
// answers only requests addressed to itself.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FontloomEvent } from '../src-main/contract/api.ts';
import { createService, type Service } from '../src-main/api/service.ts';
import { startServer, type WebHost } from '../src-main/web/server.ts';
import { createHttpClient } from '../src-renderer/lib/api/http.ts';
import type { StudioClient } from '../src-renderer/lib/api/types.ts';

let home: string;
let service: Service;
let host: WebHost;
let client: StudioClient;
let base: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-web-'));
  service = await createService({ home, mode: 'browser' });
  host = await startServer({ service, port: 0, staticDir: join(home, 'no-pages') });
  base = host.url.replace(/\/$/, '');
  client = createHttpClient(base);
}, 60_000);

afterAll(async () => {
  await host.close();
  await service.close();
  await rm(home, { recursive: true, force: true });
});

/** A CSV of 28×28 glyphs, label first (the "A–Z handwritten" layout), 3 per letter. */
function handwrittenCsv(): string {
  const rows: string[] = [];
  for (let i = 0; i < 78; i++) {
    const label = i % 26;
    const pixels = Array.from({ length: 784 }, (_, p) => {
      const y = Math.floor(p / 28), x = p % 28;
      return (x === 4 + (label % 20) || y === 4 + Math.floor(i / 26) * 3) && y > 2 && y < 25 ? 255 : 0;
    });
    rows.push([label, ...pixels].join(','));
  }
  return rows.join('\n') + '\n';
}

/** A raw request, for what a browser client never sends (another Host, a path that climbs out). */
function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('the API over HTTP', () => {
  it('answers as the in-process API does', async () => {
    const [overHttp, inProcess] = await Promise.all([client.call('listDatasets', {}), service.call('listDatasets', {})]);
    expect(overHttp).toEqual(inProcess);
    expect(overHttp.map((d) => d.name)).toEqual(['default']);
    const info = await client.call('info', {});
    expect(info.mode).toBe('browser');
    expect(info.presets.find((p) => p.name === 'seed')?.params).toBe(23_338_113);
    expect(info.backend).toMatch(/^(wasm|webgpu|tensorflow|cpu): /);
  }, 120_000);

  it('imports a CSV the user dropped: uploaded, imported with progress events, listed', async () => {
    const job = 'drop-1';
    const heard: FontloomEvent[] = [];
    const off = client.on((e) => heard.push(e));
    await new Promise((r) => setTimeout(r, 300)); // the event stream connects
    const path = await client.stage([{ file: new File([handwrittenCsv()], 'letters.csv'), relativePath: 'letters.csv' }]);
    expect(path).toMatch(/uploads[\\/][\w-]+[\\/]letters\.csv$/);
    const { dataset, existing } = await client.call('importDataset', { path, name: 'handwritten', job });
    expect(existing).toBe(false);
    // 28×28 glyphs are padded to the UNet's 32×32 by the importer.
    expect(dataset).toMatchObject({ name: 'handwritten', format: 'csv', count: 78, classes: 26, height: 32, width: 32 });
    await new Promise((r) => setTimeout(r, 300));
    off();
    expect(heard.some((e) => e.type === 'import' && e.job === job)).toBe(true);
    expect(heard.some((e) => e.type === 'datasets')).toBe(true);
    const preview = await client.call('previewDataset', { id: dataset.id, fonts: 2 });
    expect(Buffer.from(preview.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(preview.width).toBeGreaterThan(26 * 32);
  }, 120_000);

  it('gives two clients, one over HTTP and one in process, the same events of a run', async () => {
    const overHttp: FontloomEvent[] = [];
    const inProcess: FontloomEvent[] = [];
    const offHttp = client.on((e) => overHttp.push(e));
    const offLocal = service.on((e) => inProcess.push(e));
    await new Promise((r) => setTimeout(r, 300));
    const dataset = (await client.call('listDatasets', {})).find((d) => d.name === 'default')!;
    const run = await client.call('createRun', { dataset: dataset.id, preset: 'micro', steps: 12, batch: 4, backend: 'wasm', threads: 1, sampleEvery: 6, valEvery: 6 });
    const ended = () => inProcess.some((e) => e.type === 'run' && e.run.id === run.id && e.run.status === 'completed');
    for (let waited = 0; !ended() && waited < 180_000; waited += 250) await new Promise((r) => setTimeout(r, 250));
    await new Promise((r) => setTimeout(r, 500)); // the last events cross the wire
    offHttp();
    offLocal();
    const summarize = (e: FontloomEvent): string[] => {
      if (e.type === 'run') return e.run.id === run.id ? [`run ${e.run.status}`] : [];
      if (e.type === 'progress') return e.run === run.id ? [`progress ${e.step}`] : [];
      if (e.type === 'sheet') return e.run === run.id ? [`sheet ${e.step} ${e.which}`] : [];
      return [];
    };
    const mine = (events: FontloomEvent[]) => events.flatMap(summarize);
    expect(mine(inProcess)).toContain('run completed');
    expect(mine(inProcess)).toContain('sheet 6 ema');
    expect(mine(inProcess).filter((e) => e.startsWith('progress'))).toEqual(Array.from({ length: 12 }, (_, i) => `progress ${i + 1}`));
    expect(mine(overHttp)).toEqual(mine(inProcess));

    const sheets = await client.call('runSheets', { id: run.id });
    expect(sheets.map((s) => `${s.step} ${s.which}`)).toEqual(['6 ema', '6 model', '12 ema', '12 model']);
    const image = await client.call('sheetImage', { id: run.id, step: 12, which: 'ema' });
    expect(image.width).toBeGreaterThan(0);
    const metrics = await client.call('runMetrics', { id: run.id, since: 10 });
    expect(metrics.map((m) => m.step)).toEqual([11, 12]);
  }, 240_000);

  it('says what was wrong, with the right status: unknown run 404, bad input 400', async () => {
    await expect(client.call('getRun', { id: 'nope' })).rejects.toMatchObject({ code: 'not-found', message: expect.stringMatching(/no run "nope"/) });
    const bad = await raw('/api/runs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataset: 'x', preset: 'huge' }) });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ code: 'invalid-input', error: expect.stringMatching(/^createRun: preset: /) });
    const missing = await client.call('importDataset', { path: join(home, 'nothing-here.csv') }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'user', message: expect.stringMatching(/nothing-here\.csv/) });
    expect((await raw('/api/nowhere')).status).toBe(404);
  });

  it('refuses an upload whose path climbs out of its folder, and requests addressed to another host', async () => {
    const climb = await raw(`/api/uploads?batch=abcd1234&path=${encodeURIComponent('../../../evil.txt')}`, { method: 'POST', body: 'x' });
    expect(climb.status).toBe(400);
    expect(await readdir(home)).not.toContain('evil.txt');
    const rebound = await raw('/api/datasets', { headers: { host: 'attacker.example:80' } });
    expect(rebound.status).toBe(403);
    const crossSite = await raw('/api/datasets', { headers: { origin: 'http://attacker.example' } });
    expect(crossSite.status).toBe(403);
  });

  it('says how to build the pages when they are not built', async () => {
    const page = await raw('/');
    expect(page.status).toBe(503);
    expect(page.body).toMatch(/npm run build:renderer/);
  });
});
