import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layerViolations, sourceFiles, specifiers } from './helpers/layers.ts';

const ROOT = join(import.meta.dirname, '..');

describe("the code's layering", () => {
  it('has no import that runs upward between rooms, nor a studio file importing more than the contract', () => {
    const files = sourceFiles(ROOT);
    expect(files.size).toBeGreaterThan(100);
    expect(layerViolations(files)).toEqual([]);
  });

  it('reads static and dynamic imports, re-exports and worker URLs', () => {
    const source = [
      "import { a } from '../engine/unet.ts';",
      "import type { B } from './b.ts';",
      "export { c } from '../data/c.ts';",
      "const m = await import('./cli/x.ts');",
      "new Worker(new URL('./entry.mjs', import.meta.url));",
    ].join('\n');
    expect(specifiers(source)).toEqual(['../engine/unet.ts', './b.ts', '../data/c.ts', './cli/x.ts', './entry.mjs']);
  });

  it('catches an engine file importing the store, data importing jobs, and the studio importing the service', () => {
    const files = new Map([
      ['src-main/engine/train.ts', "import { storeFor } from '../store/store.ts';"],
      ['src-main/data/training.ts', "import { runDir } from '../jobs/run.ts';"],
      ['src-main/engine/ops/conv.ts', "import { createUNet } from '../unet.ts';"],
      ['src-renderer/lib/x.ts', "import { createService } from '../../src-main/api/service.ts';"],
      ['src-main/electron/ipc.ts', "import type { X } from '../../src-renderer/lib/api/types.ts';"],
      ['src-main/jobs/run.ts', "import { Trainer } from '../engine/train.ts'; import { a } from '../contract/api.ts';"],
    ]);
    expect(layerViolations(files).map((v) => `${v.file} → ${v.imports}`)).toEqual([
      'src-main/engine/train.ts → src-main/store/store.ts',
      'src-main/data/training.ts → src-main/jobs/run.ts',
      'src-main/engine/ops/conv.ts → src-main/engine/unet.ts',
      'src-renderer/lib/x.ts → src-main/api/service.ts',
      'src-main/electron/ipc.ts → src-renderer/lib/api/types.ts',
    ]);
  });
});
