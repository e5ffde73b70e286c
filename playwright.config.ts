// End-to-end tests: Debian's Chromium drives the studio in browser mode against a fresh
// `fontloom serve` whose home folder is a new temp dir (FONTLOOM_E2E_HOME, shared with the
// tests so they can check exported files on disk), started with a key of the tests' own that the
// browser sends with every request. FONTLOOM_E2E_URL (and FONTLOOM_E2E_TOKEN, its key) point the
// tests at a server already running instead.
import { defineConfig } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// FONTLOOM_E2E_PORT lets two checkouts run their suites side by side.
const PORT = Number(process.env.FONTLOOM_E2E_PORT ?? 4791);
// Set once in the runner; its workers inherit it rather than making their own.
process.env.FONTLOOM_E2E_HOME ??= mkdtempSync(join(tmpdir(), 'fontloom-e2e-'));
process.env.FONTLOOM_E2E_TOKEN ??= randomBytes(24).toString('base64url');
const external = process.env.FONTLOOM_E2E_URL;

export default defineConfig({
  testDir: 'test/e2e',
  outputDir: 'test-results',
  workers: 1,
  fullyParallel: false,
  timeout: 15 * 60_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    baseURL: external ?? `http://127.0.0.1:${PORT}`,
    viewport: { width: 1280, height: 800 },
    extraHTTPHeaders: { 'x-fontloom-token': process.env.FONTLOOM_E2E_TOKEN },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    headless: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  webServer: external
    ? undefined
    : {
        command: `node bin/fontloom.mjs serve --port ${PORT}`,
        url: `http://127.0.0.1:${PORT}/api/info`,
        env: { FONTLOOM_HOME: process.env.FONTLOOM_E2E_HOME, FONTLOOM_TOKEN: process.env.FONTLOOM_E2E_TOKEN },
        reuseExistingServer: false,
        timeout: 180_000,
        stdout: 'pipe',
        stderr: 'pipe',
      },
});
