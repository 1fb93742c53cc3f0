/**
 * The only place where Redis key and queue names are built from the prefix,
 * so that two installations (or two test files) never share a key.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
      throw new Error(`invalid Redis prefix ${JSON.stringify(prefix)}`);
    }
  }

  /** BullMQ's own prefix: every queue key lives under `<prefix>:bull:`. */
  get bullPrefix(): string {
    return `${this.prefix}:bull`;
  }

  /** The leader lease of the coordinator. */
  get leaderLease(): string {
    return `${this.prefix}:leader`;
  }

  /** The lease of the active aggregator (one of its replicas works at a time). */
  get aggregatorLease(): string {
    return `${this.prefix}:aggregator:leader`;
  }

  /** Where the holder of `lease` announces a graceful release, so a standby takes over at once. */
  releasedChannel(lease: string): string {
    return `${lease}:released`;
  }

  /** Live members of the cluster: a sorted set of member ids (`<nodeId>/<role>`) scored by heartbeat expiry. */
  get members(): string {
    return `${this.prefix}:members`;
  }

  /** One member's details (role, host, pid, version, ...), expiring with its heartbeats; `memberId` is `<nodeId>/<role>`. */
  member(memberId: string): string {
    return `${this.prefix}:member:${memberId}`;
  }

  /** The leader's schedule per group (slot, term, agents), written only under the lease. */
  get schedule(): string {
    return `${this.prefix}:schedule`;
  }

  /** Counters shown by `watched up` and `watched status`. */
  get stats(): string {
    return `${this.prefix}:stats`;
  }
}
