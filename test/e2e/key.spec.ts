// Opening the studio as a user does: from the address `fontloom serve` printed, which holds this
// launch's key. The browser sends no key header here; the page keeps the key as a cookie.
import { expect, test } from '@playwright/test';

test('opens the studio from the printed address, and refuses the address without its key', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ extraHTTPHeaders: {} });
  try {
    const page = await context.newPage();
    const refused = await page.goto(`${baseURL}/`);
    expect(refused?.status()).toBe(401);
    await expect(page.locator('body')).toContainText('open the address `fontloom serve` printed');

    await page.goto(`${baseURL}/?token=${process.env.FONTLOOM_E2E_TOKEN}`);
    expect(new URL(page.url()).search).toBe('');
    await expect(page.getByRole('heading', { name: 'Datasets' })).toBeVisible();
    await expect(page.getByTestId('dataset-item').first()).toBeVisible();
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'fontloom_token')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  } finally {
    await context.close();
  }
});
