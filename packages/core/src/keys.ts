import type { RedisConnectionOptions } from './config/redis-connection-options.js';

const PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The only place where Redis key and queue names are built from the prefix,
 * so that two installations (or two test files) never share a key.
 *
 * On a Redis Cluster every key starts with the prefix as a hash tag
 * (`{watched}:leader`, `{watched}:bull:poll:wait`), so all of them hash to
 * one slot: the lease scripts, MULTI heartbeats and BullMQ's scripts touch
 * several keys at once, which a cluster refuses across slots (CROSSSLOT).
 * The price: one installation's queues live on one shard (several prefixes
 * spread over the cluster). Elsewhere (one server, Sentinel) the keys keep
 * their untagged names, so an existing installation's leases, schedule and
 * queued jobs stay where they are.
 */
export class RedisKeys {
  /** What every key starts with: the prefix, or `{prefix}` on a Redis Cluster. */
  readonly namespace: string;

  constructor(
    /** The installation's `prefix` option as given. */
    readonly prefix: string,
    options: { hashTag?: boolean } = {},
  ) {
    if (!PREFIX.test(prefix)) {
      throw new Error(`invalid Redis prefix ${JSON.stringify(prefix)}`);
    }
    this.namespace = options.hashTag ? `{${prefix}}` : prefix;
  }

  /** The keys of `prefix` on `redis`: hash-tagged when it is a Redis Cluster. */
  static of(prefix: string, redis: Pick<RedisConnectionOptions, 'mode'>): RedisKeys {
    return new RedisKeys(prefix, { hashTag: redis.mode === 'cluster' });
  }

  /** Whether the keys carry the prefix as a hash tag (Redis Cluster). */
  get hashTagged(): boolean {
    return this.namespace !== this.prefix;
  }

  /** BullMQ's own prefix: every queue key lives under `<namespace>:bull:`. */
  get bullPrefix(): string {
    return `${this.namespace}:bull`;
  }

  /** The leader lease of the coordinator. */
  get leaderLease(): string {
    return `${this.namespace}:leader`;
  }

  /**
   * The name of the leader lease's term record in MySQL (`c$leases`): the
   * untagged key in every mode, so the term floor of an installation stays
   * one record when it moves to a Redis Cluster.
   */
  get leaderTermRecord(): string {
    return `${this.prefix}:leader`;
  }

  /** The lease of the active aggregator (one of its replicas works at a time). */
  get aggregatorLease(): string {
    return `${this.namespace}:aggregator:leader`;
  }

  /** Where the holder of `lease` announces a graceful release, so a standby takes over at once. */
  releasedChannel(lease: string): string {
    return `${lease}:released`;
  }

  /** Live members of the cluster: a sorted set of member ids (`<nodeId>/<role>`) scored by heartbeat expiry. */
  get members(): string {
    return `${this.namespace}:members`;
  }

  /** One member's details (role, host, pid, version, ...), expiring with its heartbeats; `memberId` is `<nodeId>/<role>`. */
  member(memberId: string): string {
    return `${this.namespace}:member:${memberId}`;
  }

  /** The leader's schedule per group (slot, term, agents), written only under the lease. */
  get schedule(): string {
    return `${this.namespace}:schedule`;
  }

  /** Counters shown by `watched up` and `watched status`. */
  get stats(): string {
    return `${this.namespace}:stats`;
  }
}
