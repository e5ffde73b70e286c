// The API over Electron IPC, through the preload's `window.fontloom`. Files need no upload:
// Electron tells each dropped or picked file's path.
import type { Input, Method, Outputs } from '../../../src-main/contract/api.ts';
import type { FontloomBridge } from '../../../src-main/contract/bridge.ts';
import { ApiError, type StagedFile, type StudioClient } from './types.ts';

/** The path to import for what the user dropped: the one file or folder, else their common folder. */
export function stagedPath(files: StagedFile[], pathForFile: (file: File) => string): string {
  if (files.length === 0) throw new ApiError('Nothing to import: the drop held no files.', 'user');
  const roots = files.map(({ file, relativePath }) => {
    const full = pathForFile(file);
    if (!full) throw new ApiError(`${relativePath} has no path on disk; choose it with "Choose files…" instead.`, 'user');
    const sep = full.includes('\\') && !full.includes('/') ? '\\' : '/';
    const parts = relativePath.split('/');
    // The dropped item itself: the file, or the top folder of what was walked inside it.
    const below = parts.length - 1;
    const segments = full.split(sep);
    return segments.slice(0, segments.length - below).join(sep);
  });
  const unique = [...new Set(roots)];
  if (unique.length === 1) return unique[0];
  const sep = unique[0].includes('\\') && !unique[0].includes('/') ? '\\' : '/';
  const split = unique.map((r) => r.split(sep));
  const common: string[] = [];
  for (let i = 0; split.every((s) => i < s.length - 1 && s[i] === split[0][i]); i++) common.push(split[0][i]);
  return common.join(sep);
}

export function createIpcClient(bridge: FontloomBridge): StudioClient {
  return {
    mode: 'electron',
    walksFolders: false,
    dialogs: { openDataset: (kind) => bridge.openDataset(kind), chooseFolder: (title) => bridge.chooseFolder(title) },
    async showExport(id) {
      const result = await bridge.showExport(id);
      if (!result.ok) throw new ApiError(result.error.error, result.error.code);
    },
    async openSpecimen(id) {
      const result = await bridge.openSpecimen(id);
      if (!result.ok) throw new ApiError(result.error.error, result.error.code);
    },
    async call<M extends Method>(method: M, input: Input<M>): Promise<Outputs[M]> {
      const result = await bridge.call(method, input);
      if (!result.ok) throw new ApiError(result.error.error, result.error.code, result.error.setting);
      return result.value as Outputs[M];
    },
    on: (listener) => bridge.on(listener),
    async stage(files, onProgress) {
      const path = stagedPath(files, (file) => bridge.pathForFile(file));
      onProgress?.(files.length, files.length);
      return path;
    },
  };
}
