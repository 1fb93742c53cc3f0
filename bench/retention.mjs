#!/usr/bin/env node
// Scenario `retention`: the retention of one day of 5-second data of N hosts
// (default 1,000: 17,280 rows per host), before (a d$ table as it was: DELETE
// batches of 5,000 on the time index) and after issue 18 (the same rows in a
// table partitioned by day: one DROP PARTITION), both through the
// aggregator's RollupPass. Also measured: `watched migrate --partition`'s
// conversion of that table (DataTablePartitioner), per million rows.
// Usage: npm run bench -- retention [--hosts=1000]   (after npm run build; MariaDB only: seq_ tables)
import { createLogger, DataTablePartitioner, DAY_MS, HOUR_MS, MINUTE_MS } from '@watched/core';
import { RollupPass } from '@watched/aggregator';
import { generateDay, legacyCpuTableSql, seedHosts } from './lib/day-of-data.mjs';
import { scratchDatabase } from './lib/mysql-data.mjs';
import { loadAverage, machineInfo, parseFlags, writeResult } from './lib/report.mjs';

const { hosts } = parseFlags(process.argv.slice(2), { hosts: 1000 }, 'usage: npm run bench -- retention [--hosts=1000]');
const T0 = Date.UTC(2026, 0, 10);
const logger = createLogger({ level: 'info', format: 'pretty' });
const seconds = (t) => +((performance.now() - t) / 1000).toFixed(2);
const steps = [];

const database = await scratchDatabase('retention');
const pool = database.pool;
const machine = await machineInfo(pool);
try {
  let t = performance.now();
  await seedHosts(pool, hosts);
  // Both types read the same resource; the resource's data_type only matters to the front's view.
  await pool.query(legacyCpuTableSql('d$cpu_delete', true));
  await pool.query(legacyCpuTableSql('d$cpu_drop', true));
  const rows = await generateDay(pool, 'd$cpu_delete', hosts, T0);
  await pool.query('INSERT INTO `d$cpu_drop` SELECT * FROM `d$cpu_delete`');
  steps.push({ step: `generate ${rows} raw rows twice (setup)`, seconds: seconds(t), load: loadAverage() });

  t = performance.now();
  const converted = await new DataTablePartitioner({ spanMs: DAY_MS, now: () => T0 + DAY_MS, logger }).convert(pool, 'd$cpu_drop');
  const conversionSeconds = seconds(t);
  steps.push({ step: `migrate --partition of d$cpu_drop (${converted.rows} rows, daily partitions)`, seconds: conversionSeconds, load: loadAverage() });

  // Everything rolled up already (watermarks past the day): the passes do retention, nothing else of weight.
  for (const type of ['cpu_delete', 'cpu_drop']) {
    for (const level of ['am', 'ah', 'ad']) {
      await pool.query('INSERT INTO `c$rollup_watermarks` (data_type, level, watermark, term, updated_at) VALUES (?, ?, ?, 1, ?)', [type, level, T0 + 3 * DAY_MS, T0]);
    }
  }
  const pass = new RollupPass(
    pool,
    { chunk: { am: 10 * MINUTE_MS, ah: 2 * HOUR_MS, ad: DAY_MS }, lateWindow: MINUTE_MS, lateCheckInterval: 365 * DAY_MS, deleteBatch: 5000, partitions: { spanMs: DAY_MS, ahead: 3 } },
    logger,
  );
  const now = T0 + 2 * DAY_MS + HOUR_MS;
  const timed = async (label, retentionDelete, retentionDrop) => {
    await pool.query('DELETE FROM `c$aggregate_config` WHERE name IN (?, ?)', ['cpu_delete', 'cpu_drop']);
    await pool.query('INSERT INTO `c$aggregate_config` (name, retention_d) VALUES (?, ?), (?, ?)', ['cpu_delete', retentionDelete, 'cpu_drop', retentionDrop]);
    const before = pass.stats.deletedRows;
    const t1 = performance.now();
    await pass.run({ now, term: 1, active: () => true });
    const step = { step: label, seconds: seconds(t1), rows: pass.stats.deletedRows - before, retentionSeconds: +(pass.stats.retentionPasses.at(-1).ms / 1000).toFixed(2), load: loadAverage() };
    steps.push(step);
    logger.info(`${label}: ${step.retentionSeconds} s of retention, ${step.rows} rows`);
    return step;
  };
  // A first pass with nothing to remove: table catalogue, rollup tables, the late-row check, partitions ahead.
  await timed('pass with nothing to remove (setup)', 0, 0);
  const before = await timed('before: retention by DELETE batches (d$ table as it was)', 1, 0);
  const after = await timed('after: retention by partition drop (partitioned d$ table)', 1, 1);
  const [[{ left }]] = await pool.query('SELECT (SELECT COUNT(*) FROM `d$cpu_delete`) + (SELECT COUNT(*) FROM `d$cpu_drop`) AS `left`');
  console.log(`\nretention: one day of 5-second data, ${hosts} hosts x 1 resource x 2 metrics (${rows} raw rows), ${left} rows left\n`);
  console.table(steps);
  const path = writeResult('retention', {
    machine,
    parameters: { hosts, rowsPerHost: 17_280 },
    results: {
      steps,
      rows,
      deleteSeconds: before.retentionSeconds,
      dropSeconds: after.retentionSeconds,
      speedup: +(before.retentionSeconds / Math.max(after.retentionSeconds, 0.001)).toFixed(0),
      conversionSecondsPerMillionRows: +((conversionSeconds * 1e6) / rows).toFixed(1),
      drops: pass.stats.partitionDrops,
    },
  });
  console.log(`DELETE ${before.retentionSeconds} s vs DROP PARTITION ${after.retentionSeconds} s; conversion ${((conversionSeconds * 1e6) / rows).toFixed(1)} s per million rows`);
  console.log(`written: ${path}`);
} finally {
  if (process.env.KEEP) await pool.end();
  else await database.drop();
}
