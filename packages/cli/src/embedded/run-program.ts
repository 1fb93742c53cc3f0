import { spawn } from 'node:child_process';

export interface RunProgramOptions {
  timeoutMs: number;
  /** Aborting stops the program. */
  signal: AbortSignal;
}

export interface ProgramResult {
  /** Its stdout and stderr together. */
  output: string;
  /** Why it failed (exit code, signal, timeout, cannot run); undefined: exit code 0. */
  failure?: string;
}

/**
 * Runs a program to completion in its own process group, so that a timeout
 * or an abort stops it with what it started (mariadb-install-db is a shell
 * script running mariadbd --bootstrap). Never rejects.
 */
export function runProgram(program: string, args: readonly string[], options: RunProgramOptions): Promise<ProgramResult> {
  return new Promise((resolve) => {
    let output = '';
    let stoppedBecause: string | undefined;
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stopGroup = (why: string) => {
      stoppedBecause ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => stopGroup(`no result within ${options.timeoutMs / 1000} s`), options.timeoutMs);
    const onAbort = () => stopGroup('stopped');
    options.signal.addEventListener('abort', onAbort, { once: true });
    const collect = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-64 * 1024));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const done = (failure: string | undefined) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      resolve({ output, failure });
    };
    child.once('error', (err) => done(`cannot run it: ${err.message}`));
    child.once('close', (code, signal) => done(code === 0 && !stoppedBecause ? undefined : (stoppedBecause ?? `exit ${code ?? signal}`)));
    if (options.signal.aborted) onAbort();
  });
}
