import { createHash } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartupError, type MysqlConnectionOptions } from '@watched/core';
import { ClosedDuringStartError, EmbeddedServer, type EmbeddedServerOptions, type ServerProgram } from './embedded-server.js';
import { runProgram } from './run-program.js';
import { probeMysql } from './server-probe.js';

const INSTALL_TIMEOUT_MS = 120_000;
/** A Unix socket path must fit in sun_path (108 bytes on Linux). */
const MAX_SOCKET_PATH = 100;

export interface EmbeddedMariadbOptions extends EmbeddedServerOptions {
  /** Absolute paths of `mariadbd` and `mariadb-install-db`. */
  programs: { server: string; installDb: string };
  /** The database the connection names (migrate creates it). */
  database: string;
}

/**
 * A private MariaDB on 127.0.0.1 only, root with a password of its own,
 * its data initialised once with mariadb-install-db and kept between runs.
 * Started with --no-defaults: the system's my.cnf (its port, socket, data
 * directory) is never read.
 */
export class EmbeddedMariadb extends EmbeddedServer<MysqlConnectionOptions> {
  readonly label = 'MariaDB';
  /** Clear of 3306, where a MariaDB of the system may run. */
  protected readonly preferredPort = 13306;

  constructor(private readonly options: EmbeddedMariadbOptions) {
    super(options);
  }

  protected connectionOn(port: number): MysqlConnectionOptions {
    return { hosts: [{ host: '127.0.0.1', port }], user: 'root', password: this.password(), database: this.options.database };
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** mariadbd refuses to run as root unless told to, and then runs as that user. */
  private get userArgs(): string[] {
    return process.getuid?.() === 0 ? ['--user=root'] : [];
  }

  protected program(port: number): ServerProgram {
    const connection = this.connectionOn(port);
    return {
      name: 'mariadbd',
      program: this.options.programs.server,
      args: [
        '--no-defaults',
        ...this.userArgs,
        `--datadir=${this.dataDir}`,
        '--bind-address=127.0.0.1',
        `--port=${port}`,
        `--socket=${this.socketPath()}`,
        // What Debian's own configuration sets; --no-defaults would leave latin1.
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci',
        `--init-file=${this.rootPasswordSql(connection.password)}`,
      ],
      ready: () => probeMysql(connection, 2000),
      startTimeoutMs: 60_000,
      // InnoDB flushes on shutdown: give it time before SIGKILL.
      stopTimeoutMs: 60_000,
    };
  }

  /**
   * Creates the system tables on first use, in a scratch folder renamed into
   * place once complete: an interrupted initialisation is redone, never
   * mistaken for data.
   */
  protected override async prepare(signal: AbortSignal): Promise<void> {
    if (existsSync(join(this.dataDir, 'mysql'))) return;
    const scratch = `${this.dataDir}.init`;
    rmSync(scratch, { recursive: true, force: true });
    const args = ['--no-defaults', `--datadir=${scratch}`, ...this.userArgs, '--auth-root-authentication-method=normal', '--skip-test-db'];
    const result = await runProgram(this.options.programs.installDb, args, { timeoutMs: INSTALL_TIMEOUT_MS, signal });
    if (signal.aborted) throw new ClosedDuringStartError(this.label);
    if (result.failure) {
      rmSync(scratch, { recursive: true, force: true });
      const tail = result.output.trimEnd().split('\n').slice(-8).map((line) => `  ${line}`).join('\n');
      throw new StartupError(`${this.options.programs.installDb} could not initialise ${this.dataDir} (${result.failure}):\n${tail}`);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
    renameSync(scratch, this.dataDir);
    this.logger.info(`initialised a new MariaDB data directory in ${this.dataDir}`);
  }

  /**
   * SQL run by mariadbd at each start, before it takes connections: gives
   * root (its accounts as mariadb-install-db creates them) the password of
   * the password file, so a new or lost file takes effect at the next start.
   */
  private rootPasswordSql(password: string): string {
    const file = join(this.dir, 'init.sql');
    const hosts = ['localhost', '127.0.0.1', '::1', hostname()];
    const sql = hosts.map((host) => `ALTER USER IF EXISTS 'root'@'${host.replace(/'/g, "''")}' IDENTIFIED BY '${password}';`).join('\n');
    writeFileSync(file, `${sql}\n`, { mode: 0o600 });
    return file;
  }

  /** In its folder when the path is short enough for a socket, else in the temporary folder under a name of that folder's hash. */
  private socketPath(): string {
    const local = join(this.dir, 'mariadbd.sock');
    if (local.length <= MAX_SOCKET_PATH) return local;
    return join(tmpdir(), `watched-mariadbd-${createHash('sha256').update(this.dir).digest('hex').slice(0, 12)}.sock`);
  }
}
