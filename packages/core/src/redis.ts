import { Cluster, Redis as StandaloneRedis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { compileRedisConnection, describeRedisTarget, type RedisConnectionOptions } from './config/redis-connection-options.js';
import type { DependencyOutages } from './outage-tracker.js';
import { monitorRedisClient } from './redis-monitor.js';
import { sentinelSwitchWatch, superviseSentinelClient, type SentinelSwitchSource } from './redis-sentinel-switch.js';

/**
 * A Redis client of any mode: one server or a Sentinel-managed master (an
 * ioredis `Redis`), or a Redis Cluster (an ioredis `Cluster`). Both speak
 * the same commands, MULTI, Lua and pub/sub, and BullMQ takes either.
 */
export type Redis = StandaloneRedis | Cluster;

/** How one client behaves, apart from where it connects. */
export interface RedisClientOptions {
  /**
   * BullMQ workers and blocking clients need `maxRetriesPerRequest: null` so a
   * Redis restart or failover pauses them instead of failing every command.
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

/**
 * `runRetryDelay` for our BullMQ consumers: how long one waits after a
 * command of its own failed for want of a connection (taking the next job,
 * recording a finished one) before trying it again. BullMQ's 15 s default
 * outlasts a whole failover: a worker sat idle, and a finished job's
 * completion went unrecorded until its lock expired, for 15 s after one
 * failed command. The connections pace their reconnects themselves; this
 * only paces retries.
 */
export const CONSUMER_RUN_RETRY_DELAY_MS = 1000;

/** A structured target, or a URL (tests, one-shot commands) read by the same parser. */
export type RedisTarget = RedisConnectionOptions | string;

/**
 * While a Redis Cluster promotes a replica (~3-4 s with cluster-node-timeout
 * 2000), commands meet MOVED/TRYAGAIN/CLUSTERDOWN: ioredis's 100 ms default
 * retry delays exhaust their redirections ("Too many Cluster redirections")
 * before the promotion; 500 ms lets them wait it out.
 */
const CLUSTER_FAILOVER_RETRY_MS = 500;

/** Reconnect forever with a capped backoff: Redis holds nothing we cannot rebuild. */
function retryStrategy(options: RedisClientOptions): (times: number) => number | null {
  return options.reconnect === false ? () => null : (times) => Math.min(times * 200, 2000);
}

function tlsOptions(target: RedisConnectionOptions): TlsConnectionOptions | undefined {
  if (!target.tls) return undefined;
  const { verify, ...material } = target.tls;
  return { ...material, minVersion: 'TLSv1.2', rejectUnauthorized: verify };
}

/** What every client of every mode shares: credentials, TLS, retries, its name. */
function commonOptions(target: RedisConnectionOptions, options: RedisClientOptions): RedisOptions {
  const tls = tlsOptions(target);
  return {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(tls ? { tls } : {}),
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.connectionName,
  };
}

function sentinelOptions(target: RedisConnectionOptions, options: RedisClientOptions): RedisOptions {
  const tls = tlsOptions(target);
  const retry = retryStrategy(options);
  return {
    ...commonOptions(target, options),
    sentinels: target.hosts.map(({ host, port }) => ({ host, port })),
    name: target.masterName,
    db: target.db,
    ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    // Not ioredis's failoverDetector: it can end a client for good when a switch lands mid-connect
    // (see SentinelSwitchWatch, which follows +switch-master for every client of the process instead).
    failoverDetector: false,
    // All sentinels unreachable: try them again like a lost server.
    sentinelRetryStrategy: retry,
    retryStrategy: retry,
  };
}

/** The sentinels' side of a Sentinel target: where they are, their password and TLS (not the data nodes'). */
function sentinelSource(target: RedisConnectionOptions): SentinelSwitchSource {
  const tls = tlsOptions(target);
  return {
    sentinels: target.hosts.map(({ host, port }) => ({ host, port })),
    masterName: target.masterName!,
    sentinelOptions: {
      ...(target.sentinelPassword !== undefined ? { password: target.sentinelPassword } : {}),
      ...(tls ? { tls } : {}),
    },
  };
}

function clusterOptions(target: RedisConnectionOptions, options: RedisClientOptions): ClusterOptions {
  const { maxRetriesPerRequest, ...redisOptions } = commonOptions(target, options);
  return {
    // maxRetriesPerRequest inside redisOptions: where BullMQ looks for it on a Cluster.
    redisOptions: { ...redisOptions, maxRetriesPerRequest },
    retryDelayOnFailover: CLUSTER_FAILOVER_RETRY_MS,
    retryDelayOnClusterDown: CLUSTER_FAILOVER_RETRY_MS,
    retryDelayOnTryAgain: CLUSTER_FAILOVER_RETRY_MS,
    enableReadyCheck: true,
    clusterRetryStrategy: retryStrategy(options),
    // TLS certificates name the nodes as announced: keep the names, do not resolve to IPs.
    ...(target.tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
  };
}

/**
 * An ioredis client of the target's mode. Everything it needs is in its
 * options (no URL), so its `duplicate()`s (BullMQ makes some) connect the
 * same way, TLS and Sentinel included.
 */
export function createRedis(target: RedisTarget, options: RedisClientOptions = {}): Redis {
  const connection = typeof target === 'string' ? compileRedisConnection(target) : target;
  const tracker = options.outages?.tracker('Redis', describeRedisTarget(connection));
  return monitorRedisClient(clientOf(connection, options), tracker, options.connectionName ?? 'redis');
}

function clientOf(connection: RedisConnectionOptions, options: RedisClientOptions): Redis {
  switch (connection.mode) {
    case 'cluster':
      return new Cluster(
        connection.hosts.map(({ host, port }) => ({ host, port })),
        clusterOptions(connection, options),
      );
    case 'sentinel': {
      const client = new StandaloneRedis(sentinelOptions(connection, options));
      // One-shot clients (reconnect: false) live for a command or two: no switch to follow, and their end is meant.
      if (options.reconnect === false) return client;
      // Follows +switch-master (without it a client kept writing to a demoted master for ~11 s in a manual
      // failover: writes lost), and is reconnected if ioredis ever ends it on its own.
      return superviseSentinelClient(client, sentinelSwitchWatch(sentinelSource(connection)));
    }
    default: {
      const [{ host, port }] = connection.hosts;
      return new StandaloneRedis({ ...commonOptions(connection, options), host, port, db: connection.db, retryStrategy: retryStrategy(options) });
    }
  }
}
