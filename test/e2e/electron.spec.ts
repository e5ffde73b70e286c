// The desktop window, driven by Playwright's Electron support: it opens the studio, the page
// has its bridge and no Node. Electron's binary is downloaded from outside the npm registry,
// so where it is absent (or there is no display) this says why and skips.
import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { screenshot } from './helpers.ts';

const ENTRY = 'src-main/electron/entry.mjs';

function whyNoElectron(): string | null {
  let binary: unknown;
  try {
    binary = createRequire(import.meta.url)('electron');
  } catch (err) {
    return `the electron package cannot say where its binary is (${(err as Error).message.split('\n')[0]})`;
  }
  if (typeof binary !== 'string' || !existsSync(binary)) return `the Electron binary is not installed (${String(binary)})`;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return 'there is no display (run under xvfb-run)';
  if (!existsSync('dist/electron/preload.cjs')) return 'the preload is not built (npm run build:electron)';
  return null;
}

test('the Electron window opens the studio with its bridge and without Node', async ({}, testInfo) => {
  const reason = whyNoElectron();
  if (reason) console.log(`Electron end-to-end test skipped: ${reason}.`);
  test.skip(reason !== null, reason ?? '');

  const home = await mkdtemp(join(tmpdir(), 'fontloom-electron-'));
  const app = await electron.launch({ args: [ENTRY], env: { ...process.env, FONTLOOM_HOME: home } as Record<string, string> });
  try {
    const page = await app.firstWindow();
    await expect(page.getByRole('heading', { name: 'Datasets' })).toBeVisible({ timeout: 60_000 });
    expect(await page.evaluate(() => typeof window.fontloom?.call)).toBe('function');
    expect(await page.evaluate(() => typeof window.fontloom?.openSpecimen)).toBe('function');
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    await expect(page.getByTestId('dataset-item').first()).toBeVisible();
    // Isolated and sandboxed: the page sees neither Node's require nor its process.
    expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    await screenshot(page, testInfo, 'electron-datasets');
  } finally {
    await app.close();
  }
});
