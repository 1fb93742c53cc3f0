#!/usr/bin/env node
// Time and Redis calls of the leader's scheduling tick with N agents (default
// 100,000, 300 s interval, groups of 50 => 2,000 groups). Runs its own
// redis-server on a spare port so INFO commandstats counts only this bench,
// and a scratch MySQL database. The scheduler is driven with a fake clock.
// Usage: node bench/schedule-tick.mjs [agents=100000] [intervalSeconds=300] [groupSize=50]
// Needs: npm run build (imports the built packages), redis-server on PATH.
import { spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { compileCoordinatorOptions, scheduleKey, Scheduler } from '@watched/coordinator';
import { createLogger, createMysqlConnection, createMysqlPool, createRedis, LeaderLease, Migrator, POLL_QUEUE, RedisKeys, TermStore } from '@watched/core';

const agents = Number(process.argv[2] ?? 100_000);
const intervalSeconds = Number(process.argv[3] ?? 300);
const groupSize = Number(process.argv[4] ?? 50);
const redisPort = 16_000 + (process.pid % 1000);
const database = `wbench_tick_${process.pid}`;
const server = 'mysql://root@127.0.0.1:3306';
const mysqlUrl = `${server}/${database}`;
const logger = createLogger({ level: 'error', format: 'pretty' });

const redisServer = spawn('redis-server', ['--port', String(redisPort), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 300));
const redis = createRedis(`redis://127.0.0.1:${redisPort}`);
let sent = 0;
const sendCommand = redis.sendCommand.bind(redis);
redis.sendCommand = (command, stream) => {
  sent += 1;
  return sendCommand(command, stream);
};

async function serverCalls() {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) if (!['info', 'client|setname', 'client|setinfo'].includes(m[1])) calls += Number(m[2]);
  return calls;
}

try {
  await new Migrator({ mysqlUrl }).migrate();
  const pool = createMysqlPool(mysqlUrl, { connectionLimit: 4 });
  for (let start = 0; start < agents; start += 10_000) {
    const rows = [];
    for (let i = start; i < Math.min(agents, start + 10_000); i++) rows.push([`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 9080, intervalSeconds, 0]);
    await pool.query('INSERT INTO `c$agents` (host, port, pool_freq, use_ssl) VALUES ?', [rows]);
  }

  const keys = new RedisKeys('wbench');
  const queue = new Queue(POLL_QUEUE, { connection: redis, prefix: keys.bullPrefix });
  await queue.waitUntilReady();
  const options = compileCoordinatorOptions({ groupSize, agentRefresh: '5s', jobRetention: '1h' });
  const lease = new LeaderLease({ redis, key: keys.leaderLease, nodeId: 'bench', ttlMs: 3_600_000, logger, terms: new TermStore(pool, keys.leaderLease) });
  await lease.refresh();
  const scheduler = new Scheduler(pool, queue, redis, { leaderLease: keys.leaderLease, schedule: scheduleKey(keys.prefix) }, options, logger);

  const measure = async (label, now) => {
    const s0 = sent;
    const c0 = await serverCalls();
    const t = performance.now();
    const result = await scheduler.tick(now, lease);
    const ms = performance.now() - t;
    const c1 = await serverCalls();
    return { label, ms: Math.round(ms * 10) / 10, ...result, clientCommands: sent - s0 - 1, serverCommands: c1 - c0 };
  };

  const T = Math.floor(Date.now() / 1000) * 1000;
  const results = [];
  // 1. A new leader's first tick: reads the schedule, loads and plans every agent, every group is due.
  results.push(await measure('first tick (new leader: load + plan + every group due)', T));
  // 2. Steady state: one tick a second over a whole interval (the agents list re-read every 5 s, unchanged).
  const interval = async (label, from) => {
    const steady = [];
    for (let s = 1; s <= intervalSeconds; s++) steady.push(await measure('steady', from + s * 1000));
    const sum = (k) => steady.reduce((n, r) => n + r[k], 0);
    const max = (k) => Math.max(...steady.map((r) => r[k]));
    const triple = (k) => `${Math.round(sum(k))} / ${(sum(k) / steady.length).toFixed(1)} / ${Math.round(max(k) * 10) / 10}`;
    return { label: `${label}: total / mean / max over ${steady.length} ticks`, ms: triple('ms'), enqueued: sum('enqueued'), skipped: sum('skipped'), clientCommands: triple('clientCommands'), serverCommands: triple('serverCommands') };
  };
  // 2a. Workers keep up: the previous jobs are gone (drained here), every group is enqueued once over the interval.
  await queue.drain();
  results.push(await interval('steady, workers keeping up (1 tick/s over one interval)', T));
  // 2b. Workers stalled: every previous job still waiting, every group skipped once over the next interval.
  results.push(await interval('steady, workers stalled (every slot skipped by backpressure)', T + intervalSeconds * 1000));
  const memory = (await redis.info('memory')).match(/used_memory_human:(\S+)/)?.[1];
  console.log(JSON.stringify({ agents, intervalSeconds, groupSize, groups: scheduler.stats.groups, redisMemory: memory, node: process.version, results }, null, 2));
  await queue.close();
  await pool.end();
} finally {
  await redis.quit().catch(() => undefined);
  redisServer.kill('SIGTERM');
  const conn = await createMysqlConnection(server);
  await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await conn.end();
}
