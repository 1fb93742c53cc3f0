import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export interface PeriodicTaskOptions {
  /** Named in logs: `<name> failed: ...`. */
  name: string;
  /**
   * Delay after a run until the next, read before each wait so a reload
   * changes it live; a run may return its own next delay instead (a
   * catch-up that wants to go on at once returns 0).
   */
  intervalMs: () => number;
  /**
   * One run; never overlaps the previous one. Errors are logged, the task
   * goes on. `signal` aborts when the task stops (a long run checks it
   * between steps).
   */
  run: (signal: AbortSignal) => Promise<number | void>;
  logger: Logger;
  /** Delay before the first run (default: one interval). */
  firstDelayMs?: number;
  /** Random extra delay up to this, once, so replicas started together do not run in step. */
  jitterMs?: number;
  /** Log level of a failed run (default warn). */
  failureLevel?: 'warn' | 'error';
  /** Reports a failed run instead of the default line (the role context counts connection failures into their outage). */
  onFailure?: (err: unknown) => void;
  /** Let the process exit while only this task waits (background upkeep); default false, like a role's main loop. */
  unref?: boolean;
}

/**
 * Work repeated on a timer: no overlapping runs, errors logged, `trigger()`
 * runs it now (or right after the current run), `stop()` waits for a run in
 * progress.
 */
export class PeriodicTask {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private active = false;
  private readonly stopped = new AbortController();

  constructor(private readonly options: PeriodicTaskOptions) {}

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    if (this.active || this.stopped.signal.aborted) return;
    this.active = true;
    const jitter = this.options.jitterMs ? Math.floor(Math.random() * this.options.jitterMs) : 0;
    this.wait((this.options.firstDelayMs ?? this.options.intervalMs()) + jitter);
  }

  /** Runs now, or once more as soon as the current run ends. */
  trigger(): void {
    if (!this.active) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.wait(0);
  }

  /** Re-arms the wait with the current interval (after a reload shortened it). */
  reschedule(): void {
    if (this.active && !this.running) this.wait(this.options.intervalMs());
  }

  /** No run starts after this, and the running one's signal aborts; resolves once it has ended. */
  async stop(): Promise<void> {
    this.active = false;
    this.stopped.abort();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private wait(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.once();
    }, delayMs);
    if (this.options.unref) this.timer.unref();
  }

  private async once(): Promise<void> {
    let next: number | void = undefined;
    try {
      next = await this.options.run(this.stopped.signal);
    } catch (err) {
      if (this.options.onFailure) this.options.onFailure(err);
      else this.options.logger[this.options.failureLevel ?? 'warn'](`${this.options.name} failed: ${errorMessage(err)}`);
    }
    this.running = undefined;
    if (!this.active) return;
    const again = this.again;
    this.again = false;
    this.wait(again ? 0 : (typeof next === 'number' ? next : this.options.intervalMs()));
  }
}
