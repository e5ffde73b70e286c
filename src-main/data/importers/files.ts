import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import type { Stats } from 'node:fs';
import { UserError, errorCode } from '../../errors.ts';
import type { ImportOptions } from './types.ts';

/** The path's stats; a missing path is the user's to fix, said in one line. */
export async function statExisting(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new UserError(`${path} does not exist.`);
    throw err;
  }
}

/** A pass-through stream that reports the bytes that went through it as import progress. */
export function progressMeter(phase: string, total: number, opts: ImportOptions): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, next) {
      done += chunk.length;
      opts.onProgress?.({ phase, done, total });
      next(null, chunk);
    },
  });
}
