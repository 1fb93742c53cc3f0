import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DAY_MS, HOUR_MS, MINUTE_MS, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { RollupPass, type RollupPassSettings } from './rollup-pass.js';
import {
  createDataTable,
  expectedBuckets,
  insertRows,
  makeRows,
  readBuckets,
  seedSeries,
  sorted,
  type Owner,
  type Row,
  type Series,
} from './testing/fixtures.js';
import { FencedError } from './watermarks.js';

const T0 = Date.UTC(2026, 0, 10); // a day boundary
const SETTINGS: RollupPassSettings = {
  chunk: { am: 10 * MINUTE_MS, ah: 2 * HOUR_MS, ad: DAY_MS },
  // Wide enough to reach back to the late rows the tests insert on day 1.
  lateWindow: 4 * DAY_MS,
  lateCheckInterval: 0,
  deleteBatch: 1000,
};
const always = () => true;

interface TypeFixture {
  dataType: string;
  owner: Owner;
  metrics: string[];
  series: Series[];
  rows: Row[];
}

async function expectLevels(env: TestEnvironment, t: TypeFixture): Promise<void> {
  for (const [level, size] of [['am', MINUTE_MS], ['ah', HOUR_MS], ['ad', DAY_MS]] as const) {
    const actual = sorted(await readBuckets(env.pool, `${level}$${t.dataType}`, t.owner, t.metrics));
    const expected = sorted(expectedBuckets(t.rows, t.metrics, size));
    // The first difference only: a diff of thousands of buckets takes Jest minutes to print.
    const i = expected.findIndex((e, k) => JSON.stringify(e) !== JSON.stringify(actual[k]));
    expect({ level, count: actual.length, first: actual[i] }).toEqual({ level, count: expected.length, first: expected[i] });
  }
}

async function watermark(env: TestEnvironment, dataType: string, level: string): Promise<{ watermark: number; term: number } | undefined> {
  const [rows] = await env.pool.query<RowDataPacket[]>('SELECT watermark, term FROM `c$rollup_watermarks` WHERE data_type = ? AND level = ?', [dataType, level]);
  return rows.length ? { watermark: Number(rows[0].watermark), term: Number(rows[0].term) } : undefined;
}

