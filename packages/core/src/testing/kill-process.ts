import type { ChildProcess } from 'node:child_process';

/** kill -9 of a server a test started, as a crash: resolves once the process is gone. */
export async function killAndWait(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
