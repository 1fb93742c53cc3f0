import { Redis, type RedisOptions } from 'ioredis';
import { compileRedisConnection, type RedisConnectionOptions } from './config/redis-connection-options.js';
import type { DependencyOutages } from './outage-tracker.js';
import { monitorRedisClient } from './redis-monitor.js';

export { Redis };

/** How one client behaves, apart from where it connects. */
export interface RedisClientOptions {
  /**
   * BullMQ workers and blocking clients need `maxRetriesPerRequest: null` so a
   * Redis restart pauses them instead of failing every command.
   */
  blocking?: boolean;
  /** A name shown in CLIENT LIST, handy when debugging a cluster. */
  connectionName?: string;
  /**
   * false: one connection attempt, no reconnect (reachability checks): a
   * server that does not answer fails the first command at once.
   */
  reconnect?: boolean;
  /** The process's outage trackers: connection failures of this client (and its duplicates) are reported there. */
  outages?: DependencyOutages;
}

/** A structured target, or a URL (tests, one-shot commands) read by the same parser. */
export type RedisTarget = RedisConnectionOptions | string;

/**
 * An ioredis client. Everything it needs is in its options (no URL), so its
 * `duplicate()`s (BullMQ makes some) connect the same way, TLS included.
 */
export function createRedis(target: RedisTarget, options: RedisClientOptions = {}): Redis {
  const compiled = typeof target === 'string' ? compileRedisConnection(target) : target;
  const { hosts, username, password, db, tls } = compiled;
  const [{ host, port }] = hosts;
  const { verify, ...material } = tls ?? { verify: true };
  const redisOptions: RedisOptions = {
    host,
    port,
    db,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls: { ...material, minVersion: 'TLSv1.2', rejectUnauthorized: verify } } : {}),
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.connectionName,
    // Reconnect forever with a capped backoff: Redis holds nothing we cannot rebuild.
    retryStrategy: options.reconnect === false ? () => null : (times) => Math.min(times * 200, 2000),
  };
  const tracker = options.outages?.tracker('Redis', describeRedisTarget(compiled));
  return monitorRedisClient(new Redis(redisOptions), tracker, options.connectionName ?? 'redis');
}

/** `host:port[,host:port]` of a Redis target, for messages: never the password. */
export function describeRedisTarget(target: RedisConnectionOptions): string {
  return target.hosts.map((h) => `${h.host}:${h.port}`).join(',');
}