describe('rollups of d$ into am$, ah$ and ad$', () => {
  let env: TestEnvironment;
  let cpu: TypeFixture;
  let svc: TypeFixture;
  // Two full days of data; at NOW every day is complete past the 1-day delay.
  const NOW = T0 + 3 * DAY_MS + HOUR_MS;

  beforeAll(async () => {
    env = await createTestEnvironment('aggregator rollup');
    cpu = { dataType: 'cpu_usage', owner: 'host_id', metrics: ['user', 'system'], series: [], rows: [] };
    svc = { dataType: 'svc_stat', owner: 'serv_id', metrics: ['conns'], series: [], rows: [] };
    for (const [t, owners, resources, step, seed] of [[cpu, 2, 2, 20_000, 1], [svc, 2, 1, 30_000, 2]] as const) {
      t.series = await seedSeries(env.pool, t.dataType, t.owner, owners, resources);
      await createDataTable(env.pool, t.dataType, t.owner, t.metrics);
      t.rows = makeRows(t.series, t.metrics, T0, T0 + 2 * DAY_MS, step, seed);
      await insertRows(env.pool, t.dataType, t.owner, t.metrics, t.rows);
    }
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  it('gives exact avg/min/max/sum/cnt per minute, hour and day, for host and service tables', async () => {
    // Interrupted first: the pass stops after a few statements (as when the lease is lost mid-way).
    let budget = 12;
    const interrupted = new RollupPass(env.pool, SETTINGS, env.logger);
    await interrupted.run({ now: NOW, term: 1, active: () => budget-- > 0 });
    const partial = await watermark(env, 'cpu_usage', 'am');
    expect(partial?.watermark).toBeLessThan(T0 + 2 * DAY_MS);

    const pass = new RollupPass(env.pool, SETTINGS, env.logger);
    await pass.run({ now: NOW, term: 1, active: always });
    await expectLevels(env, cpu);
    await expectLevels(env, svc);
    expect(await watermark(env, 'cpu_usage', 'ad')).toEqual({ watermark: T0 + 2 * DAY_MS, term: 1 });
    // am: complete minutes up to now - 30 min (delay_am), past the data
    expect((await watermark(env, 'cpu_usage', 'am'))?.watermark).toBe(NOW - 30 * MINUTE_MS);
    expect(pass.stats.lagMs['am$cpu_usage']).toBe(30 * MINUTE_MS);

    // The front's contract: avg_/min_/max_ per metric, the owner column, key and foreign key.
    const [keys] = await env.pool.query<RowDataPacket[]>(
      `SELECT CONSTRAINT_NAME AS c, REFERENCED_TABLE_NAME AS r FROM information_schema.KEY_COLUMN_USAGE
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ah$svc_stat' AND COLUMN_NAME = 'serv_id'`,
    );
    expect(keys.map((k) => k.r ?? k.c).sort()).toEqual(['PRIMARY', 's$ressources']);
    const [tables] = await env.pool.query<RowDataPacket[]>('SELECT * FROM `c$data_tables` ORDER BY data_type');
    expect(tables).toEqual([
      { data_type: 'cpu_usage', drive: 'host_id', data_table: 'd$cpu_usage', aggregate_min: 'am$cpu_usage', aggregate_hour: 'ah$cpu_usage', aggregate_day: 'ad$cpu_usage' },
      { data_type: 'svc_stat', drive: 'serv_id', data_table: 'd$svc_stat', aggregate_min: 'am$svc_stat', aggregate_hour: 'ah$svc_stat', aggregate_day: 'ad$svc_stat' },
    ]);
  });

  it('is idempotent: a second pass, and a pass over rewound watermarks, change nothing', async () => {
    await new RollupPass(env.pool, SETTINGS, env.logger).run({ now: NOW, term: 1, active: always });
    await expectLevels(env, cpu);
    // As if a run had died after writing rows but before the watermark moved (it cannot, they commit together; worst case).
    await env.pool.query("UPDATE `c$rollup_watermarks` SET watermark = watermark - 5 * 3600000 WHERE data_type = 'cpu_usage'");
    await new RollupPass(env.pool, SETTINGS, env.logger).run({ now: NOW, term: 1, active: always });
    await expectLevels(env, cpu);
  });

  it('recomputes the minute, hour and day of late rows', async () => {
    // An agent's buffer replayed long after: rows in minutes already rolled up at every level.
    const late = makeRows(cpu.series.slice(0, 1), cpu.metrics, T0 + 5 * HOUR_MS + 7_000, T0 + 5 * HOUR_MS + 3 * MINUTE_MS, 20_000, 3);
    await insertRows(env.pool, 'cpu_usage', 'host_id', cpu.metrics, late);
    cpu.rows.push(...late);
    const pass = new RollupPass(env.pool, SETTINGS, env.logger);
    await pass.run({ now: NOW + MINUTE_MS, term: 1, active: always });
    expect(pass.stats.lateMinutes).toBe(3);
    expect(pass.stats.dirtyBuckets).toBe(2); // its hour, then its day
    await expectLevels(env, cpu);
    const [dirty] = await env.pool.query<RowDataPacket[]>('SELECT * FROM `c$rollup_dirty`');
    expect(dirty).toEqual([]);
  });

  it('recomputes minutes marked dirty in c$rollup_dirty (the ingestion hook), beyond the late window', async () => {
    const late = makeRows(cpu.series.slice(1, 2), cpu.metrics, T0 + 6 * HOUR_MS + 1_000, T0 + 6 * HOUR_MS + 50_000, 20_000, 5);
    await insertRows(env.pool, 'cpu_usage', 'host_id', cpu.metrics, late);
    cpu.rows.push(...late);
    await env.pool.query("INSERT INTO `c$rollup_dirty` (data_type, level, bucket, marked_at) VALUES ('cpu_usage', 'am', ?, 0)", [T0 + 6 * HOUR_MS]);
    const pass = new RollupPass(env.pool, { ...SETTINGS, lateWindow: MINUTE_MS }, env.logger);
    await pass.run({ now: NOW + MINUTE_MS, term: 1, active: always });
    expect(pass.stats.lateMinutes).toBe(0);
    expect(pass.stats.dirtyBuckets).toBe(3); // the minute, its hour, its day
    await expectLevels(env, cpu);
  });

  it('adds a new d$ column to every level and rolls it up', async () => {
    await env.pool.query('ALTER TABLE `d$cpu_usage` ADD COLUMN `iowait` DOUBLE NULL');
    cpu.metrics.push('iowait');
    for (const r of cpu.rows) r.values.iowait = null;
    // New data after the minute watermark (NOW - 30 min) carries the new column; the old rows have it NULL.
    const more = makeRows(cpu.series, cpu.metrics, NOW, NOW + 6 * HOUR_MS, 60_000, 4);
    await insertRows(env.pool, 'cpu_usage', 'host_id', cpu.metrics, more);
    cpu.rows.push(...more);
    // Late enough for the day of the new rows to be complete at every level.
    await new RollupPass(env.pool, { ...SETTINGS, lateWindow: HOUR_MS }, env.logger).run({ now: NOW + 2 * DAY_MS, term: 1, active: always });
    for (const level of ['am', 'ah', 'ad']) {
      const [cols] = await env.pool.query<RowDataPacket[]>(
        `SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME LIKE '%iowait'`,
        [`${level}$cpu_usage`],
      );
      expect(cols.map((c) => `${c.c}:${c.t}`).sort()).toEqual(['avg_iowait:double', 'cnt_iowait:double', 'max_iowait:double', 'min_iowait:double', 'sum_iowait:double']);
    }
    await expectLevels(env, cpu);
  });

  it('refuses writes from an older term (fencing)', async () => {
    await expect(new RollupPass(env.pool, SETTINGS, env.logger).run({ now: NOW + 3 * DAY_MS, term: 7, active: always })).resolves.toEqual({ behind: false });
    expect((await watermark(env, 'cpu_usage', 'am'))?.term).toBe(7);
    const before = await readBuckets(env.pool, 'am$cpu_usage', 'host_id', cpu.metrics);
    await expect(new RollupPass(env.pool, SETTINGS, env.logger).run({ now: NOW + 4 * DAY_MS, term: 6, active: always })).rejects.toBeInstanceOf(FencedError);
    expect(await readBuckets(env.pool, 'am$cpu_usage', 'host_id', cpu.metrics)).toEqual(before);
    expect((await watermark(env, 'cpu_usage', 'am'))?.term).toBe(7);
  });
});
