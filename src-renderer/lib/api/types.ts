// What every page talks to: the one API of the contract, plus getting the user's files to where
// the API can read them. The HTTP and IPC clients both implement it; pages never know which.
import type { ApiErrorBody, FontloomApi, Setting } from '../../../src-main/contract/api.ts';

/** A file the user dropped or picked, with its path inside what they dropped (a folder's name first). */
export interface StagedFile {
  file: File;
  relativePath: string;
}

/** Native file dialogs, where the binding has them (the Electron window). */
export interface NativeDialogs {
  /** A dataset file or folder; null when the user cancels. */
  openDataset(kind: 'file' | 'folder'): Promise<string | null>;
  /** A folder to export into; null when the user cancels. */
  chooseFolder(title: string): Promise<string | null>;
}

export interface StudioClient extends FontloomApi {
  readonly mode: 'electron' | 'browser';
  /**
   * Makes files the user gave readable by the API and returns the path to import: the folder
   * they dropped, or the one file. Browser mode uploads them; Electron knows their paths.
   */
  stage(files: StagedFile[], onProgress?: (done: number, total: number) => void): Promise<string>;
  /** Whether a dropped folder must be walked file by file (browser) or is known by its path (Electron). */
  readonly walksFolders: boolean;
  readonly dialogs: NativeDialogs | null;
  /** Opens the file manager at an export (`ExportResult.id`), where the binding can (the Electron window). */
  readonly showExport: ((id: string) => Promise<void>) | null;
  /** Opens a font export's specimen in the image viewer, where the binding can (the Electron window; a browser opens its address). */
  readonly openSpecimen: ((id: string) => Promise<void>) | null;
}

/** An error the API reported; its message is written for the user, and `setting` is where its fix lies, if in one. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly code: ApiErrorBody['code'],
    readonly setting?: Setting,
  ) {
    super(message);
  }
}

/** The message to show for anything a call threw: the API's own words, or a plain fallback. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong.';
}
