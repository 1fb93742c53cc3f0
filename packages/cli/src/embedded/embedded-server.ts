import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IllegalStateError, type Logger } from '@watched/core';
import { choosePort, rememberPort } from './loopback-port.js';
import { ServerProcess, type ServerProcessOptions } from './server-process.js';

/** Thrown by start() when close() was called meanwhile (a signal during start-up). */
export class ClosedDuringStartError extends Error {
  constructor(label: string) {
    super(`${label} closed during start-up`);
    this.name = 'ClosedDuringStartError';
  }
}

/** How a kind of server is run: what ServerProcess needs, but its folder and logger. */
export type ServerProgram = Omit<ServerProcessOptions, 'dir' | 'logger'>;

/** What every private server is given. */
export interface EmbeddedServerOptions {
  /** Its folder: data, log, pid file, password, remembered port. */
  dir: string;
  logger: Logger;
}

/**
 * A private server `watched up` runs for itself (MariaDB, Redis) in a folder
 * of its own, on a loopback port of its own remembered there. Subclasses say
 * how to prepare the folder, run the program and connect to it (`C`: the
 * connection options the roles take).
 */
export abstract class EmbeddedServer<C> {
  /** `MariaDB`, `Redis`: what the user reads. */
  abstract readonly label: string;
  /** Tried when no port is remembered yet. */
  protected abstract readonly preferredPort: number;
  protected port?: number;
  private process?: ServerProcess;
  private preparing?: Promise<void>;
  /** Aborted by close(): a preparation under way (mariadb-install-db) is stopped, not left running. */
  private readonly closed = new AbortController();

  protected readonly dir: string;
  protected readonly logger: Logger;

  constructor(options: EmbeddedServerOptions) {
    this.dir = options.dir;
    this.logger = options.logger;
  }

  /** `127.0.0.1:<port>`, once started. */
  get address(): string {
    return `127.0.0.1:${this.port ?? '?'}`;
  }

  /** How the roles connect to it, once started. */
  get connection(): C {
    if (this.port === undefined) throw new IllegalStateError(`the private ${this.label} is not started`);
    return this.connectionOn(this.port);
  }

  protected abstract connectionOn(port: number): C;

  /**
   * The server's password, generated on first use and kept in
   * `<dir>/password` (mode 0600): every local user can reach a loopback
   * port, only this one can read the file.
   */
  get passwordFile(): string {
    return join(this.dir, 'password');
  }

  protected password(): string {
    if (!existsSync(this.passwordFile)) writeFileSync(this.passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    return readFileSync(this.passwordFile, 'utf8').trim();
  }

  /** Prepares the folder on first use (e.g. creates system tables); stops when `signal` aborts. */
  protected prepare(_signal: AbortSignal): Promise<void> {
    return Promise.resolve();
  }

  protected abstract program(port: number): ServerProgram;

  /** Prepares, starts, resolves once a real connection succeeds. */
  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.preparing = this.prepare(this.closed.signal);
    await this.preparing;
    const portFile = join(this.dir, 'port');
    const port = await choosePort(portFile, this.preferredPort);
    if (this.closed.signal.aborted) throw new ClosedDuringStartError(this.label);
    this.port = port;
    this.process = new ServerProcess({ ...this.program(port), dir: this.dir, logger: this.logger });
    await this.process.start();
    rememberPort(portFile, port);
  }

  /** Stops it (SIGTERM, awaited). Idempotent; safe before or during start. */
  async close(): Promise<void> {
    this.closed.abort();
    await this.preparing?.catch(() => undefined);
    await this.process?.close();
  }
}
