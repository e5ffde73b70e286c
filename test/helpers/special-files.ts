// FIFOs for the tests that importers refuse them. Opening a FIFO to read blocks until a writer
// comes, so each one made here is released after its test: an importer that regressed and opened
// one then fails its test instead of hanging the run.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';

const made = new Set<string>();

export function makeFifo(path: string): string {
  execFileSync('mkfifo', [path]);
  made.add(path);
  return path;
}

/** Opens each FIFO made to write and closes it, so whoever waits to read one gets end-of-file. */
export function releaseFifos(): void {
  for (const path of made) {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody is waiting to read it; ENOENT: its folder is gone already.
    }
  }
  made.clear();
}
