import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from './errors.js';
import { readTlsFiles } from './tls.js';

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

/**
 * TLS settings carried by a `rediss://` URL's query, so every connection made
 * from the one URL (BullMQ's duplicates included) uses them: `tls-ca=FILE`,
 * `tls-cert=FILE`, `tls-key=FILE` (client certificate), `tls-verify=false`
 * (encrypt without checking the server's certificate and name; default true).
 * The `--redis-tls-*` options are written into these parameters at start-up.
 * An ACL user and password go in the URL (`rediss://user:password@host`).
 */
export const REDIS_TLS_PARAMS = { ca: 'tls-ca', cert: 'tls-cert', key: 'tls-key', verify: 'tls-verify' } as const;

/** Splits our TLS parameters off the URL (ioredis would take unknown parameters as options) into ioredis TLS options. */
export function parseRedisUrl(url: string): { url: string; tls?: TlsConnectionOptions } {
  const u = new URL(url);
  const p = REDIS_TLS_PARAMS;
  const files = { ca: u.searchParams.get(p.ca) ?? undefined, cert: u.searchParams.get(p.cert) ?? undefined, key: u.searchParams.get(p.key) ?? undefined };
  const verify = u.searchParams.get(p.verify);
  const given = Object.values(p).filter((name) => u.searchParams.has(name));
  for (const name of given) u.searchParams.delete(name);
  if (u.protocol !== 'rediss:') {
    if (given.length) throw new ConfigError('redisUrl', `${given.join(', ')} need a rediss:// URL (TLS)`);
    return { url: u.toString() };
  }
  if (verify !== null && !/^(true|false|1|0|yes|no)$/i.test(verify)) throw new ConfigError('redisUrl', `URL parameter ${p.verify} must be true or false`);
  const material = readTlsFiles(files, { ca: `redisUrl ${p.ca}`, cert: `redisUrl ${p.cert}`, key: `redisUrl ${p.key}` });
  const tls: TlsConnectionOptions = { minVersion: 'TLSv1.2', rejectUnauthorized: verify === null || /^(true|1|yes)$/i.test(verify) };
  if (material.ca) tls.ca = material.ca;
  if (material.cert) tls.cert = material.cert;
  if (material.key) tls.key = material.key;
  return { url: u.toString(), tls };
}

export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const target = parseRedisUrl(url);
  const redisOptions: RedisOptions = {
    ...(target.tls ? { tls: target.tls } : {}),
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.connectionName,
    // Reconnect forever with a capped backoff: Redis holds nothing we cannot rebuild.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  return new Redis(target.url, redisOptions);
}
