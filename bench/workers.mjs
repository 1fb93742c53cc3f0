#!/usr/bin/env node
// Scenario `workers`: ingest throughput with 1 and with 2 worker processes
// (same fleet size and settings as `ingest`, no baseline). On 2 cores shared
// with MariaDB, the fleet and Redis, a second process mainly shows whether
// one worker process is the limit.
// Build first (npm run build). Flags as bench/ingest.mjs, plus --counts=1,2.
import { createMysqlPool } from '@watched/core';
import { INGEST_DEFAULTS, runIngest } from './lib/ingest-run.mjs';
import { machineInfo, parseFlags, printTable, writeResult } from './lib/report.mjs';

const defaults = { ...INGEST_DEFAULTS, baselineRows: 0, counts: '1,2' };
const usage = `usage: node bench/workers.mjs ${Object.entries(defaults).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const params = parseFlags(process.argv.slice(2), defaults, usage);
const server = createMysqlPool('mysql://root@127.0.0.1:3306', { connectionLimit: 1 });
const machine = await machineInfo(server);
await server.end();

const results = [];
for (const workers of params.counts.split(',').map(Number)) {
  console.log(`workers: ${workers} worker process(es), ${params.hosts} hosts at ${params.speed}x`);
  results.push({ workers, ...(await runIngest({ ...params, workers })) });
}
const path = writeResult('workers', { machine, parameters: params, results });
printTable('ingest by worker processes (counted in MySQL)', ['workers', 'values/s', 'rows/s', 'polls/s', 'p50 poll s', 'p99 poll s', 'worker CPU', 'peak RSS MB/worker', 'mysqld CPU', 'load'],
  results.map((r) => [r.workers, r.valuesPerSecond, r.rowsPerSecond, r.pollsPerSecond, r.pollLatencyP50, r.pollLatencyP99, r.workerCpuCores, r.workerPeakRssMB, r.usage.mysqld?.cpuCores, `${r.loadAverage.before}-${r.loadAverage.after}`]),
);
console.log(`written to ${path}`);
