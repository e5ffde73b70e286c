// The window's only door to the studio: `window.fontloom`, a FontloomBridge. Sandboxed and
// context-isolated, so this file is bundled to CommonJS (npm run build:electron) and may use
// nothing but electron's renderer modules.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { FontloomEvent } from '../contract/api.ts';
import type { BridgeResult, FontloomBridge } from '../contract/bridge.ts';
import { CHANNELS } from './channels.ts';

const bridge: FontloomBridge = {
  call: (method, input) => ipcRenderer.invoke(CHANNELS.call, method, input) as Promise<BridgeResult>,
  on(listener) {
    const handler = (_: IpcRendererEvent, event: FontloomEvent) => listener(event);
    ipcRenderer.on(CHANNELS.event, handler);
    return () => {
      ipcRenderer.removeListener(CHANNELS.event, handler);
    };
  },
  pathForFile: (file) => webUtils.getPathForFile(file),
  openDataset: (kind) => ipcRenderer.invoke(CHANNELS.openDataset, kind) as Promise<string | null>,
  chooseFolder: (title) => ipcRenderer.invoke(CHANNELS.chooseFolder, title) as Promise<string | null>,
  showExport: (id) => ipcRenderer.invoke(CHANNELS.showExport, id) as Promise<BridgeResult>,
  openSpecimen: (id) => ipcRenderer.invoke(CHANNELS.openSpecimen, id) as Promise<BridgeResult>,
};

contextBridge.exposeInMainWorld('fontloom', bridge);
