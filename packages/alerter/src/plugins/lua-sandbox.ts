import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@watched/core';

/** What the sandbox thread is started with (its `workerData`). */
export interface LuaSandboxSettings {
  /** The script's path (named in errors) and its text. */
  script: string;
  source: string;
  /** Longest run of the script's top level and of each `sendAlert` call. */
  timeoutMs: number;
  allowHttp: boolean;
  allowOs: boolean;
  /** Memory the script may allocate inside the VM, on top of the standard libraries. */
  memoryLimitMb: number;
}

/** One `sendAlert(level, message, notification)` call. */
export interface ToSandboxThread {
  id: number;
  level: number;
  text: string;
  table: unknown;
}

export type FromSandboxThread =
  | { type: 'booted' }
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'log'; message: string }
  | { type: 'done'; id: number }
  | { type: 'error'; id: number; message: string };

/** Time a new thread may take to compile the VM before the script's own clock starts. */
const BOOT_TIMEOUT_MS = 30_000;
/** The thread's own hook stops a Lua loop at timeoutMs; past this margin the thread is killed. */
const KILL_MARGIN_MS = 250;
/** Precompiled Lua chunks start with ESC "Lua". */
const BYTECODE_SIGNATURE = '\x1bLua';

/** The compiled thread entry; Jest runs the TypeScript sources, whose build (npm test builds first) has it. */
function threadEntry(): URL {
  const beside = new URL('./lua-sandbox-thread.js', import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside : new URL('../../dist/plugins/lua-sandbox-thread.js', import.meta.url);
}

interface Running {
  worker: Worker;
  /** Settles the call in flight (or the start-up) when the thread answers or dies. */
  settle?: (error: Error | undefined) => void;
}

/**
 * A Lua script in a thread of its own, with limits that hold: a call that
 * runs past `timeoutMs` (even inside one C function, where Lua's hooks never
 * fire) has its thread terminated, and the next call starts a fresh VM;
 * allocations past `memoryLimitMb` fail inside the VM. Calls run one at a time.
 */
export class LuaSandbox {
  private running: Running | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly settings: LuaSandboxSettings,
    private readonly logger: Logger,
    private readonly receiver: string,
  ) {}

  /** Starts the VM and runs the script's top level; throws what is wrong with the script. */
  static async open(settings: LuaSandboxSettings, logger: Logger, receiver: string): Promise<LuaSandbox> {
    if (settings.source.startsWith(BYTECODE_SIGNATURE)) {
      throw new Error(`${settings.script} is a precompiled Lua chunk (bytecode): only Lua source is run`);
    }
    const sandbox = new LuaSandbox(settings, logger, receiver);
    await sandbox.start();
    return sandbox;
  }

  /** Calls the script's `sendAlert`; rejects with the script's error, a timeout or a memory limit. */
  call(level: number, text: string, table: unknown, signal?: AbortSignal): Promise<void> {
    const call = this.queue.then(() => this.callNow({ id: this.nextId++, level, text, table }, signal));
    this.queue = call.catch(() => undefined);
    return call;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.stop();
  }

  private async callNow(message: ToSandboxThread, signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new Error(`lua receiver ${this.receiver} is closed`);
    if (!this.running) await this.start(); // after a kill: a fresh VM, the script's top level run again
    const running = this.running!;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.logger.warn(`lua ${this.receiver}: sendAlert ran past timeoutMs (${this.settings.timeoutMs} ms): its VM is stopped and started afresh for the next alert`);
        void this.stop(running);
        finish(new Error(`${this.settings.script}: sendAlert ran past timeoutMs (${this.settings.timeoutMs} ms) and was stopped`));
      }, this.settings.timeoutMs + KILL_MARGIN_MS);
      const onAbort = () => {
        void this.stop(running);
        finish(new Error('delivery aborted (alerter stopping)'));
      };
      const finish = (error: Error | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        running.settle = undefined;
        if (error) reject(error);
        else resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      running.settle = finish;
      running.worker.postMessage(message);
    });
  }

  private start(): Promise<void> {
    const { settings } = this;
    const worker = new Worker(threadEntry(), {
      workerData: settings,
      // The JS side of the thread (got, strings handed out by the VM); the VM's own heap is capped by its allocator.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, settings.memoryLimitMb * 2), maxYoungGenerationSizeMb: 16 },
      stdout: true,
      stderr: true,
    });
    worker.unref(); // a sandbox never keeps the process alive: close() or the process's end stops it
    const running: Running = { worker };
    this.running = running;
    // The script's print() output goes through the logger, not around it.
    for (const stream of [worker.stdout, worker.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        for (const line of text.split('\n')) if (line.trim()) this.logger.info(`lua ${this.receiver}: ${line.slice(0, 2000)}`);
      });
    }
    return new Promise<void>((resolve, reject) => {
      let timer = setTimeout(() => fail(new Error(`Lua VM did not start within ${BOOT_TIMEOUT_MS} ms`)), BOOT_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        void this.stop(running);
        reject(error);
      };
      worker.on('message', (message: FromSandboxThread) => {
        switch (message.type) {
          case 'booted':
            clearTimeout(timer);
            timer = setTimeout(() => fail(new Error(`${settings.script}: top level ran past timeoutMs (${settings.timeoutMs} ms)`)), settings.timeoutMs + KILL_MARGIN_MS);
            return;
          case 'ready':
            clearTimeout(timer);
            return resolve();
          case 'failed':
            return fail(new Error(`${settings.script}: ${message.message}`));
          case 'log':
            return this.logger.info(`lua ${this.receiver}: ${message.message}`);
          case 'done':
            return running.settle?.(undefined);
          case 'error':
            return running.settle?.(new Error(message.message));
        }
      });
      worker.on('error', (err) => {
        const reason = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? `exceeded its memory (memoryLimitMb ${settings.memoryLimitMb})` : err.message;
        running.settle?.(new Error(`${settings.script}: ${reason}`));
        fail(new Error(`${settings.script}: ${reason}`));
      });
      worker.on('exit', () => {
        if (this.running === running) this.running = undefined;
        running.settle?.(new Error(`${settings.script}: the Lua VM stopped`));
      });
    });
  }

  private async stop(running = this.running): Promise<void> {
    if (!running) return;
    if (this.running === running) this.running = undefined;
    await running.worker.terminate();
  }
}
