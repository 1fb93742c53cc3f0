import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { DataTables } from './data-tables.js';

describe('DataTables (real MariaDB)', () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment('data_tables');
  });
  afterAll(async () => env.cleanup());

  const columns = async (table: string) => {
    const [rows] = await env.pool.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [table],
    );
    return rows.map((r) => `${r.c}:${r.t}`);
  };

  it('lets several workers discover the same new table and columns at the same moment', async () => {
    // Separate instances stand for separate processes: no shared in-memory state, only MySQL's lock.
    const workers = Array.from({ length: 4 }, () => new DataTables(env.pool, env.logger));
    await Promise.all(workers.map((w) => w.ensure({ name: 'race', owner: 'host', properties: ['a', 'b'], declared: new Set() })));
    expect(await columns('d$race')).toEqual(['host_id:int', 'res_id:int', 'timestamp:double', 'a:double', 'b:double']);
    await Promise.all(
      workers.map((w, i) => w.ensure({ name: 'race', owner: 'host', properties: i % 2 ? ['a', 'b', 'c'] : ['a', 'b', 'c', 'd'], declared: new Set() })),
    );
    expect(await columns('d$race')).toEqual(['host_id:int', 'res_id:int', 'timestamp:double', 'a:double', 'b:double', 'c:double', 'd:double']);
  });

  it('creates service tables keyed by serv_id, and a type with no metric at all', async () => {
    const tables = new DataTables(env.pool, env.logger);
    await tables.ensure({ name: 'svc_stat', owner: 'service', properties: ['q'], declared: new Set() });
    await tables.ensure({ name: 'thermal', owner: 'host', properties: [], declared: new Set() });
    expect(await columns('d$svc_stat')).toEqual(['serv_id:int', 'res_id:int', 'timestamp:double', 'q:double']);
    expect(await columns('d$thermal')).toEqual(['host_id:int', 'res_id:int', 'timestamp:double']);
  });

  it('refuses to turn a host table into a service table', async () => {
    const tables = new DataTables(env.pool, env.logger);
    await expect(tables.ensure({ name: 'race', owner: 'service', properties: ['a'], declared: new Set() })).rejects.toThrow(/keyed by host_id/);
  });

  it('refuses a new table past --max-data-tables, and still extends the tables that exist', async () => {
    const [[{ n }]] = await env.pool.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$%'",
    );
    const tables = new DataTables(env.pool, env.logger, Number(n) + 1);
    expect(await tables.ensure({ name: 'one_more', owner: 'host', properties: ['a'], declared: new Set() })).toBe('changed');
    await expect(tables.ensure({ name: 'one_too_many', owner: 'host', properties: ['a'], declared: new Set() })).rejects.toThrow(
      /data type one_too_many would need a new table, but the installation already has \d+ d\$ tables \(limit --max-data-tables \d+\)/,
    );
    expect(await columns('d$one_too_many')).toEqual([]);
    expect(await tables.ensure({ name: 'one_more', owner: 'host', properties: ['a', 'b'], declared: new Set() })).toBe('changed');
    expect(await tables.ensure({ name: 'one_more', owner: 'host', properties: ['a', 'b'], declared: new Set() })).toBe('unchanged');
  });
});
