// A redis-server of the scenario's own on a spare port, so that INFO
// commandstats counts this scenario's commands only (the shared Redis serves
// other engineers' tests at the same time). Needs redis-server on PATH.
import { spawn } from 'node:child_process';
import { createRedis } from '@watched/core';

/** Commands the measurement itself sends; not counted. */
const OWN_COMMANDS = new Set(['info', 'client|setname', 'client|setinfo', 'ping']);

export class PrivateRedis {
  constructor(port = 16_000 + (process.pid % 1000)) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start() {
    this.server = spawn('redis-server', ['--port', String(this.port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.server.on('error', (err) => console.error(`redis-server: ${err.message}`));
    this.admin = createRedis(this.url, { connectionName: 'watched-bench-admin' });
    // Refused connections until the server listens: retried below, not an error.
    this.admin.on('error', () => undefined);
    for (let i = 0; i < 50; i++) {
      if (await this.admin.ping().then(() => true, () => false)) return this;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server on port ${this.port} did not start`);
  }

  /** Commands the server has executed so far (INFO commandstats), the measurement's own excluded. */
  async commands() {
    const info = await this.admin.info('commandstats');
    let calls = 0;
    for (const m of info.matchAll(/^cmdstat_([\w|-]+):calls=(\d+)/gm)) if (!OWN_COMMANDS.has(m[1])) calls += Number(m[2]);
    return calls;
  }

  /** used_memory in MB. */
  async memoryMB() {
    const bytes = Number(/used_memory:(\d+)/.exec(await this.admin.info('memory'))?.[1]);
    return Math.round((bytes / 2 ** 20) * 10) / 10;
  }

  async stop() {
    this.admin?.disconnect();
    if (!this.server || this.server.exitCode !== null || this.server.signalCode !== null) return;
    // Waited for: a scenario running several clusters in turn reuses the port.
    const exited = new Promise((resolve) => this.server.once('exit', resolve));
    this.server.kill('SIGTERM');
    await exited;
  }
}
