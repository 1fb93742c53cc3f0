import { describeError, errorRecord } from './error-record.js';
import type { Logger } from './logger.js';

export interface OutageTrackerOptions {
  /** `Redis`, `MySQL`: what the lines name. */
  dependency: string;
  /** `host:port` (never credentials). */
  target: string;
  logger: Logger;
  /** Least time between two "still down" summaries. */
  summaryIntervalMs?: number;
  now?: () => number;
}

const DEFAULT_SUMMARY_INTERVAL_MS = 30_000;

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/**
 * What a process says about one dependency that cannot be reached: one line
 * when the outage starts, then at most one summary every 30 s (how long,
 * how many failures, the last error), and one line when it ends. Every
 * client of the dependency in the process (the role's connections, BullMQ's
 * own, the admin server's) reports here, under a name of its own: the
 * outage lasts while any of them fails and ends when all that failed are
 * back (or gone), so five clients reconnecting make one outage, not five.
 */
export class OutageTracker {
  readonly dependency: string;
  readonly target: string;
  private readonly logger: Logger;
  private readonly summaryIntervalMs: number;
  private readonly now: () => number;
  /** Clients failing now. */
  private readonly failing = new Set<string>();
  private startedAt = 0;
  private failures = 0;
  private lastSummaryAt = 0;
  private lastError = '';

  constructor(options: OutageTrackerOptions) {
    this.dependency = options.dependency;
    this.target = options.target;
    this.logger = options.logger;
    this.summaryIntervalMs = options.summaryIntervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Whether an outage is going on. */
  get down(): boolean {
    return this.failing.size > 0;
  }

  /** A failure of `client` to connect or to run a command for want of a connection. */
  failure(client: string, err: unknown): void {
    const now = this.now();
    this.lastError = describeError(err);
    this.failures += 1;
    if (this.failing.size === 0) {
      this.failing.add(client);
      this.startedAt = now;
      this.lastSummaryAt = now;
      this.failures = 1;
      this.logger.error(`${this.dependency} at ${this.target} is unreachable: ${this.lastError}`, {
        dependency: this.dependency,
        target: this.target,
        error: errorRecord(err),
      });
      return;
    }
    this.failing.add(client);
    if (now - this.lastSummaryAt >= this.summaryIntervalMs) {
      this.lastSummaryAt = now;
      this.logger.warn(
        `${this.dependency} at ${this.target} still unreachable after ${seconds(now - this.startedAt)}: ${this.failures} failed attempts, last error: ${this.lastError}`,
        { dependency: this.dependency, target: this.target, downForMs: now - this.startedAt, failures: this.failures },
      );
    }
  }

  /** `client` works again (connected and ready), or is gone (closed): the outage ends when no client fails. */
  recovered(client: string): void {
    if (!this.failing.delete(client) || this.failing.size > 0) return;
    const downForMs = this.now() - this.startedAt;
    this.logger.info(`${this.dependency} at ${this.target} is reachable again after ${seconds(downForMs)} (${this.failures} failed attempts)`, {
      dependency: this.dependency,
      target: this.target,
      downForMs,
      failures: this.failures,
    });
  }

  /** A client closed by us: its failures no longer keep the outage open, and its end says nothing. */
  forget(client: string): void {
    this.failing.delete(client);
  }
}

/**
 * The outage trackers of one process, one per dependency and target, shared
 * by every role and client of the process (`watched up` runs all roles in one).
 */
export class DependencyOutages {
  private readonly trackers = new Map<string, OutageTracker>();

  constructor(private readonly logger: Logger, private readonly summaryIntervalMs?: number) {}

  tracker(dependency: string, target: string): OutageTracker {
    const key = `${dependency} ${target}`;
    let tracker = this.trackers.get(key);
    if (!tracker) {
      tracker = new OutageTracker({ dependency, target, logger: this.logger, summaryIntervalMs: this.summaryIntervalMs });
      this.trackers.set(key, tracker);
    }
    return tracker;
  }

  /** Dependencies down now, e.g. for a status line. */
  get down(): OutageTracker[] {
    return [...this.trackers.values()].filter((t) => t.down);
  }
}
