// `fontloom train | resume | runs | run show | pause | stop | serve | start`: runs in the store,
// trained in this process (foreground) or in a detached training process (--detach), and the
// studio's web host.
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { publicRun, WORKER_ENTRY } from '../jobs/manager.ts';
import { createService } from '../api/service.ts';
import { startServer } from '../web/server.ts';
import { UserError } from '../errors.ts';
import { fontloomHome } from '../home.ts';
import { defaultEngines, initBackend, type BackendInfo } from '../engine/runtime/backend.ts';
import { RUN_SETTINGS, type BackendChoice, type RunSettings } from '../contract/api.ts';
import { describeRecipe, VAL_FRACTION } from '../contract/presets.ts';
import { parseWith } from '../api/boundary.ts';
import { evaluateRun } from '../jobs/evaluate-run.ts';
import { DEFAULT_NAME, openRegistry } from '../data/registry.ts';
import { createRun, listRuns, loadRun, requestControl, runConfig, runDir, trainRun, type RunOutcome } from '../jobs/run.ts';
import { refuseIfHeld } from '../jobs/claims.ts';
import { claimRun } from '../jobs/claims.ts';
import { loadTrainingData, requireStyleSupport } from '../data/training.ts';
import { storeFor, type StoredRun } from '../store/store.ts';
import { progressReporter } from './progress.ts';
import type { WorkerTask } from '../jobs/worker.ts';
import { DEFAULT_RUN, ensureDefaultModel } from '../jobs/default-model.ts';

/** Ctrl-C once: finish the step, checkpoint, stop (resumable). Twice: leave at once. */
function stopOnInterrupt(): () => boolean {
  let asked = false;
  process.on('SIGINT', () => {
    if (asked) process.exit(130);
    asked = true;
    process.stderr.write('\nstopping after this step (checkpointed; fontloom resume continues it); Ctrl-C again to quit now\n');
  });
  return () => asked;
}

function report(outcome: RunOutcome, json: boolean): void {
  const r = outcome.run;
  if (json) {
    process.stdout.write(
      JSON.stringify({
        run: r.id,
        status: r.status,
        steps: r.step,
        total_steps: r.config.steps,
        train_loss: outcome.trainLoss,
        best_val: r.bestVal,
        backend: r.backend,
        seconds: Math.round(outcome.seconds * 10) / 10,
      }) + '\n',
    );
    return;
  }
  const val = r.bestVal !== null ? `, best val MSE ${r.bestVal.toFixed(4)}` : '';
  const loss = outcome.trainLoss !== null ? `, train loss ${outcome.trainLoss.toFixed(4)}` : '';
  process.stdout.write(`run ${r.id} ${r.status} at step ${r.step}/${r.config.steps}${loss}${val} on ${r.backend}\n`);
}

/** --data is a registered dataset's id or name ("default" registers the embedded one), or a .glyphs file. */
async function resolveData(data: string): Promise<{ path: string; dataset?: string; name?: string }> {
  const registry = await openRegistry(fontloomHome());
  if (data === DEFAULT_NAME && !(await registry.list()).some((d) => d.name === DEFAULT_NAME)) await registry.ensureDefault();
  const known = (await registry.list()).find((d) => d.id === data || d.name === data);
  if (known) return { path: registry.glyphsPath(known), dataset: known.id, name: known.name };
  if (existsSync(data)) return { path: data };
  if (/[\\/]|\.glyphs(\.gz)?$/.test(data)) throw new UserError(`${data} does not exist`);
  await registry.find(data); // throws, naming the datasets there are
  throw new UserError(`no dataset or file "${data}"`);
}

/**
 * Starts the training process on its own, outliving this command; its output goes to the run's
 * train.log. It joins the queue: the run is claimed in the process's name (`running` if no other
 * run trains, else `queued`), and the process waits its turn polling the store (jobs/run.ts:
 * waitForTurn), so two detached runs never train together. A run another process holds is
 * refused, and the process, which has not run a line yet, goes.
 */
