// Entry of the training process (child_process.fork, Electron's utilityProcess, or a detached
// `fontloom train --detach`): it does not inherit the parent's TypeScript loader. The task comes
// as JSON in argv[2]; messages go to the parent when there is one.
import { register } from 'tsx/esm/api';

register();
const { runTask } = await import('./worker.ts');
const { UserError } = await import('../errors.ts');
const port = globalThis.process.parentPort; // Electron's utilityProcess
const send = (m) => (port ? port.postMessage(m) : process.send?.(m));
try {
  await runTask(JSON.parse(process.argv[2]), send);
  process.exitCode = 0;
} catch (err) {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err), user: err instanceof UserError });
  if (!(err instanceof UserError)) process.stderr.write(`${err?.stack ?? err}\n`);
  process.exitCode = 1;
}
// The gradient worker thread and tfjs's timers must not keep the process alive once done.
setTimeout(() => process.exit(), 200).unref();
