import { createLogUpdate } from 'log-update';
import { consoleOutput, errorMessage, PeriodicTask, type ConsoleWriter, type Logger, type Service } from '@watched/core';
import type { UpSnapshot, UpStatus } from './up-status.js';

export interface LiveViewOptions {
  status: UpStatus;
  /** How often the view is redrawn. */
  refreshMs: number;
  logger: Logger;
  /** The terminal (default: stdout). */
  stream?: NodeJS.WriteStream;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** The view's lines: agents, rates, errors, lag and leadership first, totals and the queue below. */
export function formatLiveView(s: UpSnapshot, width: number): string {
  const clock = new Date(s.at).toTimeString().slice(0, 8);
  const title = '── watched up ';
  const rule = `${title}${'─'.repeat(Math.max(2, Math.min(width, 100) - title.length - clock.length - 1))} ${clock}`;
  return [
    rule,
    `agents ${count(s.agents)} in ${s.groups} groups   leader ${s.leader.leading ? `this process (term ${s.leader.term})` : 'another process (standby here)'}`,
    `polls/s ${s.pollsPerSecond.toFixed(1)}   rows/s ${count(s.rowsPerSecond)}   errors ${count(s.failedPolls)} polls, ${count(s.failedJobs)} jobs   lag ${s.lagSeconds.toFixed(1)} s`,
    `polls ${count(s.polls)}   rows ${count(s.rows)}   jobs ${count(s.jobs)}   queue ${s.queue.waiting} waiting, ${s.queue.active} active, ${s.queue.delayed} delayed`,
  ].join('\n');
}

/**
 * `watched up` on a terminal: a few lines at the bottom of the screen,
 * redrawn in place (log-update), with the log lines scrolling above them.
 * While it runs it takes the process's console output, so each log line is
 * printed above the view rather than through it.
 */
export class LiveView implements Service, ConsoleWriter {
  readonly name = 'live-view';
  private readonly stream: NodeJS.WriteStream;
  private readonly update: ReturnType<typeof createLogUpdate>;
  private readonly task: PeriodicTask;
  private frame = 'watched up: starting...';
  private restoreConsole?: () => void;

  constructor(private readonly options: LiveViewOptions) {
    this.stream = options.stream ?? process.stdout;
    this.update = createLogUpdate(this.stream);
    this.task = new PeriodicTask({
      name: 'live view',
      intervalMs: () => options.refreshMs,
      firstDelayMs: 0,
      logger: options.logger,
      unref: true,
      run: () => this.refresh(),
    });
  }

  async start(): Promise<void> {
    this.restoreConsole = consoleOutput.redirect(this);
    this.update(this.frame);
    this.task.start();
  }

  /** A log line: written above the view, which is drawn again below it. */
  writeLine(line: string): void {
    this.update.persist(line);
    this.update(this.frame);
  }

  private async refresh(): Promise<void> {
    try {
      this.frame = formatLiveView(await this.options.status.sample(), this.stream.columns ?? 80);
    } catch (err) {
      this.frame = `watched up: status unavailable: ${errorMessage(err)}`;
    }
    this.update(this.frame);
  }

  /** Leaves the last view on the screen (the numbers at the stop), then gives the console back. */
  async close(): Promise<void> {
    await this.task.stop();
    this.update.done();
    this.restoreConsole?.();
    this.restoreConsole = undefined;
    await this.options.status.close();
  }
}
