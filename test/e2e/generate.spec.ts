// A user's story on the Generate page with the shipped default model: the page says what to do
// when no run can draw, shows that it is working while it draws, lists every export made with its
// download (a folder as one zip, a font with its specimen), and keeps what was drawn — re-rolled
// letters included — across a reload, in every use: a new font, a finished font, a blend, and a
// letter-only run's sheet.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipEntries } from '../helpers/zip.ts';
import type { Dataset, Run } from '../../src-main/contract/api.ts';
import { api, drawL, openGenerate, screenshot } from './helpers.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
/** Few denoising steps: a style model's alphabet takes tens of seconds on a busy CPU at 50. */
const STEPS = '10';
const DRAWING = 180_000;

test.describe.configure({ mode: 'serial' });

let page: Page;
/** Runs this story made, removed at its end: the stories after it count runs. */
const made: string[] = [];

/** The letters' images and the sheet's, as their data URLs: what the user sees. */
async function imagesOf(where: Locator, sheet: string): Promise<string[]> {
  const glyphs = await where.getByTestId('glyph-grid').locator('img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).src));
  return [...glyphs, (await where.getByTestId(sheet).getAttribute('src'))!];
}

async function fewSteps(): Promise<void> {
  await page.getByText('Advanced settings').click();
  await page.getByLabel('Denoising steps').fill(STEPS);
}

/** Watches the page for a progress bar of `testid` that a drawing's steps filled (some value above 0). */
async function watchForFilledBar(testid: string): Promise<void> {
  await page.evaluate((id) => {
    const seen = ((window as unknown as { filledBar: Record<string, boolean> }).filledBar ??= {});
    seen[id] = false;
    const look = () => {
      document.querySelectorAll<HTMLProgressElement>(`[data-testid="${id}"] progress`).forEach((bar) => {
        if (bar.position > 0) seen[id] = true;
      });
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true });
    setInterval(look, 100);
  }, testid);
}

