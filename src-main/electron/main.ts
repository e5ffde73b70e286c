// The desktop studio's main process: one service over the home folder (Electron's userData, or
// FONTLOOM_HOME), bound to the window over IPC, training in utility processes.
import { app, BrowserWindow } from 'electron';
import { fileURLToPath } from 'node:url';
import { createService, type Service } from '../api/service.ts';
import { bindApi } from './ipc.ts';
import { utilityLauncher } from './training.ts';
import { createWindow, lockDownSession, type WindowFiles } from './window.ts';

const FILES: WindowFiles = {
  index: fileURLToPath(new URL('../../dist-renderer/index.html', import.meta.url)),
  preload: fileURLToPath(new URL('../../dist/electron/preload.cjs', import.meta.url)),
};

function homeFolder(): string {
  const fromEnv = process.env.FONTLOOM_HOME?.trim();
  return fromEnv ? fromEnv : app.getPath('userData');
}

async function start(): Promise<void> {
  // Two windows on one home folder would train over each other: the second focuses the first.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  await app.whenReady();
  lockDownSession();
  const service: Service = await createService({ home: homeFolder(), mode: 'electron', launch: utilityLauncher });
  const unbind = bindApi(service, FILES);
  let window = createWindow(FILES);

  app.on('second-instance', () => {
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) window = createWindow(FILES);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // A training run is paused at a checkpoint before the app goes.
  let closed = false;
  app.on('before-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    closed = true;
    unbind();
    service.close().finally(() => app.quit());
  });
}

start().catch((err: unknown) => {
  process.stderr.write(`fontloom: ${(err as Error)?.stack ?? String(err)}\n`);
  app.exit(1);
});
