// `fontloom job export | import`: a run trained with PyTorch on other machines (torchrun,
// DistributedDataParallel), and brought back as a completed run.
import { initBackend } from '../engine/runtime/backend.ts';
import { fontloomHome } from '../home.ts';
import { exportJob, importJob } from '../jobs/job.ts';

const fonts = (n: number, other = '') => `${n} ${other}font${n === 1 ? '' : 's'}`;

export async function jobExportCommand(opts: { run: string; out: string }): Promise<void> {
  const { dir, job } = await exportJob(fontloomHome(), opts.run, opts.out);
  const s = job.split;
  process.stdout.write(
    `job ${dir}: run ${job.run.id} (preset ${job.config.preset}, ${job.config.steps} steps, batch ${job.config.batch}), ` +
      `${s.train} training glyphs from ${fonts(s.trainFonts)}, ${s.val} validation glyphs from ${fonts(s.valFonts, 'other ')}\n` +
      `  train it: cd ${dir} && torchrun --nproc_per_node=2 --redirects 1 --tee 1 train.py   (or python3 train.py)\n` +
      `  bring it back: fontloom job import ${dir}\n`,
  );
}

export async function jobImportCommand(dir: string, opts: { name?: string; json?: boolean }): Promise<void> {
  // The preset's network is built once to check names and shapes: the cpu backend is enough.
  await initBackend('cpu', { engines: 1 });
  const done = await importJob(fontloomHome(), dir, { name: opts.name });
  const r = done.run;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ id: r.id, name: r.name, preset: r.preset, step: done.step, metrics: done.metrics, params: done.params, parity: done.parity }) + '\n');
    return;
  }
  process.stdout.write(
    `run ${r.id} "${r.name}": preset ${r.preset}, step ${done.step}, ${done.metrics} metric rows, model and EMA (${done.params.toLocaleString('en-US')} parameters each)\n` +
      (done.parity
        ? `  same network: Fontloom's forward pass matches PyTorch ${done.parity.torch}'s on the job's ${done.parity.images}-image probe batch (relative error ${done.parity.relativeError.toExponential(1)})\n`
        : `  no parity check: the job wrote no checkpoints/probe.safetensors (python3 train.py --probe writes one)\n`) +
      `  draw from it: fontloom sample --run ${r.id} --out sheet.png\n`,
  );
}
