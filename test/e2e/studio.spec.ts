// The user's story in browser mode: bring in datasets by drag-and-drop and the folder picker,
// train a `micro` model and watch it, pause and resume it, then generate and export a letter
// sheet whose files are checked on disk.
import { expect, test, type Page } from '@playwright/test';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import opentype from 'opentype.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtures, type Fixtures } from './fixtures.ts';
import { dropFiles, mainThreadDelay, screenshot } from './helpers.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

test.describe.configure({ mode: 'serial' });

let page: Page;
let fixtures: Fixtures;
let runUrl = '';

test.beforeAll(async ({ browser }) => {
  fixtures = await buildFixtures(await mkdtemp(join(tmpdir(), 'fontloom-e2e-data-')));
  page = await browser.newPage();
  // As a user opens the studio: from the printed address, whose key the page keeps as a cookie
  // (the browser's downloads carry only that).
  await page.goto(`/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
});

test.afterAll(async () => {
  await page.close();
});

const datasets = () => page.getByTestId('dataset-item');

test('imports a Kaggle-layout zip dropped on the window and previews it', async ({}, testInfo) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Datasets' })).toBeVisible();
  await expect(datasets().first()).toBeVisible(); // the embedded default
  const before = await datasets().count();

  await dropFiles(page, [fixtures.kaggleZip]);
  await expect(page.getByTestId('import-done')).toContainText('Imported');
  await expect(datasets()).toHaveCount(before + 1);
  await expect(page.getByTestId('import-done')).toContainText('16 fonts');

  const preview = page.getByTestId('dataset-preview');
  await expect(preview).toBeVisible();
  expect(await preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await screenshot(page, testInfo, '1-datasets');
});

test('imports a CSV of pixels dropped on the window', async () => {
  const before = await datasets().count();
  await dropFiles(page, [fixtures.csv]);
  // Its rows name no font: counted as glyphs, not as 156 "fonts".
  await expect(page.getByTestId('import-done')).toContainText('no font column: 156 glyphs, fonts unknown');
  await expect(datasets()).toHaveCount(before + 1);
});

test('imports a Kaggle-layout folder through the folder picker', async () => {
  const before = await datasets().count();
  await page.getByTestId('folder-input').setInputFiles(fixtures.kaggleFolder);
  await expect(page.getByTestId('import-done')).toContainText('12 fonts');
  await expect(datasets()).toHaveCount(before + 1);
});

test('says what is wrong with a file that is not a dataset', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fontloom-e2e-bad-'));
  const notes = join(dir, 'notes.txt');
  await (await import('node:fs/promises')).writeFile(notes, 'these are my notes, not glyphs\n');
  await dropFiles(page, [notes]);
  const error = page.getByTestId('import-error');
  await expect(error).toBeVisible();
  await expect(error).toContainText('notes.txt is not a dataset');
  await expect(error).not.toContainText(/uploads|\n\s+at /);
});

test('deletes a dataset at once, undoes it, and deletes it for good once the note is gone', async () => {
  const csvItem = datasets().filter({ hasText: 'csv' });
  await expect(csvItem).toHaveCount(1);
  const before = await datasets().count();
  await csvItem.getByRole('button', { name: /^Delete/ }).click();
  await expect(datasets()).toHaveCount(before - 1);
  await page.getByTestId('undo-note').getByRole('button', { name: 'Undo' }).click();
  await expect(datasets()).toHaveCount(before);
  await csvItem.getByRole('button', { name: /^Delete/ }).click();
  await expect(page.getByTestId('undo-note')).toHaveCount(0, { timeout: 20_000 });
  await page.reload();
  await expect(datasets()).toHaveCount(before - 1);
});

test('trains a micro model: the step counter, chart and sample sheets move; pause and resume', async ({}, testInfo) => {
  const zipItem = datasets().filter({ hasText: '16 fonts' });
  const name = (await zipItem.locator('strong').textContent())!;
  await zipItem.getByRole('link', { name: 'Train on it…' }).click();
  await expect(page.getByRole('heading', { name: 'Train a model' })).toBeVisible();
  await expect(page.getByTestId('train-dataset').locator('option:checked')).toHaveText(name);
  await page.getByTestId('choice-try').click();
  await page.getByText('Advanced settings').click();
  await expect(page.getByTestId('train-steps')).toHaveValue('400');
  // Longer than the quick try, so the run still trains when the story pauses it (the story stops it).
  await page.getByTestId('train-steps').fill('2000');
  await page.getByTestId('train-sample-every').fill('40');
  await expect(page.getByTestId('time-estimate')).toContainText('Trains on');
  // Measured on the spot, without asking.
  await expect(page.getByTestId('time-estimate-result')).toContainText(/about \d+\.\d\d s per step on CPU, \d+ cores?, so about .+ per epoch, and .+ for this run's 2,000 steps/, { timeout: 180_000 });
  await screenshot(page, testInfo, '2-train');
  await page.getByTestId('train-button').click();

  await expect(page).toHaveURL(/#\/runs\/.+/);
  runUrl = page.url();
  const step = page.getByTestId('run-step');
  const stepNow = async () => Number((await step.textContent())!.replace(/,/g, ''));
  await expect.poll(stepNow, { timeout: 180_000 }).toBeGreaterThan(0);
  const chart = page.getByTestId('chart-loss').locator('canvas');
  const firstChart = await chart.screenshot();
  const first = await stepNow();
  await expect.poll(stepNow, { timeout: 120_000 }).toBeGreaterThan(first + 5);
  expect((await chart.screenshot()).equals(firstChart)).toBe(false);
  await expect(page.getByTestId('run-speed')).not.toHaveText('—');
  // Validation every 20 steps: the best figure shows as soon as the chart has a point, no reload.
  await expect(page.getByTestId('run-best-val')).toHaveText(/^\d/, { timeout: 180_000 });
  // At each sample sheet the counter stands still: the page says what the run is doing.
  await expect(page.getByTestId('run-activity')).toContainText(/Drawing samples at step \d+/, { timeout: 180_000 });

  // The page answers while the run trains: its main thread is free and navigation is instant.
  expect(await mainThreadDelay(page)).toBeLessThan(250);
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(page.getByTestId('runs-table')).toBeVisible({ timeout: 2_000 });
  // The table follows the run as it trains: its step and best validation move without a reload.
  const row = page.getByTestId('run-row').filter({ hasText: 'Training' });
  const rowStep = async () => Number((await row.getByTestId('row-step').textContent())!.split('/')[0].replace(/[^\d]/g, ''));
  const shown = await rowStep();
  await expect.poll(rowStep, { timeout: 120_000 }).toBeGreaterThan(shown);
  await expect(row.getByTestId('row-best-val')).toHaveText(/^\d/);
  await page.goBack();

  await expect(page.getByTestId('sheet-model')).toBeVisible({ timeout: 300_000 });
  await expect(page.getByTestId('sheet-ema')).toBeVisible();
  // The sheet's letters are text of the page, readable at any width, not pixels of the image.
  await expect(page.getByTestId('sheet-ema').locator('.label')).toHaveText(LETTERS);

  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-status')).toHaveText('Paused', { timeout: 120_000 });
  const paused = await stepNow();
  await page.waitForTimeout(3_000);
  expect(await stepNow()).toBe(paused);
  await screenshot(page, testInfo, '3-run');

  await page.getByTestId('resume').click();
  await expect(page.getByTestId('run-status')).toHaveText('Training', { timeout: 120_000 });
  await expect.poll(stepNow, { timeout: 180_000 }).toBeGreaterThan(paused);
  await page.getByTestId('stop').click();
  await expect(page.getByTestId('run-status')).toHaveText('Stopped', { timeout: 120_000 });

  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(page.getByTestId('run-row').first()).toContainText('Stopped');
  await screenshot(page, testInfo, '4-runs');

  // Deleting a run takes effect at once and can be taken back while its note shows.
  const rows = await page.getByTestId('run-row').count();
  await page.getByTestId('run-row').first().getByRole('button', { name: /^Delete/ }).click();
  await expect(page.getByTestId('run-row')).toHaveCount(rows - 1);
  await expect(page.getByTestId('undo-note')).toContainText('Deleted');
  await page.getByTestId('undo-note').getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByTestId('run-row')).toHaveCount(rows);
  await page.reload();
  await expect(page.getByTestId('run-row')).toHaveCount(rows);
});

test('generates a sheet, re-rolls a letter, shows traced outlines and exports glyph PNGs, an OTF and SVGs to disk', async ({}, testInfo) => {
  await page.goto(runUrl);
  await page.getByRole('main').getByRole('link', { name: 'Generate', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Generate' })).toBeVisible();
  await page.getByLabel('Denoising steps').fill('10');
  await page.getByTestId('generate-button').click();
  await expect(page.getByTestId('glyph-grid').getByRole('button')).toHaveCount(26, { timeout: 120_000 });
  await expect(page.getByTestId('generated-sheet')).toBeVisible();

  const glyphA = page.getByTestId('glyph-A').locator('img').first();
  const before = await glyphA.getAttribute('src');
  await page.getByTestId('glyph-A').click();
  await expect.poll(() => glyphA.getAttribute('src'), { timeout: 120_000 }).not.toBe(before);

  await page.getByLabel('64×64').check();
  await page.getByTestId('export-zip').check();
  await page.getByTestId('export-png').click();
  // Each export joins the list, newest first.
  await expect(page.getByTestId('export-result')).toHaveCount(1, { timeout: 120_000 });
  const folder = (await page.getByTestId('export-path').first().textContent())!.trim();
  for (const size of ['32px', '64px']) {
    const files = (await readdir(join(folder, size))).sort();
    expect(files).toEqual(LETTERS.map((l) => `${l}.png`).sort());
  }
  await screenshot(page, testInfo, '5-generate');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, testInfo, '6-generate-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // The traced outlines over the bitmaps, then the font and the SVGs from them.
  await page.getByTestId('show-outlines').check();
  await expect(page.getByTestId('outline-A')).toBeVisible({ timeout: 120_000 });
  await page.getByLabel('Font family name').fill('Stick Test');
  await page.getByTestId('export-otf').click();
  await expect(page.getByTestId('export-path').first()).toHaveText(/\.otf$/, { timeout: 120_000 });
  const fontFile = (await page.getByTestId('export-path').first().textContent())!.trim();
  const bytes = await readFile(fontFile);
  const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  expect(font.unitsPerEm).toBe(1000);
  for (const letter of LETTERS) expect(font.charToGlyph(letter).unicode).toBe(letter.charCodeAt(0));
  expect(font.getEnglishName('fontFamily')).toBe('Stick Test');
  // In a browser the font comes down to the user's side as a download, the same bytes.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').first().click()]);
  expect(download.suggestedFilename()).toMatch(/\.otf$/);
  expect((await readFile((await download.path())!)).equals(bytes)).toBe(true);

  await page.getByTestId('export-svg').click();
  await expect(page.getByTestId('export-result')).toHaveCount(3, { timeout: 120_000 });
  const svgFolder = (await page.getByTestId('export-path').first().textContent())!.trim();
  expect((await readdir(svgFolder)).sort()).toEqual([...LETTERS.map((l) => `${l}.svg`), 'specimen.svg'].sort());
});
