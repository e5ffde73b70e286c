// The web host: the API over HTTP (ROUTES), its events as server-sent events, uploads of
// dropped files, and the built renderer — the studio in a browser. It listens on 127.0.0.1
// unless told otherwise, answers only requests addressed to its own host (no other site may
// drive it from a user's browser), and only those that carry this launch's key: the address it
// prints holds the key, the page opened from it keeps it as an HttpOnly, SameSite=Strict cookie,
// and other clients send it as a header. Any other local process or user gets 401.
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { EVENTS_ROUTE, ROUTES, TOKEN_HEADER, UPLOAD_ROUTE, type ApiErrorBody, type Method } from '../contract/api.ts';
import { errorAnswer, InvalidInput } from '../api/boundary.ts';
import type { Service } from '../api/service.ts';
import { zipOfFolder } from '../export/write.ts';

export interface ServerOptions {
  service: Service;
  port?: number;
  host?: string;
  /** The built renderer (dist-renderer/). */
  staticDir?: string;
  /** Largest upload accepted, per file, in bytes. */
  uploadLimit?: number;
  /** This launch's key (default: a new random one). */
  token?: string;
}

export interface WebHost {
  /** Where the server listens, e.g. http://127.0.0.1:4790/ */
  url: string;
  /** The address to open the studio at: `url` with the key, which the page keeps as a cookie. */
  openUrl: string;
  /** The key every request must carry (TOKEN_HEADER, or the cookie the studio's page gets). */
  token: string;
  port: number;
  close(): Promise<void>;
}

const TOKEN_COOKIE = 'fontloom_token';

/** A percent-decoded part of an address, or a 400 for one that is not valid percent-encoding. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new InvalidInput(`the address holds "${part}", which is not valid percent-encoding`);
  }
}

function sameKey(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

export const DEFAULT_STATIC_DIR = resolve(dirname(new URL(import.meta.url).pathname), '../../dist-renderer');
const DEFAULT_UPLOAD_LIMIT = 4 * 1024 ** 3;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.otf': 'font/otf',
  '.zip': 'application/zip',
  '.ico': 'image/x-icon',
};

interface Route {
  method: Method;
  verb: string;
  pattern: RegExp;
  names: string[];
}

const COMPILED: Route[] = (Object.entries(ROUTES) as [Method, (typeof ROUTES)[Method]][]).map(([method, r]) => {
  const names: string[] = [];
  const pattern = new RegExp(`^${r.path.replace(/:(\w+)/g, (_, name: string) => (names.push(name), '([^/]+)'))}$`);
  return { method, verb: r.verb, pattern, names };
});

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const { status, body } = errorAnswer(err);
  if (!res.headersSent) sendJson(res, status, body);
  else res.end();
}

async function readBody(req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new InvalidInput(`request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new InvalidInput('the request body is not JSON');
  }
}

/** Query values as the schemas expect them: numbers and booleans stay strings (schemas coerce). */
function queryInput(url: URL): Record<string, unknown> {
  return Object.fromEntries(url.searchParams.entries());
}

/** A relative path inside `root` from an uploaded file's name, or a UserError. */
function insideFolder(root: string, relative: string): string {
  const cleaned = normalize(relative.replace(/\\/g, '/'));
  const target = resolve(root, cleaned);
  if (!relative || isAbsolute(cleaned) || cleaned.startsWith('..') || !target.startsWith(root + sep)) throw new InvalidInput(`upload path "${relative}" is not a relative file path`);
  return target;
}