function barWasFilled(testid: string): Promise<boolean> {
  return page.evaluate((id) => (window as unknown as { filledBar: Record<string, boolean> }).filledBar[id], testid);
}

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await page.goto(`/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
});

test.afterAll(async () => {
  for (const id of made) await page.request.delete(`/api/runs/${id}`);
  await page.close();
});

test('says what to do when no run can draw yet', async ({}, testInfo) => {
  // The default model ships with every studio, so a studio without any run to draw from is one
  // where it was deleted: the page is shown the list such a studio answers.
  await page.route(/\/api\/runs$/, (route) => (route.request().method() === 'GET' ? route.fulfill({ json: [] }) : route.fallback()));
  await page.goto('/#/generate');
  const empty = page.getByTestId('generate-empty');
  await expect(empty).toContainText('No run can draw letters yet');
  await expect(empty.getByRole('link', { name: 'Train a run' })).toHaveAttribute('href', '#/train');
  await expect(empty).toContainText('comes back when the studio restarts');
  await screenshot(page, testInfo, 'generate-0-empty');
  await page.unroute(/\/api\/runs$/);
});

test('draws a new font, showing what it is doing, for how long, and how far', async ({}, testInfo) => {
  test.setTimeout(DRAWING);
  await openGenerate(page, 'default');
  await fewSteps();
  const panel = page.getByRole('tabpanel', { name: 'New font' });
  await expect(panel.getByTestId('font-empty')).toContainText('No font drawn yet');
  await expect(page.getByTestId('exports-empty')).toContainText('Nothing exported since the studio opened');

  await watchForFilledBar('working');
  await panel.getByTestId('font-seed').fill('5');
  await panel.getByTestId('draw-font').click();
  const working = panel.getByTestId('working');
  await expect(working).toBeVisible();
  await expect(working.getByTestId('working-what')).toHaveText('Drawing the font of seed 5…');
  await expect(panel.getByTestId('draw-font')).toBeDisabled();
  await expect(panel.getByTestId('another-font')).toBeDisabled();
  // The seconds count up while it draws.
  await expect(working.getByTestId('working-seconds')).toHaveText(/^[1-9]\d* s$/, { timeout: DRAWING });
  await screenshot(page, testInfo, 'generate-1-working');

  await expect(panel.getByTestId('font-description')).toHaveText('new style (seed 5)', { timeout: DRAWING });
  await expect(working).toBeHidden();
  await expect(panel.getByTestId('draw-font')).toBeEnabled();
  await expect(panel.getByTestId('glyph-grid').getByRole('button')).toHaveCount(26);
  // The default model's run draws at 32 px and its upsampler takes the letters to 128.
  await expect(panel.getByTestId('glyph-size')).toHaveText('drawn at 32 px, upsampled to 128');
  expect(await barWasFilled('working'), 'the bar filled as the server reported its steps').toBe(true);
});

test('lists two exports in a row, newest first, each downloading what is on disk, the font with its specimen; a PNG set comes as one zip', async ({}, testInfo) => {
  test.setTimeout(2 * DRAWING);
  const panel = page.getByRole('tabpanel', { name: 'New font' });
  const list = page.getByTestId('export-result');

  await panel.getByTestId('export-sheet').click();
  await expect(list).toHaveCount(1, { timeout: DRAWING });
  await panel.getByLabel('Font family name').fill('Loom Five');
  await panel.getByTestId('export-otf').click();
  await expect(panel.getByTestId('export-working')).toContainText('building the font “Loom Five”');
  await expect(panel.getByTestId('export-otf')).toBeDisabled();
  await expect(list).toHaveCount(2, { timeout: DRAWING });
  await expect(panel.getByTestId('export-done')).toContainText('Font “Loom Five” written');

  // Newest first, each saying what it is and of what.
  await expect(list.nth(0).getByTestId('export-what')).toHaveText('Font “Loom Five”');
  await expect(list.nth(1).getByTestId('export-what')).toHaveText('Sheet PNG');
  const step = (await api<Run>(page, '/api/runs/default')).checkpointStep;
  for (const k of [0, 1]) await expect(list.nth(k).getByTestId('export-of')).toContainText(`A–Z · step ${step} · new style (seed 5) · DDIM 10 steps`);
  await expect(list.nth(0).getByTestId('export-path')).toHaveText(/\.otf$/);
  await expect(list.nth(1).getByTestId('export-path')).toHaveText(/\.png$/);

  // The font's download is the file on disk, byte for byte.
  const fontFile = (await list.nth(0).getByTestId('export-path').textContent())!.trim();
  const [font] = await Promise.all([page.waitForEvent('download'), list.nth(0).getByTestId('export-download').click()]);
  expect(font.suggestedFilename()).toMatch(/\.otf$/);
  expect((await readFile((await font.path())!)).equals(await readFile(fontFile))).toBe(true);

  // Under the font, its specimen: the PNG written beside it, shown whole, and opened in a tab of its own.
  const specimenFile = fontFile.replace(/\.otf$/, '.specimen.png');
  const specimen = list.nth(0).getByTestId('export-specimen-image');
  await expect(specimen).toBeVisible();
  await expect(specimen).toHaveAttribute('alt', /^Specimen of Font “Loom Five”: its name, one line at 12 to 96 pt/);
  const shown = (await specimen.getAttribute('src'))!;
  expect(Buffer.from(shown.replace(/^data:image\/png;base64,/, ''), 'base64').equals(await readFile(specimenFile))).toBe(true);
  expect(await specimen.evaluate((img) => [(img as HTMLImageElement).naturalWidth, img.getBoundingClientRect().width > 300])).toEqual([1600, true]);
  await expect(list.nth(1).getByTestId('export-specimen')).toHaveCount(0);
  const open = list.nth(0).getByTestId('export-specimen-open');
  await expect(open).toHaveText('Open the specimen');
  await expect(open).toHaveAttribute('target', '_blank');
  const opened = await page.request.get((await open.getAttribute('href'))!);
  expect([opened.status(), opened.headers()['content-type']]).toEqual([200, 'image/png']);
  expect((await opened.body()).equals(await readFile(specimenFile))).toBe(true);
  await screenshot(page, testInfo, 'generate-2-font-specimen');

  // Glyph PNGs at 32 px, no zip asked: the folder downloads as one zip of its 26 PNGs.
  await panel.getByLabel('128×128').uncheck();
  await panel.getByTestId('export-png').click();
  await expect(list).toHaveCount(3, { timeout: DRAWING });
  await expect(list.nth(0).getByTestId('export-what')).toHaveText('Glyph PNGs, 32 px');
  await expect(list.nth(0).getByTestId('export-download')).toHaveText('Download as a zip (26 files)');
  const folder = (await list.nth(0).getByTestId('export-path').textContent())!.trim();
  const [zip] = await Promise.all([page.waitForEvent('download'), list.nth(0).getByTestId('export-download').click()]);
  expect(zip.suggestedFilename()).toMatch(/\.zip$/);
  const entries = await zipEntries(await readFile((await zip.path())!));
  const name = folder.split(/[\\/]/).pop()!;
  expect([...entries.keys()].sort()).toEqual(LETTERS.map((l) => `${name}/32px/${l}.png`).sort());
  expect(entries.get(`${name}/32px/Q.png`)!.equals(await readFile(join(folder, '32px', 'Q.png')))).toBe(true);

  await screenshot(page, testInfo, 'generate-2-result-exports');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, testInfo, 'generate-2-result-exports-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

test('keeps the font across a reload, a re-rolled letter included, and the exports listed', async () => {
  test.setTimeout(2 * DRAWING);
  const panel = page.getByRole('tabpanel', { name: 'New font' });
  const before = await imagesOf(panel, 'font-sheet');
  await panel.getByTestId('glyph-C').click();
  await expect(panel.getByTestId('reroll-working')).toContainText('Drawing C again');
  await expect(panel.getByTestId('rolling')).toBeVisible();
  await expect(panel.getByTestId('glyph-D')).toBeDisabled();
  await expect(panel.getByTestId('reroll-working')).toBeHidden({ timeout: DRAWING });
  const rerolled = await imagesOf(panel, 'font-sheet');
  expect(rerolled[2]).not.toBe(before[2]);
  expect(rerolled.filter((src, i) => src !== before[i]).length, 'C and the sheet changed').toBe(2);

  await page.reload();
  await expect(page.getByRole('tab', { name: 'New font' })).toHaveAttribute('aria-selected', 'true');
  await expect(panel.getByTestId('font-description')).toHaveText('new style (seed 5)');
  expect(await imagesOf(panel, 'font-sheet')).toEqual(rerolled);
  await expect(panel.getByTestId('font-seed')).toHaveValue('5');
  await expect(page.getByTestId('export-result')).toHaveCount(3);
});

test('draws a kept font again, the same letters, where the server no longer holds it', async () => {
  test.setTimeout(2 * DRAWING);
  const panel = page.getByRole('tabpanel', { name: 'New font' });
  const kept = await imagesOf(panel, 'font-sheet');
  // As after a restart of the studio's server: the result kept here names a drawing it never made.
  await page.evaluate(() => {
    const key = 'fontloom.result.new.default';
    const entry = JSON.parse(localStorage.getItem(key)!);
    entry.generation.id = 'gone-since-a-restart';
    localStorage.setItem(key, JSON.stringify(entry));
  });
  await page.reload();
  await expect(panel.getByTestId('font-description')).toHaveText('new style (seed 5)');
  await panel.getByTestId('export-sheet').click();
  await expect(panel.getByTestId('export-working')).toContainText('Drawing this result again', { timeout: DRAWING });
  await expect(page.getByTestId('export-result')).toHaveCount(4, { timeout: 2 * DRAWING });
  await expect(page.getByTestId('export-result').first().getByTestId('export-what')).toHaveText('Sheet PNG');
  await expect(page.getByTestId('export-result').first().getByTestId('export-of')).toContainText('1 letter re-rolled');
  expect(await imagesOf(panel, 'font-sheet')).toEqual(kept);
});

test('keeps a blend and a finished font across a reload', async () => {
  test.setTimeout(3 * DRAWING);
  await page.getByRole('tab', { name: 'Blend' }).click();
  const blend = page.getByRole('tabpanel', { name: 'Blend' });
  await blend.getByTestId('blend-stop-25').click();
  await expect(blend.getByTestId('working')).toBeVisible();
  await expect(blend.getByTestId('font-description')).toHaveText('25% of the way from new style (seed 0) to new style (seed 1)', { timeout: DRAWING });
  const blended = await imagesOf(blend, 'font-sheet');

  await page.getByRole('tab', { name: 'Finish a font' }).click();
  const finish = page.getByRole('tabpanel', { name: 'Finish a font' });
  await expect(finish.getByTestId('finish-empty')).toBeVisible();
  await drawL(page, finish);
  await finish.getByTestId('complete').click();
  await expect(finish.getByTestId('working')).toContainText('Drawing the other letters in the style of L');
  await expect(finish.getByTestId('complete')).toBeDisabled();
  await expect(finish.getByTestId('font-description')).toHaveText('the given L', { timeout: DRAWING });
  const finished = await imagesOf(finish, 'font-sheet');

  await page.reload();
  await expect(page.getByRole('tab', { name: 'Finish a font' })).toHaveAttribute('aria-selected', 'true');
  expect(await imagesOf(finish, 'font-sheet')).toEqual(finished);
  await expect(finish.locator('[data-given]')).toHaveCount(1);
  await page.getByRole('tab', { name: 'Blend' }).click();
  expect(await imagesOf(blend, 'font-sheet')).toEqual(blended);
  await expect(blend.getByTestId('blend-status')).toHaveText('Shown: 25%.');
  await page.getByRole('tab', { name: 'New font' }).click();
});

test('keeps a letter-only run’s sheet across a reload, a re-rolled letter included', async ({}, testInfo) => {
  test.setTimeout(3 * DRAWING);
  // A letter-only run with a checkpoint: two steps of micro on the default dataset.
  const fonts = (await api<Dataset[]>(page, '/api/datasets')).find((d) => d.format === 'default')!;
  const run = await api<Run>(page, '/api/runs', {
    method: 'POST',
    data: { dataset: fonts.id, preset: 'micro', steps: 2, checkpointEvery: 1, sampleEvery: 0, valEvery: 0, name: 'Letters to keep' },
  });
  made.push(run.id);
  await expect.poll(async () => (await api<Run>(page, `/api/runs/${run.id}`)).status, { timeout: 120_000 }).toBe('completed');

  await openGenerate(page, run.id);
  await expect(page.getByTestId('generate-nothing')).toContainText('Nothing drawn yet');
  await page.getByLabel('Denoising steps').fill(STEPS);
  await page.getByLabel('Seed', { exact: true }).fill('11');
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('working')).toContainText('Drawing the letters with seed 11');
  await expect(page.getByTestId('generate-button')).toBeDisabled();
  await expect(page.getByTestId('glyph-grid').getByRole('button')).toHaveCount(26, { timeout: DRAWING });
  const main = page.locator('main');
  const before = await imagesOf(main, 'generated-sheet');
  await page.getByTestId('glyph-K').click();
  await expect.poll(async () => (await imagesOf(main, 'generated-sheet'))[10], { timeout: DRAWING }).not.toBe(before[10]);
  const rerolled = await imagesOf(main, 'generated-sheet');

  await page.reload();
  await expect(page.getByTestId('glyph-grid').getByRole('button')).toHaveCount(26);
  expect(await imagesOf(main, 'generated-sheet')).toEqual(rerolled);
  // The settings that drew it come back with it.
  await expect(page.getByLabel('Seed', { exact: true })).toHaveValue('11');
  await expect(page.getByLabel('Denoising steps')).toHaveValue(STEPS);
  await screenshot(page, testInfo, 'generate-3-letters-kept');
});
