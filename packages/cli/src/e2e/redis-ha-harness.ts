import { expect } from '@jest/globals';
import { Queue, type Job } from 'bullmq';
import type { AgentFleet } from '@watched/agent-sim';
import { compileRedisConnection, createRedis, POLL_QUEUE, readMembers, RedisKeys, TermStore, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, waitFor, type TestEnvironment } from '@watched/core/testing';
import { collectStatus, formatStatus } from '../commands/status.js';
import { servedUpToCursors, storedRows } from './fleet-expectations.js';
import { spawnWatched, startCursorFleet, type RoleProcess } from './processes.js';

const HOSTS = 8;
const LEASE_TTL_MS = 3000;
const COORDINATOR_ARGS = ['coordinator', '--lease-ttl', `${LEASE_TTL_MS}ms`, '--tick-interval', '200ms', '--agent-refresh', '500ms', '--group-size', '2', '--heartbeat-interval', '500ms'];
const WORKER_ARGS = ['worker', '--lock-duration', '3s', '--stalled-interval', '1s', '--heartbeat-interval', '500ms', '--shutdown-timeout', '5s'];

/** How soon after a promotion polling must run again (the issue's bound). */
export const RESUME_BOUND_MS = 10_000;

/**
 * Two coordinators and two workers (`watched` processes) polling a
 * simulated fleet through a highly available Redis given by `redisUrl`, and
 * what the fault tests check on them: polling resumed after a failover, one
 * leader, every served row in MySQL exactly once.
 */
export class RedisHaHarness {
  readonly processes: RoleProcess[] = [];
  readonly keys: RedisKeys;
  /** A client of the test's own through the same URL form (it follows failovers like the processes). */
  readonly redis: Redis;
  readonly queue: Queue<PollJobData>;

  private constructor(
    readonly env: TestEnvironment,
    readonly redisUrl: string,
    readonly fleet: AgentFleet,
    readonly t0: number,
  ) {
    this.keys = RedisKeys.of(env.prefix, compileRedisConnection(redisUrl));
    this.redis = createRedis(redisUrl, { blocking: true, connectionName: 'watched-test' });
    this.redis.on('error', () => undefined); // failovers under way: expected
    this.queue = new Queue<PollJobData>(POLL_QUEUE, { connection: this.redis, prefix: this.keys.bullPrefix });
    this.queue.on('error', () => undefined);
  }

  static async start(name: string, redisUrl: string): Promise<RedisHaHarness> {
    const env = await createTestEnvironment(name);
    const { fleet, t0 } = await startCursorFleet(env.pool, HOSTS, 7);
    const harness = new RedisHaHarness(env, redisUrl, fleet, t0);
    const connections = { mysqlUrl: env.mysqlUrl, redisUrl, prefix: env.prefix };
    for (const label of ['c1', 'c2']) harness.processes.push(spawnWatched(label, COORDINATOR_ARGS, connections));
    for (const label of ['w1', 'w2']) harness.processes.push(spawnWatched(label, WORKER_ARGS, connections));
    await harness.polledSince(Date.now(), 90_000);
    // Every process connected to the master before any fault (a process still starting would see none).
    await waitFor(
      'every process to report its Redis master',
      async () => (await readMembers(harness.redis, harness.keys)).filter((m) => m.redis?.master).length === harness.processes.length,
      60_000,
      100,
    );
    return harness;
  }

