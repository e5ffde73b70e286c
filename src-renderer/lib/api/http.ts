// The API over HTTP (browser mode, tests): calls by the contract's ROUTES, events from the
// server-sent event stream read with fetch, files uploaded to the local server before import.
import {
  EVENTS_ROUTE,
  ROUTES,
  UPLOAD_ROUTE,
  type ApiErrorBody,
  type FontloomEvent,
  type Input,
  TOKEN_HEADER,
  type Method,
  type Outputs,
} from '../../../src-main/contract/api.ts';
import { SseParser } from './sse.ts';
import { ApiError, type StagedFile, type StudioClient } from './types.ts';

const UNREACHABLE = 'The studio could not reach its server. Is `fontloom serve` (or `npm start`) still running?';
const PARALLEL_UPLOADS = 4;
const RECONNECT_MS = [500, 1000, 2000, 5000];

/** The URL and the request a call travels as: path parameters filled, the rest in the query or body. */
export function requestFor(method: Method, input: Record<string, unknown>): { url: string; init: RequestInit } {
  const route = ROUTES[method];
  const rest: Record<string, unknown> = { ...input };
  const path = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = rest[name];
    delete rest[name];
    if (value === undefined || value === null || value === '') throw new ApiError(`${method} needs ${name}.`, 'invalid-input');
    return encodeURIComponent(String(value));
  });
  if (route.verb === 'POST') {
    return { url: path, init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rest) } };
  }
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(rest)) if (value !== undefined && value !== null) query.set(key, String(value));
  const qs = query.toString();
  // A delete may be sent as the page goes away (an undo's wait cut short): it must outlive the page.
  return { url: qs ? `${path}?${qs}` : path, init: { method: route.verb, ...(route.verb === 'DELETE' && { keepalive: true }) } };
}

/** Headers that carry the launch's key, for clients outside the studio's page (the page has its cookie). */
function keyHeaders(token: string | undefined): Record<string, string> {
  return token ? { [TOKEN_HEADER]: token } : {};
}

async function send(url: string, init: RequestInit, token?: string): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...keyHeaders(token) } });
  } catch {
    throw new ApiError(UNREACHABLE, 'internal');
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(`The server answered ${response.status} with something that is not JSON.`, 'internal');
  }
  if (!response.ok) {
    const error = body as Partial<ApiErrorBody> | null;
    throw new ApiError(error?.error ?? `The server answered ${response.status}.`, error?.code ?? 'internal', error?.setting);
  }
  return body;
}

/** One event stream shared by every listener, opened with the first and closed after the last. */
class EventStream {
  private readonly listeners = new Set<(event: FontloomEvent) => void>();
  private abort: AbortController | null = null;

  constructor(
    private readonly url: string,
    private readonly token?: string,
  ) {}

  add(listener: (event: FontloomEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.abort) this.open();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.abort?.abort();
        this.abort = null;
      }
    };
  }

  private open(): void {
    const abort = new AbortController();
    this.abort = abort;
    void this.read(abort.signal);
  }

  private async read(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const response = await fetch(this.url, { signal, headers: { accept: 'text/event-stream', ...keyHeaders(this.token) } });
        if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
        attempt = 0;
        const parser = new SseParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          for (const data of parser.push(value)) this.emit(data);
        }
      } catch {
        if (signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)]));
    }
  }

  private emit(data: string): void {
    let event: FontloomEvent;
    try {
      event = JSON.parse(data) as FontloomEvent;
    } catch {
      return;
    }
    for (const listener of [...this.listeners]) listener(event);
  }
}

function batchId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * What to import from an uploaded batch: the one file dropped on its own (a zip, a CSV), the
 * dropped folder inside the batch when everything came from one, else the batch's folder.
 */
export function importRoot(batchFolder: string, batchFile: string | undefined, files: StagedFile[]): string {
  const sep = batchFolder.includes('\\') && !batchFolder.includes('/') ? '\\' : '/';
  const tops = new Set(files.map((f) => f.relativePath.split('/')[0]));
  const [top] = tops;
  if (files.length === 1 && !files[0].relativePath.includes('/')) return batchFile ?? `${batchFolder}${sep}${top}`;
  if (tops.size === 1 && files.every((f) => f.relativePath.includes('/'))) return `${batchFolder}${sep}${top}`;
  return batchFolder;
}

/** Uploads each file under one batch (the last one alone, after the others) and returns what to import. */
async function upload(base: string, token: string | undefined, files: StagedFile[], onProgress?: (done: number, total: number) => void): Promise<string> {
  if (files.length === 0) throw new ApiError('Nothing to import: the drop held no files.', 'user');
  const batch = batchId();
  let done = 0;
  const put = async ({ file, relativePath }: StagedFile) => {
    const query = new URLSearchParams({ batch, path: relativePath });
    const result = (await send(`${base}${UPLOAD_ROUTE}?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: file,
    }, token)) as { path: string; file?: string };
    onProgress?.(++done, files.length);
    return result;
  };
  const first = files.slice(0, -1);
  let next = 0;
  const worker = async () => {
    while (next < first.length) await put(first[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, first.length) }, worker));
  const last = await put(files[files.length - 1]);
  return importRoot(last.path, last.file, files);
}

/** A client for the server at `base` ('' for the page's own origin), sending `token` where it is not the page. */
export function createHttpClient(base = '', token?: string): StudioClient {
  const events = new EventStream(`${base}${EVENTS_ROUTE}`, token);
  return {
    mode: 'browser',
    walksFolders: true,
    dialogs: null,
    showExport: null,
    openSpecimen: null,
    async call<M extends Method>(method: M, input: Input<M>): Promise<Outputs[M]> {
      const { url, init } = requestFor(method, input as Record<string, unknown>);
      return (await send(`${base}${url}`, init, token)) as Outputs[M];
    },
    on: (listener) => events.add(listener),
    stage: (files, onProgress) => upload(base, token, files, onProgress),
  };
}
