#!/usr/bin/env node
// Scenario `ingest`: N simulated hosts polled as fast as the pipeline can
// (fleet -> coordinator -> BullMQ -> worker(s) -> MySQL), values and rows per
// second counted in MySQL over a fixed window after a warm-up, then the same
// rows written by bare mysql2 loops (multi-row INSERT, LOAD DATA LOCAL
// INFILE): the ratio pipeline / the faster baseline, and CPU per value.
// Build first (npm run build). Flags: --hosts=2000 --speed=10 --durationSeconds=60 ... (see INGEST_DEFAULTS);
// --galera=1 also runs the same measurement on a private 3-node Galera cluster's writer (bench/lib/galera.mjs): the ratio Galera / standalone.
import { createMysqlPool } from '@watched/core';
import { INGEST_DEFAULTS, runIngest } from './lib/ingest-run.mjs';
import { machineInfo, parseFlags, printTable, writeResult } from './lib/report.mjs';

const DEFAULTS = { ...INGEST_DEFAULTS, galera: 0 };
const usage = `usage: node bench/ingest.mjs ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const { galera, ...params } = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const server = createMysqlPool('mysql://root@127.0.0.1:3306', { connectionLimit: 1 });
const machine = await machineInfo(server);
await server.end();

console.log(`ingest: ${params.hosts} hosts at ${params.speed}x, ${params.workers} worker(s) x ${params.workerConcurrency} jobs x ${params.agentConcurrency} agents; load ${machine.loadAverageAtStart[0]}`);
const result = await runIngest(params);
const onGalera = galera ? await (await import('./lib/galera.mjs')).galeraIngest(params, result) : undefined;
const path = writeResult('ingest', { machine, parameters: { ...params, galera }, result, ...(onGalera ? { galera: onGalera } : {}) });

const b = result.baselines;
printTable('ingest (counted in MySQL)', ['', 'values/s', 'rows/s', 'polls/s', 'p50 poll s', 'p99 poll s', 'CPU us/value', 'worker CPU', 'worker RSS MB', 'load'], [
  ['pipeline', result.valuesPerSecond, result.rowsPerSecond, result.pollsPerSecond, result.pollLatencyP50, result.pollLatencyP99, result.cpuMicrosPerValue, result.workerCpuCores, result.workerPeakRssMB, `${result.loadAverage.before}-${result.loadAverage.after}`],
  ...(onGalera ? [['pipeline on Galera writer', onGalera.result.valuesPerSecond, onGalera.result.rowsPerSecond, onGalera.result.pollsPerSecond, onGalera.result.pollLatencyP50, onGalera.result.pollLatencyP99, onGalera.result.cpuMicrosPerValue, onGalera.result.workerCpuCores, onGalera.result.workerPeakRssMB, `${onGalera.result.loadAverage.before}-${onGalera.result.loadAverage.after}`]] : []),
  ...(b
    ? [
        [`bare INSERT baseline (${b.insert.batchRows} rows/stmt)`, b.insert.valuesPerSecond, b.insert.rowsPerSecond, '', '', '', b.insert.cpuMicrosPerValue, '', '', ''],
        [`bare LOAD DATA baseline (${b.loadData.batchRows} rows/stmt)`, b.loadData.valuesPerSecond, b.loadData.rowsPerSecond, '', '', '', b.loadData.cpuMicrosPerValue, '', '', b.loadAverage],
      ]
    : []),
]);
if (result.ratio !== undefined) {
  console.log(`\npipeline / faster baseline = ${result.ratio} (/ INSERT ${result.ratios.insert}, / LOAD DATA ${result.ratios.loadData})`);
}
console.log(`CPU us per stored value (pipeline: workers, coordinator, MariaDB, Redis; fleet apart): ${result.cpuMicrosPerValue} = ${Object.entries(result.cpuMicrosPerValueByProcess).map(([k, v]) => `${k} ${v}`).join(', ')}`);
if (onGalera) console.log(`Galera writer / standalone (values/s, same run) = ${onGalera.ratio}`);
console.log(`CPU cores used in the window: ${Object.entries(result.usage).map(([k, u]) => `${k} ${u.cpuCores}`).join(', ')}`);
console.log(`written to ${path}`);
