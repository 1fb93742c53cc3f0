#!/usr/bin/env node
// One poll cycle of N simulated hosts through the real path (BullMQ jobs ->
// worker -> MySQL), timed: a first cycle (each agent's whole buffer) and a
// steady cycle (the data of one interval). The fleet runs in its own process.
// Usage: node bench/cycle.mjs [hosts=1000] [intervalSeconds=60]   (the sim buffers 25 minutes)
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Queue, QueueEvents } from 'bullmq';
import { AgentRegistry, createMysqlPool, createRedis, Migrator, POLL_QUEUE, RedisKeys, createLogger } from '@watched/core';
import { compileWorkerOptions, PollWorker } from '@watched/worker';

const hosts = Number(process.argv[2] ?? 1000);
const intervalSeconds = Number(process.argv[3] ?? 60);
const database = `wbench_cycle_${process.pid}`;
const mysqlUrl = `mysql://root@127.0.0.1:3306/${database}`;
const redisUrl = 'redis://127.0.0.1:6379';
const prefix = `wbench-${process.pid}`;
const port = 19600;
const logger = createLogger({ level: 'warn', format: 'pretty' });

await new Migrator({ mysqlUrl }).migrate();
const pool = createMysqlPool(mysqlUrl);
const sim = spawn(
  process.execPath,
  ['packages/cli/bin/watched.js', 'sim', '--hosts', String(hosts), '--listen', `0.0.0.0:${port}`, '--log-level', 'warn'],
  { stdio: 'inherit', env: { ...process.env } },
);
await new Promise((r) => setTimeout(r, 1500));
const registry = new AgentRegistry(pool);
const agents = Array.from({ length: hosts }, (_, i) => ({
  host: `127.${20 + Math.floor((i + 1) / 65536)}.${Math.floor((i + 1) / 256) % 256}.${(i + 1) % 256}`,
  port,
  frequency: intervalSeconds,
}));
await registry.add(agents);
const ids = (await registry.list()).map((a) => a.id);

const worker = new PollWorker({ mysqlUrl, redisUrl, prefix }, compileWorkerOptions({ workerConcurrency: 4, agentConcurrency: 16 }), logger);
await worker.start();
const connection = createRedis(redisUrl, { blocking: true });
const bullPrefix = new RedisKeys(prefix).bullPrefix;
const queue = new Queue(POLL_QUEUE, { connection, prefix: bullPrefix });
queue.setMaxListeners(0);
const events = new QueueEvents(POLL_QUEUE, { connection: connection.duplicate(), prefix: bullPrefix });
await events.waitUntilReady();

async function countRows() {
  const [tables] = await pool.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'd$%'");
  let rows = 0;
  for (const { t } of tables) rows += Number((await pool.query(`SELECT COUNT(*) AS n FROM \`${t}\``))[0][0].n);
  return rows;
}

async function cycle(label, slot) {
  const before = await countRows();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const jobs = [];
  for (let i = 0; i < ids.length; i += 50) {
    jobs.push(await queue.add('poll', { group: `bench-${i / 50}`, slot, agentIds: ids.slice(i, i + 50), term: 1 }, { jobId: `poll-bench${i / 50}-${slot}`, attempts: 5, backoff: { type: 'exponential', delay: 1000 } }));
  }
  await Promise.all(jobs.map((j) => j.waitUntilFinished(events, 30 * 60_000)));
  const seconds = (performance.now() - started) / 1000;
  const rows = (await countRows()) - before;
  const used = process.cpuUsage(cpu);
  return { label, hosts, seconds: +seconds.toFixed(2), rowsWritten: rows, rowsPerSecond: Math.round(rows / seconds), workerCpuSeconds: +((used.user + used.system) / 1e6).toFixed(1), rssMB: Math.round(process.memoryUsage().rss / 2 ** 20) };
}

const results = [];
results.push(await cycle('first cycle (whole agent buffer)', 1));
await new Promise((r) => setTimeout(r, intervalSeconds * 1000));
results.push(await cycle(`steady cycle (${intervalSeconds}s of new data)`, 2));
console.table(results);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/cycle.json',
  JSON.stringify({ scenario: 'cycle', date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGB: Math.round(os.totalmem() / 2 ** 30), node: process.version }, parameters: { hosts, bufferMinutes: 25, intervalSeconds, groupSize: 50, workerConcurrency: 4, agentConcurrency: 16 }, results }, null, 2),
);
await worker.close();
await events.close();
await queue.obliterate({ force: true });
await queue.close();
await connection.quit();
sim.kill('SIGTERM');
await pool.query(`DROP DATABASE \`${database}\``);
await pool.end();
