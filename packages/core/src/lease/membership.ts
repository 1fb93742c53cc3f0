import type { RedisKeys } from '../keys.js';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MysqlWriterStatus } from '../mysql-writer.js';
import type { Redis } from '../redis.js';
import type { RedisMasterView } from '../redis-master-watch.js';

/** What a live process says about itself (`watched status` lists these). */
export interface MemberInfo {
  nodeId: string;
  role: string;
  host: string;
  pid: number;
  version: string;
  /** Epoch ms. */
  startedAt: number;
  /** Epoch ms of the last heartbeat. */
  heartbeatAt: number;
  /** Role-specific state (leader and term, jobs running...). */
  details: Record<string, unknown>;
  /** The Redis master this process uses and the failovers it saw (absent in records of older versions). */
  redis?: RedisMasterView;
  /** The MySQL host the process writes to and the failovers it saw (absent from processes before it existed). */
  mysql?: MysqlWriterStatus;
}

export interface MembershipOptions {
  redis: Redis;
  /** The installation's Redis keys. */
  keys: RedisKeys;
  role: string;
  nodeId: string;
  /** Heartbeat period; a member missing three heartbeats is gone. */
  intervalMs: number;
  logger: Logger;
  /** Called on each heartbeat for role-specific state. */
  details?: () => Record<string, unknown>;
  /** Reports a failed heartbeat or removal instead of the default line (the role context counts connection failures into their outage). */
  onFailure?: (what: string, err: unknown) => void;
  /** Called on each heartbeat: the Redis master in use (RedisMasterWatch). */
  redisMaster?: () => RedisMasterView;
  /** Called on each heartbeat: where the process writes in MySQL. */
  mysqlWriter?: () => MysqlWriterStatus | undefined;
}

const VERSION: string = (() => {
  try {
    return String((createRequire(import.meta.url)('../../package.json') as { version?: string }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
})();

/*
 * Membership keys: `<prefix>:members` (sorted set, member id scored by the
 * epoch ms its heartbeat expires) and `<prefix>:member:<memberId>` (its JSON
 * info, with the same expiry). A member is one role of one process: `watched
 * up` runs every role under one node id, and each must be counted. Kept in
 * Redis: it is rebuilt within one heartbeat after Redis restarts.
 */

function mysqlWriterField(status: MysqlWriterStatus | undefined): Pick<MemberInfo, 'mysql'> {
  return status ? { mysql: status } : {};
}

/** A member's id: one per role of a process (`<nodeId>/<role>`). */
export function memberId(nodeId: string, role: string): string {
  return `${nodeId}/${role}`;
}

/** Keeps one role of one process registered while it runs; `stop()` removes it at once. */
export class Membership {
  private timer?: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private readonly keys: Pick<RedisKeys, 'members' | 'member'>;
  private readonly id: string;
  private beating?: Promise<void>;
  /** After stop(), a late beat (a leadership change while closing) must not register the process again. */
  private stopped = false;

  constructor(private readonly options: MembershipOptions) {
    this.keys = options.keys;
    this.id = memberId(options.nodeId, options.role);
  }

  get ttlMs(): number {
    return this.options.intervalMs * 3;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Writes one heartbeat now (also called on state changes, e.g. on becoming leader). */
  beat(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    // stop() waits for the latest write, so no heartbeat lands after the removal.
    this.beating = this.write();
    return this.beating;
  }

  private async write(): Promise<void> {
    const { redis, nodeId, role } = this.options;
    const now = Date.now();
    const info: MemberInfo = {
      nodeId,
      role,
      host: hostname(),
      pid: process.pid,
      version: VERSION,
      startedAt: this.startedAt,
      heartbeatAt: now,
      details: this.options.details?.() ?? {},
      ...(this.options.redisMaster ? { redis: this.options.redisMaster() } : {}),
      ...mysqlWriterField(this.options.mysqlWriter?.()),
    };
    try {
      await redis
        .multi()
        .set(this.keys.member(this.id), JSON.stringify(info), 'PX', this.ttlMs)
        .zadd(this.keys.members, now + this.ttlMs, this.id)
        .zremrangebyscore(this.keys.members, '-inf', now)
        .exec();
    } catch (err) {
      this.failed('membership heartbeat', err);
    }
  }

  /** Stops the heartbeat and unregisters (a killed process disappears after the TTL instead). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    try {
      await this.options.redis.multi().del(this.keys.member(this.id)).zrem(this.keys.members, this.id).exec();
    } catch (err) {
      this.failed('membership removal', err);
    }
  }

  private failed(what: string, err: unknown): void {
    if (this.options.onFailure) this.options.onFailure(what, err);
    else this.options.logger.warn(`${what} failed: ${errorMessage(err)}`);
  }
}

/** Every live member (heartbeat not expired): one per role of each process, sorted by role then node id. */
export async function readMembers(redis: Redis, keys: Pick<RedisKeys, 'members' | 'member'>, now = Date.now()): Promise<MemberInfo[]> {
  const ids = await redis.zrangebyscore(keys.members, now, '+inf');
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => keys.member(id)));
  return values
    .filter((v): v is string => v !== null)
    .map((v) => JSON.parse(v) as MemberInfo)
    .sort((a, b) => a.role.localeCompare(b.role) || a.nodeId.localeCompare(b.nodeId));
}
