import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, type Job } from 'bullmq';
import { AgentFleet } from '@watched/agent-sim';
import {
  ADMIN_PATHS,
  AdminServer,
  createMysqlPool,
  createRedis,
  mysqlReadiness,
  POLL_QUEUE,
  readMembers,
  RedisKeys,
  type MemberInfo,
  type PollJobData,
  type Pool,
  type Redis,
  type RowDataPacket,
} from '@watched/core';
import { createTestEnvironment, GaleraCluster, GaleraHaproxy, type TestEnvironment, waitFor } from '@watched/core/testing';
import { servedUpToCursors, storedRows } from './fleet-expectations.js';
import { spawnWatched, type RoleProcess, startCursorFleet, waitForEmptyQueue, type ProcessEnvironment } from './processes.js';

/**
 * A private 3-node MariaDB Galera cluster (own ports and folder, killed and
 * removed afterwards) under running coordinator and worker processes: the
 * node they write to is killed with SIGKILL mid-ingest, once with watched
 * choosing the writer from the multi-host URL, once behind haproxy (a
 * one-host URL). Writes resume on the next node within 10 s and every row
 * the simulated fleet served is in MySQL exactly once. One cluster for the
 * whole file (its start is the slow part).
 */

const HOSTS = 8;
const RESUME_WITHIN_MS = 10_000;
const COORDINATOR_ARGS = ['coordinator', '--lease-ttl', '2s', '--tick-interval', '200ms', '--agent-refresh', '500ms', '--group-size', '4', '--heartbeat-interval', '500ms', '--job-attempts', '10'];
const WORKER_ARGS = ['worker', '--lock-duration', '2s', '--stalled-interval', '1s', '--heartbeat-interval', '500ms', '--shutdown-timeout', '5s'];

