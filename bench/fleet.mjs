#!/usr/bin/env node
// Scenario `fleet`: N simulated hosts (default 10,000) at a 60 s interval, in
// real time, for a few minutes (default 3), through the real path: a `watched
// sim` process, a `watched coordinator` and a `watched worker` (product
// defaults, groups of 50). Agents' cursors start at now, as for a fleet
// already being polled (not the sim's 25-minute buffer). Measured:
//   - warm-up: until every agent has been polled once (a fresh install
//     enqueues every group at once, and a host's first poll registers its
//     hosts, resources and tables) and the backlog that burst left is
//     drained (no more jobs waiting than the workers run at once), at most
//     --warmupMinutes: the window measures the steady state, not the install;
//   - then, over the measured window, per slot: job start lag (worker picked
//     it up - slot start) and completion lag (job finished - slot start),
//     p50 / p90 / p99 / max;
//   - are all polls on time: every slot enqueued (no backpressure skip),
//     every job completed, one agt$history row per agent and poll, p99 < 5 s;
//   - worker (and coordinator, sim) RSS, sampled every second; the workers'
//     V8 heap (used / total, from their /metrics) sampled every 5 s: live data
//     against garbage not yet collected.
//   --workerHeapMB caps the workers' V8 old space (--max-old-space-size; 0 = Node's default, which lets
//   garbage pile up to well above the live data on a machine with much memory).
// Usage: npm run bench -- fleet [--hosts=10000] [--minutes=3] [--warmupMinutes=5] [--intervalSeconds=60] [--workers=1] [--workerHeapMB=0]
// Needs: npm run build, redis-server on PATH. Bounded: warm-up + minutes + at most 2 min of draining.
import { BenchCluster, waitFor } from './lib/cluster.mjs';
import { freePort, UsageSampler } from './lib/processes.mjs';
import { HeapSampler } from './lib/heap-sampler.mjs';
import { loadAverage, machineInfo, parseFlags, writeResult } from './lib/report.mjs';
import { percentile } from './lib/stats.mjs';

