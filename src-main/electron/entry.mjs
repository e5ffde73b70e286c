// Electron's entry: the main process runs the TypeScript sources through tsx, as the CLI does.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
