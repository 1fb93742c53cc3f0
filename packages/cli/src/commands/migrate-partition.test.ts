import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readTimePartitions, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, waitFor, type TestEnvironment } from '@watched/core/testing';
import { spawnWatched } from '../e2e/processes.js';

const DAY = 86_400_000;
const NOW = Date.now();
const BIG_ROWS = 400_000;

/** Row count and an exact, order-independent checksum of every row (timestamps are multiples of 1/4, values of 1/8). */
async function fingerprint(env: TestEnvironment, table: string): Promise<{ n: number; sum: string }> {
  const [[row]] = await env.pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('|', host_id, res_id, HEX(\`timestamp\` * 4), HEX(v * 8)))) AS sum FROM \`${table}\``,
  );
  return { n: Number(row.n), sum: String(row.sum) };
}

describe('watched migrate --partition (the real command)', () => {
  let env: TestEnvironment;
  const before: Record<string, { n: number; sum: string }> = {};

  beforeAll(async () => {
    env = await createTestEnvironment('cli_migrate_partition');
    await env.pool.query("INSERT INTO `c$ressources` (id, name, origin, data_type) VALUES (1, 'cpu', 'host', 'big'), (2, 'mem', 'host', 'small')");
    await env.pool.query('INSERT INTO `h$hosts` (id, name) SELECT seq, CONCAT(\'h\', seq) FROM seq_1_to_100');
    await env.pool.query('INSERT INTO `h$ressources` (host_id, res_id) SELECT seq, 1 FROM seq_1_to_100');
    await env.pool.query('INSERT INTO `h$ressources` (host_id, res_id) SELECT seq, 2 FROM seq_1_to_100');
    // The layout before issue 18: a foreign key to the resource link, no partitions; 10 days of rows.
    for (const [table, res, perHost] of [['d$big', 1, BIG_ROWS / 100], ['d$small', 2, 50]] as const) {
      await env.pool.query(
        `CREATE TABLE \`${table}\` (host_id INT UNSIGNED NOT NULL, res_id INT UNSIGNED NOT NULL, \`timestamp\` DOUBLE NOT NULL, v DOUBLE NULL,
           PRIMARY KEY (host_id, res_id, \`timestamp\`), KEY watched_timestamp_i (\`timestamp\`),
           CONSTRAINT \`fk_${table}\` FOREIGN KEY (host_id, res_id) REFERENCES \`h$ressources\` (host_id, res_id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB`,
      );
      await env.pool.query(
        `INSERT INTO \`${table}\` SELECT h.seq, ${res}, ${NOW - 10 * DAY} + s.seq * ${Math.floor((10 * DAY) / perHost)} + 0.25, (h.seq * s.seq) MOD 977 / 8
           FROM seq_1_to_100 h, seq_0_to_${perHost - 1} s`,
      );
      before[table] = await fingerprint(env, table);
    }
  });

  afterAll(async () => env?.cleanup());

  it('resumes after a SIGKILL mid-conversion and ends with every d$ table partitioned, every row kept', async () => {
    const first = spawnWatched('migrate', ['migrate', '--partition'], env);
    // d$big comes first (name order): killed while its ALTER runs on the server
    await waitFor('the ALTER of d$big on the server', async () => {
      const [rows] = await env.pool.query<RowDataPacket[]>(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'ALTER TABLE `d$big` LOCK=SHARED PARTITION BY%'",
      );
      return rows.length > 0 || !first.running;
    }, 60_000, 20);
    expect(first.running).toBe(true);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = spawnWatched('migrate', ['migrate', '--partition'], env);
    expect(await second.exited).toBe(0);
    const output = second.output.join('');
    // plain progress lines off a terminal, then the summary with the cost per million rows
    expect(output).toMatch(/partitioning d\$ tables: \d+\/\d+ rows \(estimated\) \(100%\)/);
    expect(output).toMatch(/partitioned \d d\$ table\(s\)/);

    for (const table of ['d$big', 'd$small']) {
      const parts = await readTimePartitions(env.pool, table);
      expect(parts?.at(-1)?.name).toBe('pfuture');
      // daily partitions from the oldest row's day to three days ahead of today
      expect(parts!.length).toBeGreaterThanOrEqual(14);
      const [fks] = await env.pool.query<RowDataPacket[]>(
        'SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [table],
      );
      expect(fks).toEqual([]);
      expect(await fingerprint(env, table)).toEqual(before[table]);
    }

    const third = spawnWatched('migrate', ['migrate', '--partition'], env);
    expect(await third.exited).toBe(0);
    expect(third.output.join('')).toMatch(/every d\$ table is partitioned already/);
  });
});
