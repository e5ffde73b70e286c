// What the Electron preload exposes as `window.fontloom`. src-main/electron/preload.ts builds
// an object of this shape (the renderer may import only the contract from src-main, so the
// shape is written out on both sides; a type test there keeps them equal).
import type { ApiErrorBody, FontloomEvent } from '../../../src-main/api/contract.ts';

export type BridgeResult = { ok: true; value: unknown } | { ok: false; error: ApiErrorBody };

export interface FontloomBridge {
  call(method: string, input: unknown): Promise<BridgeResult>;
  on(listener: (event: FontloomEvent) => void): () => void;
  /** The file's path on disk (Electron's webUtils.getPathForFile); '' when it has none. */
  pathForFile(file: File): string;
  openDataset(kind: 'file' | 'folder'): Promise<string | null>;
  chooseFolder(title: string): Promise<string | null>;
}

declare global {
  interface Window {
    fontloom?: FontloomBridge;
  }
}
