import { Queue, QueueEvents } from 'bullmq';
import { AgentFleet, type AgentFleetOptions } from '@watched/agent-sim';
import { AgentRegistry, createRedis, POLL_QUEUE, RedisKeys, type PollJobData, type Redis } from '@watched/core';
import { createTestEnvironment, type TestEnvironment } from '@watched/core/testing';
import type { MonitoringEvent } from '@watched/core';
import { parseWorkerOptions, PollWorker, type RawWorkerOptions, type WorkerOptions } from '@watched/worker';

/**
 * A test's own pipeline: a fresh database and prefix, a simulated fleet on a
 * frozen clock (advance it with `advance()`), its agents registered, one
 * worker consuming jobs, and `poll()` to run a job of every agent and wait.
 */
export interface PipelineHarness {
  env: TestEnvironment;
  fleet: AgentFleet;
  worker: PollWorker;
  /** Events the worker published, in order. */
  events: MonitoringEvent[];
  now(): number;
  advance(ms: number): void;
  /** Enqueues one poll job of every registered agent (or of `agentIds`) for `slot` and waits for it. */
  poll(slot: number, agentIds?: number[]): Promise<void>;
  close(): Promise<void>;
}

export const FROZEN_START = Date.UTC(2026, 10, 29, 12, 0, 0) + 0.3435;

export async function createPipeline(
  name: string,
  fleetOptions: AgentFleetOptions,
  workerOptions: RawWorkerOptions = {},
  /** A database prepared by the test (e.g. an upgraded one) instead of a freshly migrated one; cleaned up by close(). */
  existingEnv?: TestEnvironment,
): Promise<PipelineHarness> {
  let clock = FROZEN_START;
  const env = existingEnv ?? (await createTestEnvironment(name));
  const fleet = new AgentFleet({ port: 0, seed: 7, bufferMs: 3 * 60_000, ...fleetOptions, now: () => clock });
  await fleet.start();
  await new AgentRegistry(env.pool).add(fleet.agents().map((a) => ({ host: a.host, port: a.port, pollIntervalS: 3600 })));

  const events: MonitoringEvent[] = [];
  const options: WorkerOptions = parseWorkerOptions({ agentTimeout: '5s', ...workerOptions });
  const worker = new PollWorker(env.roleContext('worker'), options);
  worker.events = { publish: async (published) => void events.push(...published) };
  await worker.start();

  const bullRedis: Redis = createRedis(env.redisUrl, { blocking: true });
  const eventsRedis = createRedis(env.redisUrl, { blocking: true });
  const prefix = new RedisKeys(env.prefix).bullPrefix;
  const queue = new Queue<PollJobData>(POLL_QUEUE, { connection: bullRedis, prefix });
  const queueEvents = new QueueEvents(POLL_QUEUE, { connection: eventsRedis, prefix });
  await queueEvents.waitUntilReady();

  return {
    env,
    fleet,
    worker,
    events,
    now: () => clock,
    advance: (ms) => void (clock += ms),
    async poll(slot, only) {
      const agentIds = only ?? (await new AgentRegistry(env.pool).list()).map((a) => a.id);
      const job = await queue.add('poll', { group: 'test', slot, agentIds, term: 1 }, { jobId: `poll-test-${slot}` });
      await job.waitUntilFinished(queueEvents, 60_000);
    },
    async close() {
      await worker.close();
      await queueEvents.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await bullRedis.quit();
      await eventsRedis.quit();
      await fleet.close();
      await env.cleanup();
    },
  };
}
