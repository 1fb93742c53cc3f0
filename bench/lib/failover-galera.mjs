// `failover` scenario, Galera part: a coordinator and a worker (product
// defaults) write through the multi-host URL of a private 3-node Galera
// cluster (bench/lib/galera.mjs) while an in-process simulated fleet is
// polled; the writer node is killed with SIGKILL, and the figure is the time
// from the kill to the first job started after it that completed (a job
// completes right after its transaction commits). The node then rejoins (IST) and, after the
// URL's failback period, the processes move back to it before the next kill.
import { AgentFleet } from '@watched/agent-sim';
import { AgentRegistry, readMembers } from '@watched/core';
import { BenchCluster, waitFor } from './cluster.mjs';
import { startGalera } from './galera.mjs';
import { loadAverage } from './report.mjs';

const HOSTS = 20;
const FAILBACK = '5s';

/** Runs `kills` writer kills; returns one result each ({ firstCommitAfterKillMs, failedOverTo, load }). */
export async function galeraWriterKills(kills, log = console.log) {
  const results = [];
  if (kills <= 0) return results;
  const galera = await startGalera(log);
  const cluster = new BenchCluster('failover_galera', { mysqlServer: galera.url() });
  const fleet = new AgentFleet({ hosts: HOSTS, port: 0, seed: 11, bufferMs: 10 * 60_000 });
  const writerName = (i) => `127.0.0.1:${galera.nodes[i].port}`;
  const writers = async () => (await readMembers(cluster.redis, cluster.prefix)).map((m) => m.mysql?.writer);
  try {
    await cluster.start();
    cluster.mysqlUrl = `${cluster.mysqlUrl}?failback=${FAILBACK}`;
    await fleet.start();
    await new AgentRegistry(cluster.pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: 1 })));
    await cluster.pool.query('INSERT INTO `agt$state` (agt_id, since) SELECT id, ? FROM `c$agents`', [fleet.now()]);
    const coordinator = cluster.spawn('galera-c1', ['coordinator', '--group-size', '2']);
    const worker = cluster.spawn('galera-w1', ['worker']);
    // Generous: the three nodes and the processes share the machine.
    await Promise.all([cluster.started(coordinator, 'coordinator started', 90_000), cluster.started(worker, 'worker started', 90_000)]);
    const completedSince = async (at) => (await cluster.recentJobs(['completed'], 200)).filter((j) => (j.finishedOn ?? 0) > at);
    for (let i = 0; i < kills; i++) {
      await waitFor('both processes writing to node 1', async () => (await writers()).filter((w) => w === writerName(0)).length === 2, 90_000, 200);
      const ready = Date.now();
      await waitFor('jobs completing', async () => (await completedSince(ready)).length >= 2, 30_000, 100);
      const load = loadAverage();
      const killedAt = Date.now();
      await galera.nodes[0].kill();
      // A job started after the kill committed after it (one finished just after may have committed before).
      const first = await waitFor('a job started after the kill and completed', async () => {
        const after = (await completedSince(killedAt)).filter((j) => (j.processedOn ?? 0) > killedAt);
        return after.length ? Math.min(...after.map((j) => j.finishedOn)) : undefined;
      }, 60_000, 50);
      const failedOverTo = (await writers()).find((w) => w && w !== writerName(0));
      results.push({ firstCommitAfterKillMs: first - killedAt, failedOverTo, load });
      log(`galera writer kill -9 #${i + 1}: ${JSON.stringify(results.at(-1))}`);
      galera.nodes[0].restart();
      await galera.nodes[0].waitSynced(3);
    }
  } finally {
    await cluster.close();
    await fleet.close();
    await galera.stop();
  }
  return results;
}
