// A type designer's story with the shipped style model: finish a font from two letter images and
// one letter drawn with the mouse, export it as an OTF; invent new fonts from seeds; blend two;
// then see that a letter-only run says why it cannot, and that Train offers Style only where the
// dataset knows its fonts. The letters given are drawn here from a Debian font: nothing downloaded.
import { expect, test, type Locator, type Page } from '@playwright/test';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import opentype from 'opentype.js';
import sharp from 'sharp';
import type { Dataset, Run } from '../../src-main/contract/api.ts';
import { csvOf } from './fixtures.ts';
import { api, drawL, dropFiles, openGenerate, screenshot } from './helpers.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const SERIF_BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf';
/** Few denoising steps: a style model's alphabet takes tens of seconds on a busy CPU at 50. */
const STEPS = '10';
const DRAWING = 180_000;

test.describe.configure({ mode: 'serial' });

let page: Page;
let dir: string;
/** What this story adds to the studio, removed at its end: the stories after it count datasets and runs. */
const made: { runs: string[]; datasets: string[] } = { runs: [], datasets: [] };

/** A letter as a designer might export it: black on white, 240 px high, on a larger canvas. */
async function letterPng(font: opentype.Font, letter: string): Promise<string> {
  const path = font.getPath(letter, 0, 0, 240);
  const box = path.getBoundingBox();
  const [width, height] = [Math.ceil(box.x2 - box.x1) + 120, Math.ceil(box.y2 - box.y1) + 120];
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="#fff"/>` +
    `<path transform="translate(${60 - box.x1} ${60 - box.y1})" fill="#000" d="${path.toPathData(2)}"/></svg>`;
  const file = join(dir, `${letter}.png`);
  await sharp(Buffer.from(svg)).png().toFile(file);
  return file;
}

/** The alphabet's glyph images, A to Z, as their data URLs. */
function glyphSources(where: Locator): Promise<string[]> {
  return where.getByTestId('glyph-grid').locator('img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).src));
}

test.beforeAll(async ({ browser }) => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-e2e-fonts-'));
  page = await browser.newPage();
  await page.goto(`/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
});

test.afterAll(async () => {
  for (const id of made.runs) await page.request.delete(`/api/runs/${id}`);
  for (const id of made.datasets) await page.request.delete(`/api/datasets/${id}`);
  await page.close();
});