const DEFAULTS = { hosts: 10_000, minutes: 3, warmupMinutes: 5, intervalSeconds: 60, workers: 1, workerHeapMB: 0 };
const usage = `usage: npm run bench -- fleet ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const { hosts, minutes, warmupMinutes, intervalSeconds, workers: workerCount, workerHeapMB } = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const TARGET_P99_MS = 5000;
const TARGET_WORKER_RSS_MB = 300;
const simPort = 19_700 + (process.pid % 200);

const cluster = await new BenchCluster('fleet').start();
const machine = await machineInfo(cluster.pool);
let result;
try {
  const sim = cluster.spawn('sim', ['sim', '--hosts', String(hosts), '--listen', `0.0.0.0:${simPort}`, '--register', '--freq', String(intervalSeconds)]);
  await waitFor(`${hosts} agents registered`, async () => {
    const [[row]] = await cluster.pool.query('SELECT COUNT(*) AS n FROM `c$agents`');
    return Number(row.n) === hosts;
  }, 120_000, 500).catch((err) => {
    throw new Error(`${err.message}\n${sim.tail()}`);
  });
  const t0 = Date.now();
  await cluster.pool.query('INSERT INTO `agt$state` (agt_id, since) SELECT id, ? FROM `c$agents`', [t0]);

  const load = [loadAverage()];
  const coordinator = cluster.spawn('coordinator', ['coordinator']);
  const workerPorts = await Promise.all(Array.from({ length: workerCount }, () => freePort()));
  const workers = withNodeOptions(workerHeapMB > 0 ? `--max-old-space-size=${workerHeapMB}` : '', () =>
    workerPorts.map((port, i) => cluster.spawn(`worker${i + 1}`, ['worker', '--admin-listen', `127.0.0.1:${port}`])),
  );
  const heap = new HeapSampler(workers.map((w, i) => [w.label, `http://127.0.0.1:${workerPorts[i]}/metrics`]));
  const warmupStarted = Date.now();
  const warmedUp = await waitFor('every agent polled once and the install burst drained', async () => {
    const [[row]] = await cluster.pool.query('SELECT COUNT(*) AS n FROM `agt$state` WHERE last_ok IS NOT NULL');
    if (Number(row.n) < hosts) return false;
    const c = await cluster.queue.getJobCounts('waiting');
    return c.waiting <= 4 * workerCount; // product default: 4 jobs at once per worker
  }, warmupMinutes * 60_000, 2000).then(() => true, () => false);
  const warmupSeconds = Math.round((Date.now() - warmupStarted) / 1000);
  console.log(`fleet: warm-up ${warmedUp ? 'done' : 'NOT done (measuring with a backlog)'} after ${warmupSeconds} s, load ${loadAverage()}`);
  const sampler = new UsageSampler(Object.fromEntries([...workers, coordinator, sim].map((r) => [r.label, r.pid])));
  sampler.start();
  heap.start();
  const startedAt = Date.now();
  const endAt = startedAt + minutes * 60_000;
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.min(30_000, endAt - Date.now())));
    load.push(loadAverage());
    const c = await cluster.queue.getJobCounts('waiting', 'active', 'completed', 'failed');
    console.log(`fleet: ${Math.round((Date.now() - startedAt) / 1000)} s, jobs ${JSON.stringify(c)}, load ${load.at(-1)}`);
  }
  // Usage over the measured window, then no new slots; the jobs in flight finish (bounded).
  const memory = sampler.stop();
  const heapMB = await heap.stop();
  const workersExited = workers.filter((w) => !w.running).map((w) => w.label);
  for (const w of workers.filter((x) => !x.running)) console.error(`fleet: ${w.label} exited during the run:\n${w.tail(15)}`);
  await coordinator.stop('SIGTERM');
  await waitFor('the queue to empty', async () => {
    const c = await cluster.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return c.waiting + c.active + c.delayed + c.prioritized === 0;
  }, 120_000, 500).catch(() => console.error('fleet: jobs still pending 2 min after the end; counted as not completed'));

  const completedJobs = await cluster.queue.getJobs(['completed'], 0, -1);
  const jobs = [...completedJobs, ...(await cluster.queue.getJobs(['failed', 'waiting', 'active', 'delayed', 'prioritized'], 0, -1))];
  const schedule = Object.values(await cluster.redis.hgetall(cluster.keys.schedule)).map((json) => JSON.parse(json));
  const skipped = schedule.reduce((n, g) => n + g.skipped, 0);
  const measured = (j) => j.data.slot >= startedAt && j.data.slot < endAt;
  const phases = [
    [`warm-up (${warmupSeconds} s: every group due at once, first polls)`, jobs.filter((j) => j.data.slot < startedAt)],
    [`measured window (${minutes} min)`, jobs.filter(measured)],
  ].map(([phase, list]) => ({ phase, ...lags(list) }));
  // One agt$history row per agent and poll: at least one per agent of each completed job (more if a job was retried).
  const expectedPolls = completedJobs.filter(measured).reduce((n, j) => n + j.data.agentIds.length, 0);
  const [[history]] = await cluster.pool.query('SELECT COUNT(*) AS n FROM `agt$history` WHERE `timestamp` >= ?', [startedAt]);
  const [[failing]] = await cluster.pool.query('SELECT COUNT(*) AS n FROM `agt$state` WHERE consecutive_failures > 0');
  const completed = completedJobs.filter(measured).length;
  const steadyGaps = slotGaps(jobs, startedAt, intervalSeconds * 1000);
  const steady = phases[1];
  const workerRss = Math.max(...workers.map((w) => memory[w.label].peakRssMB));
  const onTime = {
    warmedUp,
    workersExited,
    slotsMissingInWindow: steadyGaps.count,
    everyJobCompleted: completed === jobs.filter(measured).length,
    everyPollRecorded: Number(history.n) >= expectedPolls,
    agentsFailing: Number(failing.n),
    steadyStartP99UnderTarget: steady.startLag.p99 !== undefined && steady.startLag.p99 < TARGET_P99_MS,
    steadyDoneP99UnderTarget: steady.doneLag.p99 !== undefined && steady.doneLag.p99 < TARGET_P99_MS,
    workerRssUnderTarget: workerRss < TARGET_WORKER_RSS_MB,
  };
  result = {
    parameters: { hosts, minutes, warmupMinutes, intervalSeconds, workers: workerCount, workerHeapMB, groupSize: 50, workerConcurrency: 4, agentConcurrency: 16, cursorsStartAtNow: true },
    results: { phases, missingSlotsSecondsAfterStart: steadyGaps.secondsAfterStart, jobs: jobs.length, completed, skippedSlots: skipped, polls: expectedPolls, agtHistoryRows: Number(history.n), onTime, usage: memory, workerHeapMB: heapMB, load },
  };
  console.log(`\nfleet: ${hosts} hosts at ${intervalSeconds} s for ${minutes} min, ${workerCount} worker(s); lags in ms from the slot start\n`);
  console.table(phases.map((p) => ({ phase: p.phase, jobs: p.jobs, 'start p50': p.startLag.p50, 'start p99': p.startLag.p99, 'start max': p.startLag.max, 'done p50': p.doneLag.p50, 'done p90': p.doneLag.p90, 'done p99': p.doneLag.p99, 'done max': p.doneLag.max })));
  console.table(Object.entries(memory).map(([role, m]) => ({ role, 'CPU cores': m.cpuCores, 'peak RSS MB': m.peakRssMB, 'RSS MB at end': m.rssMB, ...(heapMB[role] ?? {}) })));
  console.table([{ ...onTime, skippedSlots: skipped, polls: expectedPolls, agtHistoryRows: Number(history.n) }]);
  if (steadyGaps.count) console.log(`missing slots, seconds after the window start: ${steadyGaps.secondsAfterStart.slice(0, 40).join(', ')}`);
} finally {
  await cluster.close();
}
if (result) console.log(`\nwritten: ${writeResult('fleet', { machine, ...result, notes: `targets: p99 lag < ${TARGET_P99_MS} ms (start lag: job picked up; done lag: the whole group polled and stored), worker RSS < ${TARGET_WORKER_RSS_MB} MB` })}`);
process.exit(result ? 0 : 1);

