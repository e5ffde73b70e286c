// Opens the studio's Electron window when this machine has the Electron binary and a display.
// Its binary comes from outside the npm registry, so where its download failed (postinstall
// says so) the studio runs in browser mode instead.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ELECTRON_MAIN = fileURLToPath(new URL('../electron/entry.mjs', import.meta.url));

/** The Electron binary's path, or why there is none. */
export function electronBinary(): { path: string } | { missing: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    if (typeof path === 'string' && existsSync(path)) return { path };
    return { missing: 'the electron package has no binary (its download did not run)' };
  } catch (err) {
    return { missing: (err as Error).message.split('\n')[0] };
  }
}

/** Runs the window until it closes; false (and nothing started) where Electron cannot run. */
export async function launchElectron(): Promise<boolean> {
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  const binary = electronBinary();
  if (!('path' in binary) || !existsSync(ELECTRON_MAIN)) return false;
  const child = spawn(binary.path, [ELECTRON_MAIN], { stdio: 'inherit' });
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return true;
}
