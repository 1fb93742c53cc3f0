#!/usr/bin/env node
// Scenario `rollup`: the time to aggregate one day of 5-second data for N
// hosts (default 1,000), one resource each, two metrics: 17,280 rows per
// host, generated with MariaDB's SEQUENCE engine in a scratch database, then
// rolled up by the aggregator's RollupPass into minute, hour and day tables.
// Usage: npm run bench -- rollup [--hosts=1000]   (after npm run build; MariaDB only: seq_ tables)
// Set KEEP=1 to keep the scratch database. Bounded: ~3 min for 1,000 hosts on 2 cores.
import { createLogger, DAY_MS, HOUR_MS, MINUTE_MS } from '@watched/core';
import { RollupPass } from '@watched/aggregator';
import { generateDay, legacyCpuTableSql, seedHosts } from './lib/day-of-data.mjs';
import { scratchDatabase } from './lib/mysql-data.mjs';
import { loadAverage, machineInfo, parseFlags, writeResult } from './lib/report.mjs';

const DEFAULTS = { hosts: 1000 };
const { hosts } = parseFlags(process.argv.slice(2), DEFAULTS, 'usage: npm run bench -- rollup [--hosts=1000]');
const T0 = Date.UTC(2026, 0, 10);
const logger = createLogger({ level: 'info', format: 'pretty' });
const seconds = (t) => +((performance.now() - t) / 1000).toFixed(1);
const steps = [];

const database = await scratchDatabase('rollup');
const pool = database.pool;
const machine = await machineInfo(pool);
try {
  let t = performance.now();
  await seedHosts(pool, hosts);
  await pool.query(legacyCpuTableSql('d$cpu_usage'));
  const n = await generateDay(pool, 'd$cpu_usage', hosts, T0);
  steps.push({ step: `generate ${n} raw rows (not the aggregator's work)`, seconds: seconds(t), load: loadAverage() });
  logger.info(`generated ${n} rows in ${seconds(t)} s`);

  const pass = new RollupPass(
    pool,
    { chunk: { am: 10 * MINUTE_MS, ah: 2 * HOUR_MS, ad: DAY_MS }, lateWindow: 2 * HOUR_MS, lateCheckInterval: 0, deleteBatch: 5000 },
    logger,
  );
  const timed = async (label, now) => {
    const t1 = performance.now();
    await pass.run({ now, term: 1, active: () => true });
    steps.push({ step: label, seconds: seconds(t1), load: loadAverage() });
    logger.info(`${label}: ${seconds(t1)} s`);
  };
  // 1. The first day's rollup as a catch-up (includes building the d$ time index).
  await timed('pass 1 (index build, then am$ to the end of the day, ah$ to 22:00)', T0 + DAY_MS);
  // 2. A steady-state pass: the late-row check over the 2 h window below the minute watermark, one new minute.
  await timed('pass 2 (late-row check over 2 h of raw rows, one minute forward)', T0 + DAY_MS + MINUTE_MS);
  // 3. One late row per host, 110 minutes below the minute watermark (its hour is already rolled up, its day not yet): minute and hour recomputed.
  await pool.query(`INSERT INTO \`d$cpu_usage\` SELECT seq, 1, ${T0 + DAY_MS - 140 * MINUTE_MS} + 0.1, 1, 1 FROM seq_1_to_${hosts}`);
  await timed(`pass 3 (repair of ${hosts} late rows)`, T0 + DAY_MS + 2 * MINUTE_MS);
  // 4. The rest: every level to the end of the data.
  await timed('pass 4 (hour and day levels to the end)', T0 + 2 * DAY_MS + HOUR_MS);
  const tables = {};
  for (const table of ['am$cpu_usage', 'ah$cpu_usage', 'ad$cpu_usage']) {
    const [[{ c }]] = await pool.query(`SELECT COUNT(*) AS c FROM \`${table}\``);
    tables[table] = Number(c);
  }
  const rollupSeconds = +steps.slice(1).reduce((s, x) => s + x.seconds, 0).toFixed(1);
  console.log(`\nrollup: one day of 5-second data, ${hosts} hosts x 1 resource x 2 metrics (${hosts * 17_280} raw rows)\n`);
  console.table(steps);
  console.table([{ ...tables, 'rollup seconds (passes 1-4)': rollupSeconds }]);
  const path = writeResult('rollup', {
    machine,
    parameters: { hosts, rowsPerHost: 17_280, metrics: 2, chunks: { am: '10m', ah: '2h', ad: '1d' } },
    results: { steps, tables, rollupSeconds, passStats: pass.stats },
  });
  console.log(`\nwritten: ${path}`);
} finally {
  if (process.env.KEEP) await pool.end();
  else await database.drop();
}
