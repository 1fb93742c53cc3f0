import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createMysqlPool, withTransaction, type Pool, type RowDataPacket } from './mysql.js';
import { writerVerdict } from './mysql-writer.js';
import { createTestEnvironment, type TestEnvironment } from './testing/test-environment.js';
import { TcpProxy } from './testing/tcp-proxy.js';
import { waitFor } from './testing/wait-for.js';

const row = (name: string, value: string) => ({ Variable_name: name, Value: value });

describe('what makes a MySQL host a writer', () => {
  it('refuses read_only, super_read_only and a Galera node not synced or not ready; takes a plain server', () => {
    expect(writerVerdict([row('read_only', 'OFF')], [])).toEqual({ writable: true });
    expect(writerVerdict([row('read_only', 'ON')], [])).toEqual({ writable: false, reason: 'read_only is ON' });
    expect(writerVerdict([row('read_only', 'OFF'), row('super_read_only', 'ON')], [])).toMatchObject({ writable: false });
    const galera = [row('read_only', 'OFF'), row('wsrep_on', 'ON')];
    expect(writerVerdict(galera, [row('wsrep_local_state', '4'), row('wsrep_ready', 'ON')])).toEqual({ writable: true });
    expect(writerVerdict(galera, [row('wsrep_local_state', '2'), row('wsrep_local_state_comment', 'Donor/Desynced'), row('wsrep_ready', 'ON')])).toEqual({
      writable: false,
      reason: 'Galera node not synced (wsrep_local_state=2 Donor/Desynced)',
    });
    expect(writerVerdict(galera, [row('wsrep_local_state', '4'), row('wsrep_ready', 'OFF')])).toMatchObject({ writable: false, reason: /not ready/ });
    // wsrep_on=OFF: a MariaDB with Galera compiled in but not clustered is a plain server.
    expect(writerVerdict([row('read_only', 'OFF'), row('wsrep_on', 'OFF')], [])).toEqual({ writable: true });
  });
});

describe('a multi-host MySQL URL (two proxies in front of the shared MariaDB)', () => {
  let env: TestEnvironment;
  let first: TcpProxy;
  let second: TcpProxy;
  let pool: Pool;

  beforeAll(async () => {
    env = await createTestEnvironment('mysql_writer', { migrate: false });
    const [server] = env.connections.mysql.hosts;
    first = new TcpProxy(server.host, server.port);
    second = new TcpProxy(server.host, server.port);
    await first.start();
    await second.start();
    pool = createMysqlPool(`mysql://root@127.0.0.1:${first.port},127.0.0.1:${second.port}/${env.database}?failback=1s`, { connectionLimit: 2 });
    await pool.query('CREATE TABLE `kv` (k INT PRIMARY KEY, v INT NOT NULL)');
  });

  afterAll(async () => {
    await pool?.end();
    await first?.close();
    await second?.close();
    await env?.cleanup();
  });

  it('writes to the first host; a transaction cut mid-way runs again on the second; then moves back after the settle period', async () => {
    expect(pool.writerStatus().writer).toBe(`127.0.0.1:${first.port}`);
    let attempts = 0;
    await withTransaction(pool, async (conn) => {
      attempts += 1;
      await conn.query('INSERT INTO `kv` VALUES (1, 1) ON DUPLICATE KEY UPDATE v = v + 1');
      if (attempts === 1) await first.cut();
      await conn.query('INSERT INTO `kv` VALUES (2, 1) ON DUPLICATE KEY UPDATE v = v + 1');
    });
    expect(attempts).toBe(2);
    // The first attempt was rolled back with its connection: each row once.
    const [rows] = await pool.query<RowDataPacket[]>('SELECT k, v FROM `kv` ORDER BY k');
    expect(rows.map((r) => [r.k, r.v])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    const status = pool.writerStatus();
    expect(status.writer).toBe(`127.0.0.1:${second.port}`);
    expect(status.failovers.map((f) => [f.from, f.to])).toEqual([[`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`]]);

    await first.restore();
    await waitFor('the writer back on the first host', () => pool.writerStatus().writer === `127.0.0.1:${first.port}`, 15_000, 100);
    expect(pool.writerStatus().failovers.at(-1)).toMatchObject({ to: `127.0.0.1:${first.port}`, reason: /writable again/ });
    await pool.query('INSERT INTO `kv` VALUES (3, 1)');
    expect(await pool.checkWriter()).toBe(`127.0.0.1:${first.port}`);
  }, 60_000);
});
