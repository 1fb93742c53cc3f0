import { spawn, type ChildProcess } from 'node:child_process';
import { createRedis } from '@watched/core';
import { freePort, waitFor } from '@watched/core/testing';

/**
 * A redis-server of the test's own (a free port, nothing on disk, a
 * password if asked), which it may kill and start again on the same port:
 * never the shared one other tests use.
 */
export class PrivateRedis {
  private server?: ChildProcess;

  private constructor(
    readonly port: number,
    private password: string | undefined,
  ) {}

  static async start(password?: string): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), password);
    await redis.restart();
    return redis;
  }

  /** `redis://[:password@]127.0.0.1:<port>`, the password URL-encoded. */
  url(password = this.password): string {
    return `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on its port and waits until it answers. */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    if (this.password) args.push('--requirepass', this.password);
    this.server = spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor('private redis-server', async () => {
      const probe = createRedis(this.url(), { reconnect: false });
      try {
        return (await probe.ping().catch(() => '')) === 'PONG';
      } finally {
        probe.disconnect();
      }
    }, 10_000);
  }

  /** A new password: clients already connected are dropped and log in again with what they were given. */
  async changePassword(password: string): Promise<void> {
    const client = createRedis(this.url(), { reconnect: false });
    try {
      await client.call('CONFIG', 'SET', 'requirepass', password);
      this.password = password;
      await client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    } finally {
      client.disconnect();
    }
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server || server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  }
}
