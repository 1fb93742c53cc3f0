import { errorMessage } from '../errors.js';
import { LeaderLease, type LeaderLeaseOptions } from '../lease/leader-lease.js';
import type { Logger } from '../logger.js';
import type { Redis } from '../redis.js';

/** A standby tries this long after the lease's expiry (Redis expires keys on access, so at once; no clock margin needed). */
const LEASE_EXPIRY_SLACK_MS = 5;

export interface LeaderLoopOptions extends Omit<LeaderLeaseOptions, 'redis' | 'logger'> {
  /** Commands: the lease scripts, PTTL, the release announcement. */
  redis: Redis;
  /** A connection of its own for SUBSCRIBE (a subscribed connection takes no other command). */
  subscriber: Redis;
  /** Where a graceful release is announced (`RedisKeys.releasedChannel(key)`). */
  releasedChannel: string;
  /** How often a standby tries at most (it also tries at the lease's expiry and on an announced release). */
  standbyRetryMs: () => number;
  logger: Logger;
  /** Called on every change of leadership, after the lease says so (metrics, membership, kicking off work). */
  onChange?: (leading: boolean, term: number) => void;
}

/**
 * The one leader loop of every leader role (coordinator, aggregator): the
 * lease is renewed every third of its TTL on its own timer, independently of
 * the role's work (a long pass never lets it lapse). A standby tries every
 * `standbyRetryMs`, at once when the current holder's lease expires if that is
 * sooner, and at once when the holder announces a graceful release, so a
 * crashed leader is replaced within its TTL and a stopped one within
 * milliseconds. `stop()` releases the lease and announces it.
 */
export class LeaderLoop {
  readonly lease: LeaderLease;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private active = false;
  private leading = false;
  /** A wake-up (release announced) arrived during a refresh: try again right after it. */
  private again = false;

  constructor(private readonly options: LeaderLoopOptions) {
    this.lease = new LeaderLease({ ...options, logger: options.logger });
  }

  get isLeader(): boolean {
    return this.lease.isLeader();
  }

  get term(): number {
    return this.lease.term;
  }

  /** Subscribes to release announcements, then tries for the lease at once. */
  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    const { subscriber, releasedChannel, logger } = this.options;
    subscriber.on('message', (channel: string) => {
      if (channel === releasedChannel && !this.lease.isLeader()) this.wait(0);
    });
    await subscriber.subscribe(releasedChannel).catch((err: Error) => {
      logger.warn(`cannot subscribe to lease releases (takeover waits for the lease's expiry): ${err.message}`);
    });
    this.wait(0);
  }

  /** Stops refreshing, gives the lease back and announces it, so a standby takes over at once. Idempotent. */
  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    await this.refreshing;
    const held = this.lease.token !== undefined;
    const term = this.lease.term;
    await this.lease.release();
    if (held) {
      await this.options.redis.publish(this.options.releasedChannel, this.options.nodeId).catch(() => undefined);
      this.options.logger.info(`released the lease of term ${term}`);
    }
    this.changed();
  }

  /** Gives the lease back without stopping (a fenced write proved another node leads); the loop tries again later. */
  async resign(): Promise<void> {
    await this.lease.release();
    this.changed();
  }

  private wait(delayMs: number): void {
    if (!this.active) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.refreshing) {
        this.again = true;
        return;
      }
      this.refreshing = this.refresh()
        .catch((err: unknown) => this.options.logger.error(`lease refresh failed: ${errorMessage(err)}`))
        .then(() => this.nextDelay())
        .then((next) => {
          this.refreshing = undefined;
          const again = this.again && !this.lease.isLeader();
          this.again = false;
          this.wait(again ? 0 : next);
        });
    }, delayMs);
  }

  private async refresh(): Promise<void> {
    await this.lease.refresh();
    this.changed();
  }

  private changed(): void {
    const leading = this.lease.isLeader();
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.onChange?.(leading, this.lease.term);
  }

  /** A leader renews at a third of the TTL; a standby at its retry period or the holder's expiry, whichever is sooner. */
  private async nextDelay(): Promise<number> {
    if (this.lease.isLeader()) return Math.max(100, Math.floor(this.options.ttlMs / 3));
    const retry = this.options.standbyRetryMs();
    const ttl = await this.options.redis.pttl(this.options.key).catch(() => -1); // Redis down: the refresh has said so already
    return ttl > 0 ? Math.min(retry, ttl + LEASE_EXPIRY_SLACK_MS) : retry;
  }
}
