// Training progress on stderr: one redrawn bar on a terminal, plain lines otherwise (logs, CI).
import type { Progress } from '../jobs/run.ts';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function describe(p: Progress): string {
  const val = p.val !== null ? ` val ${p.val.toFixed(4)}` : '';
  return `loss ${p.loss.toFixed(4)}${val} lr ${p.lr.toExponential(2)} ${p.imagesPerSecond.toFixed(1)} img/s ETA ${duration(p.etaSeconds)}`;
}

export function progressReporter(stream: NodeJS.WriteStream = process.stderr): { update(p: Progress): void; done(): void } {
  if (stream.isTTY) {
    return {
      update(p) {
        const width = 24;
        const filled = Math.round((p.step / p.total) * width);
        const bar = '█'.repeat(filled) + '·'.repeat(width - filled);
        stream.write(`\r\x1b[2Kstep ${p.step}/${p.total} ${bar} ${describe(p)}`);
        if (p.sheet) stream.write(`\n  sheet ${p.sheet}\n`);
      },
      done() {
        stream.write('\n');
      },
    };
  }
  let every = 0;
  return {
    update(p) {
      every ||= Math.max(1, Math.floor(p.total / 100));
      if (p.step % every === 0 || p.step === p.total || p.val !== null || p.sheet) {
        stream.write(`step ${p.step}/${p.total} ${describe(p)}\n`);
      }
      if (p.sheet) stream.write(`sheet ${p.sheet}\n`);
    },
    done() {},
  };
}
