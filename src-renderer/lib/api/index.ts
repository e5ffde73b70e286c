// The client this page uses: IPC inside the Electron window, HTTP to the local server elsewhere.
import { createHttpClient } from './http.ts';
import { createIpcClient } from './ipc.ts';
import type { StudioClient } from './types.ts';

export const client: StudioClient = typeof window !== 'undefined' && window.fontloom ? createIpcClient(window.fontloom) : createHttpClient('');

export { ApiError, errorMessage, type StagedFile, type StudioClient } from './types.ts';
