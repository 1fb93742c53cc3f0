import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { TestCertificate, TestPki } from './test-pki.js';

/**
 * Second MariaDB and Redis servers with TLS, started by a test on free ports
 * in a temporary folder and removed by stop(). When this machine cannot run
 * one (binary missing, no TLS support), start throws ServerUnavailableError
 * saying exactly why, and the test skips with that reason.
 */
export class ServerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerUnavailableError';
  }
}

export interface TlsServer {
  port: number;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and removes its folder. Idempotent. */
  stop(): Promise<void>;
}

export interface TlsMariadb extends TlsServer {
  /** Runs statements as root over the server's Unix socket (never subject to require_secure_transport); returns each one's rows. */
  admin(sql: string[]): Promise<unknown[]>;
}

const START_TIMEOUT_MS = 60_000;

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function findBinary(names: string[]): string | undefined {
  for (const name of names) {
    for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    })());
}

/**
 * MariaDB with `require_secure_transport`: every TCP client must use TLS.
 * The server certificate is issued by `pki` for 127.0.0.1 and localhost;
 * client certificates from `pki` are accepted (for users REQUIRE X509).
 */
export async function startTlsMariadb(pki: TestPki): Promise<TlsMariadb> {
  const mariadbd = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (!mariadbd || !installDb) throw new ServerUnavailableError('mariadbd or mariadb-install-db is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'watched-tls-mariadb-'));
  const datadir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const user = process.getuid?.() === 0 ? ['--user=root'] : [];
  const install = spawnSync(installDb, ['--no-defaults', `--datadir=${datadir}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    encoding: 'utf8',
    timeout: START_TIMEOUT_MS,
  });
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new ServerUnavailableError(`mariadb-install-db failed (${install.status ?? install.signal}): ${(install.stderr || install.stdout).slice(-500)}`);
  }
  const server: TestCertificate = await pki.issue('mariadb', { dns: ['localhost'], ips: ['127.0.0.1'] });
  const port = await freePort();
  const errorLog = join(dir, 'error.log');
  const child = spawn(
    mariadbd,
    [
      '--no-defaults',
      ...user,
      `--datadir=${datadir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${errorLog}`,
      '--skip-name-resolve',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      `--ssl-ca=${pki.ca.certFile}`,
      `--ssl-cert=${server.certFile}`,
      `--ssl-key=${server.keyFile}`,
      '--require-secure-transport=ON',
    ],
    { stdio: 'ignore' },
  );
  const stop = stopper(child, dir);
  const admin = async (sql: string[]): Promise<unknown[]> => {
    const conn = await mysql.createConnection({ socketPath: socket, user: 'root' });
    try {
      const results: unknown[] = [];
      for (const statement of sql) results.push((await conn.query(statement))[0]);
      return results;
    } finally {
      await conn.end();
    }
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').slice(-800) : '';
      await stop();
      throw new ServerUnavailableError(`mariadbd exited (${child.exitCode ?? child.signalCode}) at start-up: ${log}`);
    }
    try {
      await admin(['SELECT 1']);
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new ServerUnavailableError(`mariadbd did not accept connections within ${START_TIMEOUT_MS} ms: ${(err as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const [[ssl]] = (await admin(["SHOW GLOBAL VARIABLES LIKE 'have_ssl'"])) as Array<Array<{ Value: string } | undefined>>;
  if (ssl?.Value !== 'YES') {
    await stop();
    throw new ServerUnavailableError(`this mariadbd build has no TLS (have_ssl = ${ssl?.Value ?? 'absent'})`);
  }
  return { port, admin, stop };
}

/**
 * redis-server listening only with TLS (`--port 0 --tls-port`), the default
 * user disabled and one ACL user `user` with `password`; client certificates
 * optional (Redis's own default requires them).
 */
export async function startTlsRedis(pki: TestPki, aclUser: { user: string; password: string }): Promise<TlsServer> {
  const redisServer = findBinary(['redis-server']);
  if (!redisServer) throw new ServerUnavailableError('redis-server is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'watched-tls-redis-'));
  const server = await pki.issue('redis', { dns: ['localhost'], ips: ['127.0.0.1'] });
  const port = await freePort();
  const child = spawn(
    redisServer,
    [
      '--port', '0',
      '--tls-port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
      '--tls-cert-file', server.certFile,
      '--tls-key-file', server.keyFile,
      '--tls-ca-cert-file', pki.ca.certFile,
      '--tls-auth-clients', 'optional',
      // Each word its own argument: redis-server quotes every argument as one token.
      '--user', 'default', 'off',
      '--user', aclUser.user, 'on', `>${aclUser.password}`, '~*', '&*', '+@all',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = stopper(child, dir);
  let output = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  if (!ready) {
    await stop();
    const why = /tls|TLS/.test(output) ? output.slice(-600) : `no "Ready to accept connections" within ${START_TIMEOUT_MS} ms: ${output.slice(-600)}`;
    throw new ServerUnavailableError(`redis-server with --tls-port did not start (this build may lack TLS support): ${why}`);
  }
  return { port, stop };
}
