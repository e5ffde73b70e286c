// `fontloom weights export | import`: a run's weights as PyTorch reads them (safetensors, the
// reference's state_dict names and layouts), and a completed run from a safetensors file or a
// torch.save checkpoint (ckpt.pt, ema_ckpt.pt).
import { initBackend } from '../engine/runtime/backend.ts';
import { fontloomHome } from '../home.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../jobs/default-model.ts';
import { exportWeights, importWeights, type WeightsImport } from '../jobs/weights.ts';

const count = (n: number) => n.toLocaleString('en-US');

export async function weightsExportCommand(opts: { run: string; ema?: boolean; out: string }): Promise<void> {
  const home = fontloomHome();
  if (opts.run === DEFAULT_RUN) await ensureDefaultModel(home);
  const done = await exportWeights(home, opts.run, { ema: opts.ema ?? false, out: opts.out });
  if (done.weights !== done.asked) process.stderr.write(`fontloom: run ${opts.run} keeps only its ${done.weights === 'ema' ? 'EMA' : 'model'} weights: exporting those\n`);
  process.stderr.write(
    `fontloom: ${done.path} (${done.weights === 'ema' ? 'EMA' : 'model'} weights at step ${done.step}: ${count(done.params)} parameters in ${done.tensors} tensors, ` +
      `the reference's state_dict names, float32)\n`,
  );
}

export async function weightsImportCommand(file: string, opts: WeightsImport & { json?: boolean }): Promise<void> {
  // The preset's network is built once to check names and shapes: the cpu backend is enough.
  await initBackend('cpu', { engines: 1 });
  const { json, ...request } = opts;
  const done = await importWeights(fontloomHome(), file, request);
  const r = done.run;
  if (json) {
    process.stdout.write(JSON.stringify({ id: r.id, name: r.name, preset: r.preset, weights: done.weights, params: done.params, eval_dataset: done.measuredWith }) + '\n');
    return;
  }
  const measured = done.measuredWith ? `; fontloom eval measures it against dataset "${done.measuredWith}"` : '; fontloom eval needs a dataset: import again with --data DATASET';
  process.stdout.write(
    `run ${r.id} "${r.name}": preset ${r.preset}, ${count(done.params)} parameters (${done.weights === 'ema' ? 'EMA' : 'model'} weights) from ${done.format === 'torch' ? 'a PyTorch checkpoint' : 'safetensors'}${measured}\n` +
      `  draw from it: fontloom sample --run ${r.id} --out sheet.png\n`,
  );
}
