#!/usr/bin/env node
// Scenario `steady`: ingest at steady state, with rollups and retention
// running at the same time, against insert-only `ingest` in the same run.
// Retention is shortened so that it runs many times in the window: d$
// partitions of --partitionMinutes (agent time), raw retention of
// --retentionMinutes, minute rollups --delayMinutes after the minute; the
// rollup passes (the aggregator's RollupPass, in this process) run every
// --passSeconds on the fleet's accelerated clock. Rows removed by retention
// in the window are added back to the steady run's count (they were
// written), so values/s compare with the insert-only run.
// Usage: npm run bench -- steady [--hosts=2000] [--speed=10] [--durationSeconds=60] [--passSeconds=5] ...
import { createLogger, createMysqlPool, MINUTE_MS } from '@watched/core';
import { RollupPass } from '@watched/aggregator';
import { INGEST_DEFAULTS, runIngest } from './lib/ingest-run.mjs';
import { loadAverage, machineInfo, parseFlags, printTable, writeResult } from './lib/report.mjs';

const DEFAULTS = { ...INGEST_DEFAULTS, baselineRows: 0, partitionMinutes: 1, retentionMinutes: 3, delayMinutes: 1, passSeconds: 5 };
const usage = `usage: npm run bench -- steady ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const params = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const server = createMysqlPool('mysql://root@127.0.0.1:3306', { connectionLimit: 1 });
const machine = await machineInfo(server);
await server.end();
const logger = createLogger({ level: 'warn', format: 'pretty' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rollup passes on the fleet's clock, back to back at most every passSeconds, until stopped. */
async function rollupsAndRetention(db, fleetNow) {
  const pass = new RollupPass(
    db.pool,
    {
      chunk: { am: 10 * MINUTE_MS, ah: 2 * 60 * MINUTE_MS, ad: 24 * 60 * MINUTE_MS },
      lateWindow: 10 * MINUTE_MS,
      lateCheckInterval: 5 * MINUTE_MS,
      deleteBatch: 5000,
      delays: { am: params.delayMinutes * MINUTE_MS },
      rawRetention: params.retentionMinutes * MINUTE_MS,
      partitions: { spanMs: params.partitionMinutes * MINUTE_MS, ahead: 3 },
      orphanSweep: { interval: 5 * MINUTE_MS, budget: 2000 },
    },
    logger,
  );
  // Before the window: the partitions the aggregator would have made by now (tables were created at warm-up).
  await pass.run({ now: fleetNow(), term: 1, active: () => true });
  const before = { ...pass.stats };
  let running = true;
  const passes = [];
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await pass.run({ now: fleetNow(), term: 1, active: () => running });
      passes.push({ ms: Math.round(performance.now() - t), retention: pass.stats.retentionPasses.at(-1) });
      await sleep(Math.max(0, params.passSeconds * 1000 - (performance.now() - t)));
    }
  })();
  return async () => {
    running = false;
    await loop;
    const s = pass.stats;
    const drops = s.partitionDrops.slice(before.partitionDrops.length);
    const retention = passes.map((p) => p.retention).filter((r) => r && r.rows > 0);
    return {
      passes: passes.length,
      passMs: passes.map((p) => p.ms),
      rowsRemoved: s.deletedRows - before.deletedRows,
      partitionsDropped: s.droppedPartitions - before.droppedPartitions,
      partitionsAdded: s.addedPartitions - before.addedPartitions,
      retentionPassesWithDrops: retention.length,
      retentionPerPass: retention.map((r) => ({ ms: Math.round(r.ms), rows: r.rows })),
      dropMs: drops.map((d) => Math.round(d.ms)),
      bucketsWritten: s.bucketsWritten - before.bucketsWritten,
    };
  };
}

console.log(`steady: ${params.hosts} hosts at ${params.speed}x; insert-only ingest, then ingest with rollups and retention (load ${loadAverage()})`);
const insertOnly = await runIngest(params);
const steady = await runIngest(params, console.log, { alongside: rollupsAndRetention });
const a = steady.alongside;
// Rows retention removed during the window were written in it: added back, at the insert-only run's values per row
// (the steady window's own count can be negative when retention removes more than the window wrote).
const valuesPerRow = insertOnly.rowsCommitted > 0 ? insertOnly.valuesCommitted / insertOnly.rowsCommitted : 1;
const steadyRowsPerSecond = Math.round((steady.rowsCommitted + a.rowsRemoved) / steady.seconds);
const steadyValuesPerSecond = Math.round((steady.valuesCommitted + a.rowsRemoved * valuesPerRow) / steady.seconds);
const ratio = +(steadyRowsPerSecond / insertOnly.rowsPerSecond).toFixed(2);
const path = writeResult('steady', { machine, parameters: params, result: { insertOnly, steady, steadyRowsPerSecond, steadyValuesPerSecond, ratio } });

printTable('steady (counted in MySQL, rows removed by retention added back)', ['', 'values/s', 'rows/s', 'p99 poll s', 'worker CPU', 'load'], [
  ['insert-only ingest', insertOnly.valuesPerSecond, insertOnly.rowsPerSecond, insertOnly.pollLatencyP99, insertOnly.workerCpuCores, `${insertOnly.loadAverage.before}-${insertOnly.loadAverage.after}`],
  ['with rollups + retention', steadyValuesPerSecond, steadyRowsPerSecond, steady.pollLatencyP99, steady.workerCpuCores, `${steady.loadAverage.before}-${steady.loadAverage.after}`],
]);
console.log(`\nsteady / insert-only (rows/s) = ${ratio}`);
console.log(
  `rollup passes: ${a.passes}; retention passes that removed rows: ${a.retentionPassesWithDrops}; ` +
    `${a.partitionsDropped} partitions dropped (${a.rowsRemoved} rows), ${a.partitionsAdded} created`,
);
console.table(a.retentionPerPass);
console.log(`written to ${path}`);
