import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HostModel } from '@watched/agent-sim';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import { RollupPass } from './rollup-pass.js';
import { createDataTable, expectedBuckets, insertRows, readBuckets, seedSeries, sorted, type Bucket, type Row } from './testing/fixtures.js';

const T0 = Date.UTC(2026, 0, 10, 22); // two hours before a day boundary
const END = T0 + 4 * HOUR_MS;
const METRICS = ['iowait', 'irq', 'nice', 'softirq', 'system', 'user'];

/**
 * Full-precision doubles (agent-sim's values): SQL sums minute sums while
 * the test sums rows, so sums and averages may differ in the last bits
 * (relative 1e-12 allowed); counts, minima and maxima are exact.
 */
function expectClose(actual: Bucket[], expected: Bucket[]): void {
  expect(actual.map((b) => b.key)).toEqual(expected.map((b) => b.key));
  const close = (a: number | null, e: number | null) => (a === null || e === null ? a === e : Math.abs(a - e) <= 1e-12 * Math.max(1, Math.abs(e)));
  for (const [i, e] of expected.entries()) {
    const a = actual[i];
    expect(a.n).toBe(e.n);
    for (const m of Object.keys(e.metrics)) {
      const [am, em] = [a.metrics[m], e.metrics[m]];
      expect({ key: e.key, m, cnt: am.cnt, min: am.min, max: am.max }).toEqual({ key: e.key, m, cnt: em.cnt, min: em.min, max: em.max });
      if (!close(am.avg, em.avg) || !close(am.sum, em.sum)) {
        throw new Error(`${e.key} ${m}: avg ${am.avg} vs ${em.avg}, sum ${am.sum} vs ${em.sum}`);
      }
    }
  }
}

describe('rollups of agent-sim data', () => {
  let env: TestEnvironment;
  const rows: Row[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('aggregator agent sim');
    const series = await seedSeries(env.pool, 'cpu_usage', 'host_id', 3, 1);
    await createDataTable(env.pool, 'cpu_usage', 'host_id', METRICS);
    for (const [i, s] of series.entries()) {
      const model = new HostModel({ seed: 42, index: i, hostname: `sim-${i}`, sampleMs: 5000, bufferMs: 5 * HOUR_MS, logIntervalMs: 60_000 });
      const history = model.history('/system/cpuuse/all/history', T0, END)!;
      for (const h of history) {
        const values = Object.fromEntries(METRICS.map((m) => [m, h[m] === null || h[m] === undefined ? null : Number(h[m])]));
        rows.push({ owner: s.owner, res: s.res, ts: h.timestamp, values });
      }
    }
    await insertRows(env.pool, 'cpu_usage', 'host_id', METRICS, rows);
  });

  afterAll(async () => {
    await env?.cleanup();
  });

  it('matches a computation from the simulated rows at every level, caught up over several budgeted passes', async () => {
    expect(rows.length).toBeGreaterThan(3 * 2500);
    const pass = new RollupPass(
      env.pool,
      { chunk: { am: 10 * MINUTE_MS, ah: HOUR_MS, ad: DAY_MS }, lateWindow: HOUR_MS, lateCheckInterval: 0, deleteBatch: 1000, chunksPerPass: 5 },
      env.logger,
    );
    const now = END + 2 * DAY_MS;
    let passes = 0;
    for (let behind = true; behind; passes++) ({ behind } = await pass.run({ now, term: 1, active: () => true }));
    // 4 h of minutes in 10-minute chunks, 5 per pass (the empty span after the data is skipped in one chunk).
    expect(passes).toBeGreaterThanOrEqual(5);
    for (const [level, size] of [['am', MINUTE_MS], ['ah', HOUR_MS], ['ad', DAY_MS]] as const) {
      const actual = sorted(await readBuckets(env.pool, `${level}$cpu_usage`, 'host_id', METRICS));
      const expected = sorted(expectedBuckets(rows, METRICS, size));
      expectClose(actual, expected);
    }
  });
});
