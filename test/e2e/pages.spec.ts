// Every page as a first-time user meets it, at a laptop's 1366×768 and a narrow 900 px window,
// in light and dark: each opens without a console error, says where the studio trains in plain
// words, and is kept as a screenshot. Train leads with how good and how long, measured here.
import { expect, test, type Page } from '@playwright/test';
import { screenshot } from './helpers.ts';

const PAGES = [
  { name: 'datasets', hash: '#/datasets', heading: 'Datasets' },
  { name: 'train', hash: '#/train', heading: 'Train a model' },
  { name: 'runs', hash: '#/runs', heading: 'Runs' },
  { name: 'run', hash: '#/runs/default', heading: null },
  { name: 'generate', hash: '#/generate/default', heading: 'Generate' },
] as const;

const SIZES = [
  { label: '1366', width: 1366, height: 768 },
  { label: '900', width: 900, height: 800 },
] as const;

/** What the page wrote to its console as an error, and what it threw. */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

test('every page opens without a console error, at 1366×768 and 900 px wide, light and dark', async ({ browser }, testInfo) => {
  test.setTimeout(5 * 60_000);
  for (const size of SIZES) {
    for (const scheme of ['light', 'dark'] as const) {
      const context = await browser.newContext({ viewport: { width: size.width, height: size.height }, colorScheme: scheme });
      const page = await context.newPage();
      const errors = consoleErrors(page);
      await page.goto(`/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
      for (const p of PAGES) {
        await page.goto(`/${p.hash}`);
        if (p.heading) await expect(page.getByRole('heading', { name: p.heading, exact: true })).toBeVisible();
        else await expect(page.getByTestId('run-status')).toBeVisible();
        // Let the page settle: its first answers shown, its charts drawn (the event stream never goes idle).
        await page.waitForTimeout(1_000);
        await screenshot(page, testInfo, `page-${p.name}-${size.label}-${scheme}`);
      }
      expect(errors, `console errors at ${size.label} px, ${scheme}`).toEqual([]);
      await context.close();
    }
  }
});

test('names where it trains in plain words, with the details on hover', async ({ page }) => {
  await page.goto(`/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
  const where = page.getByTestId('backend');
  await expect(where).toHaveText(/^(CPU, \d+ cores?|GPU: .+|GPU .+)$/);
  await expect(where).toHaveAttribute('title', /TensorFlow\.js, (wasm|cpu|webgpu|tensorflow): /);
  await page.goto('/#/runs/default');
  const trainedOn = page.getByTestId('run-backend');
  if (await trainedOn.count()) {
    await expect(trainedOn).not.toHaveText(/thread|XNNPACK|wasm/);
    await expect(trainedOn).toHaveAttribute('title', /: /);
  }
});

test('Train leads with how good and how long, each choice timed on this machine', async ({ page }) => {
  await page.goto(`/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
  await page.goto('/#/train');
  const choices = page.getByTestId('train-choices');
  await expect(choices).toContainText('Quick try');
  await expect(choices).toContainText('Draft');
  // The recipe's words stay under Advanced until asked for.
  await expect(page.getByText(/ε-|v-prediction|Min-SNR|UNet_conditional/).first()).toBeHidden();
  // Draft is chosen; its time and every other choice's are measured here, one after another.
  await expect(page.getByTestId('choice-draft').getByRole('radio')).toBeChecked();
  for (const id of ['try', 'draft', 'good', 'best']) {
    await expect(page.getByTestId(`choice-time-${id}`)).toHaveText(/^about .+ here$/, { timeout: 180_000 });
  }
  await expect(page.getByTestId('train-button')).toHaveText(/^Train \(about .+\)$/);
  const draftTime = await page.getByTestId('run-time').textContent();

  // Choosing Good changes the run's length, and so its time; settings of one's own read as such.
  await page.getByTestId('choice-good').click();
  await expect(page.getByTestId('run-time')).not.toHaveText(draftTime!);
  await page.getByText('Advanced settings').click();
  await page.getByTestId('train-steps').fill('1234');
  await expect(page.getByTestId('choice-custom')).toContainText('1,234 steps');
  await expect(page.getByTestId('train-choices').getByRole('radio', { checked: true })).toHaveCount(0);
});
