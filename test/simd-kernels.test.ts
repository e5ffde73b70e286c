import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assemble, kernelText } from '../scripts/build-kernels.ts';

const dir = new URL('../src-main/engine/ops/kernels/', import.meta.url);

describe('the committed SIMD kernels', () => {
  it('are what scripts/build-kernels.ts builds from today’s constants (run `npm run build:kernels` after a change)', async () => {
    const text = kernelText();
    expect(readFileSync(new URL('simd.wat', dir), 'utf8')).toBe(text);
    expect(Buffer.from(readFileSync(new URL('simd.wasm', dir))).equals(Buffer.from(await assemble(text, false)))).toBe(true);
    expect(Buffer.from(readFileSync(new URL('simd-shared.wasm', dir))).equals(Buffer.from(await assemble(text, true)))).toBe(true);
  });
});
