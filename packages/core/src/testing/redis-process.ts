import { spawn, type ChildProcess } from 'node:child_process';
import { killAndWait } from './kill-process.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRedis, type Redis } from '../redis.js';
import { waitFor } from './wait-for.js';

/** How long a private redis-server may take to answer PING after its start (a loaded 2-core machine). */
const START_TIMEOUT_MS = 20_000;

/**
 * One private redis-server (data node or sentinel) of a fault test, on a
 * loopback port of its own, with a fresh config file in its folder (a
 * sentinel rewrites its file). `kill()` is kill -9; `start()` again after it
 * runs the same configuration, as a restarted server would.
 */
export class RedisProcess {
  private child?: ChildProcess;
  private output = '';

  constructor(
    readonly port: number,
    private readonly dir: string,
    /** Lines of redis.conf, `port`, `bind` and `dir` apart. */
    private readonly config: readonly string[],
    private readonly sentinel = false,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last output lines, for a failed test's message. */
  get log(): string {
    return this.output.slice(-2000);
  }

  async start(): Promise<void> {
    if (this.running) return;
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, this.sentinel ? 'sentinel.conf' : 'redis.conf');
    writeFileSync(file, [`port ${this.port}`, 'bind 127.0.0.1', `dir ${this.dir}`, ...this.config, ''].join('\n'));
    const child = spawn('redis-server', [file, ...(this.sentinel ? ['--sentinel'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => keep(Buffer.from(`spawn: ${err.message}\n`)));
    await waitFor(`redis-server on port ${this.port} to answer`, () => (this.running ? this.ping() : Promise.reject(new Error(`redis-server on port ${this.port} exited: ${this.log}`))), START_TIMEOUT_MS, 100);
  }

  /** kill -9, waiting until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await killAndWait(child);
  }

  /** A client of this one server (no reconnect), closed after `use`. */
  async with<T>(use: (client: Redis) => Promise<T>): Promise<T> {
    const client = createRedis(`redis://127.0.0.1:${this.port}`, { reconnect: false, connectionName: 'watched-test-admin' });
    client.on('error', () => undefined);
    try {
      return await use(client);
    } finally {
      client.disconnect();
    }
  }

  private ping(): Promise<boolean> {
    return this.with((c) => c.ping()).then(
      () => true,
      () => false,
    );
  }
}
