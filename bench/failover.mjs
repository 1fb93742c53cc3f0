#!/usr/bin/env node
// Scenario `failover`: real `watched coordinator` and `watched worker`
// processes (product defaults: lease TTL 10 s, tick 1 s, job lock 30 s,
// stalled check 30 s) polling an in-process simulated fleet, and timed faults,
// each repeated:
//   - kill -9 the leader: time until the standby holds the lease, and until
//     its first enqueue (the job's own timestamp);
//   - SIGTERM the leader: the same (graceful handover), and the old leader's exit;
//   - kill -9 a worker mid-job: time until that job completes on the other worker;
//   - kill -9 the Redis master, with Sentinel and on a Redis Cluster (bench/lib/failover-redis.mjs):
//     time until the first poll after the kill is committed.
//   - kill -9 the Galera writer node (bench/lib/failover-galera.mjs): time until the first commit after it.
// Two coordinators and two workers run throughout; each killed process is
// replaced by a fresh one before the next repetition.
// Usage: npm run bench -- failover [--crashes=5] [--handovers=5] [--workerKills=3] [--leaseTtlSeconds=10] [--redisKills=2] [--galeraKills=2]
// Needs: npm run build, redis-server on PATH. Bounded: ~3-5 min (the worker kills wait for stall detection).
import { AgentFleet } from '@watched/agent-sim';
import { AgentRegistry } from '@watched/core';
import { BenchCluster, pidOfNodeId, waitFor } from './lib/cluster.mjs';
import { galeraWriterKills } from './lib/failover-galera.mjs';
import { loadAverage, machineInfo, parseFlags, writeResult } from './lib/report.mjs';
import { spread } from './lib/stats.mjs';
import { measureRedisFailovers } from './lib/failover-redis.mjs';

const DEFAULTS = { crashes: 5, handovers: 5, workerKills: 3, leaseTtlSeconds: 10, redisKills: 2, galeraKills: 2 };
const usage = `usage: npm run bench -- failover ${Object.entries(DEFAULTS).map(([k, v]) => `[--${k}=${v}]`).join(' ')}`;
const { crashes, handovers, workerKills, leaseTtlSeconds, redisKills, galeraKills } = parseFlags(process.argv.slice(2), DEFAULTS, usage);
const leaseTtl = `${leaseTtlSeconds}s`;
const leaseTtlMs = leaseTtlSeconds * 1000;
const HOSTS = 20;
// 1 s polls in groups of 2: ten groups, a slot every 100 ms, so a new leader has something to enqueue at its first tick.
const COORDINATOR = ['coordinator', '--group-size', '2', '--lease-ttl', leaseTtl];
const WORKER = ['worker'];
const SLOW_POLL_MS = 3000;

