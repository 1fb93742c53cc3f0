import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { IllegalStateError, StartupError, type Logger } from '@watched/core';
import type { ProbeResult } from './server-probe.js';

export interface ServerProcessOptions {
  /** In messages and file names: `mariadbd`, `redis-server`. */
  name: string;
  /** Absolute path of the program. */
  program: string;
  args: readonly string[];
  /** Holds `<name>.log` (the server's stdout and stderr, appended run after run) and `<name>.pid`. */
  dir: string;
  /** A real connection to the server (log in, PING), tried until it answers. */
  ready: () => Promise<ProbeResult>;
  /** Bound of the wait for `ready`. */
  startTimeoutMs: number;
  /** After SIGTERM, how long the server may take to exit before SIGKILL. */
  stopTimeoutMs: number;
  logger: Logger;
}

const LOG_TAIL_LINES = 8;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One server program run for this process: spawned in its own process group
 * (a Ctrl-C in the terminal reaches watched only, which stops the server
 * after the roles that use it), ready once a real connection succeeds,
 * stopped by SIGTERM and awaited. `close()` is idempotent. A server left
 * running by an earlier run that was killed (its pid file names it) is
 * stopped before a new one starts on the same data.
 */
export class ServerProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private closing?: Promise<void>;
  private logOffset = 0;
  /** A real connection succeeded once. */
  private answered = false;
  /** Last resort when the process ends without closing (process.exit on a deadline): the server still gets SIGTERM. */
  private readonly terminateOnExit = (): void => void this.child?.kill('SIGTERM');

  constructor(private readonly options: ServerProcessOptions) {}

  get logFile(): string {
    return join(this.options.dir, `${this.options.name}.log`);
  }

  private get pidFile(): string {
    return join(this.options.dir, `${this.options.name}.pid`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child || this.closing) throw new IllegalStateError(`${this.options.name} was already started`);
    const { name, program, args, logger } = this.options;
    await this.stopLeftover();
    this.logOffset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      writeSync(log, `--- ${new Date().toISOString()} watched starts ${program} ${args.join(' ')}\n`);
      child = spawn(program, args, { stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    this.child = child;
    let spawnError: Error | undefined;
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (!this.closing) logger.error(`${name} exited (${code ?? signal}); its log: ${this.logFile}`);
        resolve();
      });
    });
    process.on('exit', this.terminateOnExit);
    if (child.pid !== undefined) writeFileSync(this.pidFile, `${child.pid}\n`);
    try {
      await this.waitReady(() => spawnError);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async waitReady(spawnError: () => Error | undefined): Promise<void> {
    const { name, ready, startTimeoutMs } = this.options;
    const deadline = Date.now() + startTimeoutMs;
    let last = 'not started';
    for (;;) {
      const failed = spawnError();
      if (failed) throw new StartupError(`cannot run ${this.options.program}: ${failed.message}`);
      if (!this.running) {
        await this.exited;
        const status = this.child!.exitCode ?? this.child!.signalCode;
        throw new StartupError(`${name} exited (${status}) during start-up; the end of ${this.logFile}:\n${this.logTail()}`);
      }
      const probe = await ready();
      if (probe.answers) {
        this.answered = true;
        return;
      }
      last = probe.reason;
      if (Date.now() > deadline) {
        throw new StartupError(`${name} did not answer within ${startTimeoutMs / 1000} s (${last}); the end of ${this.logFile}:\n${this.logTail()}`);
      }
      await sleep(100);
    }
  }

  /** The last lines this run wrote to the log, indented. */
  private logTail(): string {
    try {
      const text = readFileSync(this.logFile).subarray(this.logOffset).toString('utf8');
      return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).map((line) => `  ${line}`).join('\n');
    } catch {
      return '  (no log)';
    }
  }

  private async stop(): Promise<void> {
    const child = this.child;
    if (child && this.running) {
      const deadline = Date.now() + this.options.stopTimeoutMs;
      // mariadbd loses a SIGTERM that arrives before its signal thread runs: until the server has answered, repeat it.
      while (this.running && Date.now() < deadline) {
        child.kill('SIGTERM');
        await Promise.race([this.exited, sleep(this.answered ? deadline - Date.now() : 1000, undefined, { ref: false })]);
      }
      if (this.running) {
        this.options.logger.warn(`${this.options.name} still running ${this.options.stopTimeoutMs / 1000} s after SIGTERM: killing it`);
        child.kill('SIGKILL');
        await this.exited;
      }
    }
    process.off('exit', this.terminateOnExit);
    rmSync(this.pidFile, { force: true });
  }

  /**
   * Stops the server a pid file names when it still runs this program on
   * this folder (the run that started it was killed): two servers on the
   * same data would fail or, worse, corrupt it.
   */
  private async stopLeftover(): Promise<void> {
    if (!existsSync(this.pidFile)) return;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid) || !this.isOurs(pid)) {
      rmSync(this.pidFile, { force: true });
      return;
    }
    this.options.logger.warn(`${this.options.name} left running by an earlier run (pid ${pid}): stopping it first`);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + this.options.stopTimeoutMs;
    while (alive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await sleep(100);
    }
    rmSync(this.pidFile, { force: true });
  }

  /** Runs this program in this folder (servers chdir to their data; Redis rewrites its command line, so that is no guide). */
  private isOurs(pid: number): boolean {
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return realpathSync(`/proc/${pid}/exe`) === realpathSync(this.options.program) && (cwd + sep).startsWith(realpathSync(this.options.dir) + sep);
    } catch {
      return false; // no /proc: leave it alone; the new server then says what holds its data
    }
  }
}
