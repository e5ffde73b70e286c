// The API over HTTP, as the studio in a browser uses it: the same answers and the same events as
// an in-process caller, uploads of dropped files, errors written for the user, and a server that
// answers only requests addressed to itself that carry this launch's key.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { zipEntries } from './helpers/zip.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadPath, specimenImagePath, type FontloomEvent } from '../src-main/contract/api.ts';
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
  client = createHttpClient(base, host.token);
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


interface RawAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A raw request, for what a browser client never sends (another Host, a path that climbs out);
 * with the launch's key unless `key` says otherwise.
 */
function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; key?: string | null; at?: string; binary?: boolean } = {}): Promise<RawAnswer> {
  const key = opts.key === undefined ? host.token : opts.key;
  const headers = { ...(key ? { 'x-fontloom-token': key } : {}), ...opts.headers };
  return new Promise((resolve, reject) => {
    const req = request(`${opts.at ?? base}${path}`, { method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(opts.binary ? 'latin1' : 'utf8'), headers: res.headers }));
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
    // No font column: the glyphs' fonts are unknown, and the preview goes glyph by glyph.
    expect(dataset).toMatchObject({ name: 'handwritten', format: 'csv', count: 78, classes: 26, height: 32, width: 32, fontsKnown: false });
    await new Promise((r) => setTimeout(r, 300));
    off();
    expect(heard.some((e) => e.type === 'import' && e.job === job)).toBe(true);
    expect(heard.some((e) => e.type === 'datasets')).toBe(true);
    const preview = await client.call('previewDataset', { id: dataset.id, rows: 2 });
    expect(Buffer.from(preview.png, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(preview).toMatchObject({ by: 'glyph', shown: 2, of: 3, rows: null, columns: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'] });
    // The glyphs alone: 26 cells across, 2 down, a gap around each, no room for labels.
    expect(preview.width).toBe(preview.gap + 26 * (preview.cellWidth + preview.gap));
    expect(preview.height).toBe(preview.gap + 2 * (preview.cellHeight + preview.gap));
    // The upload served its import: nothing is left behind in the uploads folder.
    expect(await readdir(join(home, 'uploads'))).toEqual([]);
  }, 120_000);

  it('exports into a folder the user chose, and never over a file that is there', async () => {
    const generation = await client.call('generate', { id: 'default', steps: 4 });
    // The default model's run has the default dataset's upsampler: its glyphs are drawn at 128 px
    // (the studio's tiles show them at 64).
    expect([generation.size, generation.upsampledFrom, generation.glyphs[0].width]).toEqual([128, 32, 64]);
    const chosen = await mkdtemp(join(tmpdir(), 'fontloom-chosen-'));
    try {
      const font = await client.call('exportGeneration', { generation: generation.id, format: 'otf', family: 'Chosen', out: chosen });
      expect(font.path.startsWith(chosen)).toBe(true);
      expect(font.path).toMatch(/\.otf$/);
      expect(font.specimen).toBe(font.path.replace(/\.otf$/, '.specimen.png'));
      expect((await readdir(chosen)).sort()).toEqual([basename(font.path), basename(font.specimen!)].sort());
      const mine = join(chosen, 'notes.txt');
      await writeFile(mine, 'mine');
      await expect(client.call('exportGeneration', { generation: generation.id, format: 'sheet', out: mine })).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/notes\.txt already exists/) });
      expect(await readFile(mine, 'utf8')).toBe('mine');
      // Nor over a specimen there: the font is not written either.
      const mineSpecimen = join(chosen, 'Mine.specimen.png');
      await writeFile(mineSpecimen, 'mine');
      await expect(client.call('exportGeneration', { generation: generation.id, format: 'otf', out: join(chosen, 'Mine.otf') })).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/Mine\.specimen\.png already exists/) });
      expect(await readFile(mineSpecimen, 'utf8')).toBe('mine');
      expect((await readdir(chosen)).filter((f) => f.startsWith('Mine'))).toEqual(['Mine.specimen.png']);

      // The studio shows the specimen (the same through IPC), and a browser opens it in a tab of its own.
      const shown = await client.call('exportSpecimen', { id: font.id });
      expect(Buffer.from(shown.png, 'base64').equals(await readFile(font.specimen!))).toBe(true);
      expect(shown.width).toBe(1600);
      const opened = await raw(specimenImagePath(font.id), { binary: true });
      expect(opened.status).toBe(200);
      expect(opened.headers['content-type']).toBe('image/png');
      expect(opened.headers['content-disposition']).toBe(`inline; filename="${basename(font.specimen!)}"`);
      expect(Buffer.from(opened.body, 'latin1').equals(await readFile(font.specimen!))).toBe(true);
      expect((await raw(specimenImagePath(font.id), { key: null })).status).toBe(401);

      // In a browser the file comes down as an attachment, with the key only.
      const download = await raw(downloadPath(font.id), { binary: true });
      expect(download.status).toBe(200);
      expect(download.headers['content-type']).toBe('font/otf');
      expect(download.headers['content-disposition']).toBe(`attachment; filename="${basename(font.path)}"`);
      expect(Buffer.from(download.body, 'latin1').subarray(0, 4).toString('latin1')).toBe('OTTO');
      expect((await raw(downloadPath(font.id), { key: null })).status).toBe(401);
      expect((await raw(downloadPath('nope'))).status).toBe(404);
    } finally {
      await rm(chosen, { recursive: true, force: true });
    }
  }, 120_000);

  it('downloads a folder export as one zip: the zip written with it, or one made as it is sent', async () => {
    const generation = await client.call('generate', { id: 'default', steps: 4 });

    // SVG outlines without a zip: the folder comes down zipped, its files under the folder's name.
    const svgs = await client.call('exportGeneration', { generation: generation.id, format: 'svg' });
    const name = basename(svgs.path);
    const zipped = await raw(downloadPath(svgs.id), { binary: true });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-type']).toBe('application/zip');
    expect(zipped.headers['content-disposition']).toBe(`attachment; filename="${name}.zip"`);
    const entries = await zipEntries(Buffer.from(zipped.body, 'latin1'));
    expect([...entries.keys()].sort()).toEqual(svgs.files.map((f) => `${name}/${relative(svgs.path, f).split(sep).join('/')}`).sort());
    expect(entries.size).toBe(27); // A–Z and the specimen
    expect(entries.get(`${name}/A.svg`)!.equals(await readFile(join(svgs.path, 'A.svg')))).toBe(true);

    // Only a font has a specimen.
    await expect(client.call('exportSpecimen', { id: svgs.id })).rejects.toMatchObject({ code: 'not-found', message: expect.stringMatching(/is not a font: only a font export has a specimen/) });

    // Glyph PNGs asked with a zip: that zip, byte for byte.
    const pngs = await client.call('exportGeneration', { generation: generation.id, format: 'png', sizes: [32, 64], zip: true });
    expect(pngs.zip).toBe(`${pngs.path}.zip`);
    const written = await raw(downloadPath(pngs.id), { binary: true });
    expect(written.headers['content-disposition']).toBe(`attachment; filename="${basename(pngs.zip!)}"`);
    expect(Buffer.from(written.body, 'latin1').equals(await readFile(pngs.zip!))).toBe(true);
    expect([...(await zipEntries(Buffer.from(written.body, 'latin1'))).keys()].filter((e) => e.endsWith('.png'))).toHaveLength(52);

    // Electron's "Open folder" shows the folder itself; an export whose files are gone is said to be gone.
    expect((await service.findExport(pngs.id)).path).toBe(pngs.path);
    await rm(svgs.path, { recursive: true });
    const gone = await raw(downloadPath(svgs.id));
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body)).toMatchObject({ code: 'not-found', error: expect.stringMatching(/no longer at .*export it again/) });
  }, 120_000);

  it('reports the steps of a drawing the client follows by its job, and of no other', async () => {
    const heard: FontloomEvent[] = [];
    const off = client.on((e) => heard.push(e));
    await new Promise((r) => setTimeout(r, 300)); // the event stream connects
    const generation = await client.call('generate', { id: 'default', steps: 6, job: 'drawing-1' });
    await client.call('reroll', { generation: generation.id, class: 2, seed: 5, job: 'reroll-1' });
    await client.call('generate', { id: 'default', steps: 3 });
    await new Promise((r) => setTimeout(r, 300));
    off();
    const steps = (job: string) => heard.flatMap((e) => (e.type === 'draw' && e.job === job ? [[e.done, e.total]] : []));
    for (const job of ['drawing-1', 'reroll-1']) {
      const seen = steps(job);
      expect(seen.length, job).toBeGreaterThan(0);
      expect(seen.at(-1), job).toEqual([6, 6]);
      expect(seen.map(([done]) => done)).toEqual([...seen.map(([done]) => done)].sort((a, b) => a - b));
    }
    expect(heard.filter((e) => e.type === 'draw').length).toBe(steps('drawing-1').length + steps('reroll-1').length);
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
    // A fix that lies in a setting names the studio's control, never the CLI's flag, and says which setting.
    const notes = join(home, 'notes.txt');
    await writeFile(notes, 'these are my notes, not glyphs\n');
    const unknown = await client.call('importDataset', { path: notes }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'user', setting: 'format', message: expect.stringMatching(/choose its format under Import options\.$/) });
    expect((unknown as Error).message).not.toMatch(/--format/);
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

  it('refuses every request without this launch’s key with 401, a wrong key too, and a forged Host gains nothing', async () => {
    for (const path of ['/api/datasets', '/api/info', '/', '/api/events']) {
      const answer = await raw(path, { key: null });
      expect(answer.status, path).toBe(401);
    }
    expect(JSON.parse((await raw('/api/datasets', { key: null })).body)).toMatchObject({ code: 'unauthorized', error: expect.stringMatching(/open the address `fontloom serve` printed/) });
    expect((await raw('/api/datasets', { key: 'x'.repeat(host.token.length) })).status).toBe(401);
    const importing = await raw('/api/datasets', { method: 'POST', key: null, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: '/etc/passwd' }) });
    expect(importing.status).toBe(401);
    const upload = await raw('/api/uploads?batch=abcd1234&path=x.csv', { method: 'POST', key: null, body: 'x' });
    expect(upload.status).toBe(401);
    const wide = await startServer({ service, port: 0, host: '0.0.0.0', staticDir: join(home, 'no-pages') });
    try {
      const at = `http://127.0.0.1:${wide.port}`;
      expect((await raw('/api/datasets', { at, key: null, headers: { host: `127.0.0.1:${wide.port}` } })).status).toBe(401);
      expect((await raw('/api/datasets', { at, key: wide.token, headers: { host: `127.0.0.1:${wide.port}` } })).status).toBe(200);
      expect(wide.token).not.toBe(host.token);
    } finally {
      await wide.close();
    }
  });

  it('trades the key in the printed address for an HttpOnly, SameSite=Strict cookie, and takes the cookie as the key', async () => {
    expect(host.openUrl).toBe(`${base}/?token=${host.token}`);
    const opened = await raw(`/?token=${host.token}`, { key: null });
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe('/');
    const [setCookie] = opened.headers['set-cookie'] as string[];
    expect(setCookie).toMatch(/^fontloom_token=[\w-]+; HttpOnly; SameSite=Strict; Path=\/$/);
    const withCookie = await raw('/api/datasets', { key: null, headers: { cookie: setCookie.split(';')[0] } });
    expect(withCookie.status).toBe(200);
    expect((await raw('/?token=wrong', { key: null })).status).toBe(401);
  });

  it('answers an address that is not valid percent-encoding with 400, not a failure', async () => {
    for (const path of ['/%', '/api/runs/%E0%A4%A', '/api/datasets/%ZZ/preview']) {
      const answer = await raw(path);
      expect(answer.status, path).toBe(400);
    }
    expect(JSON.parse((await raw('/api/runs/%E0%A4%A')).body)).toMatchObject({ code: 'invalid-input', error: expect.stringMatching(/not valid percent-encoding/) });
  });
});
