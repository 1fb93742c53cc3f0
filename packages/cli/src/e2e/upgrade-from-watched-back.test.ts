import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RollupPass } from '@watched/aggregator';
import {
  createMysqlConnection, DAY_MS, detectDatabase, FrontUsers, HOUR_MS, Migrator, MINUTE_MS, readTimePartitions, type MigrateResult, type Pool, type RowDataPacket,
} from '@watched/core';
import { createTestEnvironment, frontLogin, frontLoginWithPhp, type TestEnvironment } from '@watched/core/testing';
import { storedRows } from './fleet-expectations.js';
import { createPipeline, FROZEN_START, type PipelineHarness } from './pipeline-harness.js';

const FIXTURE = readFileSync(new URL('./fixtures/watched-back-database.sql', import.meta.url), 'utf8');
/** The fixture's clock: raw rows 08:00-10:00, minute rollups to 09:30, hour rollups to 09:00 (2026-11-29). */
const AT = (hh: number, mm = 0) => Date.UTC(2026, 10, 29, hh, mm);
const OUR_UPGRADE_TABLES = ['c$upgrade_log', 'c$upgrade_quarantine'];

/** Every row of a table, metric columns read as exact doubles (FLOAT and DOUBLE(20,4) widened by the server, not rounded by text). */
async function snapshot(pool: Pool, table: string, keys: string[]): Promise<Map<string, Record<string, number | null>>> {
  const [cols] = await pool.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [table],
  );
  const values = cols.map((c) => String(c.c)).filter((c) => !keys.includes(c));
  const [rows] = await pool.query<RowDataPacket[]>(
    `SELECT ${keys.map((k) => `\`${k}\``).join(', ')}${values.map((v) => `, CAST(\`${v}\` AS DOUBLE) AS \`${v}\``).join('')} FROM \`${table}\``,
  );
  return new Map(rows.map((r) => [keys.map((k) => Number(r[k])).join('|'), Object.fromEntries(values.map((v) => [v, r[v] === null ? null : Number(r[v])]))]));
}

async function rollupPasses(pool: Pool, env: TestEnvironment): Promise<void> {
  const pass = new RollupPass(
    pool,
    { chunk: { am: 10 * MINUTE_MS, ah: 2 * HOUR_MS, ad: DAY_MS }, lateWindow: 2 * HOUR_MS, lateCheckInterval: 0, deleteBatch: 1000 },
    env.logger,
  );
  for (let behind = true; behind; ) ({ behind } = await pass.run({ now: FROZEN_START + 2 * DAY_MS, term: 1, active: () => true }));
}

/** The layout information_schema shows for a schema: tables, columns, keys, foreign keys, views (names of the schema itself masked). */
async function layout(pool: Pool, database: string): Promise<Record<string, string[]>> {
  const q = async (sql: string) => {
    const [rows] = await pool.query<RowDataPacket[]>(sql, [database]);
    return rows
      .filter((r) => !OUR_UPGRADE_TABLES.includes(String(r.t)))
      .map((r) => JSON.stringify(Object.values(r)).replaceAll(database, '<db>'))
      .sort();
  };
  return {
    tables: await q('SELECT TABLE_NAME AS t, TABLE_TYPE, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?'),
    columns: await q(
      `SELECT TABLE_NAME AS t, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLLATION_NAME, GENERATION_EXPRESSION
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`,
    ),
    keys: await q('SELECT TABLE_NAME AS t, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?'),
    foreignKeys: await q(
      `SELECT k.TABLE_NAME AS t, k.CONSTRAINT_NAME, k.ORDINAL_POSITION, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
        WHERE k.TABLE_SCHEMA = ?`,
    ),
    views: await q('SELECT TABLE_NAME AS t, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?'),
  };
}