export async function startServer(opts: ServerOptions): Promise<WebHost> {
  const { service } = opts;
  const host = opts.host ?? '127.0.0.1';
  const staticDir = opts.staticDir ?? DEFAULT_STATIC_DIR;
  const uploadLimit = opts.uploadLimit ?? DEFAULT_UPLOAD_LIMIT;
  const uploads = join(service.home, 'uploads');
  const streams = new Set<ServerResponse>();
  const token = opts.token ?? randomBytes(24).toString('base64url');
  let port = 0;
  // Files uploaded for an import are removed once imported; what a past launch left goes now.
  await rm(uploads, { recursive: true, force: true });

  const authorized = (req: IncomingMessage) => {
    const header = req.headers[TOKEN_HEADER];
    return sameKey(typeof header === 'string' ? header : undefined, token) || sameKey(cookie(req, TOKEN_COOKIE), token);
  };

  /** The printed address's key, exchanged for a cookie and dropped from the address bar. */
  const acceptKey = (res: ServerResponse, url: URL) => {
    url.searchParams.delete('token');
    res.writeHead(303, {
      'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
      // One leading slash: the address stays on this host.
      location: `/${url.pathname.replace(/^[/\\]+/, '')}${url.search}`,
      'cache-control': 'no-store',
    });
    res.end();
  };

  const refuse = (res: ServerResponse, url: URL) => {
    const error = 'this studio answers only its own pages: open the address `fontloom serve` printed (it carries this launch\'s key), or send the key in the x-fontloom-token header';
    if (url.pathname.startsWith('/api/')) {
      sendJson(res, 401, { error, code: 'unauthorized' } satisfies ApiErrorBody);
      return;
    }
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`Fontloom: ${error}.\n`);
  };

  const allowedHost = (req: IncomingMessage) => {
    const h = (req.headers.host ?? '').toLowerCase();
    const ok = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${host}:${port}`];
    if (!ok.includes(h)) return false;
    const origin = req.headers.origin;
    return !origin || ok.some((o) => origin === `http://${o}`);
  };

  const handleUpload = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const batch = url.searchParams.get('batch') ?? '';
    const relative = url.searchParams.get('path') ?? '';
    if (!/^[\w-]{4,64}$/.test(batch)) throw new InvalidInput('upload: batch must be 4–64 letters, digits, - or _');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > uploadLimit) throw new InvalidInput(`upload: ${relative} is ${declared} bytes, over the limit of ${uploadLimit}`);
    const folder = join(uploads, batch);
    const target = insideFolder(folder, relative);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.${randomBytes(4).toString('hex')}.part`;
    let size = 0;
    try {
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > uploadLimit) req.destroy(new InvalidInput(`upload: ${relative} is over the limit of ${uploadLimit} bytes`));
      });
      await pipeline(req, createWriteStream(temp));
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    sendJson(res, 200, { path: folder, file: target, size });
  };

  const handleEvents = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': fontloom events\n\n');
    streams.add(res);
    const off = service.on((e) => res.write(`data: ${JSON.stringify(e)}\n\n`));
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      off();
      streams.delete(res);
    });
  };

  /**
   * An export to the browser as an attachment (browser mode writes exports on this side): its
   * file, or a folder's zip — the one written with it, or one made as it is sent.
   */
  const handleDownload = async (res: ServerResponse, id: string) => {
    const { path, download } = await service.findExport(id);
    const name = download ? basename(download) : `${basename(path)}.zip`;
    const body = download ? createReadStream(download) : await zipOfFolder(path);
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
      'content-disposition': `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"`,
      'cache-control': 'no-store',
    });
    // Headers are gone once the body flows: a file that fails midway ends the download short.
    await pipeline(body, res).catch(() => res.destroy());
  };

  /** A font export's specimen, shown in the browser's own tab rather than downloaded. */
  const handleSpecimen = async (res: ServerResponse, id: string) => {
    const path = await service.findSpecimen(id);
    res.writeHead(200, {
      'content-type': CONTENT_TYPES['.png'],
      'content-disposition': `inline; filename="${basename(path).replace(/[^\w.-]/g, '_')}"`,
      'cache-control': 'no-store',
    });
    await pipeline(createReadStream(path), res).catch(() => res.destroy());
  };

  const handleStatic = async (res: ServerResponse, url: URL) => {
    const path = decoded(url.pathname);
    if (!existsSync(join(staticDir, 'index.html'))) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`The studio's pages are not built yet: run "npm run build:renderer" (looked in ${staticDir}).\n`);
      return;
    }
    let file = resolve(staticDir, '.' + path);
    if (!file.startsWith(resolve(staticDir) + sep) || !(await stat(file).catch(() => null))?.isFile()) file = join(staticDir, 'index.html');
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; font-src 'self' data: blob:; connect-src 'self'",
    });
    createReadStream(file).pipe(res);
  };

  const server = createServer(async (req, res) => {
    try {
      if (!allowedHost(req)) {
        sendJson(res, 403, { error: 'Fontloom answers only requests addressed to its own host', code: 'user' } satisfies ApiErrorBody);
        return;
      }
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      if (req.method === 'GET' && sameKey(url.searchParams.get('token') ?? undefined, token)) return acceptKey(res, url);
      if (!authorized(req)) return refuse(res, url);
      if (url.pathname === EVENTS_ROUTE && req.method === 'GET') return handleEvents(req, res);
      if (url.pathname === UPLOAD_ROUTE && req.method === 'POST') return await handleUpload(req, res, url);
      const download = /^\/api\/exports\/([^/]+)\/download$/.exec(url.pathname);
      if (download && req.method === 'GET') return await handleDownload(res, decoded(download[1]));
      const specimen = /^\/api\/exports\/([^/]+)\/specimen\.png$/.exec(url.pathname);
      if (specimen && req.method === 'GET') return await handleSpecimen(res, decoded(specimen[1]));
      if (url.pathname.startsWith('/api/')) {
        const route = COMPILED.find((r) => r.verb === req.method && r.pattern.test(url.pathname));
        if (!route) {
          sendJson(res, 404, { error: `no API route ${req.method} ${url.pathname}`, code: 'not-found' } satisfies ApiErrorBody);
          return;
        }
        const match = route.pattern.exec(url.pathname)!;
        const params = Object.fromEntries(route.names.map((n, i) => [n, decoded(match[i + 1])]));
        const body = req.method === 'POST' ? ((await readBody(req)) as Record<string, unknown>) : {};
        const input = { ...queryInput(url), ...(typeof body === 'object' && body ? body : {}), ...params };
        sendJson(res, 200, await service.call(route.method, input as never));
        return;
      }
      await handleStatic(res, url);
    } catch (err) {
      sendError(res, err);
    }
  });
  server.requestTimeout = 0; // imports and generations can take minutes

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}/`;
  return {
    url,
    openUrl: `${url}?token=${token}`,
    token,
    port,
    async close() {
      for (const s of streams) s.end();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