  /** Waits for a poll job started after `since` and completed; returns when it completed (epoch ms). */
  async polledSince(since: number, timeoutMs = RESUME_BOUND_MS + 20_000): Promise<number> {
    return waitFor(
      `a poll job started after ${new Date(since).toISOString()} and completed`,
      async () => {
        const jobs = (await this.queue.getJobs(['completed'], 0, 200).catch(() => [])) as Array<Job<PollJobData>>;
        const after = jobs.filter((j) => (j.processedOn ?? 0) > since && j.finishedOn).map((j) => j.finishedOn!);
        return after.length ? Math.min(...after) : undefined;
      },
      timeoutMs,
      100,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await this.queueState()}\n${this.processes.map((p) => `--- ${p.label}\n${p.tail(15)}`).join('\n')}`);
    });
  }

  /**
   * For a failure message: the poll queue's counts, its active jobs and
   * whether each still has a lock (a job without one is its worker's no
   * longer: the stalled check hands it back), and the connections the
   * master has by name (a process's connection missing there is closed).
   */
  private async queueState(): Promise<string> {
    try {
      const counts = await this.queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'completed', 'failed');
      const active = (await this.queue.getJobs(['active'], 0, 20)) as Array<Job<PollJobData>>;
      const locks = await Promise.all(active.map(async (j) => `${j.id} (${(await this.redis.exists(`${this.queue.toKey(j.id!)}:lock`)) ? 'locked' : 'no lock'}, by ${j.processedBy ?? '?'})`));
      const list = String(await this.redis.call('CLIENT', 'LIST'));
      const names = [...list.matchAll(/ name=(\S+)/g)].map((m) => m[1]).sort();
      return `queue: ${JSON.stringify(counts)}; active: ${locks.join(', ') || 'none'}\nconnections on the master: ${names.join(' ')}`;
    } catch (err) {
      return `queue state unavailable: ${(err as Error).message}`;
    }
  }

  /** The coordinators that count themselves leader now, by their membership records. */
  async leaders(): Promise<Array<{ nodeId: string; term: number }>> {
    const members = await readMembers(this.redis, this.keys).catch(() => []);
    return members.filter((m) => m.role === 'coordinator' && m.details.leader === true).map((m) => ({ nodeId: m.nodeId, term: Number(m.details.term) }));
  }

  /**
   * Samples the leaders every 100 ms for `ms`; returns the stretches in which
   * two coordinators counted themselves leader for longer than the lease
   * TTL. A deposed leader may believe it leads until its next renewal fails
   * (a third of the TTL, its writes fenced meanwhile) and its record says so
   * until its next heartbeat: shorter overlaps are that, not two leaders.
   */
  async doubleLeaders(ms: number): Promise<string[]> {
    const seen: string[] = [];
    const end = Date.now() + ms;
    let since: number | undefined;
    while (Date.now() < end) {
      const leaders = await this.leaders();
      if (leaders.length > 1) {
        since ??= Date.now();
        if (Date.now() - since > LEASE_TTL_MS) seen.push(JSON.stringify(leaders));
      } else since = undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
    return seen;
  }

  /** `watched status` as printed, once `ready` holds for it (the processes' heartbeats carry what it shows). */
  statusWhen(ready: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
    let last = '';
    return waitFor(
      'watched status to show it',
      async () => {
        last = formatStatus(await collectStatus(this.redis, this.keys, this.env.pool));
        return ready(last) ? last : undefined;
      },
      timeoutMs,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last status:\n${last}`);
    });
  }

  /** The highest term MySQL recorded for the coordinators' lease. */
  termInMysql(): Promise<number> {
    return new TermStore(this.env.pool, this.keys.leaderTermRecord).highest();
  }

  /**
   * The poll jobs the queue holds now, per group in slot order: a later slot
   * must never carry an older term (a deposed leader enqueueing after its
   * successor), and one slot is one job.
   */
  async expectSlotsInTermOrder(): Promise<void> {
    const jobs = (await this.queue.getJobs(['completed', 'waiting', 'active', 'delayed'], 0, -1)) as Array<Job<PollJobData>>;
    const ids = jobs.map((j) => j.id);
    expect(ids.length).toBe(new Set(ids).size);
    const byGroup = new Map<string, Array<{ slot: number; term: number }>>();
    for (const j of jobs) byGroup.set(j.data.group, [...(byGroup.get(j.data.group) ?? []), { slot: j.data.slot, term: j.data.term }]);
    const backwards: string[] = [];
    for (const [group, slots] of byGroup) {
      slots.sort((a, b) => a.slot - b.slot);
      for (let i = 1; i < slots.length; i++) if (slots[i].term < slots[i - 1].term) backwards.push(`${group}@${slots[i].slot}: term ${slots[i - 1].term} then ${slots[i].term}`);
    }
    expect(backwards).toEqual([]);
  }

  /** Stops every process (SIGTERM), then checks that MySQL holds every row the fleet served up to the cursors, once. */
  async expectEveryRowOnce(): Promise<void> {
    for (const p of this.processes) expect(await p.stop('SIGTERM', 20_000)).toBe(0);
    const { expected } = await servedUpToCursors(this.env.pool, this.fleet, this.t0);
    const stored = await storedRows(this.env.pool);
    expect(expected.size).toBeGreaterThan(0);
    expect([...expected.keys()].filter((k) => !stored.rows.has(k)).slice(0, 5)).toEqual([]);
    expect(stored.count).toBe(expected.size);
  }

  /** The processes' last lines, for a failure message. */
  tails(): string {
    return this.processes.map((p) => `--- ${p.label}\n${p.tail(20)}`).join('\n');
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
    await this.fleet.close();
    await this.env.cleanup();
  }
}
