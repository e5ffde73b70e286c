// Training processes as Electron utility processes: Node without a window, started by the
// main process, ended with the app.
import { utilityProcess } from 'electron';
import { WORKER_ENTRY, type WorkerLauncher } from '../jobs/manager.ts';
import type { WorkerMessage } from '../jobs/worker.ts';

export const utilityLauncher: WorkerLauncher = (task) => {
  const child = utilityProcess.fork(WORKER_ENTRY, [JSON.stringify(task)], { stdio: 'inherit', serviceName: 'Fontloom training' });
  return {
    get pid() {
      return child.pid;
    },
    onMessage: (listener) => child.on('message', (m) => listener(m as WorkerMessage)),
    onExit: (listener) => child.on('exit', (code) => listener(code, null)),
    kill: () => {
      child.kill();
    },
  };
};