/** Runs `spawn` with NODE_OPTIONS extended (children take the environment of the moment they are spawned). */
function withNodeOptions(extra, spawn) {
  const before = process.env.NODE_OPTIONS;
  if (extra) process.env.NODE_OPTIONS = `${before ?? ''} ${extra}`.trim();
  try {
    return spawn();
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
}

/**
 * Slots missing between a group's consecutive jobs (backpressure skips) whose
 * time falls at or after `from`, and when they fell (seconds after `from`):
 * gaps at the very start of the window are left over from the warm-up.
 */
function slotGaps(jobs, from, intervalMs) {
  const byGroup = new Map();
  for (const j of jobs) byGroup.set(j.data.group, [...(byGroup.get(j.data.group) ?? []), j.data.slot]);
  const at = [];
  for (const slots of byGroup.values()) {
    slots.sort((a, b) => a - b);
    for (let i = 1; i < slots.length; i++) {
      const gaps = Math.round((slots[i] - slots[i - 1]) / intervalMs) - 1;
      for (let k = 1; k <= gaps; k++) {
        const slot = slots[i - 1] + k * intervalMs;
        if (slot >= from) at.push(Math.round((slot - from) / 1000));
      }
    }
  }
  return { count: at.length, secondsAfterStart: at.sort((a, b) => a - b) };
}

/** Start and completion lag percentiles (ms from the slot start) of jobs. */
function lags(jobs) {
  const sorted = (values) => values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const stats = (values) => ({ p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), max: values.at(-1) });
  return {
    jobs: jobs.length,
    startLag: stats(sorted(jobs.map((j) => j.processedOn - j.data.slot))),
    doneLag: stats(sorted(jobs.map((j) => j.finishedOn - j.data.slot))),
  };
}

