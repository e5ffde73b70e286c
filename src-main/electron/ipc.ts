// The API over IPC: each call's method name and input checked against the contract before the
// service sees it, errors returned as ApiErrorBody (Electron would otherwise wrap them in its
// own words), events forwarded to the window, native dialogs for files and folders, the file
// manager opened at an export and a font's specimen opened in the image viewer (only files the
// studio made: the window names the export by its id).
import { BrowserWindow, dialog, ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { errorAnswer, InvalidInput } from '../api/boundary.ts';
import type { Service } from '../api/service.ts';
import { UserError } from '../errors.ts';
import type { BridgeResult } from '../contract/bridge.ts';
import { CHANNELS } from './channels.ts';
import { fromStudio, type WindowFiles } from './window.ts';

const DATASET_FILTERS = [
  { name: 'Datasets', extensions: ['zip', 'npz', 'csv', 'ttf', 'otf', 'woff', 'woff2', 'bin'] },
  { name: 'All files', extensions: ['*'] },
];

/** One call from the window: the service checks the method and its input, errors come back as the body. */
export async function handleCall(service: Service, method: unknown, input: unknown): Promise<BridgeResult> {
  try {
    return { ok: true, value: await service.call(method as never, input as never) };
  } catch (err) {
    return { ok: false, error: errorAnswer(err).body };
  }
}

/** Shows an export in the file manager, selected; an unknown id or a file gone is said as the API says it. */
export async function showExport(service: Service, id: unknown): Promise<BridgeResult> {
  try {
    if (typeof id !== 'string') throw new InvalidInput('showExport needs an export id');
    shell.showItemInFolder((await service.findExport(id)).path);
    return { ok: true, value: null };
  } catch (err) {
    return { ok: false, error: errorAnswer(err).body };
  }
}

/** Opens a font export's specimen in the system's image viewer; a viewer's refusal is said with the file's path. */
export async function openSpecimen(service: Service, id: unknown): Promise<BridgeResult> {
  try {
    if (typeof id !== 'string') throw new InvalidInput('openSpecimen needs an export id');
    const path = await service.findSpecimen(id);
    const failed = await shell.openPath(path);
    if (failed) throw new UserError(`Could not open the specimen ${path}: ${failed}`);
    return { ok: true, value: null };
  } catch (err) {
    return { ok: false, error: errorAnswer(err).body };
  }
}

/** Binds the service to IPC; returns a function that unbinds it. */
export function bindApi(service: Service, files: WindowFiles): () => void {
  const guard = <A extends unknown[], R>(handler: (event: IpcMainInvokeEvent, ...args: A) => Promise<R>) =>
    (event: IpcMainInvokeEvent, ...args: A): Promise<R> => {
      if (!fromStudio(event.senderFrame?.url, files)) throw new Error('refused: not the studio page');
      return handler(event, ...args);
    };

  ipcMain.handle(CHANNELS.call, guard((_, method: unknown, input: unknown) => handleCall(service, method, input)));
  ipcMain.handle(
    CHANNELS.openDataset,
    guard(async (event, kind: unknown) => {
      const owner = BrowserWindow.fromWebContents(event.sender);
      const options: Electron.OpenDialogOptions =
        kind === 'folder'
          ? { title: 'Import a dataset folder', properties: ['openDirectory'] }
          : { title: 'Import a dataset file', properties: ['openFile'], filters: DATASET_FILTERS };
      const result = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    }),
  );
  ipcMain.handle(
    CHANNELS.chooseFolder,
    guard(async (event, title: unknown) => {
      const owner = BrowserWindow.fromWebContents(event.sender);
      const options: Electron.OpenDialogOptions = {
        title: typeof title === 'string' ? title.slice(0, 100) : 'Choose a folder',
        properties: ['openDirectory', 'createDirectory'],
      };
      const result = owner ? await dialog.showOpenDialog(owner, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    }),
  );
  ipcMain.handle(CHANNELS.showExport, guard((_, id: unknown) => showExport(service, id)));
  ipcMain.handle(CHANNELS.openSpecimen, guard((_, id: unknown) => openSpecimen(service, id)));
  const forward = service.on((event) => {
    for (const window of BrowserWindow.getAllWindows()) if (!window.isDestroyed()) window.webContents.send(CHANNELS.event, event);
  });
  return () => {
    forward();
    for (const channel of [CHANNELS.call, CHANNELS.openDataset, CHANNELS.chooseFolder, CHANNELS.showExport, CHANNELS.openSpecimen]) ipcMain.removeHandler(channel);
  };
}
