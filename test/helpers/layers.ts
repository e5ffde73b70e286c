// Fontloom's rooms and the direction imports may run between them (docs/ARCHITECTURE.md,
// "Layers"): a room may import its own files and those of rooms below it, never above. The
// studio (src-renderer) may import only the contract from src-main.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

/** Lowest first; rooms on one line sit side by side. Files directly in src-main (errors.ts, atomic.ts, home.ts) are the base, which the contract may import too. */
export const LAYERS: readonly (readonly string[])[] = [
  ['base', 'contract'],
  ['engine'],
  ['store'],
  ['data'],
  ['export'],
  ['eval'],
  ['jobs'],
  ['api'],
  ['web', 'electron'],
  ['cli'],
];

/** The room of a repository-relative path: src-main/<room>/…, 'base', or 'renderer'. */
export function roomOf(path: string): string | null {
  const parts = normalize(path).split(/[\\/]/);
  if (parts[0] === 'src-renderer') return 'renderer';
  if (parts[0] !== 'src-main') return null;
  return parts.length === 2 ? 'base' : parts[1];
}

function rank(room: string): number {
  return LAYERS.findIndex((rooms) => rooms.includes(room));
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|new URL\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** Relative specifiers a source file names: static and dynamic imports, re-exports, new URL(…). */
export function specifiers(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) => m[2]);
}

export interface Violation {
  file: string;
  imports: string;
  why: string;
}

/** Every import in `files` (path → source, paths relative to the repository) that breaks the layering. */
export function layerViolations(files: ReadonlyMap<string, string>): Violation[] {
  const found: Violation[] = [];
  for (const [file, source] of files) {
    const from = roomOf(file);
    if (!from) continue;
    for (const spec of specifiers(source)) {
      const target = normalize(join(dirname(file), spec));
      const to = roomOf(target);
      if (!to || to === from) {
        if (from === 'engine' && /src-main\/engine\/ops\//.test(file) && !/src-main\/engine\/(ops|runtime)\//.test(target)) {
          found.push({ file, imports: target, why: "engine/ops holds the building blocks: it imports nothing from the engine's top level" });
        }
        continue;
      }
      if (from === 'renderer') {
        if (to !== 'contract') found.push({ file, imports: target, why: 'the studio imports only the contract from src-main' });
        continue;
      }
      if (to === 'renderer') {
        found.push({ file, imports: target, why: 'src-main never imports the studio (shared types live in src-main/contract)' });
        continue;
      }
      if (rank(from) === -1 || rank(to) === -1) {
        found.push({ file, imports: target, why: `room ${rank(from) === -1 ? from : to} has no place in the layering: add it to LAYERS` });
      } else if (rank(to) > rank(from)) {
        found.push({ file, imports: target, why: `${from} sits below ${to}: the import runs upward` });
      } else if (rank(to) === rank(from) && to !== 'base') {
        found.push({ file, imports: target, why: `${from} and ${to} are side by side: neither imports the other` });
      }
    }
  }
  return found;
}

/** The project's own source files, keyed by repository-relative path. */
export function sourceFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|svelte)$/.test(entry.name)) files.set(relative(root, path), readFileSync(path, 'utf8'));
    }
  };
  walk(join(root, 'src-main'));
  walk(join(root, 'src-renderer'));
  return files;
}
