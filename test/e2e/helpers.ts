// What the end-to-end tests do the way a user does: drop files on the window, and keep a
// screenshot of each page as an artifact.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { expect, type JSHandle, type Locator, type Page, type TestInfo } from '@playwright/test';

export const SCREENSHOTS = 'test-results/screenshots';

/** A DataTransfer in the page holding the files' bytes, as a drag from the desktop carries them. */
export async function filesTransfer(page: Page, paths: string[]): Promise<JSHandle<DataTransfer>> {
  const files = await Promise.all(paths.map(async (path) => ({ name: basename(path), b64: (await readFile(path)).toString('base64') })));
  return page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const item of items) {
      const bin = atob(item.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], item.name));
    }
    return dt;
  }, files);
}

/**
 * One drag event on `target`, bubbling as the browser's do; true when the page took it
 * (preventDefault), which a drop must be for the browser not to open the file in the studio's place.
 */
export function drag(target: Locator, type: 'dragenter' | 'dragover' | 'dragleave' | 'drop', transfer: JSHandle<DataTransfer>): Promise<boolean> {
  return target.evaluate(
    (element, { type, transfer }) => {
      const event = new DragEvent(type, { bubbles: true, cancelable: true, composed: true, dataTransfer: transfer });
      element.dispatchEvent(event);
      return event.defaultPrevented;
    },
    { type, transfer },
  );
}

/** A real `drop` event on a drop zone (the Datasets page's unless `zone` names another's test id), its DataTransfer holding the files' bytes. */
export async function dropFiles(page: Page, paths: string[], zone = 'drop-zone'): Promise<void> {
  const transfer = await filesTransfer(page, paths);
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

/** The studio's API as the page's own requests reach it (with its key): the JSON of a GET, or of a POST of `data`. */
export async function api<T>(page: Page, path: string, init?: { method: 'POST'; data: unknown }): Promise<T> {
  const response = init ? await page.request.post(path, { data: init.data }) : await page.request.get(path);
  expect(response.ok(), await response.text()).toBe(true);
  return (await response.json()) as T;
}

/** Generate, opened on a run by its address. */
export async function openGenerate(page: Page, run: string): Promise<void> {
  await page.goto(`/#/generate/${run}`);
  await expect(page.getByRole('heading', { name: 'Generate', exact: true })).toBeVisible();
}

/** An L drawn with the mouse on Finish a font's canvas (down the stem, along the foot), then given. */
export async function drawL(page: Page, panel: Locator): Promise<void> {
  await panel.getByTestId('canvas-letter').selectOption('L');
  const box = (await panel.getByTestId('letter-canvas').boundingBox())!;
  const at = (x: number, y: number): [number, number] => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(0.35, 0.16));
  await page.mouse.down();
  await page.mouse.move(...at(0.35, 0.78), { steps: 12 });
  await page.mouse.move(...at(0.72, 0.78), { steps: 8 });
  await page.mouse.up();
  await panel.getByTestId('canvas-give').click();
}
