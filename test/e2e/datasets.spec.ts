// A first-time user on the Datasets page: files dropped anywhere on it are imported, and a file
// dropped on another page never takes them out of the studio; a CSV without fonts and a second
// drop of the same glyphs are described as they are; a bad font file says why; the preview's
// labels read at the size shown; and a deleted dataset can be taken back for a few seconds.
import { expect, test, type Page } from '@playwright/test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Dataset } from '../../src-main/contract/api.ts';
import { syntheticGlyphSet } from '../helpers/synthetic.ts';
import { writeKaggleFolder } from '../helpers/kaggle.ts';
import { csvOf, zipFolder } from './fixtures.ts';
import { drag, filesTransfer, screenshot } from './helpers.ts';

const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

test.describe.configure({ mode: 'serial' });

let page: Page;
let dir: string;
/** Files this story drops: glyphs of their own, so that no other story finds them imported already. */
const files = { zip: '', csv: '', notAFont: '', notes: '', letterH: '' };
/** What this story adds to the studio, removed at its end: the stories after it count datasets. */
const made = new Set<string>();

const items = () => page.getByTestId('dataset-item');
const item = (name: string) => items().filter({ has: page.getByText(name, { exact: true }) });

async function listed(): Promise<Dataset[]> {
  const response = await page.request.get('/api/datasets');
  expect(response.ok()).toBe(true);
  return (await response.json()) as Dataset[];
}

async function remember(name: string): Promise<void> {
  made.add((await listed()).find((d) => d.name === name)!.id);
}

