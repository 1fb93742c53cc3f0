import { performance } from 'node:perf_hooks';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Redis } from '../redis.js';
import { ACQUIRE, RELEASE, RENEW } from './lease-scripts.js';
import type { TermStore } from './term-store.js';

export interface LeaderLeaseOptions {
  redis: Redis;
  /** The lease key, e.g. `RedisKeys.leaderLease`; its term counter is `<key>:term`. */
  key: string;
  /** Unique per process, e.g. `hostname:pid:random`. */
  nodeId: string;
  ttlMs: number;
  logger: Logger;
  /** The highest term known elsewhere (MySQL), so terms never go back after a Redis restart. */
  termFloor?: () => Promise<number>;
  /**
   * The MySQL record of terms: its highest term is a floor (like `termFloor`)
   * and a new term is recorded there before this node counts itself leader;
   * if recording fails or is refused (a higher term exists) the lease is
   * given back.
   */
  terms?: TermStore;
}

/**
 * A Redis lease with a fencing token (the coordinator's leader, the active
 * aggregator). The holder counts itself leader only
 * until `sent + ttl - margin` on the monotonic clock, where `sent` is when
 * its last successful acquire/renew was *sent*: if renewals fail it stops
 * acting before the key can expire and another node take over.
 */
export class LeaderLease {
  private value?: string;
  private currentTerm = 0;
  private validUntil = 0;
  private readonly marginMs: number;

  constructor(private readonly options: LeaderLeaseOptions) {
    this.marginMs = Math.max(200, Math.floor(options.ttlMs / 5));
  }

  /** The fencing token of the current term (0 when never leader). */
  get term(): number {
    return this.currentTerm;
  }

  /** The lease value `<nodeId>:<term>` while held: fenced writes compare it with the key (see `FENCED_HSET`). */
  get token(): string | undefined {
    return this.value;
  }

  isLeader(now = performance.now()): boolean {
    return this.value !== undefined && now < this.validUntil;
  }

  /** Acquires when free, renews when held. Returns whether this node leads now. */
  async refresh(): Promise<boolean> {
    const sent = performance.now();
    const { redis, key, ttlMs, nodeId, logger } = this.options;
    try {
      if (this.value !== undefined) {
        const renewed = await redis.eval(RENEW, 1, key, this.value, ttlMs);
        if (renewed === 1) {
          this.validUntil = sent + ttlMs - this.marginMs;
          // A Redis that renews our lease may still be a master cut off from the others, or a replica promoted without our lease
          // may have given a successor a higher term: MySQL says which term is current.
          return !(await this.superseded());
        }
        logger.warn(`lost leadership of term ${this.currentTerm}`);
        this.value = undefined;
      }
      // Held by another node: no need to read the floor from MySQL (standbys try every tick).
      if ((await redis.exists(key)) === 1) return false;
      const floor = Math.max((await this.options.termFloor?.()) ?? 0, (await this.options.terms?.highest()) ?? 0);
      const term = Number(await redis.eval(ACQUIRE, 2, key, `${key}:term`, nodeId, ttlMs, floor));
      if (term <= 0) return false;
      const value = `${nodeId}:${term}`;
      if (this.options.terms) {
        let recorded = false;
        try {
          recorded = await this.options.terms.record(term, nodeId);
        } catch (err) {
          logger.warn(`recording term ${term} failed: ${errorMessage(err)}`);
        }
        if (!recorded) {
          logger.warn(`term ${term} not recorded in MySQL (a higher term exists, or MySQL is unreachable): giving the lease back`);
          await redis.eval(RELEASE, 1, key, value).catch(() => undefined);
          return false;
        }
      }
      this.value = value;
      this.currentTerm = term;
      this.validUntil = sent + ttlMs - this.marginMs;
      logger.info(`became leader`, { term });
      return true;
    } catch (err) {
      logger.warn(`lease refresh failed: ${errorMessage(err)}`);
      return this.isLeader();
    }
  }

  /**
   * Whether this node still leads, asked right before a write that must not
   * come from a deposed leader (the coordinator's enqueue): held on our
   * clock, and no higher term recorded in MySQL. Redis replication is
   * asynchronous: after a failover the promoted replica may lack our lease
   * (a successor then takes term+1 and records it) while our client still
   * reaches the old master, which renews for us. MySQL is the one record
   * both see. MySQL unreachable: the Redis fences alone decide (scheduling
   * goes on through a MySQL outage).
   */
  async confirm(): Promise<boolean> {
    if (!this.isLeader()) return false;
    return !(await this.superseded()) && this.isLeader();
  }

  /** True (and leadership dropped) when MySQL records a term above ours. */
  private async superseded(): Promise<boolean> {
    const terms = this.options.terms;
    if (!terms || this.value === undefined) return false;
    let highest: number;
    try {
      highest = await terms.highest();
    } catch (err) {
      this.options.logger.debug(`term check in MySQL failed (the Redis fences decide): ${errorMessage(err)}`);
      return false;
    }
    if (highest <= this.currentTerm) return false;
    this.options.logger.warn(`term ${this.currentTerm} superseded: MySQL records term ${highest} (a Redis failover lost our lease); stepping down`);
    const value = this.value;
    this.value = undefined;
    this.validUntil = 0;
    // Deletes the key only where it is still ours (the cut-off master), so no client there waits for its TTL.
    await this.options.redis.eval(RELEASE, 1, this.options.key, value).catch(() => undefined);
    return true;
  }

  /** Gives the lease up at once so a standby takes over without waiting for the TTL. */
  async release(): Promise<void> {
    if (this.value === undefined) return;
    const value = this.value;
    this.value = undefined;
    this.validUntil = 0;
    try {
      await this.options.redis.eval(RELEASE, 1, this.options.key, value);
    } catch (err) {
      this.options.logger.warn(`lease release failed: ${errorMessage(err)}`);
    }
  }
}
