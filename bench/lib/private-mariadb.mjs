// A MariaDB server of the scenario's own (data in a temp dir, a free port,
// loopback only, --no-defaults), so the server CPU a scenario reads from
// /proc is its own: the shared server runs other engineers' tests too.
// Needs mariadbd and mariadb-install-db on PATH (or in /usr/sbin).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createMysqlConnection } from '@watched/core';
import { freePort } from './processes.mjs';

const run = promisify(execFile);
const PATHS = `${process.env.PATH}:/usr/local/sbin:/usr/sbin:/sbin`;

export class PrivateMariadb {
  /** `serverArgs`: extra mariadbd options (buffer pool, log file size). */
  constructor(serverArgs = ['--innodb-buffer-pool-size=512M', '--innodb-log-file-size=256M']) {
    this.serverArgs = serverArgs;
  }

  async start() {
    this.dir = mkdtempSync(join(tmpdir(), 'watched-bench-mariadb-'));
    this.port = await freePort();
    const data = join(this.dir, 'data');
    const env = { ...process.env, PATH: PATHS };
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { env });
    const user = process.getuid?.() === 0 ? ['--user=root'] : [];
    this.server = spawn(
      'mariadbd',
      ['--no-defaults', ...user, `--datadir=${data}`, '--bind-address=127.0.0.1', `--port=${this.port}`, `--socket=${join(this.dir, 'sock')}`, '--local-infile=1', ...this.serverArgs],
      { stdio: 'ignore', env },
    );
    this.url = `mysql://root@127.0.0.1:${this.port}`;
    for (let i = 0; i < 300; i++) {
      const conn = await createMysqlConnection(this.url).catch(() => undefined);
      if (conn) {
        await conn.end();
        return this;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`mariadbd on port ${this.port} did not start`);
  }

  get pid() {
    return this.server.pid;
  }

  async stop() {
    if (this.server && this.server.exitCode === null && this.server.signalCode === null) {
      const exited = new Promise((resolve) => this.server.once('exit', resolve));
      this.server.kill('SIGTERM');
      await exited;
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
