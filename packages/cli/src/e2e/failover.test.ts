import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue, type Job } from 'bullmq';
import { AgentFleet } from '@watched/agent-sim';
import { createRedis, POLL_QUEUE, pollJobId, RedisKeys, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, type TestEnvironment, waitFor } from '@watched/core/testing';
import { collectStatus } from '../commands/status.js';
import { storedRows, expectSameRows, servedUpToCursors } from './fleet-expectations.js';
import { pidOfNodeId, spawnWatched, type RoleProcess, startCursorFleet, waitForEmptyQueue, waitForStarted } from './processes.js';

/**
 * Fault tests with real processes: `watched coordinator` and `watched worker`
 * spawned from the built CLI, killed with SIGKILL or stopped with SIGTERM,
 * polling an in-process simulated fleet. One scenario, run in order, so the
 * final check covers every fault: every row the fleet served over the window
 * is in MySQL exactly once, and no slot was enqueued twice.
 */

const HOSTS = 12;
const LEASE_TTL_MS = 2000;
const COORDINATOR_ARGS = ['coordinator', '--lease-ttl', '2s', '--tick-interval', '200ms', '--agent-refresh', '500ms', '--group-size', '4', '--heartbeat-interval', '500ms', '--job-attempts', '10'];
// Jobs wait for their agents up to 0.95 x the 2 s interval (1.9 s): the slow agents below (1.5 s) are waited for, so jobs run long.
const WORKER_ARGS = ['worker', '--lock-duration', '2s', '--stalled-interval', '1s', '--heartbeat-interval', '500ms', '--shutdown-timeout', '8s', '--worker-concurrency', '2', '--agent-timeout', '10s', '--job-deadline-share', '0.95'];
/** Slow agents: they answer within a job's deadline, so a job takes this long. */
const SLOW_MS = 1500;