describe('MariaDB Galera, 3 nodes: the writer killed mid-ingest', () => {
  let cluster: GaleraCluster;
  let env: TestEnvironment;
  let fleet: AgentFleet;
  let redis: Redis;
  let queue: Queue<PollJobData>;
  let haproxy: GaleraHaproxy | undefined;
  let t0 = 0;
  const processes: RoleProcess[] = [];
  const pools: Pool[] = [];
  const completed = async () => (await queue.getJobs(['completed'], 0, -1)) as Array<Job<PollJobData>>;
  const nodeName = (index: number) => `127.0.0.1:${cluster.nodes[index].port}`;
  const writersOf = async (roles: string[]): Promise<MemberInfo[]> =>
    (await readMembers(env.redis, env.keys)).filter((m) => roles.includes(m.role) && m.mysql !== undefined);

  beforeAll(async () => {
    cluster = await GaleraCluster.start();
    env = await createTestEnvironment('galera_failover', { mysqlServer: cluster.url(), migrate: false });
    redis = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: redis, prefix: env.keys.bullPrefix });
  }, 240_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await haproxy?.stop();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await redis?.quit();
    await fleet?.close();
    await env?.cleanup().catch(() => undefined);
    await cluster?.stop();
  }, 60_000);

  /** Stops the processes (coordinator first, the worker drains the queue) and checks the rows. */
  async function drainAndCheckRows(coordinator: RoleProcess, worker: RoleProcess): Promise<void> {
    expect(await coordinator.stop('SIGTERM')).toBe(0);
    await waitForEmptyQueue(queue, 40_000, 200);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(await queue.getJobs(['failed'], 0, -1)).toEqual([]);
    const { expected } = await servedUpToCursors(env.pool, fleet, t0);
    const stored = await storedRows(env.pool);
    // Every row served is stored, and nothing twice (a row count above the distinct keys would be a duplicate).
    expect(stored.count).toBe(expected.size);
    expect([...expected.keys()].filter((k) => !stored.rows.has(k)).slice(0, 5)).toEqual([]);
  }

  /** SIGKILLs node `index` once jobs complete, and returns the ms from the kill to the first commit after it (a job started after the kill, completed). */
  async function killMidIngest(index: number, roles: RoleProcess[]): Promise<number> {
    const completedSince = async (at: number) => (await completed()).filter((j) => (j.finishedOn ?? 0) > at);
    const startedAt = Date.now();
    await waitFor('3 completed jobs', async () => (await completedSince(startedAt)).length >= 3, 60_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n${roles.map((r) => `--- ${r.label}\n${r.tail(15)}`).join('\n')}`);
    });
    const killedAt = Date.now();
    await cluster.nodes[index].kill();
    // Started after the kill, so committed after it (a job finished just after the kill may have committed before).
    const first = await waitFor(
      'a job started after the kill and completed',
      async () => {
        const after = (await completedSince(killedAt)).filter((j) => (j.processedOn ?? 0) > killedAt);
        return after.length ? Math.min(...after.map((j) => j.finishedOn!)) : undefined;
      },
      30_000,
      100,
    );
    return first - killedAt;
  }

  it('migrates the cluster with `watched migrate` through the multi-host URL', async () => {
    const migrate = spawnWatched('migrate', ['migrate'], { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix });
    processes.push(migrate);
    // Bounded by the test's timeout; the output says why when it fails.
    expect([await migrate.exited, migrate.tail()][0]).toBe(0);
    ({ fleet, t0 } = await startCursorFleet(env.pool, HOSTS, 16));
    // Galera steps AUTO_INCREMENT by the cluster size: ids are not consecutive, and nothing may assume they are.
    const [ids] = await env.pool.query<RowDataPacket[]>('SELECT id FROM `c$agents` ORDER BY id');
    expect(ids.length).toBe(HOSTS);
    expect(Number(ids[1].id) - Number(ids[0].id)).toBe(3);
  }, 150_000);

  it('skips a read-only host, turns /readyz unready on it, and keeps a transaction on its host across a failback', async () => {
    const node1 = cluster.nodes[0];
    const direct = createMysqlPool(cluster.urlOf([node1.port], env.database), { connectionLimit: 2 });
    const failover = createMysqlPool(`${cluster.url(env.database)}?failback=1s`, { connectionLimit: 2 });
    pools.push(direct, failover);
    // With the admin token /readyz tells why a check fails (without it, only that it does).
    const admin = new AdminServer({ adminListen: '127.0.0.1:0', adminToken: 'galera-test-token' }, { logger: env.logger, readiness: [mysqlReadiness(direct)], checkTimeoutMs: 3000 });
    await admin.start();
    const readyz = admin.address().url + ADMIN_PATHS.ready;
    const portOf = async (conn: { query: Pool['query'] }) => Number((await conn.query<RowDataPacket[]>('SELECT @@port AS p'))[0][0].p);
    await env.pool.query('CREATE TABLE `galera_probe` (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL)');
    try {
      expect((await fetch(readyz)).status).toBe(200);
      await node1.admin(['SET GLOBAL read_only = ON']);
      const unready = await fetch(readyz, { headers: { authorization: 'Bearer galera-test-token' } });
      expect(unready.status).toBe(503);
      expect(await unready.text()).toMatch(/read_only is ON/);

      // The multi-host pool passes over the read-only node 1 and writes to node 2.
      const conn = await failover.getConnection();
      try {
        expect(await portOf(conn)).toBe(cluster.nodes[1].port);
        await conn.beginTransaction();
        await conn.query("INSERT INTO `galera_probe` (name) VALUES ('galera-failback-1')");
        await node1.admin(['SET GLOBAL read_only = OFF']);
        await waitFor('readiness back', async () => (await fetch(readyz)).status === 200, 10_000, 200);
        // Node 1 is writable again: after the settle period new connections go there...
        await waitFor('failback to node 1', () => failover.writerStatus().writer === nodeName(0), 15_000, 200);
        expect(await portOf(failover)).toBe(node1.port);
        // ...while the transaction begun on node 2 finishes there.
        await conn.query("INSERT INTO `galera_probe` (name) VALUES ('galera-failback-2')");
        expect(await portOf(conn)).toBe(cluster.nodes[1].port);
        await conn.commit();
      } finally {
        conn.release();
      }
      // Galera certifies a commit on every node but applies it on the others a moment later: read causally.
      const reader = await env.pool.getConnection();
      let rows: RowDataPacket[];
      try {
        await reader.query('SET SESSION wsrep_sync_wait = 1');
        [rows] = await reader.query<RowDataPacket[]>('SELECT name FROM `galera_probe` ORDER BY name');
      } finally {
        reader.release();
      }
      expect(rows.map((r) => r.name)).toEqual(['galera-failback-1', 'galera-failback-2']);
      expect(failover.writerStatus().failovers.map((f) => [f.from, f.to])).toEqual([[nodeName(1), nodeName(0)]]);
    } finally {
      await node1.admin(['SET GLOBAL read_only = OFF']).catch(() => undefined);
      await admin.close();
    }
  }, 60_000);

  it('multi-host URL: kill -9 of the writer, writes resume on node 2 within 10 s, node 1 rejoins, nothing lost or doubled', async () => {
    const connections: ProcessEnvironment = { mysqlUrl: `${env.mysqlUrl}?failback=3s`, redisUrl: env.redisUrl, prefix: env.prefix };
    const coordinator = spawnWatched('c1', COORDINATOR_ARGS, connections);
    const worker = spawnWatched('w1', WORKER_ARGS, connections);
    processes.push(coordinator, worker);
    await waitFor('both processes writing to node 1', async () => (await writersOf(['coordinator', 'worker'])).every((m) => m.mysql!.writer === nodeName(0)) && (await writersOf(['coordinator', 'worker'])).length === 2, 30_000, 200);

    const gapMs = await killMidIngest(0, [coordinator, worker]);
    console.info(`Galera writer kill (multi-host URL): first job committed ${gapMs} ms after the kill`);
    expect(gapMs).toBeLessThan(RESUME_WITHIN_MS);
    await waitFor(
      'both processes report the failover to node 2',
      async () => {
        const members = await writersOf(['coordinator', 'worker']);
        return members.length === 2 && members.every((m) => m.mysql!.writer === nodeName(1) && m.mysql!.failovers.some((f) => f.from === nodeName(0) && f.to === nodeName(1)));
      },
      20_000,
      200,
    );

    // Node 1 comes back by IST; after it has been synced for the settle period the processes move back, between transactions.
    cluster.nodes[0].restart();
    await cluster.nodes[0].waitSynced(3);
    await waitFor('both processes back on node 1', async () => (await writersOf(['coordinator', 'worker'])).every((m) => m.mysql!.writer === nodeName(0)), 30_000, 200);
    const before = (await completed()).length;
    await waitFor('2 more completed jobs on node 1', async () => (await completed()).length >= before + 2, 20_000, 100);
    expect(coordinator.running && worker.running).toBe(true);
    await drainAndCheckRows(coordinator, worker);
  }, 180_000);

  it('behind haproxy (one-host URL): kill -9 of the active node, writes resume on a backup within 10 s, nothing lost or doubled', async () => {
    haproxy = await GaleraHaproxy.start(cluster.nodes);
    const connections: ProcessEnvironment = { mysqlUrl: cluster.urlOf([haproxy.port], env.database), redisUrl: env.redisUrl, prefix: env.prefix };
    const portThroughProxy = async () => {
      const pool = createMysqlPool(connections.mysqlUrl, { connectionLimit: 1 });
      try {
        return Number((await pool.query<RowDataPacket[]>('SELECT @@port AS p'))[0][0].p);
      } finally {
        await pool.end();
      }
    };
    await waitFor('haproxy sending to node 1', async () => (await portThroughProxy().catch(() => 0)) === cluster.nodes[0].port, 20_000, 250);
    const coordinator = spawnWatched('c2', COORDINATOR_ARGS, connections);
    const worker = spawnWatched('w2', WORKER_ARGS, connections);
    processes.push(coordinator, worker);

    const gapMs = await killMidIngest(0, [coordinator, worker]);
    console.info(`Galera writer kill (haproxy): first job committed ${gapMs} ms after the kill`);
    expect(gapMs).toBeLessThan(RESUME_WITHIN_MS);
    expect(await portThroughProxy()).not.toBe(cluster.nodes[0].port);
    expect(coordinator.running && worker.running).toBe(true);
    await drainAndCheckRows(coordinator, worker);
  }, 120_000);
});
