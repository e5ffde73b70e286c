import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { UserError, errorCode } from '../../errors.ts';

/** The path's stats; a missing path is the user's to fix, said in one line. */
export async function statExisting(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw new UserError(`${path} does not exist.`);
    throw err;
  }
}
