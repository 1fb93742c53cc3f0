import { Queue } from 'bullmq';
import { POLL_QUEUE, RedisKeys, createRedis, errorMessage, type Logger, type Redis, type RedisConnectionOptions, type Service } from '@watched/core';
import type { Coordinator } from '@watched/coordinator';
import type { PollWorker } from '@watched/worker';

export interface StatusLineOptions {
  redis: RedisConnectionOptions;
  prefix: string;
  intervalMs: number;
  coordinator: Coordinator;
  worker: PollWorker;
  logger: Logger;
}

/**
 * The few numbers `watched up` prints every few seconds, so a user sees the
 * pipeline work: agents, polls, rows written, errors, queue and lag.
 */
export class StatusLine implements Service {
  readonly name = 'status-line';
  private timer?: NodeJS.Timeout;
  private redis?: Redis;
  private queue?: Queue;

  constructor(private readonly options: StatusLineOptions) {}

  async start(): Promise<void> {
    this.redis = createRedis(this.options.redis, { connectionName: 'watched-status' });
    this.queue = new Queue(POLL_QUEUE, { connection: this.redis, prefix: new RedisKeys(this.options.prefix).bullPrefix });
    this.timer = setInterval(() => void this.print(), this.options.intervalMs);
  }

  async line(): Promise<string> {
    const { coordinator, worker } = this.options;
    const counts = await this.queue!.getJobCounts('waiting', 'active', 'delayed', 'failed');
    const [oldest] = await this.queue!.getWaiting(0, 0);
    const lagSeconds = oldest ? (Date.now() - oldest.timestamp) / 1000 : 0;
    const s = worker.stats;
    const plan = coordinator.stats;
    return [
      `agents ${plan?.agents ?? 0} in ${plan?.groups ?? 0} groups${coordinator.context.leading ? ` (leader, term ${coordinator.context.term})` : ' (standby)'}`,
      `polls ${s.polls} (${s.failedPolls} failed)`,
      `rows written ${s.rows.toLocaleString('en-US')}`,
      `jobs ${s.jobs} done, ${s.failedJobs} failed attempts`,
      `queue ${counts.waiting} waiting ${counts.active} active ${counts.delayed} delayed`,
      `lag ${lagSeconds.toFixed(1)}s`,
    ].join(' | ');
  }

  private async print(): Promise<void> {
    try {
      this.options.logger.info(await this.line());
    } catch (err) {
      this.options.logger.warn(`status unavailable: ${errorMessage(err)}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.queue?.close().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
  }
}
