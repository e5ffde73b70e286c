// Starts an engine worker: workers do not inherit the parent's TypeScript loader.
import { register } from 'tsx/esm/api';

register();
await import('./engine-worker.ts');