const cluster = await new BenchCluster('failover').start();
const fleet = new AgentFleet({ hosts: HOSTS, port: 0, seed: 7, bufferMs: 10 * 60_000 });
const results = { leaderCrash: [], leaderHandover: [], workerCrash: [], galeraWriterCrash: [] };
const machine = await machineInfo(cluster.pool);
let error;
let redisPart;
try {
  await fleet.start();
  await new AgentRegistry(cluster.pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: 1 })));
  // Cursors at now: polls fetch only fresh data, not the sim's whole buffer.
  await cluster.pool.query('INSERT INTO `agt$state` (agt_id, since) SELECT id, ? FROM `c$agents`', [fleet.now()]);

  const coordinators = [cluster.spawn('c1', COORDINATOR)];
  await waitFor('c1 to lead', async () => (await cluster.lease())?.pid === coordinators[0].pid, 20_000);
  coordinators.push(cluster.spawn('c2', COORDINATOR));
  const workers = [cluster.spawn('w1', WORKER), cluster.spawn('w2', WORKER)];
  await Promise.all([cluster.started(coordinators[1], 'coordinator started'), ...workers.map((w) => cluster.started(w, 'worker started'))]);
  await waitFor('a completed job', async () => (await cluster.queue.getJobCounts('completed')).completed > 0, 30_000);
  let spawned = 2;

  /** Stops the leader with `signal`; returns how long until the standby leads and enqueues its first job. */
  const leaderFault = async (signal) => {
    const before = await cluster.lease();
    const leader = coordinators.find((c) => c.pid === before.pid);
    const load = loadAverage();
    const stoppedAt = Date.now();
    const exited = leader.stop(signal, 30_000).then(() => Date.now() - stoppedAt);
    const after = await waitFor('a new leader', async () => {
      const lease = await cluster.lease();
      return lease && lease.term > before.term ? { ...lease, at: Date.now() } : undefined;
    }, leaseTtlMs + 20_000, 20);
    const first = await waitFor('the first job of the new term', async () => {
      const jobs = await cluster.recentJobs();
      const ours = jobs.filter((j) => j.data.term === after.term).map((j) => j.timestamp);
      return ours.length > 0 ? Math.min(...ours) : undefined;
    }, 20_000, 50);
    const exitMs = await exited;
    coordinators.splice(coordinators.indexOf(leader), 1);
    const standby = cluster.spawn(`c${++spawned}`, COORDINATOR);
    coordinators.push(standby);
    await cluster.started(standby, 'coordinator started');
    return { leaseTakenMs: after.at - stoppedAt, firstEnqueueMs: first - stoppedAt, oldLeaderExitMs: exitMs, newTerm: after.term, load };
  };

  for (let i = 0; i < crashes; i++) {
    results.leaderCrash.push(await leaderFault('SIGKILL'));
    console.log(`leader kill -9 #${i + 1}: ${JSON.stringify(results.leaderCrash.at(-1))}`);
  }
  for (let i = 0; i < handovers; i++) {
    results.leaderHandover.push(await leaderFault('SIGTERM'));
    console.log(`leader SIGTERM #${i + 1}: ${JSON.stringify(results.leaderHandover.at(-1))}`);
  }

  // Worker kills: polls take 3 s (so a job is caught mid-run) at a 10 s interval (so the queue stays short).
  await cluster.pool.query('UPDATE `c$agents` SET pool_freq = 10');
  for (let i = 0; i < HOSTS; i++) fleet.setFault(i, { kind: 'slow', on: 'all', delayMs: SLOW_POLL_MS });
  await new Promise((r) => setTimeout(r, 6000)); // the leader re-reads c$agents every 5 s
  await waitFor('the 1 s backlog to drain', async () => (await cluster.queue.getJobCounts('waiting')).waiting === 0, 60_000, 500);
  for (let i = 0; i < workerKills; i++) {
    const pids = workers.map((w) => w.pid);
    const victim = await waitFor('a job that has just started', async () => {
      const active = await cluster.queue.getActive();
      return active.find((j) => pids.includes(pidOfNodeId(j.processedBy)) && Date.now() - (j.processedOn ?? 0) < 1000);
    }, 60_000, 50);
    const killed = workers.find((w) => w.pid === pidOfNodeId(victim.processedBy));
    const load = loadAverage();
    const killedAt = Date.now();
    await killed.stop('SIGKILL');
    const done = await waitFor(`job ${victim.id} completed elsewhere`, async () => {
      const job = await cluster.queue.getJob(victim.id);
      return job && job.finishedOn && (await job.getState()) === 'completed' ? job : undefined;
    }, 180_000, 100);
    results.workerCrash.push({ completedElsewhereMs: done.finishedOn - killedAt, attempts: done.attemptsMade, load });
    console.log(`worker kill -9 #${i + 1}: ${JSON.stringify(results.workerCrash.at(-1))}`);
    workers.splice(workers.indexOf(killed), 1);
    const fresh = cluster.spawn(`w${++spawned}`, WORKER);
    workers.push(fresh);
    await cluster.started(fresh, 'worker started');
  }
} catch (err) {
  // Keep what was measured before the failure.
  error = err.message;
  console.error(`failover: ${err.message}`);
} finally {
  await cluster.close();
  await fleet.close();
}
// Redis failovers: installations of their own, once the processes above are gone.
if (redisKills > 0) redisPart = await measureRedisFailovers(redisKills).catch((err) => void (error ??= `redis: ${err.message}`));
// Its own servers (a private Galera cluster): measured also when the part above failed.
try {
  results.galeraWriterCrash = await galeraWriterKills(galeraKills);
} catch (err) {
  error = [error, `galera: ${err.message}`].filter(Boolean).join('; ');
  console.error(`failover (galera): ${err.message}`);
}

const summary = [
  { fault: 'leader kill -9', measure: 'new leader holds the lease', ...spread(results.leaderCrash.map((r) => r.leaseTakenMs)) },
  { fault: 'leader kill -9', measure: "new leader's first enqueue", ...spread(results.leaderCrash.map((r) => r.firstEnqueueMs)) },
  { fault: 'leader SIGTERM', measure: 'new leader holds the lease', ...spread(results.leaderHandover.map((r) => r.leaseTakenMs)) },
  { fault: 'leader SIGTERM', measure: "new leader's first enqueue", ...spread(results.leaderHandover.map((r) => r.firstEnqueueMs)) },
  { fault: 'leader SIGTERM', measure: 'old leader exited', ...spread(results.leaderHandover.map((r) => r.oldLeaderExitMs)) },
  { fault: 'worker kill -9 mid-job', measure: 'its job completed elsewhere', ...spread(results.workerCrash.map((r) => r.completedElsewhereMs)) },
  ...(redisPart?.summary ?? []),
  { fault: 'Galera writer kill -9', measure: 'first commit after it', ...spread(results.galeraWriterCrash.map((r) => r.firstCommitAfterKillMs)) },
];
console.log(`\nfailover (ms; lease TTL ${leaseTtlMs} ms, targets: crash <= TTL + 2 s = ${leaseTtlMs + 2000}, handover < 1000)\n`);
console.table(summary);
const file = writeResult('failover', {
  machine,
  parameters: { crashes, handovers, workerKills, redisKills, galeraKills, hosts: HOSTS, pollIntervalSeconds: 1, groupSize: 2, leaseTtlMs, tickIntervalMs: 1000, workerLockDurationMs: 30_000, workerStalledIntervalMs: 30_000, slowPollMsDuringWorkerKills: SLOW_POLL_MS },
  results: { summary, ...results, ...redisPart?.results, ...(error ? { error } : {}) },
  notes:
    'Times from the signal. First enqueue: the BullMQ timestamp of the earliest job stamped with the new term. ' +
    'A killed worker\'s job waits for its lock to expire and a stalled-job check (30 s each by default).',
});
console.log(`\nwritten: ${file}`);
process.exit(error ? 1 : 0);
