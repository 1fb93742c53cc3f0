import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DAY_MS, HOUR_MS, MINUTE_MS, readTimePartitions, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { RollupPass, type RollupPassSettings } from './rollup-pass.js';
import { countRows, createDataTable, expectedBuckets, insertRows, makeRows, readBuckets, seedSeries, sorted, type Row, type Series } from './testing/fixtures.js';

const T0 = Date.UTC(2026, 0, 10);
// Deliberately not aligned to anything.
const NOW = T0 + 6 * HOUR_MS + 17 * MINUTE_MS + 4_321;
/** A clock-skewed agent's row, a month ahead: kept in pfuture, never refused. */
const SKEWED = T0 + 30 * DAY_MS + 0.5;
const always = () => true;

const SETTINGS: RollupPassSettings = {
  chunk: { am: HOUR_MS, ah: DAY_MS, ad: DAY_MS },
  lateWindow: HOUR_MS,
  lateCheckInterval: 0,
  deleteBatch: 100,
  rawRetention: 3 * HOUR_MS,
  partitions: { spanMs: HOUR_MS, ahead: 2 },
  orphanSweep: { interval: 0, budget: 60_000 },
};

describe('d$ tables partitioned by time', () => {
  let env: TestEnvironment;
  let series: Series[];
  let rows: Row[];
  let pass: RollupPass;

  beforeAll(async () => {
    env = await createTestEnvironment('aggregator partitions');
    series = await seedSeries(env.pool, 'cpu', 'host_id', 2, 1);
    // Created as the worker creates it, at T0 (one partition to the end of T0's minute): the hourly ones are the aggregator's.
    await createDataTable(env.pool, 'cpu', 'host_id', ['v'], T0);
    rows = makeRows(series, ['v'], T0, T0 + 6 * HOUR_MS + 10 * MINUTE_MS, MINUTE_MS, 7);
    await insertRows(env.pool, 'cpu', 'host_id', ['v'], rows);
    await insertRows(env.pool, 'cpu', 'host_id', ['v'], [{ owner: series[1].owner, res: series[1].res, ts: SKEWED, values: { v: 1 } }]);
    pass = new RollupPass(env.pool, SETTINGS, env.logger);
    // The aggregator's first pass at T0 splits the catch-all into hours, moving the rows written meanwhile.
    expect(await countRows(env.pool, 'd$cpu', 'timestamp >= ' + (T0 + MINUTE_MS))).toBe(rows.length - 2 + 1);
    await pass.run({ now: T0, term: 1, active: always });
    expect((await readTimePartitions(env.pool, 'd$cpu'))!.map((p) => p.name)).toEqual([
      'p20260110_0000', 'p20260110_0001', 'p20260110_0100', 'p20260110_0200', 'pfuture',
    ]);
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  it('keeps one row per natural key: the primary key is (owner, res_id, timestamp), replays change nothing', async () => {
    const [key] = await env.pool.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd$cpu' AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
    );
    expect(key.map((k) => k.c)).toEqual(['host_id', 'res_id', 'timestamp']);
    const before = await countRows(env.pool, 'd$cpu');
    const replay = rows.slice(0, 500).map((r) => [r.owner, r.res, r.ts, 999]);
    await env.pool.query('INSERT INTO `d$cpu` (host_id, res_id, `timestamp`, v) VALUES ? ON DUPLICATE KEY UPDATE v = VALUES(v)', [replay]);
    expect(await countRows(env.pool, 'd$cpu')).toBe(before);
    // back to the generated values (the rollups below are compared with them)
    await env.pool.query('INSERT INTO `d$cpu` (host_id, res_id, `timestamp`, v) VALUES ? ON DUPLICATE KEY UPDATE v = VALUES(v)', [
      rows.slice(0, 500).map((r) => [r.owner, r.res, r.ts, r.values.v]),
    ]);
  });

  it('creates partitions ahead, drops whole partitions past the retention, keeps newer rows, rollups and the skewed row', async () => {
    await pass.run({ now: NOW, term: 1, active: always });

    const parts = (await readTimePartitions(env.pool, 'd$cpu'))!;
    const hourOfNow = Math.floor(NOW / HOUR_MS) * HOUR_MS;
    // partitions up to two hours past the current one, then the catch-all
    expect(parts.at(-1)).toMatchObject({ name: 'pfuture', endMs: Number.POSITIVE_INFINITY });
    expect(parts.at(-2)!.endMs).toBe(hourOfNow + 3 * HOUR_MS);
    // cutoff NOW - 3 h (rounded down to the minute) lies inside the hour T0+3h..T0+4h: the three hours before it go whole
    const cutoff = Math.floor((NOW - 3 * HOUR_MS) / MINUTE_MS) * MINUTE_MS;
    expect(parts[0].endMs).toBe(T0 + 4 * HOUR_MS);
    expect(parts[0].name).toBe('p20260110_0300');
    const kept = rows.filter((r) => r.ts >= T0 + 3 * HOUR_MS);
    expect(await countRows(env.pool, 'd$cpu', `timestamp < ${T0 + 3 * HOUR_MS}`)).toBe(0);
    // rows between the partition bound and the cutoff stay until their whole partition is past it
    expect(await countRows(env.pool, 'd$cpu', `timestamp >= ${T0 + 3 * HOUR_MS} AND timestamp < ${cutoff}`)).toBeGreaterThan(0);
    expect(await countRows(env.pool, 'd$cpu', `timestamp < ${SKEWED}`)).toBe(kept.length);
    expect(await countRows(env.pool, 'd$cpu', `timestamp = ${SKEWED}`)).toBe(1);
    expect(pass.stats).toMatchObject({ droppedPartitions: 4, deletedRows: rows.length - kept.length });
    expect(pass.stats.retentionPasses.at(-1)!.rows).toBe(rows.length - kept.length);

    // the minute rollups were built before the drop and stay whole (am$ keeps 60 days)
    const complete = Math.floor((NOW - 30 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
    const am = await readBuckets(env.pool, 'am$cpu', 'host_id', ['v']);
    expect(sorted(am)).toEqual(sorted(expectedBuckets(rows, ['v'], MINUTE_MS, T0, complete)));
  });

  it('moves the clock a day on: creates the partitions between, the skewed row moves into its partition once it exists', async () => {
    await pass.run({ now: NOW + DAY_MS, term: 1, active: always });
    const parts = (await readTimePartitions(env.pool, 'd$cpu'))!;
    expect(parts.at(-2)!.endMs).toBe(Math.floor((NOW + DAY_MS) / HOUR_MS) * HOUR_MS + 3 * HOUR_MS);
    expect(await countRows(env.pool, 'd$cpu', `timestamp = ${SKEWED}`)).toBe(1);
    expect(pass.stats.addedPartitions).toBeGreaterThanOrEqual(24);
    // every generated row is now past the retention: their partitions are gone, the skewed row's is not
    expect(await countRows(env.pool, 'd$cpu')).toBe(1);
  });

  it('deleting a host as the front does removes its d$ rows at the next sweep, and the front queries still work', async () => {
    const [gone, stays] = series;
    const recent = makeRows(series, ['v'], NOW + DAY_MS - 20 * MINUTE_MS, NOW + DAY_MS + 10 * MINUTE_MS, MINUTE_MS, 8);
    await insertRows(env.pool, 'cpu', 'host_id', ['v'], recent);
    const before = await countRows(env.pool, 'd$cpu', `host_id = ${stays.owner}`);
    expect(await countRows(env.pool, 'd$cpu', `host_id = ${gone.owner}`)).toBeGreaterThan(0);
    // the front's host cleaning: its h$ressources rows (and am$/ah$ rows, by their foreign keys) go by cascade
    await env.pool.query('DELETE FROM `h$hosts` WHERE id = ?', [gone.owner]);
    expect(await countRows(env.pool, 'am$cpu', `host_id = ${gone.owner}`)).toBe(0);
    // a worker still writing for the deleted host (its poll was under way): the row is taken, not refused
    const late = NOW + DAY_MS + 5 * MINUTE_MS;
    await insertRows(env.pool, 'cpu', 'host_id', ['v'], [{ owner: gone.owner, res: gone.res, ts: late, values: { v: 3 } }]);
    expect(await countRows(env.pool, 'd$cpu', `host_id = ${gone.owner}`)).toBeGreaterThan(0);

    await pass.run({ now: NOW + DAY_MS + 40 * MINUTE_MS, term: 1, active: always });
    expect(await countRows(env.pool, 'd$cpu', `host_id = ${gone.owner}`)).toBe(0);
    expect(await countRows(env.pool, 'd$cpu', `host_id = ${stays.owner}`)).toBe(before);
    expect(pass.stats.lastOrphanSweep).toMatchObject({ orphanSeries: 1, complete: true });
    expect(pass.stats.orphanRowsDeleted).toBeGreaterThan(0);
    // no rollup of the deleted host either (the minute of the late row was rolled up in this pass)
    expect(await countRows(env.pool, 'am$cpu', `host_id = ${gone.owner}`)).toBe(0);

    // the front's reads: metric columns from information_schema, the data tables view, a host graph's range
    const [metrics] = await env.pool.query<RowDataPacket[]>(
      "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd$cpu' AND DATA_TYPE IN ('int', 'double') AND COLUMN_NAME NOT IN ('host_id', 'res_id', 'timestamp')",
    );
    expect(metrics.map((m) => m.c)).toEqual(['v']);
    const [tables] = await env.pool.query<RowDataPacket[]>("SELECT data_table, drive, aggregate_min FROM `c$data_tables` WHERE data_type = 'cpu'");
    expect(tables).toEqual([{ data_table: 'd$cpu', drive: 'host_id', aggregate_min: 'am$cpu' }]);
    const [graph] = await env.pool.query<RowDataPacket[]>(
      'SELECT `timestamp`, v FROM `d$cpu` WHERE host_id = ? AND res_id = ? AND `timestamp` BETWEEN ? AND ? ORDER BY `timestamp`',
      [stays.owner, stays.res, NOW + DAY_MS - 20 * MINUTE_MS, NOW + DAY_MS + 10 * MINUTE_MS],
    );
    expect(graph).toHaveLength(30);
  });
});