test.beforeAll(async ({ browser }) => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-e2e-datasets-'));
  await writeKaggleFolder(join(dir, 'zip-source', 'Pen sketches'), syntheticGlyphSet({ fonts: 5, seed: 21 }));
  files.zip = join(dir, 'pen-sketches.zip');
  await zipFolder(join(dir, 'zip-source'), files.zip);
  files.csv = join(dir, 'scanned-rows.csv');
  await writeFile(files.csv, csvOf(5, 22));
  files.notAFont = join(dir, 'Brush Script.ttf');
  await writeFile(files.notAFont, 'Thanks for downloading! The font is in the zip.\n');
  files.notes = join(dir, 'notes.txt');
  await writeFile(files.notes, 'these are my notes, not glyphs\n');
  files.letterH = join(dir, 'H.png');
  const h = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="240"><rect width="200" height="240" fill="#fff"/>' +
    '<rect x="30" y="20" width="30" height="200"/><rect x="140" y="20" width="30" height="200"/><rect x="30" y="105" width="140" height="30"/></svg>';
  await sharp(Buffer.from(h)).png().toFile(files.letterH);
  page = await browser.newPage();
  await page.goto(`/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
});

test.afterAll(async () => {
  for (const id of made) await page.request.delete(`/api/datasets/${encodeURIComponent(id)}`);
  await page.close();
});

test('offers to train on the default dataset right away when it is the only one', async ({}, testInfo) => {
  await expect(page.getByRole('heading', { name: 'Datasets', exact: true })).toBeVisible();
  await expect(items().first()).toBeVisible();
  const onlyDefault = (await listed()).every((d) => d.format === 'default');
  const hint = page.getByTestId('datasets-hint');
  if (onlyDefault) {
    await expect(hint).toContainText('train on the default dataset right away');
    await expect(hint.getByRole('link')).toHaveAttribute('href', /#\/train\?dataset=/);
  } else {
    await expect(hint).toHaveCount(0);
  }
  await screenshot(page, testInfo, 'datasets-1-start');
});

test('lights up the drop zone while files are dragged anywhere over the window', async ({}, testInfo) => {
  const zone = page.getByTestId('drop-zone');
  const heading = page.getByRole('heading', { name: 'Datasets', exact: true });
  const transfer = await filesTransfer(page, [files.zip]);
  await expect(zone).not.toHaveClass(/\bover\b/);
  expect(await drag(heading, 'dragenter', transfer)).toBe(false);
  // Taken on the page itself, not only on the zone: the browser will not open the file.
  expect(await drag(heading, 'dragover', transfer)).toBe(true);
  await expect(zone).toHaveClass(/\bover\b/);
  await expect(zone).toContainText('Drop to import');
  await screenshot(page, testInfo, 'datasets-2-dragging');
  await drag(heading, 'dragleave', transfer);
  await expect(zone).not.toHaveClass(/\bover\b/);
});

test('imports a zip dropped on the page beside the zone, not on it', async () => {
  const before = await items().count();
  const transfer = await filesTransfer(page, [files.zip]);
  const list = page.getByRole('heading', { name: /^Imported/ });
  await drag(list, 'dragenter', transfer);
  await drag(list, 'dragover', transfer);
  expect(await drag(list, 'drop', transfer)).toBe(true);
  await expect(page.getByTestId('import-done')).toContainText('Imported “pen-sketches”: 130 glyphs · 5 fonts');
  await expect(items()).toHaveCount(before + 1);
  await remember('pen-sketches');
  await expect(page.getByTestId('drop-zone')).not.toHaveClass(/\bover\b/);
});

test('says a CSV without a font column holds glyphs whose fonts are unknown, and previews it glyph by glyph', async ({}, testInfo) => {
  await page.getByText('Import options').click();
  await page.getByLabel('Name (optional)').fill('Scanned rows');
  await drag(page.getByTestId('drop-zone'), 'drop', await filesTransfer(page, [files.csv]));
  await expect(page.getByTestId('import-done')).toContainText('Imported “Scanned rows”: no font column: 130 glyphs, fonts unknown');
  await remember('Scanned rows');
  const scanned = item('Scanned rows');
  await expect(scanned.getByTestId('dataset-counts')).toContainText('no font column: 130 glyphs, fonts unknown');
  await expect(scanned).not.toContainText('130 fonts');

  await scanned.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByRole('heading', { name: 'Scanned rows', level: 2 })).toBeVisible();
  await expect(page.getByText('Fonts shown')).toHaveCount(0);
  await expect(page.getByLabel('Glyphs of each letter')).toHaveValue('8');
  await expect(page.getByTestId('preview-caption')).toHaveText('The first 5 glyphs of each letter, in the order of the file (the CSV has no font column).');
  await expect(page.getByTestId('preview-rows')).toHaveCount(0);
  await expect(page.getByTestId('dataset-preview')).toHaveAttribute('alt', /5 rows, one column per class/);
  await screenshot(page, testInfo, 'datasets-3-fontless');
});

test('says which dataset holds the same glyphs when a CSV is dropped again, and what was read', async () => {
  const before = await items().count();
  await drag(page.getByTestId('drop-zone'), 'drop', await filesTransfer(page, [files.csv]));
  const done = page.getByTestId('import-done');
  await expect(done).toContainText('The CSV’s 130 glyphs are the same as those of “Scanned rows”, imported on ');
  await expect(done).toContainText(': showing it.');
  await expect(done).not.toContainText('already imported');
  await expect(items()).toHaveCount(before);
});

test('says a .ttf that is not a font could not be read, and why, without naming a CLI flag', async () => {
  const before = await items().count();
  await drag(page.getByTestId('drop-zone'), 'drop', await filesTransfer(page, [files.notAFont]));
  const error = page.getByTestId('import-error');
  await expect(error).toContainText('Brush Script.ttf could not be read as a font: it does not begin as TrueType, OpenType and WOFF fonts do (it begins “Thanks for downl…”). It may be another kind of file named like a font, or a damaged one.');
  await expect(error).not.toContainText('is not a dataset');
  await expect(error).not.toContainText('--');
  await expect(error).not.toContainText('uploads');
  await expect(items()).toHaveCount(before);
});

test('points to the Format control under Import options for a file no importer recognises', async ({}, testInfo) => {
  await page.reload();
  await expect(page.getByTestId('import-format')).toBeHidden();
  await drag(page.getByTestId('drop-zone'), 'drop', await filesTransfer(page, [files.notes]));
  const error = page.getByTestId('import-error');
  await expect(error).toContainText('notes.txt is not a dataset Fontloom recognises');
  await expect(error).toContainText('If it is one of these, choose its format under Import options.');
  await expect(error).not.toContainText('--format');
  // The options it points to are open, their Format marked.
  await expect(page.getByTestId('import-format')).toBeVisible();
  await expect(page.locator('label.field.asked')).toContainText('Format');
  await screenshot(page, testInfo, 'datasets-4-error');
});

test('writes the preview’s letters and font names as text over the glyphs they name, and says while it draws', async ({}, testInfo) => {
  const sketches = item('pen-sketches');
  await sketches.getByRole('button', { name: 'Preview' }).click();
  const image = page.getByTestId('dataset-preview');
  await expect(image).toBeVisible();
  await expect(page.getByTestId('preview-caption')).toHaveText('All 5 fonts, one a row.');

  const columns = page.getByTestId('preview-columns').locator('span');
  await expect(columns).toHaveText(LETTERS);
  const rows = page.getByTestId('preview-rows').locator('span');
  await expect(rows).toHaveText(['font 0', 'font 1', 'font 2', 'font 3', 'font 4']);

  // Each label at a size people read, over the middle of its column or beside the middle of its row.
  const geometry = await image.evaluate((img: HTMLImageElement) => ({ natural: img.naturalWidth, shown: img.getBoundingClientRect().width }));
  const scale = geometry.shown / geometry.natural;
  const box = (await image.boundingBox())!;
  const { gap, cell } = await page.evaluate(async () => {
    const list = (await (await fetch('/api/datasets')).json()) as { id: string; name: string }[];
    const id = list.find((d) => d.name === 'pen-sketches')!.id;
    const p = await (await fetch(`/api/datasets/${encodeURIComponent(id)}/preview?rows=8`)).json();
    return { gap: p.gap as number, cell: p.cellWidth as number };
  });
  for (const [i, letter] of [[0, 'A'], [12, 'M'], [25, 'Z']] as const) {
    const label = (await columns.nth(i).boundingBox())!;
    expect(await columns.nth(i).textContent()).toBe(letter);
    expect(Math.abs(label.x + label.width / 2 - (box.x + (gap + i * (cell + gap) + cell / 2) * scale))).toBeLessThan(2);
    expect(label.y + label.height).toBeLessThanOrEqual(box.y + 1);
  }
  for (const j of [0, 4]) {
    const label = (await rows.nth(j).boundingBox())!;
    expect(Math.abs(label.y + label.height / 2 - (box.y + (gap + j * (cell + gap) + cell / 2) * scale))).toBeLessThan(2);
    expect(label.x + label.width).toBeLessThanOrEqual(box.x + 1);
  }
  const fontPx = await columns.first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(fontPx).toBeGreaterThanOrEqual(12);
  await screenshot(page, testInfo, 'datasets-5-preview');
  await page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(page, testInfo, 'datasets-5-preview-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // A slow drawing says so, and the glyphs already shown stay until the new ones come.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const previews = (url: URL) => url.pathname.endsWith('/preview');
  await page.route(previews, async (route) => {
    await held;
    await route.continue();
  });
  await page.getByLabel('Fonts shown').selectOption('16');
  await expect(page.getByTestId('preview-drawing')).toHaveText('Drawing the preview…');
  await expect(image).toBeVisible();
  release();
  await expect(page.getByTestId('preview-drawing')).toHaveCount(0);
  await page.unroute(previews);
});

test('deletes a dataset at once with a note to undo it, and only deletes it for good when the note is gone', async ({}, testInfo) => {
  const before = await items().count();
  await item('Scanned rows').getByRole('button', { name: 'Delete Scanned rows' }).click();
  await expect(item('Scanned rows')).toHaveCount(0);
  await expect(items()).toHaveCount(before - 1);
  const note = page.getByTestId('undo-note');
  await expect(note).toContainText('Deleted “Scanned rows”.');
  await screenshot(page, testInfo, 'datasets-6-undo');
  // Not yet deleted: undo brings back the very dataset.
  expect((await listed()).map((d) => d.name)).toContain('Scanned rows');
  await note.getByRole('button', { name: 'Undo' }).click();
  await expect(note).toHaveCount(0);
  await expect(item('Scanned rows')).toHaveCount(1);

  // Without undo, it is gone for good once its note is.
  const deleted = Date.now();
  await item('Scanned rows').getByRole('button', { name: 'Delete Scanned rows' }).click();
  await expect(note).toHaveCount(1);
  await expect(note).toHaveCount(0, { timeout: 20_000 });
  expect(Date.now() - deleted).toBeGreaterThan(8_000);
  await expect.poll(async () => (await listed()).map((d) => d.name)).not.toContain('Scanned rows');
  await page.reload();
  await expect(items()).toHaveCount(before - 1);
  made.delete([...made].find((id) => id.startsWith('scanned-rows'))!);
});

test('deletes for good a dataset whose note is still up when the user goes to another page', async () => {
  await item('pen-sketches').getByRole('button', { name: 'Delete pen-sketches' }).click();
  await expect(page.getByTestId('undo-note')).toContainText('Deleted “pen-sketches”.');
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Runs', exact: true })).toBeVisible();
  await expect.poll(async () => (await listed()).map((d) => d.name), { timeout: 5_000 }).not.toContain('pen-sketches');
  made.clear();
});

test('deletes for good a dataset whose note is still up when the window is reloaded', async () => {
  await page.getByRole('link', { name: 'Datasets', exact: true }).click();
  await drag(page.getByTestId('drop-zone'), 'drop', await filesTransfer(page, [files.csv]));
  await expect(page.getByTestId('import-done')).toContainText('Imported “scanned-rows”');
  await remember('scanned-rows');
  await item('scanned-rows').getByRole('button', { name: 'Delete scanned-rows' }).click();
  await expect(page.getByTestId('undo-note')).toContainText('Deleted “scanned-rows”.');
  await page.reload();
  await expect.poll(async () => (await listed()).map((d) => d.name), { timeout: 5_000 }).not.toContain('scanned-rows');
  await expect(item('scanned-rows')).toHaveCount(0);
  made.clear();
});

test('shows what to do next when no dataset is left, and Ctrl+Z brings them back', async ({}, testInfo) => {
  await expect(items().first()).toBeVisible();
  const names = await items().locator('strong').allTextContents();
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) await item(name).getByRole('button', { name: `Delete ${name}` }).click();
  const empty = page.getByTestId('datasets-empty');
  await expect(empty).toContainText('No datasets yet');
  await expect(empty).toContainText('anywhere on this page');
  await screenshot(page, testInfo, 'datasets-7-empty');
  for (const _ of names) await page.keyboard.press('Control+z');
  await expect(items()).toHaveCount(names.length);
  await expect(page.getByTestId('undo-note')).toHaveCount(0);
  expect((await listed()).map((d) => d.name).sort()).toEqual([...names].sort());
});

test('keeps the studio open when a file is dropped on another page, and says where datasets go', async ({}, testInfo) => {
  const before = (await listed()).length;
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Runs', exact: true })).toBeVisible();
  const url = page.url();
  const transfer = await filesTransfer(page, [files.zip]);
  const main = page.locator('main');
  await drag(main, 'dragenter', transfer);
  expect(await drag(main, 'dragover', transfer)).toBe(true);
  expect(await drag(main, 'drop', transfer)).toBe(true);
  const note = page.getByTestId('stray-drop');
  await expect(note).toContainText('“pen-sketches.zip” was not imported. To import a dataset, drop it on the Datasets page.');
  expect(page.url()).toBe(url);
  expect((await listed()).length).toBe(before);
  await screenshot(page, testInfo, 'datasets-8-stray');

  // On the way there, a list still loading is not taken for an empty one.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const list = (url: URL) => url.pathname === '/api/datasets';
  await page.route(list, async (route) => {
    await held;
    await route.continue();
  });
  await note.getByRole('link', { name: 'Datasets page' }).click();
  await expect(page.getByRole('heading', { name: 'Datasets', exact: true })).toBeVisible();
  await expect(note).toHaveCount(0);
  await expect(page.getByText('Loading the datasets…')).toBeVisible();
  await expect(page.getByTestId('datasets-empty')).toHaveCount(0);
  release();
  await expect(items()).toHaveCount(before);
  await page.unroute(list);
});

test('leaves the Generate page’s letter zone its own drops', async () => {
  await page.goto('/#/generate/default');
  await expect(page.getByTestId('style-badge')).toBeVisible();
  await page.getByRole('tab', { name: 'Finish a font' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Finish a font' });
  const before = (await listed()).length;
  expect(await drag(panel.getByTestId('letter-drop'), 'drop', await filesTransfer(page, [files.letterH]))).toBe(true);
  await expect(panel.getByTestId('given-H')).toBeVisible();
  await expect(page.getByTestId('stray-drop')).toHaveCount(0);
  expect((await listed()).length).toBe(before);
});
