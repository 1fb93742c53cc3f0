import { Redis, type RedisOptions } from 'ioredis';

export { Redis };

export interface RedisConnectionOptions {
  /**
   * BullMQ workers and blocking clients need `maxRetriesPerRequest: null` so a
   * Redis restart pauses them instead of failing every command.
   */
  blocking?: boolean;
  /** A name shown in CLIENT LIST, handy when debugging a cluster. */
  connectionName?: string;
}

export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.connectionName,
    // Reconnect forever with a capped backoff: Redis holds nothing we cannot rebuild.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  return new Redis(url, redisOptions);
}
