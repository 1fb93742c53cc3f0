import { Cluster } from 'ioredis';
import type { Redis } from './redis.js';

/** Which Redis master a process uses and the failovers it saw (its membership record, `watched status`). */
export interface RedisMasterView {
  /** `host:port` of the master serving the installation's keys; null while there is none (or not connected). */
  master: string | null;
  /** Changes of master seen since the process started. */
  failovers: number;
  /** Epoch ms of the latest change (null: none). */
  lastFailoverAt: number | null;
}

/**
 * Follows the master one client of the role talks to: the server the client
 * is connected to (one server, or the master Sentinel named), or on a Redis
 * Cluster the master of the installation's slot (every key of it is on
 * that one, see RedisKeys). A change of master is a failover. Sampled when
 * the client becomes ready (ioredis reconnects there after a failover) and
 * on every `view()`.
 */
export class RedisMasterWatch {
  private last: string | null = null;
  private failovers = 0;
  private lastFailoverAt: number | null = null;
  private slot?: number;
  private asking = false;

  constructor(
    private readonly redis: Redis,
    /** A key of the installation (its slot is every key's on a cluster). */
    private readonly key: string,
  ) {
    redis.on('ready', () => void this.sample());
  }

  /** The current view, sampled now. */
  view(now = Date.now()): RedisMasterView {
    const master = this.sample(now);
    return { master, failovers: this.failovers, lastFailoverAt: this.lastFailoverAt };
  }

  private sample(now = Date.now()): string | null {
    const master = this.current();
    if (master !== null) {
      if (this.last !== null && master !== this.last) {
        this.failovers += 1;
        this.lastFailoverAt = now;
      }
      this.last = master;
    }
    return master;
  }

  private current(): string | null {
    if (this.redis instanceof Cluster) {
      if (this.slot === undefined) {
        this.askSlot();
        return null;
      }
      return this.redis.slots[this.slot]?.[0] ?? null;
    }
    const stream = this.redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
    return this.redis.status === 'ready' && stream?.remoteAddress ? `${stream.remoteAddress}:${stream.remotePort}` : null;
  }

  /** The slot once, from the cluster itself (no second copy of its hash function here). */
  private askSlot(): void {
    if (this.asking) return;
    this.asking = true;
    void this.redis
      .call('CLUSTER', 'KEYSLOT', this.key)
      .then((slot) => {
        this.slot = Number(slot);
        this.sample();
      })
      .catch(() => undefined)
      .finally(() => (this.asking = false));
  }
}