describe('failover with real processes (SIGKILL / SIGTERM) against the simulated fleet', () => {
  let env: TestEnvironment;
  let fleet: AgentFleet;
  let redis: Redis;
  let queue: Queue<PollJobData>;
  let keys: RedisKeys;
  let t0 = 0;
  const processes: RoleProcess[] = [];
  const spawn = (label: string, args: string[]) => {
    const p = spawnWatched(label, args, { mysqlUrl: env.mysqlUrl, redisUrl: env.redisUrl, prefix: env.prefix });
    processes.push(p);
    return p;
  };
  const holder = async (): Promise<string | undefined> => (await redis.get(keys.leaderLease)) ?? undefined;
  const holderPid = async () => pidOfNodeId((await holder())?.replace(/:\d+$/, ''));
  const completedJobs = async () => (await queue.getJobs(['completed'], 0, -1)) as Array<Job<PollJobData>>;

  let c1: RoleProcess;
  let c2: RoleProcess;
  let w1: RoleProcess;
  let w2: RoleProcess;
  /** Set by the pause step: the coordinator that leads after it, and the resumed one standing by. */
  let leader: RoleProcess;
  let standby: RoleProcess;

  beforeAll(async () => {
    env = await createTestEnvironment('failover');
    keys = new RedisKeys(env.prefix);
    redis = createRedis(env.redisUrl, { blocking: true });
    queue = new Queue<PollJobData>(POLL_QUEUE, { connection: redis, prefix: keys.bullPrefix });
    ({ fleet, t0 } = await startCursorFleet(env.pool, HOSTS, 11));
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await redis?.quit();
    await fleet?.close();
    await env?.cleanup();
  });

  it('starts: one leader, one standby, two workers, all visible in status', async () => {
    c1 = spawn('c1', COORDINATOR_ARGS);
    // Waits from each process's start (RUNNING), not from its spawn: start-up takes 5-10 s under load.
    await waitForStarted(c1);
    await waitFor('c1 to lead', async () => (await holderPid()) === c1.pid, 15_000);
    c2 = spawn('c2', COORDINATOR_ARGS);
    w1 = spawn('w1', WORKER_ARGS);
    w2 = spawn('w2', WORKER_ARGS);
    await Promise.all([c2, w1, w2].map((p) => waitForStarted(p)));
    // Three groups of four agents, polled every 2 s, the workers running now: wait for a few completed jobs.
    await waitFor('4 completed jobs', async () => (await completedJobs()).length >= 4, 20_000);
    const status = await waitFor(
      'status to list every process',
      async () => {
        const s = await collectStatus(redis, env.keys, env.pool);
        return s.workers.length === 2 && s.standbys.length === 1 && s.leader ? s : undefined;
      },
      5000,
    );
    expect(pidOfNodeId(status.leader!.nodeId)).toBe(c1.pid);
    // Every member says who it is: role, host, pid, version, start time, heartbeat.
    for (const m of [...status.coordinators, ...status.workers]) {
      expect(m).toMatchObject({ host: expect.any(String), version: expect.any(String) });
      expect([c1.pid, c2.pid, w1.pid, w2.pid]).toContain(m.pid);
      expect(m.startedAt).toBeLessThanOrEqual(m.heartbeatAt);
      // Listed members are those whose last heartbeat is at most three heartbeats (1.5 s) old at `status.at`.
      expect(status.at - m.heartbeatAt).toBeLessThanOrEqual(1500);
    }
    expect(status.terms.mysql).toBe(status.leader!.term);
    expect(status.groups).toHaveLength(3);
    expect(status.groups.reduce((n, g) => n + g.agents, 0)).toBe(HOSTS);
    expect(status.groups.every((g) => g.enqueuedSlot !== null && g.lastJobState !== 'unknown')).toBe(true);
  });

  it('kill the leader (SIGKILL): the standby leads within TTL + 2 s with a higher term', async () => {
    const before = (await holder())!;
    const killedAt = Date.now();
    expect(await c1.stop('SIGKILL')).toBeNull();
    await waitFor('c2 to lead', async () => (await holderPid()) === c2.pid, LEASE_TTL_MS + 2000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + 2000);
    const oldTerm = Number(before.split(':').at(-1));
    const newTerm = Number((await holder())!.split(':').at(-1));
    expect(newTerm).toBeGreaterThan(oldTerm);
    // The new leader's jobs get done.
    await waitFor('a completed job of the new term', async () => (await completedJobs()).some((j) => j.data.term === newTerm), 10_000);
    console.info(`leader crash takeover: ${takeoverMs} ms (ttl ${LEASE_TTL_MS} ms)`);
    // The dead leader leaves the member list once it missed three heartbeats (500 ms each).
    await waitFor(
      'the killed leader to disappear from status',
      async () => !(await collectStatus(redis, env.keys)).coordinators.some((m) => m.pid === c1.pid),
      3000,
    );
  });

  /**
   * A poll job one of the two workers started under half a second ago, and not
   * before `notBefore` (when the agents turned slow: a job started earlier
   * may be about to finish on its own worker): it is mid-job.
   */
  const jobJustStarted = (notBefore = 0) =>
    waitFor(
      'a job that has just started',
      async () => {
        const active = (await queue.getActive()) as Array<Job<PollJobData>>;
        return active.find(
          (j) =>
            j.processedBy &&
            [w1.pid, w2.pid].includes(pidOfNodeId(j.processedBy)!) &&
            (j.processedOn ?? 0) >= notBefore &&
            Date.now() - (j.processedOn ?? 0) < SLOW_MS / 3,
        );
      },
      15_000,
    );

  it('kill a worker mid-job (SIGKILL): the job completes on another worker after stall detection', async () => {
    // Slow agents: every poll job now takes 1.5 s, so a job that started under half a second ago is mid-job.
    for (let i = 0; i < HOSTS; i++) fleet.setFault(i, { kind: 'slow', on: 'all', delayMs: SLOW_MS });
    const victim = await jobJustStarted(Date.now());
    const killed = pidOfNodeId(victim.processedBy) === w1.pid ? w1 : w2;
    const survivor = killed === w1 ? w2 : w1;
    const killedAt = Date.now();
    await killed.stop('SIGKILL');
    const done = await waitFor(
      `job ${victim.id} completed elsewhere`,
      async () => {
        const job = await queue.getJob(victim.id!);
        return job && (await job.getState()) === 'completed' ? job : undefined;
      },
      20_000,
      100,
    );
    expect(pidOfNodeId(done.processedBy)).toBe(survivor.pid);
    console.info(`killed worker's job ${victim.id} completed elsewhere after ${Date.now() - killedAt} ms`);
    if (killed === w1) w1 = spawn('w1b', WORKER_ARGS);
    else w2 = spawn('w2b', WORKER_ARGS);
    // Running before the next step stops it (a SIGTERM during start-up waits for the start first).
    await waitForStarted(killed === w1 ? w1 : w2);
  });

  it('stop a worker mid-job (SIGTERM): it finishes its running job, then exits 0', async () => {
    const victim = await jobJustStarted();
    const stopping = pidOfNodeId(victim.processedBy) === w1.pid ? w1 : w2;
    const stoppedAt = Date.now();
    expect(await stopping.stop('SIGTERM', 12_000)).toBe(0);
    const job = (await queue.getJob(victim.id!))!;
    expect(await job.getState()).toBe('completed');
    expect(pidOfNodeId(job.processedBy)).toBe(stopping.pid);
    console.info(`graceful worker stop with a running job: ${Date.now() - stoppedAt} ms`);
    // The other worker stops too (same graceful path), so the next step's worker is the only one taking jobs.
    // Its jobs may outlast --shutdown-timeout (8 s) under load: then it hands them back within its 5 s grace.
    expect(await (stopping === w1 ? w2 : w1).stop('SIGTERM', 20_000)).toBe(0);
  });

  it('stop a worker whose job outlasts --shutdown-timeout: it hands the job back, exits 0, another worker completes it', async () => {
    const impatient = spawn('w-impatient', WORKER_ARGS.map((a) => (a === '8s' ? '500ms' : a)));
    await waitForStarted(impatient);
    const victim = await waitFor(
      'a job that has just started on the impatient worker',
      async () => {
        const active = (await queue.getActive()) as Array<Job<PollJobData>>;
        return active.find((j) => pidOfNodeId(j.processedBy) === impatient.pid && Date.now() - (j.processedOn ?? 0) < SLOW_MS / 3);
      },
      20_000,
    );
    w1 = spawn('w1c', WORKER_ARGS);
    w2 = spawn('w2c', WORKER_ARGS);
    const stoppedAt = Date.now();
    // Bounded by the worker's own stop: --shutdown-timeout (500 ms), then at most two 5 s graces (hand back, disconnect).
    expect(await impatient.stop('SIGTERM', 500 + 2 * 5000 + 5000)).toBe(0);
    const stopMs = Date.now() - stoppedAt;
    // The job was not waited for past --shutdown-timeout: the worker says it handed it back at 500 ms. No elapsed-time
    // bound (load alone made it 2.5 s); if it had waited, the job (1.5 s of slow agents) would have completed on it,
    // which the processedBy check below refuses.
    const log = impatient.output.join('');
    expect(log).toMatch(/stopping: waiting up to 500 ms for \d+ running jobs/);
    expect(log).toMatch(/\d+ jobs still running after 500 ms: handing them back/);
    await Promise.all([w1, w2].map((p) => waitForStarted(p)));
    const done = await waitFor(
      `job ${victim.id} completed elsewhere`,
      async () => {
        const job = await queue.getJob(victim.id!);
        return job && (await job.getState()) === 'completed' ? job : undefined;
      },
      20_000,
      100,
    );
    expect([w1.pid, w2.pid]).toContain(pidOfNodeId(done.processedBy));
    // Started twice: handed back by the impatient worker (a failed attempt), or, when the machine is so
    // loaded that BullMQ could not record the cancel within its grace, recovered as stalled (no failed attempt).
    expect(done.attemptsStarted).toBeGreaterThanOrEqual(2);
    console.info(`worker stop past its deadline: exited in ${stopMs} ms, job ${victim.id} completed elsewhere`);
    for (let i = 0; i < HOSTS; i++) fleet.setFault(i, null);
  });

  it('pause the leader past its TTL (SIGSTOP), resume it: it steps down and enqueues nothing under its old term', async () => {
    const c3 = spawn('c3', COORDINATOR_ARGS);
    await waitForStarted(c3);
    await waitFor(
      'c3 registered as standby',
      async () => (await collectStatus(redis, env.keys)).standbys.some((id) => pidOfNodeId(id) === c3.pid),
      10_000,
    );
    const pausedTerm = Number((await holder())!.split(':').at(-1));
    c2.child.kill('SIGSTOP');
    const pausedAt = Date.now();
    await waitFor('c3 to lead', async () => (await holderPid()) === c3.pid, LEASE_TTL_MS + 2000);
    c2.child.kill('SIGCONT');
    // c2 wakes up thinking it led: its own clock tells it its lease is over, and the fence refuses stale enqueues.
    await waitFor(
      'c2 back as a standby',
      async () => {
        const s = await collectStatus(redis, env.keys);
        return s.standbys.some((id) => pidOfNodeId(id) === c2.pid) && s.coordinators.every((m) => m.details.leader === (pidOfNodeId(m.nodeId) === c3.pid));
      },
      5000,
    );
    const late = (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'], 0, -1)).filter(
      (j) => j.data.term === pausedTerm && j.timestamp > pausedAt,
    );
    expect(late).toEqual([]);
    expect(await holderPid()).toBe(c3.pid);
    leader = c3;
    standby = c2;
  });

  it('graceful leader stop (SIGTERM): a standby leads within 1 s', async () => {
    const stoppedAt = Date.now();
    const stopped = leader.stop('SIGTERM');
    await waitFor('the standby to lead', async () => (await holderPid()) === standby.pid, 5000, 10);
    const handoverMs = Date.now() - stoppedAt;
    expect(await stopped).toBe(0);
    expect(handoverMs).toBeLessThan(1000);
    console.info(`graceful handover: ${handoverMs} ms`);
    const term = Number((await holder())!.split(':').at(-1));
    await waitFor('a completed job of the last leader', async () => (await completedJobs()).some((j) => j.data.term === term), 10_000);
    // Wind down: no more scheduling, let the workers drain the queue, stop them.
    expect(await standby.stop('SIGTERM')).toBe(0);
    await waitForEmptyQueue(queue, 20_000, 100);
    expect(await w1.stop('SIGTERM')).toBe(0);
    expect(await w2.stop('SIGTERM')).toBe(0);
  });

  it('enqueued no slot twice: one job per (group, slot), slots increasing with the term across every failover', async () => {
    const jobs = (await queue.getJobs(['completed', 'failed'], 0, -1)) as Array<Job<PollJobData>>;
    expect(jobs.length).toBeGreaterThan(10);
    expect(new Set(jobs.map((j) => j.data.term)).size).toBe(4);
    const byGroup = new Map<string, Array<Job<PollJobData>>>();
    for (const job of jobs) {
      expect(job.id).toBe(pollJobId(job.data.group, job.data.slot));
      byGroup.set(job.data.group, [...(byGroup.get(job.data.group) ?? []), job]);
    }
    for (const list of byGroup.values()) {
      list.sort((a, b) => a.data.slot - b.data.slot);
      for (let i = 1; i < list.length; i++) {
        expect(list[i].data.slot).toBeGreaterThan(list[i - 1].data.slot);
        expect(list[i].data.term).toBeGreaterThanOrEqual(list[i - 1].data.term);
      }
    }
    expect(jobs.filter((j) => j.failedReason && !j.finishedOn)).toEqual([]);
  });

  it('stored every row the fleet served over the window exactly once', async () => {
    const { expected, cursors } = await servedUpToCursors(env.pool, fleet, t0);
    for (const { since } of cursors) expect(Number(since)).toBeGreaterThan(t0);
    const stored = await storedRows(env.pool);
    expect(stored.count).toBe(expected.size);
    expectSameRows(stored.rows, expected);
  });
});
