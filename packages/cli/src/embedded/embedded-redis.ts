import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisConnectionOptions } from '@watched/core';
import { EmbeddedServer, type EmbeddedServerOptions, type ServerProgram } from './embedded-server.js';
import { probeRedis } from './server-probe.js';

export interface EmbeddedRedisOptions extends EmbeddedServerOptions {
  /** Absolute path of `redis-server`. */
  program: string;
  /** The logical database the connection names. */
  db: number;
}

/**
 * A private Redis on 127.0.0.1 only, with a password of its own,
 * persisting to its folder (append-only file and snapshots), so queues and
 * leases survive a restart as a system Redis's would. MySQL stays the store
 * of record.
 */
export class EmbeddedRedis extends EmbeddedServer<RedisConnectionOptions> {
  readonly label = 'Redis';
  /** Clear of 6379, where a Redis of the system may run. */
  protected readonly preferredPort = 16379;

  constructor(private readonly options: EmbeddedRedisOptions) {
    super(options);
  }

  protected connectionOn(port: number): RedisConnectionOptions {
    return { mode: 'standalone', hosts: [{ host: '127.0.0.1', port }], db: this.options.db, password: this.password() };
  }

  protected program(port: number): ServerProgram {
    const connection = this.connectionOn(port);
    // The password in a config file, not on the command line where `ps` shows it to every user.
    const config = join(this.dir, 'redis.conf');
    writeFileSync(config, `requirepass ${connection.password}\n`, { mode: 0o600 });
    return {
      name: 'redis-server',
      program: this.options.program,
      // No config file: these and Redis's defaults (snapshots by change counts, logs on stdout).
      args: [config, '--bind', '127.0.0.1', '--port', String(port), '--dir', this.dir, '--appendonly', 'yes', '--protected-mode', 'yes', '--daemonize', 'no'],
      ready: () => probeRedis(connection, 2000),
      startTimeoutMs: 30_000,
      stopTimeoutMs: 30_000,
    };
  }
}
