// What the end-to-end tests do the way a user does: drop files on the window, and keep a
// screenshot of each page as an artifact.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';

export const SCREENSHOTS = 'test-results/screenshots';

/** A real `drop` event on a drop zone (the Datasets page's unless `zone` names another's test id), its DataTransfer holding the files' bytes. */
export async function dropFiles(page: Page, paths: string[], zone = 'drop-zone'): Promise<void> {
  const files = await Promise.all(paths.map(async (path) => ({ name: basename(path), b64: (await readFile(path)).toString('base64') })));
  const transfer = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const item of items) {
      const bin = atob(item.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], item.name));
    }
    return dt;
  }, files);
  const target = page.getByTestId(zone);
  await target.dispatchEvent('dragenter', { dataTransfer: transfer });
  await target.dispatchEvent('dragover', { dataTransfer: transfer });
  await target.dispatchEvent('drop', { dataTransfer: transfer });
}

export async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = `${SCREENSHOTS}/${name}.png`;
  // From the top, so the sticky header stays at the top of the full page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** Milliseconds the page takes to run a task queued now: long if its main thread is busy. */
export function mainThreadDelay(page: Page): Promise<number> {
  return page.evaluate(() => new Promise<number>((resolve) => {
    const start = performance.now();
    setTimeout(() => resolve(performance.now() - start), 0);
  }));
}
