// The IPC channels between the window's preload and the main process.
export const CHANNELS = {
  call: 'fontloom:call',
  event: 'fontloom:event',
  openDataset: 'fontloom:open-dataset',
  chooseFolder: 'fontloom:choose-folder',
  showExport: 'fontloom:show-export',
  openSpecimen: 'fontloom:open-specimen',
} as const;
