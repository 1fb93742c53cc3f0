import { waitFor } from '@watched/core/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { AgentFleet } from '@watched/agent-sim';
import { AgentRegistry, AgentStateTable, type Pool } from '@watched/core';

/** The committed `watched` shim (runs the built dist/: build before these tests). */
export const WATCHED_BIN = fileURLToPath(new URL('../../bin/watched.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface ProcessEnvironment {
  mysqlUrl: string;
  redisUrl: string;
  prefix: string;
}

/** A `watched <role>` child process, its output kept for diagnostics. */
export class RoleProcess {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode?: number | null;

  constructor(
    readonly label: string,
    args: string[],
    env: ProcessEnvironment,
    /** Set or (undefined) unset more variables, e.g. to let a config file decide the log level. */
    extraEnv: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(process.execPath, [WATCHED_BIN, ...args], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        WATCHED_MYSQL_URL: env.mysqlUrl,
        WATCHED_REDIS_URL: env.redisUrl,
        WATCHED_PREFIX: env.prefix,
        // Several roles run on this machine at once: each admin server takes a free port.
        WATCHED_ADMIN_LISTEN: '127.0.0.1:0',
        WATCHED_LOG_FORMAT: 'json',
        WATCHED_LOG_LEVEL: process.env.WATCHED_TEST_LOG ? 'debug' : 'info',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output.push(text);
      if (this.output.length > 2000) this.output.splice(0, 1000);
      if (process.env.WATCHED_TEST_LOG) process.stderr.write(`[${label}] ${text}`);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : code);
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Sends a signal and waits (at most `timeoutMs`) for the exit; returns the exit code (null: killed by a signal). */
  async stop(signal: NodeJS.Signals, timeoutMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`${this.label} did not exit within ${timeoutMs} ms of ${signal}\n${this.tail()}`);
    }
    return result;
  }

  /** The last lines of its output. */
  tail(lines = 30): string {
    return this.output.join('').split('\n').slice(-lines).join('\n');
  }
}

/** Spawns `watched <args>` with the test environment's connections. */
export function spawnWatched(label: string, args: string[], env: ProcessEnvironment, extraEnv?: NodeJS.ProcessEnv): RoleProcess {
  return new RoleProcess(label, args, env, extraEnv);
}

/** The URL of a spawned role's admin server (`--admin-listen 127.0.0.1:0` picks a free port), read from its JSON log. */
export async function adminUrlOf(role: RoleProcess, timeoutMs = 20_000): Promise<string> {
  try {
    return await waitFor(
      `${role.label}'s admin server`,
      () => {
        if (!role.running) throw new Error(`${role.label} exited`);
        return /admin server on (http:\/\/[^\s"]+)/.exec(role.output.join(''))?.[1];
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${role.tail()}`);
  }
}

/**
 * Waits until a spawned role reached RUNNING: its "<role> started (node ...)" log line, written once its
 * start-up (connections, schema check, membership, admin server) succeeded. Start-up alone takes 5-10 s on
 * a loaded 2-core machine, so a wait for something a process does once running starts from here, not from
 * the spawn; the default bound only catches a hang (a process that exits fails the wait at once).
 */
export async function waitForStarted(role: RoleProcess, timeoutMs = 60_000): Promise<void> {
  try {
    await waitFor(
      `${role.label} to start`,
      () => {
        if (/ started \(node /.test(role.output.join(''))) return true;
        if (!role.running) throw new Error(`${role.label} exited before it started`);
        return false;
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${role.tail()}`);
  }
}

/** The pid inside a node id `host:pid:random` (`defaultNodeId()`), as recorded in a job's processedBy. */
export function pidOfNodeId(nodeId: string | undefined): number | undefined {
  const parts = nodeId?.split(':');
  return parts && parts.length >= 3 ? Number(parts[parts.length - 2]) : undefined;
}

/** Waits until the poll queue holds no waiting, active, delayed or prioritized job. */
export function waitForEmptyQueue(queue: Queue, timeoutMs: number, intervalMs: number): Promise<boolean> {
  return waitFor(
    'an empty queue',
    async () => {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return c.waiting + c.active + c.delayed + c.prioritized === 0;
    },
    timeoutMs,
    intervalMs,
  );
}

/**
 * A fleet polled every 2 s whose agents' cursors all start at `t0` (the fleet's
 * clock now), so that what it served over a test window is exactly
 * [t0, final cursor] per agent.
 */
export async function startCursorFleet(pool: Pool, hosts: number, seed: number): Promise<{ fleet: AgentFleet; t0: number }> {
  const fleet = new AgentFleet({ hosts, port: 0, seed, bufferMs: 10 * 60_000 });
  await fleet.start();
  await new AgentRegistry(pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: 2 })));
  const t0 = fleet.now();
  await new AgentStateTable(pool).seedCursors(t0);
  return { fleet, t0 };
}
