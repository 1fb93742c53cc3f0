#!/usr/bin/env node
// Scenario `write-methods`: the worker's own row writers (packages/worker
// sql-batch.ts and load-data.ts) on the same d$-shaped rows, against a
// private MariaDB, so the server CPU per value read from /proc is this
// scenario's alone even on a busy machine: multi-row INSERT ... ON
// DUPLICATE KEY UPDATE (the upsert as before), INSERT IGNORE, LOAD DATA
// LOCAL INFILE ... REPLACE (d$ rows now) and ... IGNORE (log lines now),
// each in transactions of --batchRows rows as the poll store writes them,
// then a replay of the last tenth (the agents' inclusive `since`).
// Usage: npm run bench -- write-methods [--timestamps=100] [--hosts=100] [--resources=20] [--batchRows=20000] [--rounds=2]
import { readFileSync } from 'node:fs';
import { createMysqlConnection, createMysqlPool, withTransaction } from '@watched/core';
import { insertBatched } from '../packages/worker/dist/sql-batch.js';
import { loadData } from '../packages/worker/dist/load-data.js';
import { PrivateMariadb } from './lib/private-mariadb.mjs';
import { machineInfo, parseFlags, printTable, writeResult } from './lib/report.mjs';

const DEFAULTS = { timestamps: 100, hosts: 100, resources: 20, batchRows: 20_000, rounds: 2 };
const usage = `usage: npm run bench -- write-methods ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const p = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const cpuSeconds = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const metrics = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
const columns = ['host_id', 'res_id', 'timestamp', ...metrics];
const rows = [];
for (let t = 0; t < p.timestamps; t++) {
  for (let h = 1; h <= p.hosts; h++) {
    for (let r = 1; r <= p.resources; r++) rows.push([h, r, 1764815412345.678 + t * 5000, Math.random() * 100, Math.random(), null, Math.round(Math.random() * 1e6), 0.5, h * 1.25]);
  }
}
const values = rows.length * 5; // non-NULL metric cells per row: 5 of 6

const METHODS = {
  'INSERT ... ON DUPLICATE KEY UPDATE (1,000 rows/stmt)': (conn, ins) => insertBatched(conn, { ...ins, mode: 'upsert', updateColumns: metrics }, 1000),
  'INSERT IGNORE (1,000 rows/stmt)': (conn, ins) => insertBatched(conn, { ...ins, mode: 'ignore' }, 1000),
  'LOAD DATA LOCAL INFILE ... REPLACE': (conn, ins) => loadData(conn, ins, 'REPLACE'),
  'LOAD DATA LOCAL INFILE ... IGNORE': (conn, ins) => loadData(conn, ins, 'IGNORE'),
};

const server = await new PrivateMariadb().start();
const results = [];
try {
  const admin = await createMysqlConnection(server.url);
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const pool = createMysqlPool(`${server.url}/bench`, { connectionLimit: 2 });
  const machine = await machineInfo(pool);
  console.log(`write-methods: ${rows.length.toLocaleString('en-US')} rows (${values.toLocaleString('en-US')} values), private MariaDB; load ${machine.loadAverageAtStart[0]}`);
  const links = [];
  for (let h = 1; h <= p.hosts; h++) for (let r = 1; r <= p.resources; r++) links.push([h, r]);
  await pool.query('CREATE TABLE link (host_id INT UNSIGNED NOT NULL, res_id INT UNSIGNED NOT NULL, PRIMARY KEY (host_id, res_id)) ENGINE=InnoDB');
  await pool.query('INSERT INTO link VALUES ?', [links]);
  const write = async (method, batch) => {
    for (let i = 0; i < batch.length; i += p.batchRows) {
      await withTransaction(pool, (conn) => METHODS[method](conn, { table: 'd$bench', columns, rows: batch.slice(i, i + p.batchRows), mode: 'upsert' }));
    }
  };
  for (let round = 1; round <= p.rounds; round++) {
    for (const method of Object.keys(METHODS)) {
      await pool.query('DROP TABLE IF EXISTS `d$bench`');
      // The shape of a d$ table: key (owner, res_id, timestamp), DOUBLE metrics, a foreign key to the resource link.
      await pool.query(
        'CREATE TABLE `d$bench` (host_id INT UNSIGNED NOT NULL, res_id INT UNSIGNED NOT NULL, `timestamp` DOUBLE NOT NULL, ' +
          metrics.map((m) => `\`${m}\` DOUBLE NULL`).join(', ') +
          ', PRIMARY KEY (host_id, res_id, `timestamp`), CONSTRAINT `fk_bench` FOREIGN KEY (host_id, res_id) REFERENCES link (host_id, res_id) ON DELETE CASCADE) ENGINE=InnoDB',
      );
      const s0 = cpuSeconds(server.pid);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await write(method, rows);
      const seconds = (performance.now() - t0) / 1000;
      const client = process.cpuUsage(c0);
      const s1 = cpuSeconds(server.pid);
      await write(method, rows.slice(rows.length - Math.floor(rows.length / 10)));
      const replay = cpuSeconds(server.pid) - s1;
      results.push({
        round,
        method,
        seconds: +seconds.toFixed(2),
        valuesPerSecond: Math.round(values / seconds),
        serverMicrosPerValue: +(((s1 - s0) / values) * 1e6).toFixed(2),
        clientMicrosPerValue: +((client.user + client.system) / values).toFixed(2),
        replayServerSeconds: +replay.toFixed(2),
      });
    }
  }
  await pool.end();
  const path = writeResult('write-methods', { machine, parameters: p, result: results });
  printTable('write methods (private MariaDB; CPU from /proc)', ['round', 'method', 'values/s', 'server us/value', 'client us/value', 'replay of 10%: server s'], results.map((r) => [r.round, r.method, r.valuesPerSecond, r.serverMicrosPerValue, r.clientMicrosPerValue, r.replayServerSeconds]));
  console.log(`written to ${path}`);
} finally {
  await server.stop();
}
