#!/usr/bin/env node
// Scenario `upgrade`: `watched migrate` on a database written by watched.back
// (the upgrade test's fixture, packages/cli/src/e2e/fixtures/) grown to N raw
// rows in d$cpu_usage (DOUBLE(20,4) columns, 6 metrics) and N/12 minute
// rollups in am$cpu_usage (5-second data), generated with MariaDB's SEQUENCE
// engine. Reports the time of each table's conversion (one ALTER TABLE,
// table copy), of the rollup count backfill, per million rows, and whether
// the front could still read / write d$cpu_usage while it was converted.
// Usage: npm run bench -- upgrade [--rows=1000000]   (after npm run build; MariaDB only)
// Set KEEP=1 to keep the scratch database.
import { readFileSync } from 'node:fs';
import { createLogger, createMysqlConnection, createMysqlPool, Migrator } from '@watched/core';
import { loadAverage, machineInfo, parseFlags, printTable, writeResult } from './lib/report.mjs';

const SERVER = process.env.WATCHED_BENCH_MYSQL ?? 'mysql://root@127.0.0.1:3306';
const { rows } = parseFlags(process.argv.slice(2), { rows: 1_000_000 }, 'usage: npm run bench -- upgrade [--rows=1000000]');
const FIXTURE = readFileSync(new URL('../packages/cli/src/e2e/fixtures/watched-back-database.sql', import.meta.url), 'utf8');
const T0 = Date.UTC(2026, 0, 10) + 0.1234;
const database = `wbench_upgrade_${process.pid}`;
const mysqlUrl = `${SERVER}/${database}`;
const logger = createLogger({ level: 'info', format: 'pretty' });
const seconds = (t) => +((performance.now() - t) / 1000).toFixed(1);

const admin = await createMysqlConnection(SERVER);
await admin.query(`CREATE DATABASE \`${database}\``);
const pool = createMysqlPool(mysqlUrl, { connectionLimit: 3 });
try {
  const machine = await machineInfo(pool);
  const load = await createMysqlConnection(mysqlUrl, { multipleStatements: true });
  await load.query(FIXTURE);
  await load.end();
  let t = performance.now();
  // host 2 / resource 1, 5-second rows, in key order, 100k per statement; values with fractions DOUBLE(20,4) rounds
  for (let from = 1; from <= rows; from += 100_000) {
    await pool.query(
      `INSERT INTO \`d$cpu_usage\` SELECT 2, 1, ${T0} + seq * 5000, (seq MOD 997) / 7, (seq MOD 13) / 9, 0, (seq MOD 101) / 11, (seq MOD 47) / 3, (seq MOD 89) / 3
         FROM seq_${from}_to_${Math.min(from + 99_999, rows)}`,
    );
  }
  await pool.query(
    `INSERT INTO \`am$cpu_usage\` (host_id, res_id, \`timestamp\`, avg_iowait, min_iowait, max_iowait, avg_irq, min_irq, max_irq, avg_nice, min_nice, max_nice,
       avg_softirq, min_softirq, max_softirq, avg_system, min_system, max_system, avg_user, min_user, max_user)
     SELECT host_id, res_id, FLOOR(\`timestamp\` / 60000) * 60000, AVG(iowait), MIN(iowait), MAX(iowait), AVG(irq), MIN(irq), MAX(irq), AVG(nice), MIN(nice), MAX(nice),
       AVG(softirq), MIN(softirq), MAX(softirq), AVG(system), MIN(system), MAX(system), AVG(user), MIN(user), MAX(user)
       FROM \`d$cpu_usage\` WHERE host_id = 2 GROUP BY host_id, res_id, FLOOR(\`timestamp\` / 60000)`,
  );
  const [[{ n: rawRows }]] = await pool.query('SELECT COUNT(*) AS n FROM `d$cpu_usage`');
  const [[{ n: minuteRows }]] = await pool.query('SELECT COUNT(*) AS n FROM `am$cpu_usage`');
  logger.info(`generated ${rawRows} raw rows and ${minuteRows} minute rollups in ${seconds(t)} s`);

  // While d$cpu_usage is being converted, can the front read it, can a writer write it?
  let probe;
  const watcher = (async () => {
    const conn = await createMysqlConnection(mysqlUrl);
    try {
      for (let i = 0; i < 6000 && !probe; i++) {
        const [list] = await conn.query("SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE `d$cpu\\_usage`%'");
        if (list.length === 0) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        // past the ALTER's first moments (opening the table, before it takes its lock for the copy)
        await new Promise((r) => setTimeout(r, 1000));
        const r0 = performance.now();
        await conn.query('SELECT COUNT(*) FROM `d$cpu_usage` WHERE host_id = 1');
        const readMs = Math.round(performance.now() - r0);
        await conn.query('SET SESSION lock_wait_timeout = 2');
        const w0 = performance.now();
        const write = await conn.query('INSERT INTO `d$cpu_usage` (host_id, res_id, `timestamp`) VALUES (1, 1, 1)').then(
          () => 'went through',
          (err) => `refused after ${Math.round(performance.now() - w0)} ms (${err.code})`,
        );
        const [still] = await conn.query("SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE `d$cpu\\_usage`%'");
        probe = { readMs, write, alterStillRunningAfterWrite: still.length > 0 };
      }
    } finally {
      await conn.end();
    }
  })();

  t = performance.now();
  const result = await new Migrator({ mysql: mysqlUrl, logger }).migrate();
  const total = seconds(t);
  await watcher;
  const [log] = await pool.query(
    "SELECT step, table_name AS t, row_count AS n, duration_ms AS ms FROM `c$upgrade_log` WHERE step IN ('convert', 'rollups') AND table_name IN ('d$cpu_usage', 'am$cpu_usage')",
  );
  const perMillion = (ms, n) => (n > 0 ? +((ms / 1000 / n) * 1e6).toFixed(1) : null);
  const steps = log.map((r) => ({ step: r.step, table: r.t, rows: Number(r.n), seconds: +(r.ms / 1000).toFixed(1), secondsPerMillion: perMillion(r.ms, Number(r.n)) }));
  printTable(
    `watched migrate on a watched.back database (${rawRows} raw rows, ${minuteRows} minute rows): ${total} s in all`,
    ['step', 'table', 'rows', 's', 's / 1M rows'],
    steps.map((s) => [s.step, s.table, s.rows, s.seconds, s.secondsPerMillion]),
  );
  console.log(
    `during the conversion of d$cpu_usage: a read took ${probe?.readMs ?? '?'} ms, a write ${probe?.write ?? 'was not tried (conversion too short)'}` +
      (probe ? ` (the ALTER was ${probe.alterStillRunningAfterWrite ? 'still running' : 'finished'} after the write attempt)` : ''),
  );
  writeResult('upgrade', { machine, load: loadAverage(), rows: rawRows, minuteRows, totalSeconds: total, applied: result.applied, steps, duringConversion: probe ?? null });
} finally {
  await pool.end();
  if (!process.env.KEEP) await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin.end();
}
