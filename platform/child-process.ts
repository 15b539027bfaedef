// Stops a supervised child process: SIGTERM first so it can flush its data, SIGKILL if it has not exited
// within ten seconds.
import type { ChildProcess } from 'node:child_process';

export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
