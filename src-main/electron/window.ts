// The studio window: isolated, sandboxed, no Node in the page, no navigation away from the
// app, no new windows, no permissions. The page's Content-Security-Policy comes with it
// (src-renderer/index.html: own scripts only, images from itself and data: URLs).
import { BrowserWindow, session } from 'electron';
import { pathToFileURL } from 'node:url';

export interface WindowFiles {
  /** The built renderer's index.html (dist-renderer/). */
  index: string;
  /** The bundled preload (dist/electron/preload.cjs). */
  preload: string;
}

export function lockDownSession(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

export function createWindow(files: WindowFiles): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 700,
    title: 'Fontloom',
    show: false,
    webPreferences: {
      preload: files.preload,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      spellcheck: false,
    },
  });
  const home = pathToFileURL(files.index).href;
  window.webContents.on('will-navigate', (event, url) => {
    if (url.split('#')[0] !== home) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  window.once('ready-to-show', () => window.show());
  void window.loadFile(files.index);
  return window;
}

/** Whether an IPC message comes from the studio's own page (not a frame it may have loaded). */
export function fromStudio(senderUrl: string | undefined, files: WindowFiles): boolean {
  return !!senderUrl && senderUrl.split('#')[0] === pathToFileURL(files.index).href;
}
