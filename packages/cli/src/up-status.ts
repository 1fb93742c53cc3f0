import { Queue } from 'bullmq';
import { POLL_QUEUE, RedisKeys, createRedis, type Redis, type RedisConnectionOptions } from '@watched/core';
import type { Coordinator } from '@watched/coordinator';
import type { PollWorker } from '@watched/worker';

export interface UpStatusOptions {
  redis: RedisConnectionOptions;
  prefix: string;
  coordinator: Coordinator;
  worker: PollWorker;
}

/** What `watched up` shows of itself at one moment. */
export interface UpSnapshot {
  at: number;
  agents: number;
  groups: number;
  /** This process's coordinator leads (with its term), or stands by for another process. */
  leader: { leading: boolean; term: number };
  polls: number;
  failedPolls: number;
  rows: number;
  jobs: number;
  failedJobs: number;
  /** Over the last `RATE_WINDOW_MS` (0 until two samples exist). */
  pollsPerSecond: number;
  rowsPerSecond: number;
  queue: { waiting: number; active: number; delayed: number };
  /** Age of the oldest waiting poll job, seconds (0: none waiting). */
  lagSeconds: number;
}

/** Rates are averaged over this: agents are polled every few seconds, so a one-second rate would jump between 0 and a burst. */
const RATE_WINDOW_MS = 10_000;

/**
 * The numbers of `watched up`'s pipeline, from its in-process coordinator and
 * worker and the poll queue: what the status line and the live view show.
 */
export class UpStatus {
  private redis?: Redis;
  private queue?: Queue;
  private readonly history: Array<{ at: number; polls: number; rows: number }> = [];

  constructor(private readonly options: UpStatusOptions) {}

  open(): void {
    this.redis ??= createRedis(this.options.redis, { connectionName: 'watched-status' });
    this.queue ??= new Queue(POLL_QUEUE, { connection: this.redis, prefix: RedisKeys.of(this.options.prefix, this.options.redis).bullPrefix });
    // Connection errors are the client's to report; a failed sample rejects to the display.
    this.queue.on('error', () => undefined);
  }

  async sample(now = Date.now()): Promise<UpSnapshot> {
    this.open();
    const { coordinator, worker } = this.options;
    const counts = await this.queue!.getJobCounts('waiting', 'active', 'delayed');
    const [oldest] = await this.queue!.getWaiting(0, 0);
    const s = worker.stats;
    const plan = coordinator.stats;
    this.history.push({ at: now, polls: s.polls, rows: s.rows });
    while (this.history.length > 2 && now - this.history[1].at >= RATE_WINDOW_MS) this.history.shift();
    const first = this.history[0];
    const seconds = (now - first.at) / 1000;
    const rate = (value: number, before: number) => (seconds > 0 ? (value - before) / seconds : 0);
    return {
      at: now,
      agents: plan?.agents ?? 0,
      groups: plan?.groups ?? 0,
      leader: { leading: coordinator.context.leading, term: coordinator.context.term },
      polls: s.polls,
      failedPolls: s.failedPolls,
      rows: s.rows,
      jobs: s.jobs,
      failedJobs: s.failedJobs,
      pollsPerSecond: rate(s.polls, first.polls),
      rowsPerSecond: rate(s.rows, first.rows),
      queue: { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0 },
      lagSeconds: oldest ? Math.max(0, now - oldest.timestamp) / 1000 : 0,
    };
  }

  async close(): Promise<void> {
    await this.queue?.close().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
  }
}
