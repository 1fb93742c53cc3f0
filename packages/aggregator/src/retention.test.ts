import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DAY_MS, HOUR_MS, MINUTE_MS, type RowDataPacket } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { RollupPass } from './rollup-pass.js';
import { countRows, createLegacyDataTable, expectedBuckets, insertRows, makeRows, seedSeries, type Row } from './testing/fixtures.js';

const T0 = Date.UTC(2026, 0, 10);
// Deliberately not aligned to anything.
const NOW = T0 + 10 * DAY_MS + 12 * HOUR_MS + 17 * MINUTE_MS + 4_321;
const always = () => true;

describe('retention', () => {
  let env: TestEnvironment;
  const rows = new Map<string, Row[]>();

  beforeAll(async () => {
    env = await createTestEnvironment('aggregator retention');
    for (const [i, type] of ['mem', 'keep', 'slow'].entries()) {
      const series = await seedSeries(env.pool, type, 'host_id', 1, 2);
      // Tables not converted yet (`watched migrate --partition`): DELETE batches. Partitioned ones: partitions.test.ts.
      await createLegacyDataTable(env.pool, type, 'host_id', ['pct']);
      const data = makeRows(series, ['pct'], T0, T0 + 10 * DAY_MS + 12 * HOUR_MS, 10 * MINUTE_MS, 10 + i);
      await insertRows(env.pool, type, 'host_id', ['pct'], data);
      rows.set(type, data);
    }
    // Per-type rows (the front's admin page writes them); 'keep' uses the default row (14/60/730/0 days).
    await env.pool.query(
      `INSERT INTO \`c$aggregate_config\` (name, retention_d, retention_am, retention_ah, retention_ad) VALUES ('mem', 2, 4, 6, 8)`,
    );
    // 'slow' is never rolled up (a delay longer than its history): its raw rows must survive their retention.
    await env.pool.query(`INSERT INTO \`c$aggregate_config\` (name, delay_am, retention_d) VALUES ('slow', 1000000, 1)`);
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  it('deletes exactly the rows older than each level limit, in batches, and only what was rolled up', async () => {
    const pass = new RollupPass(
      env.pool,
      { chunk: { am: HOUR_MS, ah: DAY_MS, ad: 10 * DAY_MS }, lateWindow: HOUR_MS, lateCheckInterval: 0, deleteBatch: 100 },
      env.logger,
    );
    await pass.run({ now: NOW, term: 1, active: always });

    const cutoffs = {
      d: Math.floor((NOW - 2 * DAY_MS) / MINUTE_MS) * MINUTE_MS, // whole minutes
      am: Math.floor((NOW - 4 * DAY_MS) / HOUR_MS) * HOUR_MS, // whole hours
      ah: Math.floor((NOW - 6 * DAY_MS) / DAY_MS) * DAY_MS, // whole days
      ad: Math.floor((NOW - 8 * DAY_MS) / DAY_MS) * DAY_MS,
    };
    const mem = rows.get('mem')!;
    expect(await countRows(env.pool, 'd$mem', `timestamp < ${cutoffs.d}`)).toBe(0);
    expect(await countRows(env.pool, 'd$mem')).toBe(mem.filter((r) => r.ts >= cutoffs.d).length);
    // Each level holds the complete buckets (default delays 30 min, 2 h, 1 day) from its cutoff on.
    const levels = [['am', MINUTE_MS, 30 * MINUTE_MS], ['ah', HOUR_MS, 2 * HOUR_MS], ['ad', DAY_MS, DAY_MS]] as const;
    for (const [level, size, delay] of levels) {
      const complete = Math.floor((NOW - delay) / size) * size;
      const expected = [...expectedBuckets(mem, ['pct'], size, cutoffs[level], complete).keys()];
      const [[row]] = await env.pool.query<RowDataPacket[]>(
        `SELECT COUNT(*) AS n, MIN(timestamp) AS first FROM \`${level}$mem\``,
      );
      expect(Number(row.first)).toBeGreaterThanOrEqual(cutoffs[level]);
      expect(Number(row.n)).toBe(expected.length);
    }
    expect(pass.stats.deletedRows).toBeGreaterThan(1000);

    // The default row keeps 14 days of raw data: nothing of 'keep' goes.
    expect(await countRows(env.pool, 'd$keep')).toBe(rows.get('keep')!.length);
    // Never rolled up: kept despite its 1-day retention.
    expect(await countRows(env.pool, 'am$slow')).toBe(0);
    expect(await countRows(env.pool, 'd$slow')).toBe(rows.get('slow')!.length);
  });
});
