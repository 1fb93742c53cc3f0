#!/usr/bin/env node
// Scenario `schedule`: the leader's planning and enqueueing for 10,000 /
// 100,000 / 1,000,000 agents in MySQL, nothing polled. The scheduler is
// driven with a fake clock, one tick per simulated second; each size runs in
// a child process of its own (clean memory figures) with its own
// redis-server (INFO commandstats counts only the scheduler's commands) and a
// scratch database. Per size:
//   - a fresh install: the first tick (reads every agent) and the next 14
//     (plan, enqueue every group at most 2,000 a tick, read the costs a page
//     a tick, rebalance);
//   - steady ticks, workers stalled: every due slot skipped by backpressure;
//   - steady ticks, workers keeping up (jobs drained): the due groups
//     enqueued. In both, the c$agents change probe every agentRefresh (5 s)
//     and, once a minute, the cost balancer's re-read of agt$state.poll_ms
//     (seeded for every agent, a page per tick) and rebalancing;
//   - a change written straight into c$agents (as the web front does): the
//     ticks that pick it up (probe, then re-plan), and whether they did;
//   - a new leader (new term, schedule already in Redis): its first tick
//     (enqueues from that schedule) and the next 11 (seed, probe, costs,
//     rebalance);
//   - for comparison, what the refresh cost before the probe: a full re-read
//     and compare of every row.
// Usage: npm run bench -- schedule [--agents=10000,100000,1000000] [--steadyTicks=60] [--intervalSeconds=300] [--groupSize=50]
// Needs: npm run build, redis-server on PATH. Bounded: ~1-2 min on 2 cores.
import { spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { parseCoordinatorOptions, Scheduler } from '@watched/coordinator';
import { createLogger, createMysqlPool, createRedis, LeaderLease, POLL_QUEUE, RedisKeys, TermStore } from '@watched/core';
import { scratchDatabase } from './lib/mysql-data.mjs';
import { PrivateRedis } from './lib/private-redis.mjs';
import { loadAverage, machineInfo, parseFlags, writeResult } from './lib/report.mjs';
import { mean, percentile } from './lib/stats.mjs';

const ONE = '--one';
const agentRefreshSeconds = 5;
/** The product default (5 min) would not come round within the steady ticks: once a minute here. */
const rebalanceSeconds = 60;

/** Ticks measured after a fresh install's first (plan, enqueue the backlog, read costs, rebalance) and after a new leader's first. */
const FRESH_TICKS = 15;
const NEW_LEADER_TICKS = 12;

const DEFAULTS = { agents: '10000,100000,1000000', steadyTicks: 60, intervalSeconds: 300, groupSize: 50 };

if (process.argv[2] === ONE) {
  const [agents, steadyTicks, intervalSeconds, groupSize] = process.argv.slice(3).map(Number);
  process.stdout.write(`${JSON.stringify(await measureOneSize({ agents, steadyTicks, intervalSeconds, groupSize }))}\n`);
  process.exit(0);
}

const usage = `usage: npm run bench -- schedule ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const { agents: agentList, steadyTicks, intervalSeconds, groupSize } = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const sizes = String(agentList).split(',').map(Number);
const server = createMysqlPool('mysql://root@127.0.0.1:3306', { connectionLimit: 1 });
const machine = await machineInfo(server);
await server.end();
const results = [];
for (const agents of sizes) {
  const load = loadAverage();
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, ONE, agents, steadyTicks, intervalSeconds, groupSize].map(String), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) {
    console.error(`schedule: the ${agents}-agent run failed (exit ${code})`);
    results.push({ agents, failed: true, loadBefore: load });
    continue;
  }
  results.push({ ...JSON.parse(out.trim().split('\n').at(-1)), loadBefore: load });
}

console.log(`\nschedule: ${intervalSeconds}s interval, groups of ${groupSize}, probe every ${agentRefreshSeconds}s, ${steadyTicks} steady ticks (1/s)`);
console.log('steady rows: ms and commands as mean / p50 / max and mean / max; cmds sent = by the client (a script or MULTI once), cmds run = INFO commandstats (inside scripts too)\n');
console.table(
  results.flatMap((r) =>
    r.failed
      ? [{ agents: r.agents, tick: 'FAILED' }]
      : r.ticks.map((t) => ({ agents: r.agents, tick: t.kind && !t.label.includes(t.kind) ? `${t.label} (${t.kind})` : t.label, ms: t.ms, enq: t.enqueued, skip: t.skipped, 'cmds sent': t.clientCommands, 'cmds run': t.serverCommands })),
  ),
);
console.table(
  results.filter((r) => !r.failed).map((r) => ({
    agents: r.agents,
    groups: r.groups,
    'max tick ms': r.maxTickMs,
    'probe ms': r.probeMs,
    'full re-read ms (before)': r.before.fullRereadMs,
    'change picked up': r.changePickedUp,
    'rss MB': r.memory.rssMB,
    'heap MB': r.memory.heapMB,
    'redis MB': r.memory.redisMB,
    load: r.loadBefore,
  })),
);
const file = writeResult('schedule', {
  machine,
  parameters: { sizes, steadyTicks, intervalSeconds, groupSize, agentRefreshSeconds, rebalanceSeconds, tickIntervalSeconds: 1 },
  results,
  notes:
    'Scheduler driven by a fake clock. clientCommands: commands the scheduler sent (a script or MULTI once); serverCommands: INFO commandstats delta of a private redis-server (commands inside scripts too). ' +
    "Ticks are grouped by kind: the heavy steps the scheduler ran in them (Scheduler.lastSteps: adopt, seed, read, probe, 'probe, re-read', plan, costs = a page of agt$state.poll_ms, rebalance = a pass of moves; plain = none). maxTickMs: the slowest of all ticks measured. " +
    'before.fullRereadMs: what each refresh cost before the change probe (full SELECT of c$agents and a compare of every row).',
});
console.log(`\nwritten: ${file}`);

async function measureOneSize({ agents, steadyTicks, intervalSeconds, groupSize }) {
  const logger = createLogger({ level: 'error', format: 'pretty' });
  const redis = await new PrivateRedis().start();
  const connection = createRedis(redis.url, { connectionName: 'watched-bench-scheduler' });
  // Commands the scheduler sends (a script or a MULTI counts once here; INFO commandstats also counts what runs inside them).
  let sent = 0;
  const sendCommand = connection.sendCommand.bind(connection);
  connection.sendCommand = (command, stream) => {
    sent += 1;
    return sendCommand(command, stream);
  };
  const database = await scratchDatabase('schedule', 2);
  const pool = database.pool;
  let queue;
  try {
    await insertAgents(pool, agents, intervalSeconds);

    const keys = new RedisKeys('wbench');
    queue = new Queue(POLL_QUEUE, { connection, prefix: keys.bullPrefix });
    await queue.waitUntilReady();
    const options = parseCoordinatorOptions({ groupSize, agentRefresh: `${agentRefreshSeconds}s`, rebalanceInterval: `${rebalanceSeconds}s`, jobRetention: '1h' });
    const leaseFor = (nodeId) =>
      new LeaderLease({ redis: connection, key: keys.leaderLease, nodeId, ttlMs: 3_600_000, logger, terms: new TermStore(pool, keys.leaderLease) });
    const newScheduler = () => new Scheduler(pool, queue, connection, { leaderLease: keys.leaderLease, schedule: keys.schedule }, options, logger);

    let lease = leaseFor('bench-a');
    await lease.refresh();
    let scheduler = newScheduler();
    const all = [];
    const measure = async (label, now) => {
      const c0 = await redis.commands();
      const s0 = sent;
      const t = performance.now();
      const result = await scheduler.tick(now, lease);
      const ms = performance.now() - t;
      const clientCommands = sent - s0;
      const tick = {
        label,
        kind: scheduler.lastSteps.join(' + ') || 'plain',
        ms: round(ms),
        enqueued: result.enqueued,
        skipped: result.skipped,
        clientCommands,
        serverCommands: (await redis.commands()) - c0,
      };
      all.push(tick);
      return tick;
    };
    const T = Math.floor(Date.now() / 1000) * 1000;
    const ticks = [];
    // 1. Fresh install: the first tick reads every agent; the next ones plan them, enqueue every group
    // (at most 2,000 a tick, the most overdue first), read the costs a page at a time and rebalance.
    ticks.push(await measure('fresh install, first tick', T));
    const catchUp = [];
    for (let s = 1; s < FRESH_TICKS; s++) catchUp.push(await measure('fresh install, next ticks', T + s * 1000));
    ticks.push(...summarize(`fresh install, ticks 2-${FRESH_TICKS}`, catchUp));
    const groups = scheduler.stats.groups;

    // 2. Steady, one tick a second. The probe runs every agentRefresh; a rebalance starts every rebalanceSeconds.
    const steady = async (label, fromSecond) => {
      const part = [];
      for (let s = fromSecond + 1; s <= fromSecond + steadyTicks; s++) part.push(await measure(label, T + s * 1000));
      return summarize(label, part);
    };
    // No worker: the due groups' previous jobs (of the first ticks) are still waiting, so their slots are skipped.
    ticks.push(...(await steady('steady, workers stalled', FRESH_TICKS)));
    // Jobs gone, as when workers keep up: the due groups are enqueued.
    await queue.drain();
    ticks.push(...(await steady('steady, workers keeping up', FRESH_TICKS + steadyTicks)));

    // 3. The web front adds one agent and re-times another, straight in SQL: picked up at the next refresh.
    const [inserted] = await pool.query("INSERT INTO `c$agents` (host, port, pool_freq) VALUES ('192.0.2.1', 9080, ?)", [intervalSeconds]);
    await pool.query('UPDATE `c$agents` SET pool_freq = ? WHERE id = 1', [intervalSeconds * 2]);
    const pickedUp = () => {
      const planned = scheduler.plan;
      return planned.some((g) => g.agentIds.includes(inserted.insertId)) && planned.some((g) => g.pollIntervalMs === intervalSeconds * 2000 && g.agentIds.includes(1));
    };
    // Ticks go on each second until the change is planned (the probe runs every agentRefresh; the re-plan may take the next tick).
    let second = FRESH_TICKS + 2 * steadyTicks + 1;
    let changePickedUp = false;
    const change = [];
    for (let n = 0; n < agentRefreshSeconds + 3 && !changePickedUp; n++, second++) {
      const tick = await measure('after a change in c$agents', T + second * 1000);
      if (tick.kind !== 'plain') change.push({ ...tick, label: `after a change in c$agents: ${tick.kind}` });
      changePickedUp = pickedUp();
    }
    ticks.push(...change);
    const changeAt = T + second * 1000;

    const { rss, heapUsed } = process.memoryUsage();
    const memory = { rssMB: Math.round(rss / 2 ** 20), heapMB: Math.round(heapUsed / 2 ** 20), redisMB: await redis.memoryMB() };

    // 4. A new leader (new term, the schedule its predecessor wrote is in Redis): its first tick enqueues
    // from that schedule; the next ones seed the agent view from it, probe c$agents, read costs, rebalance.
    await connection.del(keys.leaderLease);
    lease = leaseFor('bench-b');
    await lease.refresh();
    scheduler = newScheduler();
    const takeover = await measure('new leader, first tick: adopt the schedule, enqueue the due groups', changeAt + 1000);
    ticks.push(takeover);
    const after = [];
    for (let s = 2; s <= NEW_LEADER_TICKS; s++) after.push(await measure('new leader, next ticks', changeAt + s * 1000));
    ticks.push(...summarize(`new leader, ticks 2-${NEW_LEADER_TICKS}`, after));
    const maxTickMs = Math.max(...all.map((t) => t.ms));

    // 5. Before the probe, every refresh re-read and compared every row.
    const t = performance.now();
    const [rows] = await pool.query('SELECT id, pool_freq FROM `c$agents` ORDER BY id');
    const key = rows.map((r) => `${r.id}:${Math.max(1, Number(r.pool_freq ?? 300)) * 1000}`).join(',');
    const fullRereadMs = round(performance.now() - t);
    const probeStarted = performance.now();
    await pool.query(
      "SELECT id DIV 4096 AS chunk, COUNT(*) AS n, BIT_XOR(CRC32(CONCAT_WS(':', id, pool_freq))) AS checksum FROM `c$agents` GROUP BY chunk",
    );
    const probeMs = round(performance.now() - probeStarted);

    return {
      agents,
      groups,
      maxTickMs,
      ticksMeasured: all.length,
      ticks,
      probeMs,
      changePickedUp,
      before: { fullRereadMs, keyLength: key.length },
      memory,
    };
  } finally {
    await queue?.close().catch(() => undefined);
    connection.disconnect();
    await database.drop();
    await redis.stop();
  }
}

/** Ticks by kind (the scheduler's heavy steps: plain, probe, costs, rebalance, ...), each as mean / p50 / max. */
function summarize(label, all) {
  const kinds = [...new Set(all.map((t) => t.kind))];
  return kinds.map((kind) => {
    const ticks = all.filter((t) => t.kind === kind);
    const ms = ticks.map((t) => t.ms).sort((a, b) => a - b);
    const meanMax = (key) => `${round(mean(ticks.map((t) => t[key])))} / ${Math.max(...ticks.map((t) => t[key]))}`;
    return {
      label: `${label}, ${kind} (${ticks.length} ticks)`,
      ms: `${round(mean(ms))} / ${percentile(ms, 50)} / ${ms.at(-1)}`,
      enqueued: ticks.reduce((n, t) => n + t.enqueued, 0),
      skipped: ticks.reduce((n, t) => n + t.skipped, 0),
      clientCommands: meanMax('clientCommands'),
      serverCommands: meanMax('serverCommands'),
    };
  });
}

/** Agents as the web front leaves them (sequential ids, one frequency; MariaDB's seq engine when present), with poll costs. */
async function insertAgents(pool, agents, intervalSeconds) {
  const host = (v) => `CONCAT('10.', (${v} >> 16) & 255, '.', (${v} >> 8) & 255, '.', ${v} & 255)`;
  try {
    await pool.query(`INSERT INTO \`c$agents\` (host, port, pool_freq) SELECT ${host('seq')}, 9080, ? FROM seq_1_to_${agents}`, [intervalSeconds]);
  } catch {
    for (let start = 1; start <= agents; start += 10_000) {
      const rows = [];
      for (let i = start; i < Math.min(agents + 1, start + 10_000); i++) rows.push([`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 9080, intervalSeconds]);
      await pool.query('INSERT INTO `c$agents` (host, port, pool_freq) VALUES ?', [rows]);
    }
  }
  // A measured poll cost for every agent (20-219 ms), as workers leave it: what the cost balancer reads.
  await pool.query('INSERT INTO `agt$state` (agt_id, poll_ms) SELECT id, 20 + (id * 7919) MOD 200 FROM `c$agents`');
}

function round(ms) {
  return Math.round(ms * 10) / 10;
}
