import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestEnvironment, type TestEnvironment } from '../testing/test-environment.js';
import type { RowDataPacket } from '../mysql.js';
import { defaultMigrationsDir } from './migration-files.js';
import { MIGRATION_LEDGER, Migrator } from './migrator.js';

describe('Migrator', () => {
  let env: TestEnvironment;
  let dir: string;

  beforeAll(async () => {
    env = await createTestEnvironment('migrator', { migrate: false });
    // A private copy of migrations/, so the test can edit a file.
    dir = mkdtempSync(join(tmpdir(), 'watched-migrations-'));
    cpSync(defaultMigrationsDir(), dir, { recursive: true });
  });
  afterAll(async () => env.cleanup());

  const tables = async () => {
    const [rows] = await env.pool.query<RowDataPacket[]>(
      'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
      [env.database],
    );
    return rows.map((r) => String(r.t)).sort();
  };

  it('creates the whole upstream schema with its seed rows and views', async () => {
    const result = await new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).migrate();
    expect(result.applied[0]).toBe('0001_upstream_schema.sql');
    const names = await tables();
    for (const table of ['c$agents', 'agt$history', 'h$hosts', 'c$ressources', 's$log_events', 'h$res_events', 'u$users', 'agt$state', MIGRATION_LEDGER]) {
      expect(names).toContain(table);
    }
    for (const view of ['c$data_tables', 's$failed', 's$missing', 'h$monitoring_items']) {
      expect(names).toContain(view);
      await env.pool.query(`SELECT * FROM \`${view}\``);
    }
    const [types] = await env.pool.query<RowDataPacket[]>('SELECT id, name FROM `c$event_types` ORDER BY id');
    expect(types.slice(0, 5).map((r) => r.name)).toEqual(['Critical', 'Error', 'Warning', 'Notice', 'Information']);
    const [config] = await env.pool.query<RowDataPacket[]>("SELECT * FROM `c$aggregate_config` WHERE name = 'default'");
    expect(config[0]).toMatchObject({ delay_am: 30, delay_ah: 2, delay_ad: 1, retention_d: 14 });
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    const before = await tables();
    const result = await new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).migrate();
    expect(result.applied).toEqual([]);
    expect(await tables()).toEqual(before);
    const status = await new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).status();
    expect(status.every((s) => s.state === 'applied')).toBe(true);
  });

  it('runs safely when two migrate commands race', async () => {
    const results = await Promise.all([
      new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).migrate(),
      new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).migrate(),
    ]);
    expect(results.map((r) => r.applied.length)).toEqual([0, 0]);
  });

  it('applies a new numbered file once, in order', async () => {
    writeFileSync(join(dir, '0999_test_extra.sql'), 'CREATE TABLE IF NOT EXISTS `zz_extra` (id INT PRIMARY KEY);\n');
    const result = await new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).migrate();
    expect(result.applied).toEqual(['0999_test_extra.sql']);
    expect(await tables()).toContain('zz_extra');
  });

  it('refuses an applied migration that was edited, naming the file', async () => {
    const file = join(dir, '0001_upstream_schema.sql');
    writeFileSync(file, readFileSync(file, 'utf8') + '\n-- an edit\n');
    await expect(new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).migrate()).rejects.toThrow(
      /0001_upstream_schema\.sql was edited after it was applied/,
    );
    const status = await new Migrator({ mysql: env.mysqlUrl, migrationsDir: dir }).status();
    expect(status.find((s) => s.version === 1)?.state).toBe('edited');
  });

  it('refuses badly named files', () => {
    const bad = mkdtempSync(join(tmpdir(), 'watched-migrations-bad-'));
    writeFileSync(join(bad, '1_x.sql'), 'SELECT 1;');
    expect(() => new Migrator({ mysql: env.mysqlUrl, migrationsDir: bad })).toThrow(/NNNN_lowercase_words\.sql/);
  });
});
