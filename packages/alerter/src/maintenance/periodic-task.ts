import { errorMessage, type Logger } from '@watched/core';

export interface PeriodicTaskOptions {
  /** Named in the warning a failed run logs: `<name> failed: <reason>`. */
  name: string;
  everyMs: number;
  logger: Logger;
  /** One run; `signal` aborts when the task stops (a long run checks it between steps). */
  run: (signal: AbortSignal) => Promise<void>;
}

/**
 * A loop of the alerter's maintenance: runs every `everyMs` (an unref'd
 * timer: it never keeps the process alive), never two runs at once (a tick
 * while one runs is skipped), a failed run logged and the next one tried on
 * time. Kept minimal and private to the alerter until the role kit's
 * generic one replaces it.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stopped = new AbortController();

  constructor(private readonly options: PeriodicTaskOptions) {}

  start(): void {
    if (this.timer || this.stopped.signal.aborted) return;
    this.timer = setInterval(() => this.tick(), this.options.everyMs);
    this.timer.unref();
  }

  /** No run starts after this; resolves once the running one (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped.abort();
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.stopped.signal.aborted) return;
    this.running ??= this.options
      .run(this.stopped.signal)
      .catch((err: unknown) => void this.options.logger.warn(`${this.options.name} failed: ${errorMessage(err)}`))
      .finally(() => (this.running = undefined));
  }
}