test('finishes a font from two dropped letters and one drawn, and exports all 26 capitals as an OTF', async ({}, testInfo) => {
  test.setTimeout(2 * DRAWING);
  const serif = opentype.parse((await readFile(SERIF_BOLD)).buffer as ArrayBuffer);
  const images = [await letterPng(serif, 'H'), await letterPng(serif, 'A')];
  const datasetsBefore = (await api<Dataset[]>(page, '/api/datasets')).length;

  await openGenerate(page, 'default');
  await expect(page.getByTestId('style-badge')).toBeVisible();
  await page.getByText('Advanced settings').click();
  await page.getByLabel('Denoising steps').fill(STEPS);
  await page.getByRole('tab', { name: 'Finish a font' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Finish a font' });

  // Dropped on the letters' zone: given letters, and no dataset import.
  await dropFiles(page, images, 'letter-drop');
  await expect(panel.getByTestId('given-H')).toBeVisible();
  await expect(panel.getByTestId('given-A')).toBeVisible();

  await drawL(page, panel);
  await expect(panel.getByTestId('given-L')).toBeVisible();
  await expect(panel.getByTestId('given')).toContainText('A, H, L (3 letter images)');

  await panel.getByTestId('complete').click();
  const glyphs = panel.getByTestId('glyph-grid').getByRole('button');
  await expect(glyphs).toHaveCount(26, { timeout: DRAWING });
  await expect(panel.getByTestId('font-description')).toHaveText('the given A, H, L');
  // The letters not given were redrawn from a training font, and the page says which.
  await expect(panel.getByTestId('started-from')).toHaveText(/^The other letters are those of .+, the training font nearest to yours, (.+ to match them, then )?redrawn in your letters' style\.$/);
  // One row, A to Z, the three given marked as such.
  const tops = await glyphs.evaluateAll((buttons) => buttons.map((b) => Math.round(b.getBoundingClientRect().top)));
  expect(new Set(tops).size).toBe(1);
  const given = await panel.locator('[data-given]').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-testid')));
  expect(given).toEqual(['glyph-A', 'glyph-H', 'glyph-L']);
  expect((await api<Dataset[]>(page, '/api/datasets')).length).toBe(datasetsBefore);
  await screenshot(page, testInfo, 'fonts-1-finish');

  await panel.getByLabel('Font family name').fill('Finished Serif');
  await panel.getByTestId('export-otf').click();
  // The export list sits below the tabs, newest first.
  const newest = page.getByTestId('export-result').first();
  await expect(newest.getByTestId('export-path')).toHaveText(/\.otf$/, { timeout: 120_000 });
  await expect(newest.getByTestId('export-what')).toHaveText('Font “Finished Serif”');
  const bytes = await readFile((await newest.getByTestId('export-path').textContent())!.trim());
  const font = opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  expect(font.getEnglishName('fontFamily')).toBe('Finished Serif');
  for (const letter of LETTERS) {
    const glyph = font.charToGlyph(letter);
    expect(glyph.unicode, letter).toBe(letter.charCodeAt(0));
    expect(glyph.path.commands.length, `${letter} has an outline`).toBeGreaterThan(0);
  }
});

test('draws a new font from a seed, and another from the next seed', async ({}, testInfo) => {
  test.setTimeout(2 * DRAWING);
  await page.getByRole('tab', { name: 'New font' }).click();
  const panel = page.getByRole('tabpanel', { name: 'New font' });
  await expect(panel).toContainText('one seed gives one font');
  await panel.getByTestId('font-seed').fill('3');
  await panel.getByTestId('draw-font').click();
  await expect(panel.getByTestId('font-description')).toHaveText('new style (seed 3)', { timeout: DRAWING });
  await expect(panel.getByTestId('glyph-grid').getByRole('button')).toHaveCount(26);
  const first = await glyphSources(panel);

  await panel.getByTestId('another-font').click();
  await expect(panel.getByTestId('font-description')).toHaveText('new style (seed 4)', { timeout: DRAWING });
  await expect(panel.getByTestId('font-seed')).toHaveValue('4');
  const second = await glyphSources(panel);
  expect(second).toHaveLength(26);
  expect(second.filter((src, i) => src !== first[i]).length).toBeGreaterThan(13);
  await screenshot(page, testInfo, 'fonts-2-new');
});

test('blends seed 0 into the font given, drawn at the stop picked', async ({}, testInfo) => {
  test.setTimeout(DRAWING);
  await page.getByRole('tab', { name: 'Blend' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Blend' });
  await panel.getByRole('group', { name: 'To (100%)' }).getByLabel(/The font to finish/).check();
  await panel.getByTestId('blend-stop-50').click();
  await expect(panel.getByTestId('font-description')).toHaveText('50% of the way from new style (seed 0) to the given A, H, L', { timeout: DRAWING });
  await expect(panel.getByTestId('blend-status')).toHaveText('Shown: 50%.');
  await screenshot(page, testInfo, 'fonts-3-blend');
});

test('finishes a font from a dropped font file, from the capitals chosen', async ({}, testInfo) => {
  test.setTimeout(DRAWING);
  await page.getByRole('tab', { name: 'Finish a font' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Finish a font' });
  await dropFiles(page, [SERIF_BOLD], 'letter-drop');
  await expect(panel.getByTestId('given')).toContainText('DejaVuSerif-Bold.ttf (all its capitals)');
  await panel.getByRole('button', { name: 'None' }).click();
  for (const letter of 'HAMB') await panel.getByTestId(`capital-${letter}`).click();
  await expect(panel.getByTestId('given')).toContainText('DejaVuSerif-Bold.ttf (ABHM)');

  await panel.getByTestId('complete').click();
  await expect(panel.getByTestId('font-description')).toHaveText('the given A, B, H, M', { timeout: DRAWING });
  const given = await panel.locator('[data-given]').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('data-testid')));
  expect(given).toEqual(['glyph-A', 'glyph-B', 'glyph-H', 'glyph-M']);
  await screenshot(page, testInfo, 'fonts-4-finish-font-file');
});

test('says why a letter-only run has no fonts to make, and offers Style only on a dataset of fonts', async ({}, testInfo) => {
  test.setTimeout(DRAWING);
  // A letter-only run with a checkpoint: two steps of micro on the default dataset.
  const datasets = await api<Dataset[]>(page, '/api/datasets');
  const fonts = datasets.find((d) => d.format === 'default')!;
  const created = await api<Run>(page, '/api/runs', {
    method: 'POST',
    data: { dataset: fonts.id, preset: 'micro', steps: 2, checkpointEvery: 1, sampleEvery: 0, valEvery: 0, name: 'Letters only' },
  });
  made.runs.push(created.id);
  await expect.poll(async () => (await api<Run>(page, `/api/runs/${created.id}`)).status, { timeout: 120_000 }).toBe('completed');
  await openGenerate(page, created.id);
  await expect(page.getByTestId('letter-only')).toContainText('this run draws each letter on its own; train with Style on a dataset of fonts');
  await expect(page.getByRole('tab')).toHaveCount(0);
  await expect(page.getByTestId('generate-button')).toBeVisible();

  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(page.getByTestId('run-row').filter({ hasText: 'Letters only' }).getByTestId('style-badge')).toHaveCount(0);
  await expect(page.getByTestId('run-row').filter({ hasText: 'Default model' }).getByTestId('style-badge')).toBeVisible();
  await screenshot(page, testInfo, 'fonts-5-runs');

  // Train: Style is offered on the fonts, and refused with the reason on a CSV without a font column.
  const csv = join(dir, 'loose-letters.csv');
  await writeFile(csv, csvOf(4, 7));
  await page.getByRole('link', { name: 'Datasets', exact: true }).click();
  await dropFiles(page, [csv]);
  await expect(page.getByTestId('import-done')).toContainText('Imported');
  made.datasets.push((await api<Dataset[]>(page, '/api/datasets')).find((d) => d.name === 'loose-letters')!.id);
  await page.getByRole('link', { name: 'Train', exact: true }).click();
  await page.getByTestId('train-dataset').selectOption({ label: fonts.name });
  await expect(page.getByTestId('style-option')).toContainText('fonts to learn styles from');
  await expect(page.getByTestId('train-style')).toBeEnabled();
  await page.getByTestId('train-dataset').selectOption({ label: 'loose-letters' });
  await expect(page.getByTestId('train-style-reason')).toContainText('cannot train a style model');
  await expect(page.getByTestId('train-style')).toBeDisabled();
  await screenshot(page, testInfo, 'fonts-6-train');
});
