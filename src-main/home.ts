// Where Fontloom keeps its files: FONTLOOM_HOME, else ~/.fontloom (the desktop app passes
// Electron's userData folder).
import { homedir } from 'node:os';
import { join } from 'node:path';

export function fontloomHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.FONTLOOM_HOME && env.FONTLOOM_HOME.trim() !== '' ? env.FONTLOOM_HOME : join(homedir(), '.fontloom');
}

export function runsDir(home: string): string {
  return join(home, 'runs');
}
