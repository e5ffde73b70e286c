// What the Electron preload exposes as `window.fontloom`: src-main/electron/preload.ts builds an
// object of this type and the renderer calls it, both importing it from here.
import type { ApiErrorBody, FontloomEvent } from './api.ts';

export type BridgeResult = { ok: true; value: unknown } | { ok: false; error: ApiErrorBody };

export interface FontloomBridge {
  call(method: string, input: unknown): Promise<BridgeResult>;
  on(listener: (event: FontloomEvent) => void): () => void;
  /** The file's path on disk (Electron's webUtils.getPathForFile); '' when it has none. */
  pathForFile(file: File): string;
  openDataset(kind: 'file' | 'folder'): Promise<string | null>;
  chooseFolder(title: string): Promise<string | null>;
  /** Opens the system's file manager at an export the studio made (`ExportResult.id`), selected. */
  showExport(id: string): Promise<BridgeResult>;
  /** Opens a font export's specimen (`ExportResult.specimen`) in the system's image viewer. */
  openSpecimen(id: string): Promise<BridgeResult>;
}

declare global {
  interface Window {
    fontloom?: FontloomBridge;
  }
}