describe('watched migrate on a database written by watched.back', () => {
  let upgraded: PipelineHarness;
  let fresh: PipelineHarness;
  let env: TestEnvironment;
  let dryRun: string[];
  let upgrade: MigrateResult;
  let before: Record<string, Map<string, Record<string, number | null>>>;

  beforeAll(async () => {
    env = await createTestEnvironment('upgrade from watched back', { migrate: false });
    const conn = await createMysqlConnection(env.mysqlUrl, { multipleStatements: true });
    await conn.query(FIXTURE);
    await conn.end();
    before = {
      'd$cpu_usage': await snapshot(env.pool, 'd$cpu_usage', ['host_id', 'res_id', 'timestamp']),
      'd$disk_usage': await snapshot(env.pool, 'd$disk_usage', ['host_id', 'res_id', 'timestamp']),
      'am$cpu_usage': await snapshot(env.pool, 'am$cpu_usage', ['host_id', 'res_id', 'timestamp']),
      'ah$cpu_usage': await snapshot(env.pool, 'ah$cpu_usage', ['host_id', 'res_id', 'timestamp']),
      'h$res_events': await snapshot(env.pool, 'h$res_events', ['id']),
    };
    dryRun = await new Migrator({ mysql: env.mysqlUrl }).plan();
  });

  afterAll(async () => {
    await upgraded?.close();
    await fresh?.close();
    if (!upgraded) await env?.cleanup();
  });

  it('--dry-run lists the conversion and the migrations, and changes nothing', async () => {
    const text = dryRun.join('\n');
    expect(text).toMatch(/written by watched\.back/);
    expect(text).toMatch(/ALTER TABLE `d\$cpu_usage`[\s\S]*MODIFY COLUMN `user` double NULL/);
    expect(text).toMatch(/UPDATE `h\$hosts` SET name = 'web1~dup4' WHERE id = 4/);
    expect(text).toMatch(/-- apply 0002_agent_state\.sql/);
    const conn = await createMysqlConnection(env.mysqlUrl);
    expect((await detectDatabase(conn, env.database)).kind).toBe('watched-back');
    await conn.end();
    expect(await snapshot(env.pool, 'd$cpu_usage', ['host_id', 'res_id', 'timestamp'])).toEqual(before['d$cpu_usage']);
  });

  it('converts in place: every old row keeps its value, lossy columns become DOUBLE', async () => {
    const result = await new Migrator({ mysql: env.mysqlUrl }).migrate();
    upgrade = result;
    expect(result.kind).toBe('watched-back');
    expect(result.applied).toContain('0001_upstream_schema.sql');

    const [types] = await env.pool.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ct FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()
          AND TABLE_NAME IN ('d$cpu_usage', 'd$disk_usage', 'am$cpu_usage', 'ah$cpu_usage', 'h$res_events') AND DATA_TYPE IN ('double', 'float', 'decimal', 'int')
          AND COLUMN_NAME NOT IN ('host_id', 'res_id', 'id', 'event_type', 'rule_id', 'open_rule')`,
    );
    expect(types.filter((r) => r.ct !== 'double').map((r) => `${r.t}.${r.c} ${r.ct}`)).toEqual([]);

    // raw tables end partitioned by time (retention drops partitions), without foreign keys (the orphan sweep's job)
    for (const table of ['d$cpu_usage', 'd$disk_usage']) {
      expect((await readTimePartitions(env.pool, table))?.at(-1)?.name).toBe('pfuture');
      const [fks] = await env.pool.query<RowDataPacket[]>(
        'SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [table],
      );
      expect(fks).toEqual([]);
    }
    for (const table of ['d$cpu_usage', 'd$disk_usage', 'h$res_events']) {
      const after = await snapshot(env.pool, table, table === 'h$res_events' ? ['id'] : ['host_id', 'res_id', 'timestamp']);
      for (const [key, values] of before[table]) expect({ table, key, ...after.get(key) }).toMatchObject({ table, key, ...values });
    }
    // the orphan minute row (host 88) is in the quarantine, every other old rollup row is unchanged
    const am = await snapshot(env.pool, 'am$cpu_usage', ['host_id', 'res_id', 'timestamp']);
    for (const [key, values] of before['am$cpu_usage']) {
      if (key.startsWith('88|')) expect(am.has(key)).toBe(false);
      else expect({ key, ...am.get(key) }).toMatchObject({ key, ...values });
    }
  });

  it('sets orphans aside, renames hosts that differ by case, keeps zero-length events, fixes c$data_tables', async () => {
    const [quarantined] = await env.pool.query<RowDataPacket[]>('SELECT table_name AS t, reason, row_data FROM `c$upgrade_quarantine` ORDER BY id');
    const byTable = quarantined.map((q) => `${q.t}: ${q.row_data}`).join('\n');
    expect(byTable).toMatch(/am\$cpu_usage: \{"host_id": 88/);
    expect(byTable).toMatch(/a\$services: \{"app_id": 1, "serv_id": 999\}/);
    expect(byTable).toMatch(/h\$hosts: \{"id": 5, "name": "db1", "domain_id": 99\}/);
    expect(byTable).toMatch(/am\$disk_usage: /);
    const [hosts] = await env.pool.query<RowDataPacket[]>('SELECT id, name, domain_id FROM `h$hosts` ORDER BY id');
    expect(hosts.map((h) => [h.id, h.name, h.domain_id])).toEqual([
      [1, 'sim-00001', 1], [2, 'sim-00002', null], [3, 'Web1', 2], [4, 'web1~dup4', 2], [5, 'db1', null],
    ]);
    const [[zero]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `h$res_events` WHERE end_time = start_time');
    expect(Number(zero.n)).toBe(1);
    const [[dup]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n, COUNT(DISTINCT `timestamp`) AS d FROM `am$disk_usage`');
    expect(Number(dup.n)).toBe(90);
    expect(Number(dup.d)).toBe(90);
    const [views] = await env.pool.query<RowDataPacket[]>('SELECT data_type, drive, data_table, aggregate_min, aggregate_hour, aggregate_day FROM `c$data_tables` ORDER BY data_type');
    expect(views.find((v) => v.data_type === 'cpu_usage')).toEqual({
      data_type: 'cpu_usage', drive: 'host_id', data_table: 'd$cpu_usage', aggregate_min: 'am$cpu_usage', aggregate_hour: 'ah$cpu_usage', aggregate_day: null,
    });
    const [[errors]] = await env.pool.query<RowDataPacket[]>(
      "SELECT SUM(GREATEST(b.row_count - a.row_count, 0)) AS lost FROM `c$upgrade_log` b JOIN `c$upgrade_log` a ON a.table_name = b.table_name AND a.step = 'after' WHERE b.step = 'baseline'",
    );
    expect(Number(errors.lost)).toBe(3); // the two orphans moved out and the extra copy of the duplicate minute
    const [grown] = await env.pool.query<RowDataPacket[]>(
      "SELECT b.table_name AS t FROM `c$upgrade_log` b JOIN `c$upgrade_log` a ON a.table_name = b.table_name AND a.step = 'after' WHERE b.step = 'baseline' AND a.row_count > b.row_count ORDER BY 1",
    );
    expect(grown.map((r) => r.t)).toEqual(['p$domains', 'p$roles', 'p$teams']); // the front's seed rows the fixture lacked (migration 0009)
  });

  it("keeps the front's users and their passwords, adds only the seed rows it lacked, and its login works", async () => {
    expect(upgrade.frontAdmin).toEqual({ outcome: 'kept' });
    const [users] = await env.pool.query<RowDataPacket[]>('SELECT id, username, passhash FROM `u$users` ORDER BY id');
    expect(users.map((u) => [u.id, u.username, u.passhash])).toEqual([
      [1, 'public', null], [2, 'admin', '$2y$10$notARealHashJustTheRightShapeForTheFixture0000000000'],
    ]);
    const [teams] = await env.pool.query<RowDataPacket[]>('SELECT id, name, superadmin FROM `p$teams` ORDER BY id');
    expect(teams).toHaveLength(14);
    expect(teams.slice(0, 3).map((t) => [t.id, t.name, t.superadmin])).toEqual([[1, 'admin', 1], [2, 'public', null], [3, 'Production sysadmin', null]]);
    const [roles] = await env.pool.query<RowDataPacket[]>('SELECT id, name FROM `p$roles` ORDER BY id');
    expect(roles.map((r) => r.name)).toEqual(['hostadmin', 'sysadmin', 'dba', 'webadmin']);
    const [[rights]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n, SUM(team_id = 3 AND domain_id = 1) AS theirs FROM `p$domains`');
    expect([Number(rights.n), Number(rights.theirs)]).toEqual([16, 2]);

    // the fixture's hash matches no password: set one as `watched users passwd admin` does, then log in as the front does
    const conn = await env.pool.getConnection();
    await new FrontUsers(conn).setPassword('admin', 'after-the-upgrade').finally(() => conn.release());
    expect(await frontLogin(env.pool, 'admin', 'after-the-upgrade')).toEqual({ loggedIn: true, admin: true });
    expect(await frontLoginWithPhp(env.mysqlUrl, 'admin', 'after-the-upgrade')).toEqual({ loggedIn: true, admin: true });
  });

  it('after a poll cycle and an aggregation: new rows at full precision, rollups go on from where the old ones stopped', async () => {
    upgraded = await createPipeline('upgrade from watched back', { hosts: 2 }, {}, env);
    fresh = await createPipeline('upgrade reference', { hosts: 2 });
    await upgraded.poll(1);
    await fresh.poll(1);

    // the same rows a fresh installation stores, on the old hosts and resources
    const ours = await storedRows(upgraded.env.pool);
    const theirs = await storedRows(fresh.env.pool);
    const recent = new Map([...ours.rows].filter(([key]) => Number(key.split('|').at(-1)) >= AT(11)));
    expect(theirs.count).toBeGreaterThan(100);
    expect(recent).toEqual(theirs.rows);
    const [[cpu]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `d$cpu_usage` WHERE host_id = 1 AND res_id = 1 AND `timestamp` >= ?', [AT(11)]);
    expect(Number(cpu.n)).toBeGreaterThan(10);
    const [newValues] = await env.pool.query<RowDataPacket[]>('SELECT user FROM `d$cpu_usage` WHERE `timestamp` >= ?', [AT(11)]);
    expect(newValues.some((r) => Math.abs(r.user * 1e4 - Math.round(r.user * 1e4)) > 1e-3)).toBe(true);

    await rollupPasses(upgraded.env.pool, env);
    await rollupPasses(fresh.env.pool, fresh.env);

    const am = await snapshot(env.pool, 'am$cpu_usage', ['host_id', 'res_id', 'timestamp']);
    for (const [key, values] of before['am$cpu_usage']) {
      if (!key.startsWith('88|')) expect({ key, ...am.get(key) }).toMatchObject({ key, ...values });
    }
    const ah = await snapshot(env.pool, 'ah$cpu_usage', ['host_id', 'res_id', 'timestamp']);
    for (const [key, values] of before['ah$cpu_usage']) expect({ key, ...ah.get(key) }).toMatchObject({ key, ...values });

    // minutes 09:30-09:59 (raw rows watched.back had not rolled up yet) and the new ones
    expect(am.get(`1|1|${AT(9, 30)}`)).toMatchObject({ n_rows: 2, cnt_user: 2 });
    expect(am.get(`1|1|${AT(11, 58)}`)?.n_rows).toBeGreaterThan(0);
    // hour 09:00 mixes old minutes (counts derived from raw rows) and new ones: the count-weighted mean of its
    // minutes, which is the mean of the raw rows up to the old minutes' FLOAT rounding (1e-7 relative)
    const [[raw]] = await env.pool.query<RowDataPacket[]>(
      'SELECT AVG(user) AS avg, COUNT(user) AS n FROM `d$cpu_usage` WHERE host_id = 1 AND res_id = 1 AND `timestamp` >= ? AND `timestamp` < ?',
      [AT(9), AT(10)],
    );
    const nine = ah.get(`1|1|${AT(9)}`)!;
    const minutes = [...am].filter(([k]) => k.startsWith('1|1|') && Number(k.split('|')[2]) >= AT(9) && Number(k.split('|')[2]) < AT(10)).map(([, v]) => v);
    expect(minutes).toHaveLength(60);
    expect(nine.cnt_user).toBe(Number(raw.n));
    expect(nine.avg_user).toBeCloseTo(minutes.reduce((s, m) => s + m.avg_user! * m.cnt_user!, 0) / Number(raw.n), 12);
    expect(Math.abs(nine.avg_user! - Number(raw.avg)) / Number(raw.avg)).toBeLessThan(1e-7);
    // old hours got counts: 06:00 from minutes without raw rows (one each), 08:00 from minutes with raw rows (two each)
    expect(ah.get(`1|1|${AT(6)}`)).toMatchObject({ n_rows: 60, cnt_user: 60 });
    expect(ah.get(`1|1|${AT(8)}`)).toMatchObject({ n_rows: 120, cnt_user: 120 });
    // the day level did not exist: built from every hour, weighted by counts
    const ad = await snapshot(env.pool, 'ad$cpu_usage', ['host_id', 'res_id', 'timestamp']);
    const day = ad.get(`1|1|${AT(0)}`)!;
    const hours = [...ah].filter(([k]) => k.startsWith('1|1|')).map(([, v]) => v);
    const weighted = hours.reduce((s, h) => s + h.sum_user!, 0) / hours.reduce((s, h) => s + h.cnt_user!, 0);
    expect(day.avg_user).toBeCloseTo(weighted, 9);
    expect(day.cnt_user).toBe(hours.reduce((s, h) => s + h.cnt_user!, 0));
    // the hour table upstream never created for disk_usage is there and rolled up
    const [[diskHours]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `ah$disk_usage` WHERE host_id = 1 AND res_id = 2');
    expect(Number(diskHours.n)).toBeGreaterThanOrEqual(3);
  });

  it('a second migrate changes nothing', async () => {
    const [[log]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `c$upgrade_log`');
    const layoutBefore = await layout(env.pool, env.database);
    const result = await new Migrator({ mysql: env.mysqlUrl }).migrate();
    expect(result).toMatchObject({ applied: [], kind: 'watched' });
    const [[logAfter]] = await env.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM `c$upgrade_log`');
    expect(logAfter.n).toBe(log.n);
    expect(await layout(env.pool, env.database)).toEqual(layoutBefore);
    expect((await new Migrator({ mysql: env.mysqlUrl }).plan()).join('\n')).toMatch(/is up to date: nothing to do/);
  });

  it('resumes an upgrade that did not finish without redoing or undoing anything', async () => {
    const layoutBefore = await layout(env.pool, env.database);
    await env.pool.query("DELETE FROM `c$upgrade_log` WHERE step = 'finished'");
    const [[converted]] = await env.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM `c$upgrade_log` WHERE step = 'convert'");
    const result = await new Migrator({ mysql: env.mysqlUrl }).migrate();
    expect(result).toMatchObject({ applied: [], kind: 'upgrade-unfinished' });
    const [[after]] = await env.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM `c$upgrade_log` WHERE step = 'convert'");
    expect(after.n).toBe(converted.n);
    expect(await layout(env.pool, env.database)).toEqual(layoutBefore);
    const conn = await createMysqlConnection(env.mysqlUrl);
    expect((await detectDatabase(conn, env.database)).kind).toBe('watched');
    await conn.end();
  });

  it('ends with the same schema as a fresh database that ran the same poll and aggregation', async () => {
    const ours = await layout(upgraded.env.pool, upgraded.env.database);
    const theirs = await layout(fresh.env.pool, fresh.env.database);
    for (const part of Object.keys(theirs)) expect({ part, rows: ours[part] }).toEqual({ part, rows: theirs[part] });
  });
});
