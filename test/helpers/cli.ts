// The `fontloom` command as a user runs it: a real process with FONTLOOM_HOME set, its exit code
// and both streams, and what a refusal must look like.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect } from 'vitest';

export const BIN = resolve(__dirname, '../../bin/fontloom.mjs');

export interface CliResult {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runFontloom(home: string, args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, FONTLOOM_HOME: home, FONTLOOM_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A refusal: exit 1, one line naming the problem, no stack trace. */
export function expectRefusal(r: CliResult, mentions: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^fontloom: /);
  expect(lines[0]).toMatch(mentions);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
