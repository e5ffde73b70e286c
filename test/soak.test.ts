// A soak of bad requests and bad files against a live studio server on loopback: a fixed count
// of requests, each with a time limit, drawn from a seeded generator so a failure repeats. The
// server must answer every one with a 4xx (never a 5xx, never silence), keep answering, and leave
// the registry and the runs as they were.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService, type Service } from '../src-main/api/service.ts';
import { Rng } from '../src-main/engine/rng.ts';
import { startServer, type WebHost } from '../src-main/web/server.ts';

const REQUESTS = 300;
const PARALLEL = 8;
const LIMIT_MS = 20_000;

let home: string;
let files: string;
let service: Service;
let host: WebHost;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-soak-'));
  files = join(home, 'bad-files');
  await mkdir(files);
  service = await createService({ home, mode: 'browser' });
  host = await startServer({ service, port: 0, staticDir: join(home, 'no-pages') });
}, 60_000);

afterAll(async () => {
  await host.close();
  await service.close();
  await rm(home, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: string;
}

/** One request on a connection of its own (a refused body may close its connection), given up after LIMIT_MS (status 0). */
function send(path: string, opts: { method: string; headers: Record<string, string>; body?: Buffer | string }): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(`http://127.0.0.1:${host.port}${path}`, { method: opts.method, headers: opts.headers, timeout: LIMIT_MS, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end(opts.body);
  });
}

/** Files that are not datasets: random bytes under dataset names, a truncated zip, a FIFO, a folder of them. */
async function badFiles(rng: Rng): Promise<string[]> {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rng.int(0, 256)));
  const made: string[] = [];
  for (const name of ['a.csv', 'b.zip', 'c.npz', 'd.ttf', 'e.otf', 'f.woff', 'g.bin', 'h.tar.gz', 'i.png']) {
    const path = join(files, name);
    await writeFile(path, bytes(rng.int(1, 4096)));
    made.push(path);
  }
  const zipHead = join(files, 'truncated.zip');
  await writeFile(zipHead, Buffer.concat([Buffer.from('PK\x03\x04'), bytes(64)]));
  made.push(zipHead);
  const csv = join(files, 'pixels.csv');
  await writeFile(csv, 'label,p0\nA,7\nB,300\nC,-1\n');
  made.push(csv);
  const kaggle = join(files, 'Images', 'Images', 'A');
  await mkdir(kaggle, { recursive: true });
  await writeFile(join(kaggle, '1.png'), bytes(100));
  execFileSync('mkfifo', [join(kaggle, '2.png')]);
  made.push(join(files, 'Images'));
  made.push(join(home, 'missing.csv'), '/dev/zero', home);
  return made;
}

interface BadRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

function badRequest(rng: Rng, bad: string[]): BadRequest {
  const key = { 'x-fontloom-token': host.token };
  const json = { ...key, 'content-type': 'application/json' };
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length)];
  const number = () => pick([-1, 0, 1e308, -1e308, 1.5, 2 ** 53, NaN, 'x', null, [], {}]);
  switch (rng.int(0, 9)) {
    case 0: // no key, a wrong key, or a forged Host or Origin
      return pick<BadRequest>([
        { path: pick(['/api/datasets', '/api/runs', '/', '/api/events']), method: 'GET', headers: {} },
        { path: '/api/datasets', method: 'GET', headers: { 'x-fontloom-token': 'guess' } },
        { path: '/api/datasets', method: 'GET', headers: { ...key, host: 'attacker.example' } },
        { path: '/api/runs', method: 'GET', headers: { ...key, origin: 'http://attacker.example' } },
      ]);
    case 1: // addresses that are not valid, or lead nowhere
      return { path: pick(['/%', '/api/runs/%E0%A4%A', '/api/%ZZ', '/api/nowhere', '/api/runs/..%2F..%2Fetc%2Fpasswd', '/api/datasets/x/preview?fonts=-5']), method: pick(['GET', 'POST', 'DELETE', 'PUT']), headers: key };
    case 2: // bodies that are not JSON, or too large
      return { path: pick(['/api/runs', '/api/datasets', '/api/estimate']), method: 'POST', headers: json, body: pick(['{', 'null', '[1,2', '"x"', Buffer.alloc(11 * 1024 * 1024, 0x20)]) };
    case 3: // runs no schema accepts (or of a dataset that does not exist: none may start)
      return { path: '/api/runs', method: 'POST', headers: json, body: JSON.stringify({ dataset: pick(['', 'nope', 'x'.repeat(300)]), preset: pick(['tiny', 'huge', 7]), steps: number(), epochs: number(), batch: number(), lr: number(), seed: number() }) };
    case 4: // imports of files that are not datasets
      return { path: '/api/datasets', method: 'POST', headers: json, body: JSON.stringify({ path: pick(bad), format: pick(['auto', 'csv', 'kaggle', 'npz', 'fonts', 'cifar10', 'x']) }) };
    case 5: // uploads that climb out, or carry a bad batch
      const [batch, file] = pick([['abcd1234', '../../evil'], ['abcd1234', '/abs'], ['../x', 'ok.csv'], ['', 'ok.csv'], ['abcd1234', '']]);
      return { path: `/api/uploads?batch=${encodeURIComponent(batch)}&path=${encodeURIComponent(file)}`, method: 'POST', headers: key, body: 'x,y\n' };
    case 6: // things that do not exist
      return { path: pick(['/api/runs/none', '/api/runs/none/metrics', '/api/runs/none/sheets/1/ema', '/api/datasets/none/preview']), method: 'GET', headers: key };
    case 7: // controls of runs that do not exist, and generations never made
      return { path: pick(['/api/runs/none/pause', '/api/runs/none/resume', '/api/generations/none/reroll', '/api/generations/none/export']), method: 'POST', headers: json, body: JSON.stringify({ class: number(), seed: number(), format: 'otf' }) };
    default: // generating with settings out of range
      return { path: '/api/runs/default/generate', method: 'POST', headers: json, body: JSON.stringify({ steps: pick([0, 1000, -3, 1e9]), cfg: pick([-1, 100]), seed: -2 }) };
  }
}

describe('a soak of bad requests and bad files', () => {
  it(`answers ${REQUESTS} of them with 4xx, keeps answering, and changes nothing`, async () => {
    const rng = new Rng(1205);
    const bad = await badFiles(rng);
    const before = { datasets: await service.call('listDatasets', {}), runs: await service.call('listRuns', {}) };
    const requests = Array.from({ length: REQUESTS }, () => badRequest(rng, bad));
    const answers: Answer[] = [];
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++];
        answers.push({ ...(await send(r.path, r)), body: `${r.method} ${r.path}` });
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const seconds = (performance.now() - started) / 1000;
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    console.log(`soak: ${answers.length} bad requests in ${seconds.toFixed(1)} s: ${[...byStatus].map(([s, n]) => `${n}× ${s}`).join(', ')}`);

    expect(answers).toHaveLength(REQUESTS);
    expect(answers.filter((a) => a.status < 400 || a.status >= 500).map((a) => `${a.status} ${a.body}`)).toEqual([]);
    const alive = await send('/api/info', { method: 'GET', headers: { 'x-fontloom-token': host.token } });
    expect(alive.status).toBe(200);
    expect(await service.call('listDatasets', {})).toEqual(before.datasets);
    expect(await service.call('listRuns', {})).toEqual(before.runs);
  }, 300_000);
});
