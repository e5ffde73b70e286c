// Electron's binary comes from outside the npm registry, so npm is told not to run its install
// script; here Fontloom tries that download itself and, where it cannot, says once that the
// studio will run in browser mode. It never fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

function electronDir() {
  try {
    return path.dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
}

const dir = electronDir();
if (!dir) {
  console.log('fontloom: Electron is not installed; the studio will run in browser mode.');
} else if (existsSync(path.join(dir, 'path.txt'))) {
  console.log('fontloom: Electron is ready.');
} else {
  const run = spawnSync(process.execPath, [path.join(dir, 'install.js')], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ELECTRON_GET_USE_PROXY: process.env.ELECTRON_GET_USE_PROXY ?? '' },
  });
  if (run.status === 0 && existsSync(path.join(dir, 'path.txt'))) {
    console.log('fontloom: Electron downloaded; npm start opens the studio window.');
  } else {
    console.log('fontloom: Electron\'s binary could not be downloaded here; the studio will run in browser mode.');
  }
}
