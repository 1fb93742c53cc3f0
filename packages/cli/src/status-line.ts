import { errorMessage, PeriodicTask, type Logger, type Service } from '@watched/core';
import type { UpSnapshot, UpStatus } from './up-status.js';

export interface StatusLineOptions {
  status: UpStatus;
  intervalMs: number;
  logger: Logger;
}

/** The one-line form of `watched up`'s numbers. */
export function formatStatusLine(s: UpSnapshot): string {
  return [
    `agents ${s.agents} in ${s.groups} groups${s.leader.leading ? ` (leader, term ${s.leader.term})` : ' (standby)'}`,
    `polls ${s.polls} (${s.failedPolls} failed, ${s.pollsPerSecond.toFixed(1)}/s)`,
    `rows written ${s.rows.toLocaleString('en-US')} (${Math.round(s.rowsPerSecond).toLocaleString('en-US')}/s)`,
    `jobs ${s.jobs} done, ${s.failedJobs} failed attempts`,
    `queue ${s.queue.waiting} waiting ${s.queue.active} active ${s.queue.delayed} delayed`,
    `lag ${s.lagSeconds.toFixed(1)}s`,
  ].join(' | ');
}

/**
 * The few numbers `watched up` logs every few seconds when its output is not
 * a terminal (a file, a pipe, a container log), so a user sees the pipeline
 * work: agents, polls, rows written, errors, queue and lag.
 */
export class StatusLine implements Service {
  readonly name = 'status-line';
  private readonly task: PeriodicTask;

  constructor(private readonly options: StatusLineOptions) {
    this.task = new PeriodicTask({
      name: 'status line',
      intervalMs: () => options.intervalMs,
      logger: options.logger,
      unref: true,
      run: () => this.print(),
    });
  }

  async start(): Promise<void> {
    this.task.start();
  }

  private async print(): Promise<void> {
    try {
      this.options.logger.info(formatStatusLine(await this.options.status.sample()));
    } catch (err) {
      this.options.logger.warn(`status unavailable: ${errorMessage(err)}`);
    }
  }

  async close(): Promise<void> {
    await this.task.stop();
    await this.options.status.close();
  }
}