function detach(home: string, id: string): StoredRun {
  const log = openSync(join(runDir(home, id), 'train.log'), 'a');
  const task: WorkerTask = { task: 'train', home, run: id, heldBy: process.pid, queue: true };
  const child = spawn(process.execPath, [WORKER_ENTRY, JSON.stringify(task)], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start the training process for run ${id} (${process.execPath})`);
  try {
    return claimRun(home, id, { pid: child.pid, heldBy: process.pid, whenBusy: 'queue' });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** What `--detach` says: the run, and whether it trains now or waits for the one that does. */
function reportDetached(home: string, run: StoredRun, json: boolean): void {
  process.stdout.write(json ? JSON.stringify({ run: run.id, status: run.status, pid: run.pid }) + '\n' : `${run.id}\n`);
  const log = join(runDir(home, run.id), 'train.log');
  const ahead = storeFor(home).listRuns('running').find((r) => r.id !== run.id);
  const state =
    run.status === 'queued' && ahead
      ? `queued in process ${run.pid} behind run ${ahead.id}; it starts when that run ends`
      : `training in process ${run.pid}`;
  process.stderr.write(`fontloom: run ${run.id} ${state}; follow it with fontloom run show ${run.id}, log in ${log}\n`);
}

/** Measurements every --eval-every steps, printed as they come and kept in the store. */
function evaluator(home: string, id: string, backend: BackendInfo): (step: number) => Promise<void> {
  return async (step) => {
    const { evaluation } = await evaluateRun(home, id, { backend, perClass: 2, weights: 'ema', baselines: false });
    process.stderr.write(`\neval at step ${step}: legibility ${(evaluation.legibility * 100).toFixed(1)}%, glyph FID ${evaluation.fid?.toFixed(1) ?? '—'}, diversity ${evaluation.diversity?.toFixed(3) ?? '—'}\n`);
  };
}

/** `fontloom train`'s flags: a run's settings (checked with the contract's RUN_SETTINGS) and the command's own. */
export type TrainCommand = Omit<RunSettings, 'preset'> & {
  data: string;
  name?: string;
  preset: string;
  stopAt?: number;
  detach?: boolean;
  json?: boolean;
};

/** A flag as the user typed it, for a field of the API's input: snrGamma → --snr-gamma. */
function flag(field: string): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export async function trainCommand(opts: TrainCommand): Promise<void> {
  if (opts.detach && opts.stopAt !== undefined) throw new UserError('--stop-at works in the foreground only; a detached run stops with fontloom stop RUN');
  const home = fontloomHome();
  const { data: dataset, name, stopAt: _stopAt, detach: _detach, json: _json, ...flags } = opts;
  // The checks the studio's createRun gets, in the CLI's words; its own default: sheets every 1000 steps.
  const settings = parseWith(RUN_SETTINGS, { ...flags, sampleEvery: opts.sampleEvery ?? 1000 }, { what: 'train', field: flag });
  const source = await resolveData(dataset);
  const data = await loadTrainingData(source.path, VAL_FRACTION);
  if (settings.style) requireStyleSupport(data.set, source.name ?? source.path);
  const config = await runConfig(settings, async () => data.train.length);
  // Held by this process from the start, so no studio's queue takes it. In the foreground it is
  // claimed at once (the user asked for it now, whatever else trains); --detach hands it on.
  const run = await createRun(home, { name, data: source.path, dataset: source.dataset, datasetName: source.name, config, status: opts.detach ? 'queued' : 'running', pid: process.pid });
  if (opts.detach) {
    reportDetached(home, detach(home, run.id), opts.json ?? false);
    return;
  }
  const backend = await initBackend(opts.backend, { engines: config.threads > 1 ? 2 : 1 });
  process.stderr.write(`fontloom: ${config.preset}${config.style ? ' style-conditioned' : ''} (${describeRecipe(config.recipe)}) on ${backend.name}: ${backend.adapter}; ${data.train.length} training and ${data.val.length} held-out glyphs; ${config.steps} steps of batch ${Math.min(config.batch, data.train.length)}\n`);
  process.stderr.write(`fontloom: run ${run.id}\n`);
  const progress = progressReporter();
  const outcome = await trainRun(home, run, { backend, threads: config.threads, onProgress: progress.update, stopAt: opts.stopAt, shouldStop: stopOnInterrupt(), evaluate: evaluator(home, run.id, backend) }, data);
  progress.done();
  report(outcome, opts.json ?? false);
}

export async function resumeCommand(id: string, opts: { backend?: BackendChoice; stopAt?: number; threads?: number; detach?: boolean; json?: boolean }): Promise<void> {
  const home = fontloomHome();
  const run = loadRun(home, id);
  if (run.status === 'completed') throw new UserError(`run ${id} is already complete (${run.step}/${run.config.steps} steps)`);
  // Said before any engine starts; trainRun's claim decides.
  refuseIfHeld(home, run);
  if (opts.detach) {
    reportDetached(home, detach(home, id), opts.json ?? false);
    return;
  }
  const threads = opts.threads ?? run.config.threads ?? defaultEngines(run.config.preset);
  const backend = await initBackend(opts.backend ?? run.config.backend, { engines: threads > 1 ? 2 : 1 });
  const progress = progressReporter();
  const outcome = await trainRun(home, run, {
    backend,
    threads,
    onProgress: progress.update,
    stopAt: opts.stopAt,
    shouldStop: stopOnInterrupt(),
    onStart: (step) => process.stderr.write(`fontloom: resuming ${id} at step ${step}/${run.config.steps} on ${backend.name}: ${backend.adapter}\n`),
    evaluate: evaluator(home, id, backend),
  });
  progress.done();
  report(outcome, opts.json ?? false);
}

export async function runsCommand(opts: { json?: boolean }): Promise<void> {
  const home = fontloomHome();
  await ensureDefaultModel(home);
  const runs = listRuns(home).map(publicRun);
  if (opts.json) {
    process.stdout.write(JSON.stringify(runs) + '\n');
    return;
  }
  if (runs.length === 0) process.stdout.write(`no runs yet in ${home}\n`);
  for (const r of runs) {
    const val = r.bestVal !== null ? ` best val ${r.bestVal.toFixed(4)}` : '';
    process.stdout.write(`${r.id}  ${r.status.padEnd(11)} ${r.preset.padEnd(9)} step ${r.step}/${r.steps}${val}  ${r.datasetName}  "${r.name}"\n`);
  }
}

export async function runShowCommand(id: string, opts: { json?: boolean }): Promise<void> {
  const home = fontloomHome();
  if (id === DEFAULT_RUN) await ensureDefaultModel(home);
  const run = publicRun(loadRun(home, id));
  const store = storeFor(home);
  const sheets = store.sheets(id);
  const evals = store.evals(id);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...run, sheets, evals, folder: runDir(home, id) }) + '\n');
    return;
  }
  const c = run.config;
  process.stdout.write(
    [
      `${run.id} "${run.name}": ${run.status} at step ${run.step}/${run.steps} (checkpoint at ${run.checkpointStep})`,
      `  dataset ${run.datasetName}${run.dataset ? ` (${run.dataset})` : ''}; preset ${c.preset}${c.style ? `, style-conditioned (a ${c.style.dim}-number style read from 1–${c.style.maxRefs} letters of a font)` : ', letters only'}, ${describeRecipe(c.recipe)}; batch ${c.batch}, lr ${c.lr}`,
      `  backend ${run.backend ?? '(not started)'}; train loss ${run.trainLoss?.toFixed(4) ?? '–'}; best val MSE ${run.bestVal?.toFixed(4) ?? '–'}`,
      ...(run.error ? [`  error: ${run.error}`] : []),
      `  ${sheets.length} sample sheets${sheets.length ? `, last ${sheets[sheets.length - 1].file}` : ''}`,
      ...evals.map((e) => `  eval at step ${e.step} (${e.weights}): legibility ${(e.legibility * 100).toFixed(1)}%${e.fid !== null ? `, glyph FID ${e.fid.toFixed(2)}` : ''}`),
      `  files in ${runDir(home, id)}`,
    ].join('\n') + '\n',
  );
}

/** Asks for a pause or stop and waits (up to `wait` seconds) until the training process has checkpointed. */
export async function controlCommand(what: 'pause' | 'stop', id: string, opts: { wait: number }): Promise<void> {
  const home = fontloomHome();
  let run = requestControl(home, id, what);
  const settled = what === 'pause' ? 'paused' : 'stopped';
  const deadline = Date.now() + opts.wait * 1000;
  while (run.status === 'running' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    run = loadRun(home, id);
  }
  if (run.status === 'running') {
    process.stdout.write(`asked run ${id} to ${what}; it will ${what} after its current step (fontloom run show ${id})\n`);
    return;
  }
  if (run.status !== settled && run.status !== 'completed') throw new UserError(`run ${id} ended ${run.status}${run.error ? `: ${run.error}` : ''}`);
  process.stdout.write(`run ${id} ${run.status} at step ${run.step} (checkpointed; fontloom resume ${id} continues it)\n`);
}

export async function serveCommand(opts: { port: number; host: string }): Promise<void> {
  const home = fontloomHome();
  const service = await createService({ home, mode: 'browser' });
  // FONTLOOM_TOKEN: a key of the caller's own, for scripts and tests that start the server themselves.
  const host = await startServer({ service, port: opts.port, host: opts.host, token: process.env.FONTLOOM_TOKEN || undefined });
  process.stdout.write(`Fontloom studio: ${host.openUrl}\n`);
  if (opts.host !== '127.0.0.1' && opts.host !== 'localhost') {
    process.stderr.write(`fontloom: listening on ${opts.host}: anyone who can reach this machine and has the address above (it holds the key) can use the studio\n`);
  }
  await new Promise<void>((resolve) => {
    const quit = () => resolve();
    process.once('SIGINT', quit);
    process.once('SIGTERM', quit);
  });
  await host.close();
  const paused = await service.close();
  if (!paused) process.stderr.write('fontloom: closed\n');
  else if (paused.status === 'paused') {
    process.stderr.write(`fontloom: closed; run ${paused.id} (“${paused.name}”) paused at step ${paused.step}: resume it in the studio or with fontloom resume ${paused.id}\n`);
  } else process.stderr.write(`fontloom: closed; run ${paused.id} (“${paused.name}”) is ${paused.status}${paused.error ? `: ${paused.error}` : ''}\n`);
}

/** Electron's window where its binary and a display exist; else the same studio in a browser. */
export async function startCommand(opts: { port: number }): Promise<void> {
  const { launchElectron } = await import('./electron-launch.ts');
  if (await launchElectron()) return;
  process.stdout.write('Electron is not available here: the studio runs in browser mode.\n');
  await serveCommand({ port: opts.port, host: '127.0.0.1' });
}
