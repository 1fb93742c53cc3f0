#!/usr/bin/env node
// Scenario `hanging` (issue 17, item 2): N simulated agents of which a share
// accept the connection and never answer, mixed into the same groups as the
// healthy ones; a `watched coordinator` and a `watched worker` with product
// defaults (groups of 50, agent timeout 30 s, 16 agents at once per job), in
// real time. Each share of --shares is one run on a fresh installation, so
// the healthy-only run is the baseline measured under the same load.
// Measured per run, after a warm-up of two intervals (the max spacing from
// each agent's first poll, the first round included, when every hanging
// agent is still on the hot path, is reported apart):
//   - the healthy agents' poll spacing (consecutive agt$state.last_ok values,
//     sampled every 250 ms): p50 / p99 / max, against interval + bound;
//   - the queue depth (waiting + prioritized jobs, sampled every second): max;
//   - the agents off the hot path at the end (agt$state.slow_polls > 0) and
//     slots skipped by backpressure.
// Usage: npm run bench -- hanging [--agents=1000] [--shares=0,0.8] [--intervalSeconds=30] [--minutes=3]
// Needs: npm run build, redis-server on PATH. Bounded: per share, 2 intervals + minutes + 30 s.
import { AgentFleet } from '@watched/agent-sim';
import { AgentRegistry } from '@watched/core';
import { BenchCluster } from './lib/cluster.mjs';
import { loadAverage, machineInfo, parseFlags, writeResult } from './lib/report.mjs';
import { percentile } from './lib/stats.mjs';

const DEFAULTS = { agents: 1000, shares: '0,0.8', intervalSeconds: 30, minutes: 3 };
const usage = `usage: npm run bench -- hanging ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const { agents, shares, intervalSeconds, minutes } = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const intervalMs = intervalSeconds * 1000;

const runs = [];
let machine;
for (const share of String(shares).split(',').map(Number)) runs.push(await run(share));

console.log(`\nhanging: ${agents} agents at ${intervalSeconds} s, ${minutes} min measured per share; spacing of the healthy agents' polls in ms\n`);
console.table(runs.map((r) => ({
  'hanging share': r.share,
  'max incl. first round': r.all.max,
  'spacing p50': r.spacing.p50,
  'spacing p99': r.spacing.p99,
  'spacing max': r.spacing.max,
  'p99 / interval': +(r.spacing.p99 / intervalMs).toFixed(3),
  'queue max': r.queueMax,
  'off hot path': r.offHotPath,
  'skipped slots (window)': r.skippedSlots,
  load: r.load.join(' '),
})));
console.log(`\nwritten: ${writeResult('hanging', { machine, parameters: { agents, shares, intervalSeconds, minutes }, runs })}`);
process.exit(0);

async function run(share) {
  const cluster = await new BenchCluster(`hanging${Math.round(share * 100)}`).start();
  machine ??= await machineInfo(cluster.pool);
  const fleet = new AgentFleet({ hosts: agents, port: 0, seed: 17, bufferMs: 2 * intervalMs });
  try {
    await fleet.start();
    // Every k-th agent hangs, so hanging and healthy agents share every group.
    const hanging = new Set();
    for (let i = 0; i < agents; i += 1) if (Math.floor((i + 1) * share) > Math.floor(i * share)) hanging.add(i);
    for (const i of hanging) fleet.setFault(i, { kind: 'hang' });
    await new AgentRegistry(cluster.pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: intervalSeconds })));
    await cluster.pool.query('INSERT INTO `agt$state` (agt_id, since) SELECT id, ? FROM `c$agents`', [fleet.now()]);
    const listed = await new AgentRegistry(cluster.pool).list();
    const idOf = new Map(listed.map((a) => [`${a.host}:${a.port}`, a.id]));
    const healthyIds = fleet.agents().filter((a) => !hanging.has(a.index)).map((a) => idOf.get(`${a.host}:${a.port}`));

    const load = [loadAverage()];
    cluster.spawn('coordinator', ['coordinator']);
    const worker = cluster.spawn('worker', ['worker']);
    const polls = new Map(healthyIds.map((id) => [id, new Set()]));
    let queueMax = 0;
    const sampleQueue = setInterval(async () => {
      const c = await cluster.queue.getJobCounts('waiting', 'prioritized').catch(() => ({ waiting: 0, prioritized: 0 }));
      queueMax = Math.max(queueMax, c.waiting + c.prioritized);
    }, 1000);
    const warmUpEnd = Date.now() + 2 * intervalMs;
    const end = warmUpEnd + minutes * 60_000;
    const skippedSoFar = async () =>
      Object.values(await cluster.redis.hgetall(cluster.keys.schedule)).reduce((n, json) => n + JSON.parse(json).skipped, 0);
    let skippedAtWarmUp;
    while (Date.now() < end) {
      if (healthyIds.length) {
        const [rows] = await cluster.pool.query('SELECT agt_id, last_ok FROM `agt$state` WHERE agt_id IN (?) AND last_ok IS NOT NULL', [healthyIds]);
        for (const r of rows) polls.get(Number(r.agt_id)).add(Number(r.last_ok));
      }
      if (skippedAtWarmUp === undefined && Date.now() >= warmUpEnd) {
        skippedAtWarmUp = await skippedSoFar();
        console.log(`hanging ${share}: warm-up done, load ${loadAverage()}`);
      }
      if (load.length < 2 + Math.floor((Date.now() - warmUpEnd) / 60_000)) load.push(loadAverage());
      await new Promise((r) => setTimeout(r, 250));
    }
    clearInterval(sampleQueue);
    load.push(loadAverage());
    if (!worker.running) console.error(`hanging ${share}: the worker exited:\n${worker.tail(20)}`);
    const [[off]] = await cluster.pool.query('SELECT COUNT(*) AS n FROM `agt$state` WHERE slow_polls > 0');
    const skippedInWindow = (await skippedSoFar()) - (skippedAtWarmUp ?? 0);
    const result = {
      share,
      hanging: hanging.size,
      healthy: healthyIds.length,
      // From each agent's first poll, the first round (every hanging agent still on the hot path) included.
      all: stats(spacings(polls, 0)),
      // Polls after the warm-up.
      spacing: stats(spacings(polls, warmUpEnd)),
      queueMax,
      offHotPath: Number(off.n),
      skippedSlots: skippedInWindow,
      load,
    };
    console.log(`hanging ${share}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await cluster.close();
    await fleet.close();
  }
}

/** Consecutive differences of each agent's poll times whose later poll is at or after `from`, ascending. */
function spacings(polls, from) {
  return [...polls.values()]
    .flatMap((set) => {
      const times = [...set].sort((a, b) => a - b);
      return times.slice(1).flatMap((t, i) => (t >= from ? [Math.round(t - times[i])] : []));
    })
    .sort((a, b) => a - b);
}

function stats(sorted) {
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) };
}

