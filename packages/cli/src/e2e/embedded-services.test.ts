import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMysqlConnection, type Connection, type RowDataPacket } from '@watched/core';
import { freePort, waitFor } from '@watched/core/testing';
import { RoleProcess } from './processes.js';

/**
 * `watched up` on a machine whose MySQL and Redis are not running but whose
 * programs are installed: it starts private ones under --data-dir and stops
 * them with itself. The shared servers are never involved: the defaults are
 * pointed at closed ports (WATCHED_DEFAULT_*), and no WATCHED_MYSQL_URL or
 * WATCHED_REDIS_URL is set, as on a fresh machine.
 */

const STARTED = /started a private MariaDB on 127\.0\.0\.1:(\d+) and Redis on 127\.0\.0\.1:(\d+) \(data in ([^)]+)\)/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('watched up with nothing on the default ports', () => {
  const root = mkdtempSync(join(tmpdir(), 'watched-embedded-'));
  const dataDir = join(root, 'data');
  const started: RoleProcess[] = [];
  let defaults: NodeJS.ProcessEnv;

  /** `watched up` as a new user runs it: no URL of their own, defaults that do not answer. */
  async function up(label: string, args: string[]): Promise<RoleProcess> {
    defaults ??= {
      WATCHED_DEFAULT_MYSQL_URL: `mysql://root@127.0.0.1:${await freePort()}/watched`,
      WATCHED_DEFAULT_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    };
    const child = new RoleProcess(label, ['up', ...args], { mysqlUrl: '', redisUrl: '', prefix: 'embedded_services' }, {
      ...defaults,
      WATCHED_MYSQL_URL: undefined,
      WATCHED_REDIS_URL: undefined,
    });
    started.push(child);
    return child;
  }

  /** Waits for the line saying what was started; returns a root connection to the private MariaDB and the servers' pids. */
  async function privateServers(child: RoleProcess): Promise<{ mysql: Connection; pids: number[] }> {
    const [, mysqlPort, , dir] = await waitFor(
      'the line saying what was started',
      () => {
        if (!child.running) throw new Error(`watched up exited:\n${child.tail()}`);
        return STARTED.exec(child.output.join('')) ?? undefined;
      },
      30_000,
    );
    expect(dir).toBe(dataDir);
    const password = readFileSync(join(dataDir, 'mariadb', 'password'), 'utf8').trim();
    const mysql = await createMysqlConnection(`mysql://root:${encodeURIComponent(password)}@127.0.0.1:${mysqlPort}/watched`);
    const pids = ['mariadb/mariadbd.pid', 'redis/redis-server.pid'].map((file) => Number(readFileSync(join(dataDir, file), 'utf8')));
    return { mysql, pids };
  }

  async function count(mysql: Connection, table: string): Promise<number> {
    const [[row]] = await mysql.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
    return Number(row.n);
  }

  async function agents(mysql: Connection): Promise<string[]> {
    const [rows] = await mysql.query<RowDataPacket[]>('SELECT host, port FROM `c$agents` ORDER BY host, port');
    return rows.map((r) => `${r.host}:${r.port}`);
  }

  async function stopAndCheck(child: RoleProcess, mysql: Connection, pids: number[]): Promise<void> {
    await mysql.end();
    expect(await child.stop('SIGTERM', 60_000)).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(child.output.join('')).toContain('stopped the private MariaDB and Redis');
  }

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    // A server whose `up` was killed above is stopped by its pid file.
    for (const file of ['mariadb/mariadbd.pid', 'redis/redis-server.pid']) {
      const path = join(dataDir, file);
      if (existsSync(path)) process.kill(Number(readFileSync(path, 'utf8')), 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  });

  let firstAgents: string[] = [];
  let firstPolls = 0;

  it('starts a private MariaDB and Redis, stores the fleet in them, stops them on SIGTERM', async () => {
    const simPort = String(await freePort());
    const child = await up('up-1', ['--data-dir', dataDir, '--sim', '2', '--sim-freq', '1', '--sim-port', simPort]);
    const { mysql, pids } = await privateServers(child);
    expect(pids.every(alive)).toBe(true);
    await waitFor('rows in the private MariaDB', async () => (await count(mysql, 'agt$history').catch(() => 0)) >= 4 && (await count(mysql, 'd$cpu_usage').catch(() => 0)) > 0, 30_000, 200);
    firstAgents = await agents(mysql);
    expect(firstAgents).toHaveLength(2);
    firstPolls = await count(mysql, 'agt$history');
    await stopAndCheck(child, mysql, pids);
  });

  it('finds the previous run\'s data again with the same --data-dir', async () => {
    expect(firstPolls).toBeGreaterThan(0);
    const simPort = firstAgents[0].split(':')[1];
    const child = await up('up-2', ['--data-dir', dataDir, '--sim', '2', '--sim-freq', '1', '--sim-port', simPort]);
    const { mysql, pids } = await privateServers(child);
    expect(await count(mysql, 'agt$history')).toBeGreaterThanOrEqual(firstPolls);
    expect(await agents(mysql)).toEqual(firstAgents);
    await waitFor('new polls after the earlier ones', async () => (await count(mysql, 'agt$history')) > firstPolls, 30_000, 200);
    expect(child.output.join('')).not.toContain('initialised a new MariaDB data directory');
    await stopAndCheck(child, mysql, pids);
  });

  it('without the programs says in one line what is missing and how to get it, exit code 1', async () => {
    const emptyBin = join(root, 'no-programs');
    mkdirSync(emptyBin);
    const child = await up('up-missing', ['--data-dir', join(root, 'unused'), '--sim', '0', '--embedded-bin-path', emptyBin]);
    expect(await child.exited).toBe(1);
    const lines = child.output.join('').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^watched: MySQL at 127\.0\.0\.1:\d+: connect ECONNREFUSED; Redis at .* mariadbd, mariadb-install-db, redis-server are not installed/);
    expect(lines[0]).toContain('apt-get install mariadb-server redis-server');
    expect(lines[0]).toContain('docker compose up -d mariadb redis');
    expect(existsSync(join(root, 'unused'))).toBe(false);
  });

  it('with --embedded=never says in one line that the server does not answer, exit code 1', async () => {
    const child = await up('up-never', ['--data-dir', join(root, 'unused'), '--sim', '0', '--embedded', 'never']);
    expect(await child.exited).toBe(1);
    const lines = child.output.join('').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^watched: MySQL at 127\.0\.0\.1:\d+ does not answer \(connect ECONNREFUSED\).*; Redis at 127\.0\.0\.1:\d+ does not answer/);
  });
});
