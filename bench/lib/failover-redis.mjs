// Part of scenario `failover`: Redis failovers under running processes. For
// Redis with Sentinel (1 master, 2 replicas, 3 sentinels) and a Redis
// Cluster (3 masters, 3 replicas), private redis-servers started by the
// fault tests' helpers (@watched/core/testing), a scratch installation with
// two coordinators and two workers polling a simulated fleet through
// redis+sentinel:// or redis+cluster://: kill -9 of the master (on a
// cluster, the one holding the installation's slot), then the time until the
// first poll that started after the kill has completed (its rows committed
// in MySQL), and until the promotion.
import { AgentFleet } from '@watched/agent-sim';
import { AgentRegistry } from '@watched/core';
import { RedisClusterSet, RedisSentinelSet } from '@watched/core/testing';
import { BenchCluster, waitFor } from './cluster.mjs';
import { loadAverage } from './report.mjs';
import { spread } from './stats.mjs';

const HOSTS = 10;
const COORDINATOR = ['coordinator', '--group-size', '2', '--tick-interval', '200ms'];
const WORKER = ['worker'];

/** How each kind of Redis is started, and how its master is found and promoted. */
const KINDS = {
  sentinel: {
    label: 'Sentinel master kill -9',
    start: () => new RedisSentinelSet().start(),
    master: (set) => set.masterPort(),
    promoted: (set, port) => set.promotedFrom(port),
  },
  cluster: {
    label: 'Cluster master kill -9',
    start: () => new RedisClusterSet().start(),
    master: async (set, keys) => set.masterOfSlot(await set.keySlot(keys.leaderLease)),
    promoted: async (set, port, keys) => set.promotedFrom(port, await set.keySlot(keys.leaderLease)),
  },
};

/** The earliest completion (epoch ms) of a poll job that started after `since`. */
function firstPollAfter(installation, since) {
  return waitFor(
    'a poll started after the kill to complete',
    async () => {
      const jobs = await installation.queue.getJobs(['completed'], 0, 200).catch(() => []);
      const after = jobs.filter((j) => (j.processedOn ?? 0) > since && j.finishedOn).map((j) => j.finishedOn);
      return after.length ? Math.min(...after) : undefined;
    },
    60_000,
    50,
  );
}

/** `kills` kill -9 of the master of one kind of Redis, each on a fresh set and installation. */
async function measure(kind, kills) {
  const { start, master, promoted } = KINDS[kind];
  const runs = [];
  for (let i = 0; i < kills; i++) {
    const redis = await start();
    const installation = await new BenchCluster(`redis-${kind}`, { redisUrl: redis.url }).start();
    const fleet = new AgentFleet({ hosts: HOSTS, port: 0, seed: 11, bufferMs: 10 * 60_000 });
    try {
      await fleet.start();
      await new AgentRegistry(installation.pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: 1 })));
      await installation.pool.query('INSERT INTO `agt$state` (agt_id, since) SELECT id, ? FROM `c$agents`', [fleet.now()]);
      for (const label of ['c1', 'c2']) installation.spawn(label, COORDINATOR);
      for (const label of ['w1', 'w2']) installation.spawn(label, WORKER);
      await firstPollAfter(installation, Date.now());
      const port = await master(redis, installation.keys);
      const load = loadAverage();
      const killedAt = Date.now();
      await redis.node(port).kill();
      await promoted(redis, port, installation.keys);
      const promotedMs = Date.now() - killedAt;
      const firstCommitMs = (await firstPollAfter(installation, killedAt)) - killedAt;
      runs.push({ promotedMs, firstCommitMs, load });
      console.log(`${KINDS[kind].label} #${i + 1}: ${JSON.stringify(runs.at(-1))}`);
    } finally {
      await installation.close();
      await fleet.close();
      await redis.stop();
    }
  }
  return runs;
}

/** Both kinds, `kills` times each: raw runs and summary rows for the scenario's table. */
export async function measureRedisFailovers(kills) {
  const results = { sentinelKill: await measure('sentinel', kills), clusterKill: await measure('cluster', kills) };
  const summary = Object.entries({ sentinelKill: 'sentinel', clusterKill: 'cluster' }).flatMap(([key, kind]) => [
    { fault: KINDS[kind].label, measure: 'replica promoted', ...spread(results[key].map((r) => r.promotedMs)) },
    { fault: KINDS[kind].label, measure: 'first poll committed after the kill', ...spread(results[key].map((r) => r.firstCommitMs)) },
  ]);
  return { results, summary };
}
